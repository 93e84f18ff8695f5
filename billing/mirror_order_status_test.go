package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// ---------------------------------------------------------------------------
// orderStatus from the status history.

// TestMirrorOrderStatusAcrossSubscriptionHistory follows a monthly
// subscription through active → past_due → active → canceled over three
// invoices, events applied as they happen, and checks each invoice's
// orderStatus at several moments against statusDuring's rule: the last
// status observed before the end of the period the invoice bills for, or
// now while that period runs.
func TestMirrorOrderStatusAcrossSubscriptionHistory(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Unix()
	e.clock.Set(time.Unix(t0-day, 0))
	cus := e.user(t, app, "u1", true) // created in mirror mode, the day before
	const month = 30 * day
	p1, p2, p3 := t0, t0+month, t0+2*month // the periods' starts

	sub := appwheel.Subscription{
		ID: "sub_hist", CustomerID: cus, Status: "active", PriceID: "price_pro", Interval: "month", IntervalCount: 1,
		Created: t0, CurrentPeriodEnd: p2,
	}
	// The fake holds the subscription's last period end from the start (it
	// cannot move it); its status follows the story below.
	final := sub
	final.CurrentPeriodEnd = p3 + month
	e.fake.AddSubscription(app.Stripe, cus, final)
	inv1 := monthlyInvoice("in_hist0001", cus, sub.ID, "price_pro", "paid", p1)
	inv1.PeriodStart = p1 // the first invoice's own period is its creation
	inv2 := monthlyInvoice("in_hist0002", cus, sub.ID, "price_pro", "open", p2)
	inv3 := monthlyInvoice("in_hist0003", cus, sub.ID, "price_pro", "paid", p3)

	type check struct {
		at   int64          // the clock when reading
		want map[string]int // invoice → orderStatus
		sub  string         // the subscription's status now
	}
	steps := []struct {
		name   string
		at     int64 // when it happens (the event's created)
		seed   func()
		events func(at int64) []event
		checks []check
	}{
		{
			name: "subscribed, invoice 1 paid",
			at:   t0,
			seed: func() { e.fake.AddInvoice(app.Stripe, inv1) },
			events: func(at int64) []event {
				return []event{
					subscriptionEvent(t, e.eventID(), "customer.subscription.created", at, sub, p1, ""),
					invoiceEvent(t, e.eventID(), "invoice.paid", at+60, inv1),
				}
			},
			checks: []check{{at: t0 + 10*day, want: map[string]int{inv1.ID: 1}, sub: "active"}},
		},
		{
			name: "renewal: invoice 2 unpaid, past_due",
			at:   p2,
			seed: func() {
				e.fake.AddInvoice(app.Stripe, inv2)
				e.fake.SetSubscriptionStatus(app.Stripe, sub.ID, "past_due")
			},
			events: func(at int64) []event {
				s := sub
				s.Status, s.CurrentPeriodEnd = "past_due", p3
				return []event{
					invoiceEvent(t, e.eventID(), "invoice.finalized", at, inv2),
					invoiceEvent(t, e.eventID(), "invoice.payment_failed", at+3600, inv2),
					subscriptionEvent(t, e.eventID(), "customer.subscription.updated", at+3600, s, p2, "active"),
				}
			},
			checks: []check{
				// During P2, invoice 1's period is over (active throughout);
				// invoice 2's period runs: what holds now counts.
				{at: p2 + 15*day, want: map[string]int{inv1.ID: 1, inv2.ID: 3}, sub: "past_due"},
			},
		},
		{
			name: "renewal: invoice 3 paid, active again",
			at:   p3,
			seed: func() {
				e.fake.AddInvoice(app.Stripe, inv3)
				e.fake.SetSubscriptionStatus(app.Stripe, sub.ID, "active")
			},
			events: func(at int64) []event {
				s := sub
				s.CurrentPeriodEnd = p3 + month
				return []event{
					invoiceEvent(t, e.eventID(), "invoice.paid", at+5, inv3),
					subscriptionEvent(t, e.eventID(), "customer.subscription.updated", at+5, s, p3, "past_due"),
				}
			},
			checks: []check{
				// Invoice 2's period ended past_due, whatever came after.
				{at: p3 + 10*day, want: map[string]int{inv1.ID: 1, inv2.ID: 3, inv3.ID: 1}, sub: "active"},
			},
		},
		{
			name: "canceled during P3",
			at:   p3 + 15*day,
			seed: func() { e.fake.SetSubscriptionStatus(app.Stripe, sub.ID, "canceled") },
			events: func(at int64) []event {
				s := sub
				s.Status, s.CurrentPeriodEnd = "canceled", p3+month
				return []event{subscriptionEvent(t, e.eventID(), "customer.subscription.deleted", at, s, p3, "")}
			},
			checks: []check{
				// P3 still runs: canceled holds now.
				{at: p3 + 20*day, want: map[string]int{inv1.ID: 1, inv2.ID: 3, inv3.ID: 5}, sub: "canceled"},
				// P3 over: the subscription did not outlive it.
				{at: p3 + month + 10*day, want: map[string]int{inv1.ID: 1, inv2.ID: 3, inv3.ID: 5}, sub: "canceled"},
			},
		},
	}
	for _, step := range steps {
		step.seed()
		e.clock.Set(time.Unix(step.at+1, 0))
		for _, ev := range step.events(step.at) {
			e.clock.Set(time.Unix(max(ev.Created+1, e.clock.Now().Unix()), 0))
			e.deliver(t, app, ev)
		}
		for _, c := range step.checks {
			e.clock.Set(time.Unix(c.at, 0))
			e.fake.ResetCalls()
			list, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, o := range list.Invoices {
				got[o.OrderID] = o.OrderStatus
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("%s, at day %d: orderStatus by invoice (-want +got):\n%s", step.name, (c.at-t0)/day, diff)
			}
			subs, err := e.svc.Subscriptions(ctx, app, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if len(subs) != 1 || subs[0].Status != c.sub {
				t.Errorf("%s, at day %d: subscriptions = %+v, want %s", step.name, (c.at-t0)/day, subs, c.sub)
			}
			wantNoStripeCalls(t, e.fake)
		}
	}
	e.wantMirrorIsTruth(t, app, "u1")

	// The history the events left, in event time (microseconds).
	history, err := e.db.StatusHistory(ctx, app.ID, []string{sub.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := []appwheel.StatusChange{
		{Status: "active", At: t0 * 1e6},
		{Status: "past_due", At: (p2 + 3600) * 1e6},
		{Status: "active", At: (p3 + 5) * 1e6},
		{Status: "canceled", At: (p3 + 15*day) * 1e6},
	}
	if diff := cmp.Diff(want, history[sub.ID]); diff != "" {
		t.Errorf("status history (-want +got):\n%s", diff)
	}
}

// TestMirrorOrderStatusPeriodBoundary checks the edges of statusDuring's
// rule: a change exactly at a period's end is not "before" it, one a
// second earlier is; a period still running uses what holds now.
func TestMirrorOrderStatusPeriodBoundary(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	const month = 30 * day
	tests := []struct {
		name     string
		changeAt int64 // when the subscription went past_due
		now      int64
		want     int
	}{
		{"change a second before the period ends", t0 + month - 1, t0 + month + day, 3},
		{"change exactly at the period's end", t0 + month, t0 + month + day, 1},
		{"change after the period ended", t0 + month + 3600, t0 + month + day, 1},
		{"period running, change already happened", t0 + 10*day, t0 + 11*day, 3},
		{"period running, change not yet happened", t0 + 10*day, t0 + 10*day - 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMirrorEnv(t)
			app := e.newApp(t, "shop", "sk_test_shop")
			e.clock.Set(time.Unix(t0-day, 0))
			cus := e.user(t, app, "u1", true)
			sub := appwheel.Subscription{
				ID: "sub_edge", CustomerID: cus, Status: "active", PriceID: "price_pro", Interval: "month", IntervalCount: 1,
				Created: t0, CurrentPeriodEnd: t0 + month,
			}
			e.fake.AddSubscription(app.Stripe, cus, sub)
			inv := monthlyInvoice("in_edge0001", cus, sub.ID, "price_pro", "paid", t0)
			e.fake.AddInvoice(app.Stripe, inv)
			pastDue := sub
			pastDue.Status = "past_due"

			evs := []event{
				subscriptionEvent(t, e.eventID(), "customer.subscription.created", t0, sub, t0, ""),
				invoiceEvent(t, e.eventID(), "invoice.paid", t0+60, inv),
			}
			if tt.changeAt <= tt.now { // only what has happened is delivered
				evs = append(evs, subscriptionEvent(t, e.eventID(), "customer.subscription.updated", tt.changeAt, pastDue, t0, "active"))
				e.fake.SetSubscriptionStatus(app.Stripe, sub.ID, "past_due")
			}
			for _, ev := range evs {
				e.clock.Set(time.Unix(ev.Created+1, 0))
				e.deliver(t, app, ev)
			}
			e.clock.Set(time.Unix(tt.now, 0))
			list, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Invoices) != 1 || list.Invoices[0].OrderStatus != tt.want {
				t.Errorf("orders = %+v, want one with orderStatus %d", list.Invoices, tt.want)
			}
		})
	}
}
