package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/appwheel/appwheel"
)

// Scale: the invoices read on a database with -small-invoices and one with
// -large-invoices invoices, both over 100,000 synced users, at a modest
// concurrency (-scale-conns). The users read are the same few hundred
// "probe" users in both, each with exactly 25 invoices, so both databases
// serve identical pages and only the size of the tables differs; the
// other invoices are spread evenly over the other users. The ratio of the
// large database's latency to the small one's is the result.

func (b *bench) scaleRows(ctx context.Context) {
	opt := b.opt
	probes := probeUsers(opt.smallInvoices)
	setup := fmt.Sprintf("SQLite, %d conns, reads over %d users with %d invoices each", opt.scaleConns, probes, probeInvoices)
	small := &line{id: "7a", what: fmt.Sprintf("invoices (page of 20), %s invoices over 100,000 users", thousands(opt.smallInvoices)), setup: setup}
	large := &line{id: "7b", what: fmt.Sprintf("invoices (page of 20), %s invoices over 100,000 users", thousands(opt.largeInvoices)), setup: setup}
	ratio := &line{id: "7c", what: "scale ratio large/small (SQLite)", setup: "7b ÷ 7a", target: "≤ 1.5×"}
	b.lines = append(b.lines, small, large, ratio)
	for _, l := range []*struct {
		line     *line
		invoices int
		name     string
	}{{small, opt.smallInvoices, "small"}, {large, opt.largeInvoices, "large"}} {
		if err := b.scaleSQLite(ctx, l.line, l.name, l.invoices, probes); err != nil {
			l.line.note = "failed: " + err.Error()
		}
		if ctx.Err() != nil {
			return
		}
	}
	setRatio(ratio, small, large)
	b.lines = append(b.lines, b.postgresRows(ctx, probes)...)
}

func (b *bench) scaleSQLite(ctx context.Context, l *line, name string, invoices, probes int) error {
	dir := filepath.Join(b.tmp, "scale-"+name)
	logf("seeding the %s scale database: %s invoices over %s users, in SQL", name, thousands(invoices), thousands(scaleUsers))
	t0 := time.Now()
	d, err := seedScale(ctx, dir, invoices, probes, scaleUsers)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	size := fileSize(d.path)
	logf("seeded in %v (%s MB)", time.Since(t0).Round(time.Millisecond), thousands(int(size>>20)))
	l.setup += fmt.Sprintf(", database %s MB", thousands(int(size>>20)))
	s, err := b.startServe(ctx, "scale-"+name, dir)
	if err != nil {
		return err
	}
	defer func() {
		s.stop(30 * time.Second)
		if !b.opt.keep {
			os.RemoveAll(dir)
		}
	}()
	b.measure(ctx, l, s, b.opt.scaleConns, "7-scale-sqlite-"+name, true, invoicesOf(s.base, d.app, d.probes))
	return nil
}

// paymentMethodsOf reads the payment methods of users picked at random.
func paymentMethodsOf(base string, app *appwheel.App, users []string) makeRequest {
	return func(ctx context.Context, w *worker) (*http.Request, error) {
		return signedRequest(ctx, base, app, http.MethodGet, "/v1/stripe/payment-methods?appUserId="+users[w.rng.IntN(len(users))], nil)
	}
}

// invoicesOf reads the first page of 20 invoices of users picked at random.
func invoicesOf(base string, app *appwheel.App, users []string) makeRequest {
	return func(ctx context.Context, w *worker) (*http.Request, error) {
		return signedRequest(ctx, base, app, http.MethodGet, "/v1/stripe/invoices?appUserId="+users[w.rng.IntN(len(users))]+"&limit=20", nil)
	}
}

// setRatio fills the ratio line from the small and large ones.
func setRatio(ratio, small, large *line) {
	if small.res == nil || large.res == nil || small.res.pct(50) == 0 || small.res.pct(99) == 0 {
		ratio.note = "not measured: needs both rows"
		ratio.verdict = "not measured"
		return
	}
	r50 := float64(large.res.pct(50)) / float64(small.res.pct(50))
	r99 := float64(large.res.pct(99)) / float64(small.res.pct(99))
	ratio.p50, ratio.p99 = fmt.Sprintf("×%.2f", r50), fmt.Sprintf("×%.2f", r99)
	if small.hasRate && small.rate > 0 {
		ratio.rateText = fmt.Sprintf("×%.2f", large.rate/small.rate)
	}
	ratio.verdict = metIf(r50 <= 1.5 && r99 <= 1.5 && small.res.errors == 0 && large.res.errors == 0)
	ratio.note = "latency ratios (p50, p99); the requests/s column is large ÷ small throughput"
}

func fileSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// thousands formats n with commas: 1,000,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
