// Command bench is AppWheel's benchmark harness. From the repository root:
//
//	go run ./bench -out BENCHMARKS-results.md
//
// It builds cmd/appwheel once, seeds SQLite databases through the store
// API (and in SQL for the scale rows) and PostgreSQL schemas with COPY,
// starts `appwheel serve` on them as a child process, starts stripe-mock
// for the live rows, and drives each row with an in-process closed-loop
// load generator that signs every request. It prints one Markdown table:
// requests/s, p50, p99, errors, Stripe calls per request and the server's
// peak RSS for each row, with the targets beside them. See BENCHMARKS.md
// for what each row measures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	duration      time.Duration
	warmup        time.Duration
	conns         int
	scaleConns    int
	users         int
	importUsers   int
	rows          map[string]bool
	largeInvoices int
	smallInvoices int
	out           string
	cpuprofileDir string
	postgresURL   string
	stripeMock    string
	keep          bool
	webhookWait   time.Duration
	rssCheck      bool
	tenantApps    int
	tenantUsers   int
}

// rowNames are the -rows values, in the order of their numbers (rows
// print by number; tenants, 9, runs right after mirror); row 6 (Stripe
// calls per request) is a column of every row.
var rowNames = []string{"ceiling", "mirror", "live", "create", "webhook", "scale", "import", "tenants", "notify"}

var rowNumbers = map[string]string{"1": "ceiling", "2": "mirror", "3": "live", "4": "create", "5": "webhook", "7": "scale", "8": "import", "9": "tenants", "10": "notify"}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var rows string
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each row")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each row (0: none)")
	fs.IntVar(&o.conns, "conns", 64, "connections (closed-loop clients) of rows 1–5")
	fs.IntVar(&o.scaleConns, "scale-conns", 8, "connections of the scale rows (7)")
	fs.IntVar(&o.importUsers, "import-users", 100, "existing customers each import row (8) links")
	fs.IntVar(&o.users, "users", 1000, "synced users the mirror, live, create and webhook rows spread requests over")
	fs.StringVar(&rows, "rows", "", "comma list of rows to run: "+strings.Join(rowNames, ",")+" (or their numbers 1,2,3,4,5,7,8,9,10); default all")
	fs.IntVar(&o.largeInvoices, "large-invoices", 1_000_000, "invoices of the large scale database (over 100,000 users)")
	fs.IntVar(&o.smallInvoices, "small-invoices", 10_000, "invoices of the small scale database (over 100,000 users)")
	fs.IntVar(&o.tenantApps, "tenant-apps", 1000, "mirror apps of the multi-tenant database (rows 9a–9d)")
	fs.IntVar(&o.tenantUsers, "tenant-users", defaultTenantUsers, "synced users of each app of the multi-tenant database (rows 9a–9d); issue 13's full size is 1000")
	fs.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	fs.StringVar(&o.cpuprofileDir, "cpuprofile-dir", "", "write a CPU profile of the server for each row's measured phase into this directory")
	fs.StringVar(&o.postgresURL, "postgres-url", "postgres://postgres@127.0.0.1:5432/test", "PostgreSQL database of the PostgreSQL rows (2c, 2d, 5c, 5d, 7d–7f), a schema each, when the binary supports it")
	fs.StringVar(&o.stripeMock, "stripe-mock", "", "stripe-mock binary (default: on PATH or in $(go env GOPATH)/bin)")
	fs.DurationVar(&o.webhookWait, "webhook-wait", 10*time.Minute, "how long rows 5b and 5d wait for the accepted events to be applied")
	fs.BoolVar(&o.rssCheck, "rss-check", false, "run each mirror read row (2a–2d) a second time, twice as long, on the same server, and compare the server's peak RSS (target: within 10 %)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (binary, databases, server logs) and print where it is")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./bench [flags]   (from the repository root; see BENCHMARKS.md)\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.rows = map[string]bool{}
	for _, r := range strings.Split(rows, ",") {
		r = strings.TrimSpace(strings.ToLower(r))
		if n, ok := rowNumbers[r]; ok {
			r = n
		}
		switch {
		case r == "":
		case r == "6":
			return nil, errors.New("row 6 (Stripe calls per request) is a column of every row; run the rows you want it for")
		case slices.Contains(rowNames, r):
			o.rows[r] = true
		default:
			return nil, fmt.Errorf("-rows: unknown row %q (want %s)", r, strings.Join(rowNames, ","))
		}
	}
	if len(o.rows) == 0 {
		for _, r := range rowNames {
			o.rows[r] = true
		}
	}
	switch {
	case o.duration <= 0:
		return nil, errors.New("-duration must be positive")
	case o.webhookWait <= 0:
		return nil, errors.New("-webhook-wait must be positive")
	case o.warmup < 0:
		return nil, errors.New("-warmup must not be negative")
	case o.conns < 1 || o.scaleConns < 1:
		return nil, errors.New("-conns and -scale-conns must be at least 1")
	case o.users < 1:
		return nil, errors.New("-users must be at least 1")
	case o.tenantApps < 1 || o.tenantUsers < 1:
		return nil, errors.New("-tenant-apps and -tenant-users must be at least 1")
	case o.smallInvoices < minScaleInvoices || o.largeInvoices < minScaleInvoices:
		return nil, fmt.Errorf("-small-invoices and -large-invoices must be at least %d", minScaleInvoices)
	}
	return o, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == ceilingCommand {
		if err := runCeiling(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling server:", err)
			os.Exit(1)
		}
		return
	}
	opt, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, opt)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one run of the harness.
