package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/appwheel/appwheel/postgres"
	"github.com/appwheel/appwheel/stripe"
)

// These tests check the harness's own pieces quickly; they run no load.

func TestSumMetric(t *testing.T) {
	text := `# HELP appwheel_stripe_requests_total Stripe API calls
# TYPE appwheel_stripe_requests_total counter
appwheel_stripe_requests_total{operation="get_customer",outcome="ok"} 3
appwheel_stripe_requests_total{operation="list_invoices",outcome="ok"} 4.5
appwheel_stripe_requests_total_other 100
appwheel_http_requests_total{route="x",code="0"} 7
`
	got, err := sumMetric(strings.NewReader(text), "appwheel_stripe_requests_total")
	if err != nil || got != 7.5 {
		t.Fatalf("sumMetric = %v, %v; want 7.5", got, err)
	}
	if _, err := sumMetric(strings.NewReader("x 1\n"), "appwheel_stripe_requests_total"); err == nil {
		t.Fatal("a missing metric is not an error")
	}
}

func TestPercentiles(t *testing.T) {
	r := &result{}
	for i := 1; i <= 100; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	if p := r.pct(50); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := r.pct(99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if p := r.pct(100); p != 100*time.Millisecond {
		t.Errorf("p100 = %v", p)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1000000: "1,000,000", -12345: "-12,345"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// The scale seed: the invoice count is exact, every probe user has 25
// invoices, and the store reads a probe user's page as AppWheel will.
func TestSeedScale(t *testing.T) {
	ctx := context.Background()
	const users, total = 300, 2000
	probes := probeUsers(total)
	d, err := seedScale(ctx, t.TempDir(), total, probes, users)
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := openStore(ctx, d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ro, err := openReadOnly(d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n, customers, subs int
	if err := ro.QueryRow(`SELECT (SELECT COUNT(*) FROM invoices), (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM subscriptions)`).Scan(&n, &customers, &subs); err != nil {
		t.Fatal(err)
	}
	if n != total || customers != users || subs != users {
		t.Fatalf("%d invoices, %d customers, %d subscriptions; want %d, %d, %d", n, customers, subs, total, users, users)
	}
	for _, u := range []string{d.probes[0], d.probes[len(d.probes)-1]} {
		st, err := db.CustomerState(ctx, d.app.ID, u)
		if err != nil || st.SyncedAt.IsZero() {
			t.Fatalf("probe user %s: %+v, %v", u, st, err)
		}
		page, err := db.InvoicesOf(ctx, d.app.ID, appwheel.ListInvoicesParams{CustomerID: st.CustomerID, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Invoices) != 20 || !page.HasMore || page.Invoices[0].PriceInterval != "month" || page.Invoices[0].SubscriptionID == "" {
			t.Fatalf("probe user %s: %d invoices, hasMore %v, first %+v", u, len(page.Invoices), page.HasMore, page.Invoices[0])
		}
		var mine int
		if err := ro.QueryRow(`SELECT COUNT(*) FROM invoices WHERE customer_id = ?`, st.CustomerID).Scan(&mine); err != nil || mine != probeInvoices {
			t.Fatalf("probe user %s has %d invoices, want %d (%v)", u, mine, probeInvoices, err)
		}
	}
}

// The PostgreSQL scale seed writes the same rows, which the PostgreSQL
// store reads as AppWheel will.
func TestSeedPostgres(t *testing.T) {
	ctx := context.Background()
	const users, total = 300, 2000
	probes := probeUsers(total)
	url := pgtest.NewSchema(t)
	db := postgres.NewDB(url, postgres.Options{})
	if err := db.Open(ctx); err != nil { // migrates, as `appwheel migrate` does
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateApp(ctx, &appwheel.AppRecord{ID: "app_scale", SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	tables := scaleTables(storerow.Codec{Times: postgres.Times{}}, "app_scale", time.Now(), total, probes, users)
	if err := seedPostgres(ctx, url, tables); err != nil {
		t.Fatal(err)
	}
	var n, customers, subs int
	if err := db.Pool().QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM invoices), (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM subscriptions)`).Scan(&n, &customers, &subs); err != nil {
		t.Fatal(err)
	}
	if n != total || customers != users || subs != users {
		t.Fatalf("%d invoices, %d customers, %d subscriptions; want %d, %d, %d", n, customers, subs, total, users, users)
	}
	st, err := db.CustomerState(ctx, "app_scale", fmt.Sprintf("u-%d", probes-1))
	if err != nil || st.SyncedAt.IsZero() {
		t.Fatalf("last probe user: %+v, %v", st, err)
	}
	page, err := db.InvoicesOf(ctx, "app_scale", appwheel.ListInvoicesParams{CustomerID: st.CustomerID, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Invoices) != 20 || !page.HasMore || page.Invoices[0].PriceInterval != "month" || page.Invoices[0].PaidAt == 0 {
		t.Fatalf("last probe user: %d invoices, hasMore %v, first %+v", len(page.Invoices), page.HasMore, page.Invoices[0])
	}
	subsOf, err := db.SubscriptionsOf(ctx, "app_scale", st.CustomerID)
	if err != nil || len(subsOf) != 1 || subsOf[0].Status != "active" {
		t.Fatalf("last probe user's subscriptions: %+v, %v", subsOf, err)
	}
}

// The webhook events the harness sends verify with the app's secret and
// decode to a new card and a new invoice of a seeded user.
func TestWebhookEvents(t *testing.T) {
	now := time.Now()
	pm := paymentMethodAttached("evt_bm000_0000001", "pm_bm000_0000001", mirrorCustomer(7), now.Unix(), 1)
	inv := invoicePaid("evt_bm000_0000002", "in_bm000_0000002", mirrorCustomer(7), userSub(7), 7, now.Unix())
	for _, payload := range [][]byte{pm, inv} {
		ev, err := stripe.VerifyEvent(payload, signStripe(payload, webhookSecret, now), webhookSecret)
		if err != nil {
			t.Fatalf("verify: %v\n%s", err, payload)
		}
		if !strings.HasPrefix(ev.ID, eventPrefix("m")) {
			t.Errorf("event id %s is outside the measured phase's range", ev.ID)
		}
		se, err := stripe.DecodeEvent(payload)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case se.PaymentMethod != nil:
			if se.PaymentMethod.CustomerID != mirrorCustomer(7) || se.PaymentMethod.Type != "card" {
				t.Errorf("payment method %+v", se.PaymentMethod)
			}
		case se.Invoice != nil:
			i := se.Invoice
			if i.CustomerID != mirrorCustomer(7) || i.SubscriptionID != userSub(7) || i.PriceID != benchPrice || i.Status != "paid" || i.PaidAt == 0 {
				t.Errorf("invoice %+v", i)
			}
		default:
			t.Errorf("event %s decoded to nothing", ev.ID)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-rows", "1,mirror,7"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.rows) != "map[ceiling:true mirror:true scale:true]" {
		t.Errorf("rows %v", o.rows)
	}
	if o.rssCheck {
		t.Error("-rss-check is on by default")
	}
	if o, err := parseFlags([]string{"-rss-check"}, &strings.Builder{}); err != nil || !o.rssCheck {
		t.Errorf("-rss-check: %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"-rows", "6"}, &strings.Builder{}); err == nil {
		t.Error("row 6 accepted")
	}
	if _, err := parseFlags([]string{"-rows", "nope"}, &strings.Builder{}); err == nil {
		t.Error("unknown row accepted")
	}
}

// The PostgreSQL main database's rows (mirrorTables, by COPY) read back
// through the PostgreSQL store as the SQLite main database's, written
// through the SQLite store (seedMirrorUser), read through that one: rows
// 2a–2b and 2c–2d serve the same data.
func TestMirrorTables(t *testing.T) {
	ctx := context.Background()
	const users = 3
	at := time.Now().Truncate(time.Microsecond)
	now, synced, version := seedTimes(at)

	lite, svc, err := openStore(ctx, t.TempDir()+"/main.db")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	app, err := svc.Create(ctx, apps.CreateParams{
		Name: "bench-mirror", Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey,
		StripeWebhookSecret: webhookSecret, ReadMode: appwheel.ReadMirror,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range users {
		if err := seedMirrorUser(ctx, lite, app.ID, fmt.Sprintf("u-%d", i), i, now, synced, version); err != nil {
			t.Fatal(err)
		}
	}

	url := pgtest.NewSchema(t)
	pg := postgres.NewDB(url, postgres.Options{})
	if err := pg.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := pg.CreateApp(ctx, &appwheel.AppRecord{ID: app.ID, SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if err := seedPostgres(ctx, url, mirrorTables(storerow.Codec{Times: postgres.Times{}}, app.ID, at, users)); err != nil {
		t.Fatal(err)
	}

	type reads struct {
		State    *appwheel.CustomerState
		Methods  []*appwheel.PaymentMethod
		Subs     []*appwheel.Subscription
		History  map[string][]appwheel.StatusChange
		Invoices *appwheel.InvoicePage
		Rest     *appwheel.InvoicePage
	}
	read := func(s appwheel.MirrorStore, user string) reads {
		t.Helper()
		var r reads
		var err error
		if r.State, err = s.CustomerState(ctx, app.ID, user); err != nil {
			t.Fatal(err)
		}
		if r.Methods, err = s.PaymentMethodsOf(ctx, app.ID, r.State.CustomerID); err != nil {
			t.Fatal(err)
		}
		if r.Subs, err = s.SubscriptionsOf(ctx, app.ID, r.State.CustomerID); err != nil {
			t.Fatal(err)
		}
		if r.History, err = s.StatusHistory(ctx, app.ID, []string{userSub(0), userSub(1), userSub(2)}); err != nil {
			t.Fatal(err)
		}
		if r.Invoices, err = s.InvoicesOf(ctx, app.ID, appwheel.ListInvoicesParams{CustomerID: r.State.CustomerID, Limit: 20}); err != nil {
			t.Fatal(err)
		}
		if r.Rest, err = s.InvoicesOf(ctx, app.ID, appwheel.ListInvoicesParams{CustomerID: r.State.CustomerID, Limit: 20, StartingAfter: r.Invoices.Invoices[19].ID}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range users {
		user := fmt.Sprintf("u-%d", i)
		want, got := read(lite, user), read(pg, user)
		if len(want.Methods) != methodsPerUser || len(want.Invoices.Invoices) != 20 || !want.Invoices.HasMore || len(want.History[userSub(i)]) != 2 {
			t.Fatalf("%s through the SQLite store: %d methods, %d invoices (hasMore %v), history %v", user, len(want.Methods), len(want.Invoices.Invoices), want.Invoices.HasMore, want.History)
		}
		// ReadsVersion counts the writes to the user's rows (the page
		// cache's key), not what the reads show: the store API writes the
		// subscription twice, COPY once.
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(appwheel.CustomerState{}, "ReadsVersion")); diff != "" {
			t.Errorf("%s: PostgreSQL (COPY) differs from SQLite (store API) (-sqlite +postgres):\n%s", user, diff)
		}
	}
}

// The eventLogs read what the stores record: pending events, then the
// phase's applied ones and the last processed_at.
func TestEventLogs(t *testing.T) {
	ctx := context.Background()
	at := time.Now().Truncate(time.Microsecond).UTC()
	check := func(t *testing.T, s appwheel.MirrorStore, events eventLog, appID string) {
		t.Helper()
		for i, id := range []string{"evt_bm001_0000001", "evt_bm001_0000002", "evt_bw001_0000001"} {
			if _, err := s.RecordEvent(ctx, &appwheel.Event{AppID: appID, ID: id, Type: "invoice.paid", Created: at.Unix(), Payload: []byte("{}"), ReceivedAt: at}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				continue
			}
			if err := s.MarkEventProcessed(ctx, appID, id, at.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := events.pending(ctx, appID); err != nil || n != 1 {
			t.Errorf("pending = %d, %v; want 1", n, err)
		}
		n, last, err := events.applied(ctx, appID, "m")
		if err != nil || n != 1 || !last.Equal(at.Add(time.Second)) {
			t.Errorf("applied(m) = %d, %v, %v; want 1, %v", n, last, err, at.Add(time.Second))
		}
		if n, last, err := events.applied(ctx, appID, "x"); err != nil || n != 0 || !last.IsZero() && last.Unix() != 0 {
			t.Errorf("applied(x) = %d, %v, %v; want 0", n, last, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := t.TempDir() + "/main.db"
		db, svc, err := openStore(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		app, err := svc.Create(ctx, apps.CreateParams{Name: "x", Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey, StripeWebhookSecret: webhookSecret, ReadMode: appwheel.ReadMirror})
		if err != nil {
			t.Fatal(err)
		}
		ro, err := openReadOnly(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		check(t, db, sqliteEvents{ro}, app.ID)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.NewSchema(t)
		db := postgres.NewDB(url, postgres.Options{})
		if err := db.Open(ctx); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.CreateApp(ctx, &appwheel.AppRecord{ID: "app_ev", SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k")}); err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		check(t, db, postgresEvents{conn}, "app_ev")
	})
}

func testRead(rate float64, p99 time.Duration, stripe float64) *line {
	r := &result{requests: 100, lat: []time.Duration{p99 / 4, p99}}
	return &line{res: r, rate: rate, hasRate: true, stripe: stripe, hasStripe: stripe >= 0}
}

// judgeRead: throughput against the ceiling's, p99 against the ceiling's
// own p99 in the same run, no Stripe call.
func TestJudgeRead(t *testing.T) {
	sqliteT, pgT := readTargets[0], readTargets[2]
	ceiling := testRead(10000, 4*time.Millisecond, -1)
	for _, tc := range []struct {
		name    string
		l, ceil *line
		t       readTarget
		conns   int
		verdict string
		entry   []string // substrings of the Targets entry
	}{
		{"met", testRead(5000, 8*time.Millisecond, 0), ceiling, sqliteT, 64, "met",
			[]string{"throughput 0.50× ceiling 1a (target ≥ 0.5×): met", "p99 8.00 ms, 2.00× 1a's 4.00 ms (target ≤ 2×): met", "Stripe calls per read 0.00 (target 0): met"}},
		{"p99 over 2×", testRead(6000, 9*time.Millisecond, 0), ceiling, sqliteT, 64, "not met (p99 2.25×)",
			[]string{"2.25× 1a's 4.00 ms (target ≤ 2×): not met"}},
		{"slow and a Stripe call", testRead(1000, 4*time.Millisecond, 0.5), ceiling, sqliteT, 64, "not met (throughput 0.10×, Stripe calls)", nil},
		{"postgres at 0.3× and 3×", testRead(3000, 12*time.Millisecond, 0), ceiling, pgT, 64, "met",
			[]string{"(target ≥ 0.3×): met", "3.00× 1a's 4.00 ms (target ≤ 3×): met"}},
		{"postgres p99 over 3×", testRead(3000, 13*time.Millisecond, 0), ceiling, pgT, 64, "not met (p99 3.25×)", nil},
		{"no ceiling", testRead(3000, 1*time.Millisecond, 0), nil, sqliteT, 64, "not met (no ceiling)",
			[]string{"throughput vs ceiling: not measured", "p99 1.00 ms vs ceiling: not measured"}},
		{"other conns", testRead(5000, 8*time.Millisecond, 0), ceiling, sqliteT, 8, "met",
			[]string{"measured at 8 conns, the target is defined at 64"}},
		{"not measured", &line{}, ceiling, pgT, 64, "not measured", []string{"not measured"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.l.id, tc.l.what = tc.t.row, "read"
			entry := judgeRead(tc.l, tc.ceil, tc.t, tc.conns)
			if tc.l.verdict != tc.verdict {
				t.Errorf("verdict %q, want %q (entry %q)", tc.l.verdict, tc.verdict, entry)
			}
			for _, want := range tc.entry {
				if !strings.Contains(entry, want) {
					t.Errorf("entry %q lacks %q", entry, want)
				}
			}
			if tc.l.target != tc.t.String() {
				t.Errorf("target %q, want %q", tc.l.target, tc.t.String())
			}
		})
	}
}

// -rss-check: a read row whose peak grows more than 10 % is not met.
func TestJudgeReadMemory(t *testing.T) {
	ceiling := testRead(10000, 4*time.Millisecond, -1)
	for _, tc := range []struct {
		second  int64
		verdict string
	}{{110 << 20, "met"}, {111 << 20, "not met (memory ×1.11)"}} {
		l := testRead(5000, 8*time.Millisecond, 0)
		l.id, l.mem = "2a", memPeak{bytes: 100 << 20}
		l.again = phase{res: &result{requests: 200}, mem: memPeak{bytes: tc.second}}
		judgeRead(l, ceiling, readTargets[0], 64)
		if l.verdict != tc.verdict {
			t.Errorf("second peak %d MiB: verdict %q, want %q", tc.second>>20, l.verdict, tc.verdict)
		}
		if e := memoryEntry(l, 10*time.Second); !strings.Contains(e, "100.0 MiB over 10s (100 requests)") || !strings.Contains(e, "over 20s more (200 requests)") {
			t.Errorf("memory entry %q", e)
		}
	}
}

func TestRatioText(t *testing.T) {
	for _, tc := range []struct {
		x, bound float64
		want     string
	}{{0.13, 0.5, "0.13"}, {0.5, 0.5, "0.50"}, {0.29971, 0.3, "0.2997"}, {2.0012, 2, "2.0012"}, {7.391, 2, "7.39"}} {
		if got := ratioText(tc.x, tc.bound); got != tc.want {
			t.Errorf("ratioText(%v, %v) = %q, want %q", tc.x, tc.bound, got, tc.want)
		}
	}
}

func TestRSSGrowth(t *testing.T) {
	for _, tc := range []struct {
		first, second int64
		ok            bool
	}{{100, 100, true}, {100, 90, true}, {100, 110, true}, {100, 111, false}, {0, 100, false}, {100, 0, false}} {
		if _, ok := rssGrowth(memPeak{bytes: tc.first}, memPeak{bytes: tc.second}); ok != tc.ok {
			t.Errorf("rssGrowth(%d, %d) ok = %v, want %v", tc.first, tc.second, ok, tc.ok)
		}
	}
	if _, ok := rssGrowth(memPeak{bytes: 100, err: "x"}, memPeak{bytes: 100}); ok {
		t.Error("an unknown peak meets the target")
	}
}

func TestStatusField(t *testing.T) {
	status := "Name:\tappwheel\nVmPeak:\t 1300000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n"
	if got, err := statusField(strings.NewReader(status), "VmHWM"); err != nil || got != 50<<20 {
		t.Errorf("VmHWM = %d, %v; want %d", got, err, 50<<20)
	}
	if got, err := statusField(strings.NewReader(status), "VmRSS"); err != nil || got != 40<<20 {
		t.Errorf("VmRSS = %d, %v; want %d", got, err, 40<<20)
	}
	if _, err := statusField(strings.NewReader(status), "VmSwap"); err == nil {
		t.Error("a missing field is not an error")
	}
}

// watchRSS on this process: a peak at least as large as what the phase
// allocated and touched.
func TestWatchRSS(t *testing.T) {
	if _, err := procStatus(os.Getpid(), "VmRSS"); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	w := watchRSS(os.Getpid())
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	m := w.peak()
	if !m.known() || m.bytes < 64<<20 {
		t.Fatalf("peak %+v after touching 64 MiB", m)
	}
	runtime.KeepAlive(buf)
	if m := watchRSS(0).peak(); m.known() {
		t.Errorf("pid 0: %+v", m)
	}
}

func TestRowOrder(t *testing.T) {
	ids := []string{"10", "9d", "1b", "2a", "1a", "9a", "7f", "5b"}
	lines := make([]*line, len(ids))
	for i, id := range ids {
		lines[i] = &line{id: id}
	}
	slices.SortStableFunc(lines, compareRows)
	var got []string
	for _, l := range lines {
		got = append(got, l.id)
	}
	if want := "1a 1b 2a 5b 7f 9a 9d 10"; strings.Join(got, " ") != want {
		t.Errorf("rows in the order %v, want %s", got, want)
	}
}
