package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// Webhook ingestion: signed Stripe events POSTed to
// /v1/stripe/webhooks/{appId} by the closed-loop generator, alternately
// payment_method.attached (a new card) and invoice.paid (a new invoice of
// the user's subscription), for the seeded users of the mirror app, each
// with a unique evt_ id. Their snapshots are newer than the users' last
// sync, so applying them needs no Stripe call.
//
// accepted/s is the POSTs answered 200 per second of the measured phase.
// applied/s is end to end: the accepted events divided by the time from
// the first POST to the last event's processed_at, which the harness reads
// from the server's database once nothing is left unprocessed: the SQLite
// file, read-only (5a, 5b), or the PostgreSQL schema (5c, 5d).

// The targets of applied/s: rows 5b (SQLite) and 5d (PostgreSQL).
const (
	apply5b = 2000
	apply5d = 1000
)

// eventPrefix is the id prefix of one phase's events (phases are one
// letter, followed by digits): ids of the measured phase sort between
// eventPrefix("m") and eventPrefix("m")+"\x7f".
func eventPrefix(phase string) string { return "evt_b" + phase }

// webhookRequest POSTs events for users u-0 … u-(users-1) of the mirror
// app appID.
func webhookRequest(appID string, users int, base, phase string) makeRequest {
	url := base + "/v1/stripe/webhooks/" + appID
	return func(ctx context.Context, w *worker) (*http.Request, error) {
		i := w.rng.IntN(users)
		now := time.Now()
		// The phase, the worker and its sequence number: unique, and every
		// event id of the phase starts with eventPrefix(phase).
		unique := fmt.Sprintf("%s%03d_%07d", phase, w.id, w.seq)
		id := "evt_b" + unique
		var payload []byte
		if w.seq%2 == 0 {
			payload = paymentMethodAttached(id, "pm_b"+unique, mirrorCustomer(i), now.Unix(), w.seq)
		} else {
			payload = invoicePaid(id, "in_b"+unique, mirrorCustomer(i), userSub(i), i, now.Unix())
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Stripe-Signature", signStripe(payload, webhookSecret, now))
		return req, nil
	}
}

func eventJSON(id, typ string, created int64, object []byte) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2025-03-31.basil","created":%d,"data":{"object":%s},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":%q}`,
		id, created, object, typ)
}

func paymentMethodAttached(evtID, pmID, customer string, created int64, k int) []byte {
	return eventJSON(evtID, "payment_method.attached", created, cardJSON(pmID, customer, created, k))
}

func invoicePaid(evtID, invID, customer, sub string, user int, created int64) []byte {
	inv := fmt.Appendf(nil, `{"id":%[1]q,"object":"invoice","account_country":"US","amount_due":999,"amount_paid":999,"amount_remaining":0,`+
		`"billing_reason":"subscription_cycle","collection_method":"charge_automatically","created":%[2]d,"currency":"usd","customer":%[3]q,`+
		`"customer_email":"u%[5]d@example.com","hosted_invoice_url":"https://invoice.stripe.com/i/acct_1Bench/test_%[1]s",`+
		`"invoice_pdf":"https://pay.stripe.com/invoice/acct_1Bench/test_%[1]s/pdf",`+
		`"lines":{"object":"list","data":[{"id":"il_%[1]s","object":"line_item","amount":999,"currency":"usd","description":"1 × Bench (at $9.99 / month)","invoice":%[1]q,`+
		`"parent":{"invoice_item_details":null,"subscription_item_details":{"invoice_item":null,"proration":false,"proration_details":{"credited_items":null},"subscription":%[4]q,"subscription_item":"si_bench"},"type":"subscription_item_details"},`+
		`"period":{"end":%[6]d,"start":%[2]d},"pricing":{"price_details":{"price":%[7]q,"product":"prod_bench"},"type":"price_details","unit_amount_decimal":"999"},"quantity":1}],`+
		`"has_more":false,"total_count":1,"url":"/v1/invoices/%[1]s/lines"},"number":"BW-%[1]s",`+
		`"parent":{"quote_details":null,"subscription_details":{"metadata":{},"subscription":%[4]q},"type":"subscription_details"},`+
		`"period_end":%[2]d,"period_start":%[8]d,"status":"paid",`+
		`"status_transitions":{"finalized_at":%[2]d,"marked_uncollectible_at":null,"paid_at":%[2]d,"voided_at":null}}`,
		invID, created, customer, sub, user, created+month, benchPrice, created-month)
	return eventJSON(evtID, "invoice.paid", created, inv)
}

// eventLog reads the webhook_events table of the database a server is
// writing.
type eventLog interface {
	// pending returns how many of the app's events are not applied yet.
	pending(ctx context.Context, appID string) (int, error)
	// applied returns how many of a phase's events are processed and when
	// the last of them was.
	applied(ctx context.Context, appID, phase string) (int, time.Time, error)
}

// sqliteEvents reads a SQLite file read-only.
type sqliteEvents struct{ ro *sql.DB }

// openReadOnly opens a SQLite file read-only, for polling a database a
// server is writing.
func openReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func (e sqliteEvents) pending(ctx context.Context, appID string) (int, error) {
	var n int
	err := e.ro.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL AND app_id = ?`, appID).Scan(&n)
	return n, err
}