type bench struct {
	opt           *options
	root          string // the module's directory
	tmp           string // work directory: binary, databases, logs
	bin           string // the appwheel binary
	stripeMockURL string // stripe-mock, or a closed local port when it is not running
	stripeMockErr error  // why stripe-mock is not running
	started       time.Time
	loadAtStart   string // /proc/loadavg when the run started
	lines         []*line
	notes         []string
}

// deadStripe is where Stripe calls go when stripe-mock is not running: a
// local port nothing listens on, so a call fails at once and never leaves
// the machine.
const deadStripe = "http://127.0.0.1:9"

func run(ctx context.Context, opt *options) error {
	b := &bench{opt: opt, started: time.Now(), loadAtStart: loadAvg()}
	var err error
	if b.root, err = moduleRoot(); err != nil {
		return err
	}
	if opt.cpuprofileDir != "" {
		if opt.cpuprofileDir, err = filepath.Abs(opt.cpuprofileDir); err != nil {
			return err
		}
		if err := os.MkdirAll(opt.cpuprofileDir, 0o755); err != nil {
			return err
		}
	}
	if b.tmp, err = os.MkdirTemp("", "appwheel-bench-"); err != nil {
		return err
	}
	if opt.keep {
		defer logf("kept the work directory %s", b.tmp)
	} else {
		defer os.RemoveAll(b.tmp)
	}

	logf("building cmd/appwheel")
	if b.bin, err = buildAppwheel(ctx, b.root, b.tmp, opt.cpuprofileDir != ""); err != nil {
		return err
	}

	b.stripeMockURL = deadStripe
	needMain := opt.rows["ceiling"] || opt.rows["mirror"] || opt.rows["live"] || opt.rows["create"] || opt.rows["webhook"]
	if needMain || opt.rows["scale"] {
		mock, mockLog, err := b.startStripeMock(ctx, opt.stripeMock)
		if err != nil {
			b.stripeMockErr = err
			logf("stripe-mock: %v", err)
		} else {
			b.stripeMockURL = mock.URL
			defer mockLog.Close()
			defer mock.Close()
		}
	}

	var bodies *sampleBodies
	if needMain {
		if bodies, err = b.mainRows(ctx); err != nil {
			return err
		}
	}
	if opt.rows["tenants"] {
		// Right after rows 2a and 2b, which 9c and 9d compare with.
		b.tenantRows(ctx, bodies)
	}
	if opt.rows["mirror"] || opt.rows["webhook"] {
		b.lines = append(b.lines, b.postgresMainRows(ctx, bodies)...)
	}
	if opt.rows["ceiling"] && bodies != nil {
		b.ceilingRows(ctx, bodies)
	}
	if opt.rows["scale"] {
		b.scaleRows(ctx)
	}
	if opt.rows["import"] {
		b.importRows(ctx)
	}
	if opt.rows["notify"] {
		b.notifyRows(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	report := b.report()
	fmt.Print(report)
	if opt.out != "" {
		if err := os.WriteFile(opt.out, []byte(report), 0o644); err != nil {
			return err
		}
		logf("wrote %s", opt.out)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// phase is one measured phase of a row.
type phase struct {
	res     *result
	profile string  // the CPU profile's path, "" when none
	mem     memPeak // the server's peak RSS over the phase
}

// measured runs one row's measured phase on g, for d, following the
// server's RSS and taking a CPU profile of s beside it when asked
// (profile: its file name, without .pprof).
func (b *bench) measured(ctx context.Context, g *generator, s *server, d time.Duration, profile string, mk makeRequest) phase {
	var p phase
	var profErr chan error
	if b.opt.cpuprofileDir != "" && s.pprofAddr != "" && profile != "" {
		p.profile = filepath.Join(b.opt.cpuprofileDir, profile+".pprof")
		profErr = make(chan error, 1)
		go func() { profErr <- takeProfile(ctx, s.pprofAddr, d, p.profile) }()
	}
	mem := watchRSS(s.pid())
	p.res = g.run(ctx, d, mk)
	p.mem = mem.peak()
	if profErr != nil {
		if err := <-profErr; err != nil {
			b.notes = append(b.notes, fmt.Sprintf("CPU profile %s: %v", profile, err))
			p.profile = ""
		}
	}
	return p
}

// measure is one row: warm-up, then the measured phase, with the server's
// Stripe calls counted from /metrics around it (when countStripe).
func (b *bench) measure(ctx context.Context, l *line, s *server, conns int, slug string, countStripe bool, mk makeRequest) {
	logf("row %s: %s", l.id, l.what)
	g := newGenerator(conns)
	defer g.close()
	if b.opt.warmup > 0 {
		l.warm = g.run(ctx, b.opt.warmup, mk)
	}
	var before float64
	var err error
	if countStripe {
		if before, err = stripeCalls(ctx, s.base); err != nil {
			l.note = "metrics: " + err.Error()
			countStripe = false
		}
	}
	p := b.measured(ctx, g, s, b.opt.duration, slug, mk)
	l.res, l.profile, l.mem = p.res, p.profile, p.mem
	l.rate, l.hasRate = l.res.rps(), true
	if countStripe && l.res.requests > 0 {
		after, err := stripeCalls(ctx, s.base)
		if err != nil {
			l.note = "metrics: " + err.Error()
		} else {
			l.stripe, l.hasStripe = (after-before)/float64(l.res.requests), true
		}
	}
	if l.res.errors > 0 {
		l.note = strings.TrimPrefix(l.note+"; first error: "+l.res.firstErr, "; ")
	}
	if b.opt.rssCheck && l.memCheck && ctx.Err() == nil {
		// The same load again, twice as long, on the same server and
		// connections: the peak must not grow with the requests served.
		logf("row %s: again for %v (-rss-check)", l.id, 2*b.opt.duration)
		l.again = b.measured(ctx, g, s, 2*b.opt.duration, "", mk)
	}
}

// sampleBodies are one response body of each mirror read, which the
// ceiling server answers with.
type sampleBodies struct {
	paymentMethods, invoices []byte
}

// mainRows seeds the main database, serves it, and runs rows 2–5 on it.
func (b *bench) mainRows(ctx context.Context) (*sampleBodies, error) {
	opt := b.opt
	logf("seeding the main database: %d synced users × (3 cards, 1 subscription, %d invoices) through the store API", opt.users, invoicesPerUser)
	t0 := time.Now()
	d, err := seedMain(ctx, filepath.Join(b.tmp, "main"), opt.users)
	if err != nil {
		return nil, fmt.Errorf("seeding the main database: %w", err)
	}
	logf("seeded in %v", time.Since(t0).Round(time.Millisecond))
	s, err := b.startServe(ctx, "main", filepath.Join(b.tmp, "main"))
	if err != nil {
		return nil, err
	}
	defer s.stop(30 * time.Second)

	// One body of each read, for the ceiling server; also a check that
	// the mirror answers.
	bodies := &sampleBodies{}
	if bodies.paymentMethods, err = fetchOnce(ctx, s.base, d.mirror, "/v1/stripe/payment-methods?appUserId="+d.users[0]); err != nil {
		return nil, fmt.Errorf("mirror paymentMethod: %w", err)
	}
	if bodies.invoices, err = fetchOnce(ctx, s.base, d.mirror, "/v1/stripe/invoices?appUserId="+d.users[0]+"&limit=20"); err != nil {
		return nil, fmt.Errorf("mirror invoices: %w", err)
	}

	conns := fmt.Sprintf("%d conns", opt.conns)
	if opt.rows["mirror"] {
		pm := &line{id: "2a", what: "paymentMethod from the mirror (3 cards)", setup: "mirror app, SQLite, " + conns, memCheck: true}
		b.measure(ctx, pm, s, opt.conns, "2a-mirror-paymentMethod", true, paymentMethodsOf(s.base, d.mirror, d.users))
		inv := &line{id: "2b", what: "invoices from the mirror (page of 20)", setup: "mirror app, SQLite, " + conns, memCheck: true}
		b.measure(ctx, inv, s, opt.conns, "2b-mirror-invoices", true, invoicesOf(s.base, d.mirror, d.users))
		b.lines = append(b.lines, pm, inv)
	}
	if opt.rows["live"] {
		pm := &line{id: "3a", what: "paymentMethod, live mode (every read asks Stripe)", setup: "live app, stripe-mock, " + conns}
		inv := &line{id: "3b", what: "invoices, live mode (page of 20)", setup: "live app, stripe-mock, " + conns}
		if b.stripeMockErr != nil {
			pm.note, inv.note = "skipped: "+b.stripeMockErr.Error(), "skipped: stripe-mock is not running"
		} else {
			b.measure(ctx, pm, s, opt.conns, "3a-live-paymentMethod", true, paymentMethodsOf(s.base, d.live, d.users))
			b.measure(ctx, inv, s, opt.conns, "3b-live-invoices", true, invoicesOf(s.base, d.live, d.users))
		}
		b.lines = append(b.lines, pm, inv)
	}
	if opt.rows["create"] {
		l := &line{id: "4", what: "createPaymentMethod (setupIntent)", setup: "mirror app, stripe-mock, " + conns}
		if b.stripeMockErr != nil {
			l.note = "skipped: " + b.stripeMockErr.Error()
		} else {
			users := d.setupUsers
			b.measure(ctx, l, s, opt.conns, "4-create-setupIntent", true, func(ctx context.Context, w *worker) (*http.Request, error) {
				body := fmt.Appendf(nil, `{"appUserId":%q,"type":"setupIntent"}`, users[w.rng.IntN(len(users))])
				return signedRequest(ctx, s.base, d.mirror, http.MethodPost, "/v1/stripe/payment-methods", body)
			})
		}
		b.lines = append(b.lines, l)
	}
	if opt.rows["webhook"] {
		logf("row 5: webhook ingestion")
		ro, err := openReadOnly(d.path)
		if err != nil {
			return nil, err
		}
		b.lines = append(b.lines, b.webhookRows(ctx, s, webhookRig{
			accept: "5a", apply: "5b", store: "SQLite", applySetup: "the applier on the same SQLite file",
			target: apply5b, profile: "5-webhook", events: sqliteEvents{ro}, app: d.mirror.ID, users: len(d.users),
		})...)
		ro.Close()
	}
	return bodies, ctx.Err()
}
