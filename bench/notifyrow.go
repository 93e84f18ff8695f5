package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/notify"
)

// Row 10, deliveries to the app's server: the mirror app of a database
// seeded like the main one has one webhook endpoint, a receiver in the
// harness on loopback answering 204 at once; the generator POSTs row 5's
// signed Stripe events, each of which the server applies and passes on as
// one event (payment_method.added or invoice.paid) delivered through its
// jobs. delivered/s is end to end: the deliveries received divided by the
// time from the first POST to the last delivery.

// deliver10 is the target of row 10 (issue 15): deliveries per second on
// SQLite.
const deliver10 = 1000

// notifyUsers is how many synced users row 10's database has.
const notifyUsers = 200

// countingReceiver counts deliveries and when the last one came.
type countingReceiver struct {
	mu   sync.Mutex
	n    int
	last time.Time
}

func (r *countingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.n++
	r.last = time.Now()
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *countingReceiver) count() (int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.last
}

func (b *bench) notifyRows(ctx context.Context) {
	l := &line{id: "10", what: "events delivered to the app's server (end to end: first POST → last delivery)",
		setup: fmt.Sprintf("mirror app, SQLite, one endpoint on loopback, %d conns", b.opt.conns), unit: "delivered/s",
		target: "≥ " + thousands(deliver10) + " delivered/s"}
	b.lines = append(b.lines, l)
	if err := b.notifyRun(ctx, l); err != nil {
		l.note, l.verdict = "failed: "+err.Error(), "not met"
	}
}

func (b *bench) notifyRun(ctx context.Context, l *line) error {
	logf("row 10: deliveries to the app's server")
	dir := filepath.Join(b.tmp, "notify")
	d, err := seedMain(ctx, dir, notifyUsers)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	rcv := &countingReceiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	if err := addEndpoint(ctx, d, "http://"+ln.Addr().String()+"/events"); err != nil {
		return fmt.Errorf("adding the endpoint: %w", err)
	}
	s, err := b.startServe(ctx, "notify", dir, "APPWHEEL_ALLOW_PRIVATE_WEBHOOK_URLS=true")
	if err != nil {
		return err
	}
	defer s.stop(30 * time.Second)

	g := newGenerator(b.opt.conns)
	defer g.close()
	p := b.measured(ctx, g, s, b.opt.duration, "10-notify", webhookRequest(d.mirror.ID, len(d.users), s.base, "m"))
	accepted := p.res.requests - p.res.errors
	l.res, l.profile, l.mem = p.res, p.profile, p.mem
	var n int
	var last time.Time
	for deadline := time.Now().Add(b.opt.webhookWait); ; time.Sleep(100 * time.Millisecond) {
		if n, last = rcv.count(); n >= accepted || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
	}
	if span := last.Sub(p.res.start); n > 0 && span > 0 {
		l.rate, l.hasRate = float64(n)/span.Seconds(), true
	}
	l.note = fmt.Sprintf("%s deliveries of %s accepted events received %.2f s after the first POST",
		thousands(n), thousands(accepted), last.Sub(p.res.start).Seconds())
	l.verdict = metIf(l.hasRate && n >= accepted && l.rate >= deliver10)
	return nil
}

// addEndpoint gives the mirror app of d an endpoint at url, through the
// endpoints' service on its database, as `apps webhooks add` would.
func addEndpoint(ctx context.Context, d *mainData, url string) error {
	db, _, err := openStore(ctx, d.path)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := crypt.ParseKey(benchMasterKey)
	if err != nil {
		return err
	}
	box, err := crypt.NewBox(key)
	if err != nil {
		return err
	}
	n := notify.New(notify.Config{Store: db, Box: box, Policy: notify.URLPolicy{AllowPrivate: true, AllowHTTP: true}})
	_, _, err = n.AddEndpoint(ctx, d.mirror.ID, url, nil)
	return err
}