func (e sqliteEvents) applied(ctx context.Context, appID, phase string) (int, time.Time, error) {
	var n int
	var last int64
	p := eventPrefix(phase)
	err := e.ro.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(processed_at), 0) FROM webhook_events
		WHERE app_id = ? AND id >= ? AND id < ? AND processed_at IS NOT NULL`, appID, p, p+"\x7f").Scan(&n, &last)
	return n, time.UnixMicro(last), err
}

// postgresEvents reads the server's PostgreSQL schema (its URL's
// search_path); webhook_events.id is COLLATE "C", so the phase's range is
// the same byte range as on SQLite.
type postgresEvents struct{ conn *pgx.Conn }

func (e postgresEvents) pending(ctx context.Context, appID string) (int, error) {
	var n int
	err := e.conn.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL AND app_id = $1`, appID).Scan(&n)
	return n, err
}

func (e postgresEvents) applied(ctx context.Context, appID, phase string) (int, time.Time, error) {
	var n int
	var last *time.Time
	p := eventPrefix(phase)
	err := e.conn.QueryRow(ctx, `SELECT COUNT(*), MAX(processed_at) FROM webhook_events
		WHERE app_id = $1 AND id >= $2 AND id < $3 AND processed_at IS NOT NULL`, appID, p, p+"\x7f").Scan(&n, &last)
	if err != nil || last == nil {
		return n, time.Time{}, err
	}
	return n, *last, nil
}

// drain waits until the app has no unprocessed event, or timeout, and
// reports how many are left.
func drain(ctx context.Context, events eventLog, appID string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		pending, err := events.pending(ctx, appID)
		if err != nil {
			return 0, err
		}
		if pending == 0 || time.Now().After(deadline) {
			return pending, nil
		}
		select {
		case <-ctx.Done():
			return pending, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// webhookRig is where a pair of webhook rows runs.
type webhookRig struct {
	accept, apply string  // the rows' ids: 5a, 5b or 5c, 5d
	store         string  // "SQLite" or "PostgreSQL", for the setup column
	applySetup    string  // the setup of the applied row
	target        float64 // events applied per second
	profile       string  // the POST phase's CPU profile
	events        eventLog
	app           string // the mirror app's id
	users         int    // its synced users u-0 … u-(users-1)
}

// webhookRows measures ingestion on a server: the POSTs accepted and the
// events applied.
func (b *bench) webhookRows(ctx context.Context, s *server, rig webhookRig) []*line {
	accept := &line{id: rig.accept, what: "webhook ingestion: POST accepted (signed events)", setup: fmt.Sprintf("mirror app, %s, %d conns", rig.store, b.opt.conns), unit: "accepted/s"}
	apply := &line{id: rig.apply, what: "webhook ingestion: applied end to end (first POST → last processed_at)", setup: rig.applySetup, unit: "applied/s",
		target: "≥ " + thousands(int(rig.target)) + " applied/s", applyTarget: rig.target}
	if rig.store != "SQLite" {
		accept.what += ", " + rig.store
		apply.what += ", " + rig.store
	}
	fail := func(err error) []*line {
		accept.note = "failed: " + err.Error()
		apply.note = accept.note
		apply.verdict = "not met"
		return []*line{accept, apply}
	}
	drainTimeout := b.opt.webhookWait

	g := newGenerator(b.opt.conns)
	defer g.close()
	if b.opt.warmup > 0 {
		// A short warm-up: every event it sends must be applied before
		// the measured phase starts, so that the backlog is the measured
		// events' alone.
		g.run(ctx, min(b.opt.warmup, 250*time.Millisecond), webhookRequest(rig.app, rig.users, s.base, "w"))
		if left, err := drain(ctx, rig.events, rig.app, drainTimeout); err != nil {
			return fail(err)
		} else if left > 0 {
			return fail(fmt.Errorf("%d warm-up events still unapplied after %v", left, drainTimeout))
		}
	}
	before, err := stripeCalls(ctx, s.base)
	if err != nil {
		return fail(err)
	}
	p := b.measured(ctx, g, s, b.opt.duration, rig.profile, webhookRequest(rig.app, rig.users, s.base, "m"))
	res := p.res
	left, err := drain(ctx, rig.events, rig.app, drainTimeout)
	if err != nil {
		return fail(err)
	}
	after, err := stripeCalls(ctx, s.base)
	if err != nil {
		return fail(err)
	}
	n, last, err := rig.events.applied(ctx, rig.app, "m")
	if err != nil {
		return fail(err)
	}
	acceptedN := res.requests - res.errors
	accept.res, accept.rate, accept.hasRate = res, float64(acceptedN)/res.elapsed.Seconds(), true
	accept.profile, accept.mem = p.profile, p.mem
	if acceptedN > 0 {
		accept.stripe, accept.hasStripe = (after-before)/float64(acceptedN), true
		apply.stripe, apply.hasStripe = accept.stripe, true
	}
	span := last.Sub(res.start)
	if n > 0 && span > 0 {
		apply.rate, apply.hasRate = float64(n)/span.Seconds(), true
	}
	apply.note = fmt.Sprintf("%s of %s accepted events applied %.2f s after the first POST", thousands(n), thousands(acceptedN), span.Seconds())
	if left > 0 {
		apply.note += fmt.Sprintf("; %s events still unapplied when the harness stopped waiting (-webhook-wait %v): the rate is of those applied by then", thousands(left), drainTimeout)
	}
	apply.verdict = metIf(apply.hasRate && left == 0 && n >= acceptedN && apply.rate >= rig.target)
	return []*line{accept, apply}
}
