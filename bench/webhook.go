package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"
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
// from the SQLite file (read-only) once nothing is left unprocessed.

// eventPrefix is the id prefix of one phase's events (phases are one
// letter, followed by digits): ids of the measured phase sort between
// eventPrefix("m") and eventPrefix("m")+"\x7f".
func eventPrefix(phase string) string { return "evt_b" + phase }

func (b *bench) webhookRequest(d *mainData, base, phase string) makeRequest {
	url := base + "/v1/stripe/webhooks/" + d.mirror.ID
	return func(ctx context.Context, w *worker) (*http.Request, error) {
		i := w.rng.IntN(len(d.users))
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

// drain waits until the app has no unprocessed event, or timeout, and
// reports how many are left.
func drain(ctx context.Context, ro *sql.DB, appID string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		var pending int
		if err := ro.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL AND app_id = ?`, appID).Scan(&pending); err != nil {
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

// applied returns how many of a phase's events are processed and when the
// last of them was.
func applied(ctx context.Context, ro *sql.DB, appID, phase string) (int, time.Time, error) {
	var n int
	var last int64
	p := eventPrefix(phase)
	err := ro.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(processed_at), 0) FROM webhook_events
		WHERE app_id = ? AND id >= ? AND id < ? AND processed_at IS NOT NULL`, appID, p, p+"\x7f").Scan(&n, &last)
	return n, time.UnixMicro(last), err
}

// webhookRows measures ingestion on the main server: 5a the POSTs, 5b the
// events applied.
func (b *bench) webhookRows(ctx context.Context, s *server, d *mainData) []*line {
	accept := &line{id: "5a", what: "webhook ingestion: POST accepted (signed events)", setup: fmt.Sprintf("mirror app, SQLite, %d conns", b.opt.conns), unit: "accepted/s"}
	apply := &line{id: "5b", what: "webhook ingestion: applied end to end (first POST → last processed_at)", setup: "River workers on the same SQLite file", unit: "applied/s",
		target: "≥ 2,000 applied/s"}
	fail := func(err error) []*line {
		accept.note = "failed: " + err.Error()
		apply.note = accept.note
		apply.verdict = "not met"
		return []*line{accept, apply}
	}
	ro, err := openReadOnly(d.path)
	if err != nil {
		return fail(err)
	}
	defer ro.Close()
	drainTimeout := b.opt.webhookWait

	g := newGenerator(b.opt.conns)
	defer g.close()
	if b.opt.warmup > 0 {
		// A short warm-up: every event it sends must be applied before
		// the measured phase starts, so that the backlog is the measured
		// events' alone.
		g.run(ctx, min(b.opt.warmup, 250*time.Millisecond), b.webhookRequest(d, s.base, "w"))
		if left, err := drain(ctx, ro, d.mirror.ID, drainTimeout); err != nil {
			return fail(err)
		} else if left > 0 {
			return fail(fmt.Errorf("%d warm-up events still unapplied after %v", left, drainTimeout))
		}
	}
	before, err := stripeCalls(ctx, s.base)
	if err != nil {
		return fail(err)
	}
	res, prof := b.measured(ctx, g, s, "5-webhook", b.webhookRequest(d, s.base, "m"))
	left, err := drain(ctx, ro, d.mirror.ID, drainTimeout)
	if err != nil {
		return fail(err)
	}
	after, err := stripeCalls(ctx, s.base)
	if err != nil {
		return fail(err)
	}
	n, last, err := applied(ctx, ro, d.mirror.ID, "m")
	if err != nil {
		return fail(err)
	}
	acceptedN := res.requests - res.errors
	accept.res, accept.rate, accept.hasRate = res, float64(acceptedN)/res.elapsed.Seconds(), true
	accept.profile = prof
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
	apply.verdict = metIf(apply.hasRate && left == 0 && n >= acceptedN && apply.rate >= 2000)
	return []*line{accept, apply}
}
