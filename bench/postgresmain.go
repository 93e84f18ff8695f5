package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/appwheel/appwheel/postgres"
)

// The mirror reads (2c, 2d) and webhook ingestion (5c, 5d) on PostgreSQL:
// the same data as the SQLite rows 2a, 2b, 5a and 5b (the same -users
// synced users, each with 3 cards, a subscription and 25 invoices:
// mirrorTables writes the rows seedMirrorUser writes through the store),
// under the same load, served by `appwheel serve` on a fresh schema,
// appwheel_bench_main, of -postgres-url's database. As for the scale rows'
// PostgreSQL variant, `appwheel migrate` creates the tables, `appwheel apps
// create` the app, and COPY the data; a binary without PostgreSQL gets a
// row saying so.

// postgresMainRows runs the mirror rows' and the webhook rows'
// PostgreSQL variants that -rows asks for; sqlite are the bodies the
// SQLite mirror served, which the ceiling serves.
func (b *bench) postgresMainRows(ctx context.Context, sqlite *sampleBodies) []*line {
	opt := b.opt
	if sqlite == nil {
		sqlite = &sampleBodies{}
	}
	setup := fmt.Sprintf("mirror app, PostgreSQL, %d conns", opt.conns)
	var pm, inv *line
	if opt.rows["mirror"] {
		pm = &line{id: "2c", what: "paymentMethod from the mirror (3 cards), PostgreSQL", setup: setup, memCheck: true}
		inv = &line{id: "2d", what: "invoices from the mirror (page of 20), PostgreSQL", setup: setup, memCheck: true}
	}
	ok, err := b.postgresSupported(ctx)
	if err != nil || !ok {
		var lines []*line
		for _, id := range []string{"2c", "5c"} {
			if (id == "2c" && pm == nil) || (id == "5c" && !opt.rows["webhook"]) {
				continue
			}
			l := &line{id: id, what: notSupported, setup: "`appwheel serve -h` does not mention PostgreSQL"}
			if err != nil {
				l.note = err.Error()
			}
			lines = append(lines, l)
		}
		return lines
	}
	var lines []*line
	if pm != nil {
		lines = append(lines, pm, inv)
	}
	webhookFailed := func(err error) []*line {
		accept := &line{id: "5c", what: "webhook ingestion: POST accepted, PostgreSQL", note: "failed: " + err.Error()}
		apply := &line{id: "5d", what: "webhook ingestion: applied end to end, PostgreSQL", note: accept.note,
			target: "≥ " + thousands(apply5d) + " applied/s", applyTarget: apply5d, verdict: "not met"}
		return append(lines, accept, apply)
	}
	failed := func(err error) []*line {
		if pm != nil {
			pm.note, inv.note = "failed: "+err.Error(), "failed: "+err.Error()
		}
		if opt.rows["webhook"] {
			return webhookFailed(err)
		}
		return lines
	}

	logf("PostgreSQL: fresh schema appwheel_bench_main, %d synced users × (3 cards, 1 subscription, %d invoices) by COPY", opt.users, invoicesPerUser)
	p, err := b.freshSchema(ctx, "main", "bench-mirror")
	if err != nil {
		return failed(err)
	}
	defer p.drop(ctx) // after serve stops, deferred below
	t0 := time.Now()
	if err := seedPostgres(ctx, p.url, mirrorTables(storerow.Codec{Times: postgres.Times{}}, p.app.ID, time.Now(), opt.users)); err != nil {
		return failed(fmt.Errorf("seeding: %w", err))
	}
	logf("seeded in %v", time.Since(t0).Round(time.Millisecond))
	s, err := b.servePostgres(ctx, p)
	if err != nil {
		return failed(err)
	}
	defer s.stop(30 * time.Second)
	users := make([]string, opt.users)
	for i := range users {
		users[i] = fmt.Sprintf("u-%d", i)
	}

	if pm != nil {
		// A check that the mirror answers, and that its bodies are the
		// size of the SQLite ones the ceiling serves.
		for _, c := range []struct {
			line   *line
			target string
			sqlite []byte
		}{
			{pm, "/v1/stripe/payment-methods?appUserId=" + users[0], sqlite.paymentMethods},
			{inv, "/v1/stripe/invoices?appUserId=" + users[0] + "&limit=20", sqlite.invoices},
		} {
			body, err := fetchOnce(ctx, s.base, p.app, c.target)
			if err != nil {
				return failed(fmt.Errorf("GET %s: %w", c.target, err))
			}
			if len(body) != len(c.sqlite) {
				c.line.note = fmt.Sprintf("its body is %d bytes, the SQLite one's (and the ceiling's) %d", len(body), len(c.sqlite))
			}
		}
		b.measure(ctx, pm, s, opt.conns, "2c-mirror-postgres-paymentMethod", true, paymentMethodsOf(s.base, p.app, users))
		b.measure(ctx, inv, s, opt.conns, "2d-mirror-postgres-invoices", true, invoicesOf(s.base, p.app, users))
	}
	if opt.rows["webhook"] {
		logf("row 5 (PostgreSQL): webhook ingestion")
		conn, err := pgx.Connect(ctx, p.url)
		if err != nil {
			return webhookFailed(err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		lines = append(lines, b.webhookRows(ctx, s, webhookRig{
			accept: "5c", apply: "5d", store: "PostgreSQL", applySetup: "the applier on the same PostgreSQL schema",
			target: apply5d, profile: "5-webhook-postgres", events: postgresEvents{conn}, app: p.app.ID, users: len(users),
		})...)
	}
	return lines
}
