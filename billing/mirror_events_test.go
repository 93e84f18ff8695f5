package billing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// ---------------------------------------------------------------------------
// Webhook streams.

// TestMirrorShuffledStreamConverges sends one user's events in order, in
// shuffled orders and with duplicates, each to its own app (the apps share
// one Stripe account, so one truth), and wants every mirror to be the same
// and to be Stripe's.
func TestMirrorShuffledStreamConverges(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	acct := appwheel.StripeAccount{SecretKey: "sk_test_shared"}
	cus := e.fake.AddCustomer(acct, "shared", "u1").ID
	cusCreated := e.clock.Now().Unix() - 3600

	// The path to the truth, and the events describing it. Stripe emits
	// several events a second: ties (equal created) are on purpose.
	pm1 := e.fake.AttachCard(acct, cus, "visa", "4242")
	pm2 := e.fake.AttachCard(acct, cus, "mastercard", "4444")
	t1 := pm2.Created + 1
	if err := e.fake.SetDefaultPaymentMethod(ctx, acct, cus, pm1.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.SetDefaultPaymentMethod(ctx, acct, cus, pm2.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.DetachPaymentMethod(ctx, acct, pm1.ID, ""); err != nil {
		t.Fatal(err)
	}
	pm1Detached, err := e.fake.PaymentMethod(ctx, acct, pm1.ID)
	if err != nil {
		t.Fatal(err)
	}
	t2 := t1 + 5
	subIncomplete := appwheel.Subscription{
		ID: "sub_conv", CustomerID: cus, Status: "incomplete", PriceID: "price_pro", Interval: "month", IntervalCount: 1,
		Created: t2, CurrentPeriodEnd: t2 + 30*day,
	}
	subActive := subIncomplete
	subActive.Status = "active"
	subCanceling := subActive
	subCanceling.CancelAtPeriodEnd = true
	e.fake.AddSubscription(acct, cus, subCanceling)
	invDraft := monthlyInvoice("in_conv0001", cus, "sub_conv", "price_pro", "draft", t2)
	invDraft.PeriodStart = t2 // a subscription's first invoice
	invOpen := invDraft
	invOpen.Status, invOpen.Number = "open", "CONV-0001"
	invOpen.HostedInvoiceURL, invOpen.InvoicePDF = "https://invoice.stripe.com/i/conv", "https://pay.stripe.com/invoice/conv/pdf"
	invPaid := invOpen
	invPaid.Status, invPaid.AmountPaid, invPaid.PaidAt = "paid", 999, t2+2
	e.fake.AddInvoice(acct, invPaid)

	stream := []event{
		pmAttached(t, "evt_c01", pm1.Created, pm1),
		pmAttached(t, "evt_c02", pm2.Created, pm2),
		customerUpdated(t, "evt_c03", t1, appwheel.Customer{ID: cus, DefaultPaymentMethodID: pm1.ID}, cusCreated, ""),
		customerUpdated(t, "evt_c04", t1, appwheel.Customer{ID: cus, DefaultPaymentMethodID: pm2.ID}, cusCreated, pm1.ID),
		pmDetached(t, "evt_c05", t1+1, pm1Detached, cus),
		subscriptionEvent(t, "evt_c06", "customer.subscription.created", t2, subIncomplete, t2, ""),
		subscriptionEvent(t, "evt_c07", "customer.subscription.updated", t2, subActive, t2, "incomplete"),
		invoiceEvent(t, "evt_c08", "invoice.created", t2, invDraft),
		invoiceEvent(t, "evt_c09", "invoice.finalized", t2, invOpen),
		invoiceEvent(t, "evt_c10", "invoice.paid", t2+2, invPaid),
		subscriptionEvent(t, "evt_c11", "customer.subscription.updated", t2+3, subCanceling, t2, ""),
	}
	// Events are applied well after they happened (as after an outage);
	// the clock stands still while they are.
	e.clock.Set(time.Unix(t2+60, 0))

	type delivery struct {
		name  string
		order []int // indexes into stream; a repeated index is applied again
	}
	deliveries := []delivery{{name: "in order"}}
	for i := range stream {
		deliveries[0].order = append(deliveries[0].order, i)
	}
	reversedOrder := delivery{name: "reversed"}
	for i := len(stream) - 1; i >= 0; i-- {
		reversedOrder.order = append(reversedOrder.order, i)
	}
	deliveries = append(deliveries, reversedOrder)
	for seed := uint64(1); seed <= 6; seed++ {
		r := rand.New(rand.NewPCG(seed, 42))
		deliveries = append(deliveries, delivery{name: fmt.Sprintf("shuffled seed %d", seed), order: r.Perm(len(stream))})
	}
	twice := delivery{name: "in order, each twice"}
	for i := range stream {
		twice.order = append(twice.order, i, i)
	}
	deliveries = append(deliveries, twice)
	for seed := uint64(7); seed <= 9; seed++ {
		r := rand.New(rand.NewPCG(seed, 42))
		d := delivery{name: fmt.Sprintf("shuffled with duplicates seed %d", seed)}
		for _, i := range r.Perm(2 * len(stream)) {
			d.order = append(d.order, i%len(stream))
		}
		deliveries = append(deliveries, d)
	}

	type outcome struct {
		State    mirrorState
		History  map[string][]appwheel.StatusChange
		Detached *appwheel.PaymentMethod
		Methods  *appwheel.PaymentMethodList
		Orders   *appwheel.OrderList
		Subs     []appwheel.SubscriptionView
	}
	var want outcome
	var truth mirrorState
	for n, d := range deliveries {
		t.Run(d.name, func(t *testing.T) {
			app := e.newApp(t, fmt.Sprintf("conv%d", n), acct.SecretKey)
			e.mapCustomer(t, app, "u1", cus, true)
			seen := map[int]bool{}
			e.fake.ResetCalls()
			for _, i := range d.order {
				if seen[i] {
					e.reapply(t, app, stream[i])
				} else {
					e.deliver(t, app, stream[i])
				}
				seen[i] = true
				// No page rendered before the event is served after it.
				e.wantPagesCurrent(t, app, "u1")
			}
			if n == 0 {
				// Same-second events of one object tie: the later one
				// delivered is settled by re-fetching the object.
				for _, m := range []string{"Customer", "Subscriptions", "Invoice"} {
					if e.fake.Calls(m) == 0 {
						t.Errorf("no %s re-fetch: the ties in the stream were not exercised", m)
					}
				}
			}
			var got outcome
			got.State = e.mirrored(t, app, "u1")
			if got.History, err = e.db.StatusHistory(ctx, app.ID, []string{"sub_conv"}); err != nil {
				t.Fatal(err)
			}
			if got.Detached, err = e.db.MirroredPaymentMethod(ctx, app.ID, pm1.ID); err != nil {
				t.Fatal(err)
			}
			e.fake.ResetCalls()
			if got.Methods, err = e.svc.PaymentMethods(ctx, app, "u1"); err != nil {
				t.Fatal(err)
			}
			if got.Orders, err = e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"}); err != nil {
				t.Fatal(err)
			}
			if got.Subs, err = e.svc.Subscriptions(ctx, app, "u1"); err != nil {
				t.Fatal(err)
			}
			wantNoStripeCalls(t, e.fake)

			if n == 0 {
				want = got
				truth = e.truth(t, app, cus)
				if diff := cmp.Diff(truth, got.State, ignorePriceTerms); diff != "" {
					t.Errorf("mirror differs from Stripe (-stripe +mirror):\n%s", diff)
				}
				if got.Detached.CustomerID != "" || string(got.Detached.Raw) != string(pm1Detached.Raw) {
					t.Errorf("detached method = %+v, want it detached with Stripe's JSON %s", got.Detached, pm1Detached.Raw)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mirror differs from the in-order one (-in order +%s):\n%s", d.name, diff)
			}
		})
	}
	// The history the stream leaves: incomplete and active were observed in
	// one second, so the history cannot order them; it must be the same
	// for every order of delivery, which the subtests checked.
	if h := want.History["sub_conv"]; len(h) == 0 || h[len(h)-1].Status != "active" {
		t.Errorf("status history = %+v, want it to end active", h)
	}
}

// TestMirrorBackfillThenWebhooks backfills a user, then delivers events
// from before the backfill (late: they must not regress it) and after it
// (they update it without a Stripe call).
func TestMirrorBackfillThenWebhooks(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.user(t, app, "u1", false)
	T := e.clock.Now().Unix() // the backfill's time
	cusCreated := T - 40*day

	// Before the backfill: an old card added and removed, the current card
	// made the default, a subscription that started incomplete and became
	// active, its first invoice finalized then paid.
	old := e.fake.AttachCard(app.Stripe, cus, "amex", "0005")
	card := e.fake.AttachCard(app.Stripe, cus, "visa", "4242")
	e.setDefault(t, app, cus, old.ID)
	e.setDefault(t, app, cus, card.ID)
	e.detach(t, app, old.ID)
	oldDetached := e.fakePM(t, app, old.ID)
	subIncomplete := appwheel.Subscription{
		ID: "sub_bw", CustomerID: cus, Status: "incomplete", PriceID: "price_pro", Interval: "month", IntervalCount: 1,
		Created: T - 20*day, CurrentPeriodEnd: T + 10*day,
	}
	subActive := subIncomplete
	subActive.Status = "active"
	e.fake.AddSubscription(app.Stripe, cus, subActive)
	invOpen := monthlyInvoice("in_bw0001", cus, "sub_bw", "price_pro", "open", T-20*day)
	invPaid := monthlyInvoice("in_bw0001", cus, "sub_bw", "price_pro", "paid", T-20*day)
	e.fake.AddInvoice(app.Stripe, invPaid)

	if _, err := e.svc.PaymentMethods(ctx, app, "u1"); err != nil { // backfills at T
		t.Fatal(err)
	}
	e.wantMirrorIsTruth(t, app, "u1")

	// Late events from before the backfill change nothing.
	e.clock.Advance(10 * time.Second)
	for _, ev := range []event{
		pmAttached(t, e.eventID(), card.Created, card),
		customerUpdated(t, e.eventID(), T-50*60, appwheel.Customer{ID: cus, DefaultPaymentMethodID: old.ID}, cusCreated, ""),
		pmDetached(t, e.eventID(), T-40*60, oldDetached, cus),
		subscriptionEvent(t, e.eventID(), "customer.subscription.created", T-20*day, subIncomplete, T-20*day, ""),
		invoiceEvent(t, e.eventID(), "invoice.finalized", T-20*day, invOpen),
	} {
		e.deliver(t, app, ev)
	}
	e.wantMirrorIsTruth(t, app, "u1")

	// Events from after the backfill are newer than the mirror: written as
	// they come, with no Stripe call.
	e.clock.Advance(time.Minute)
	card2 := e.fake.AttachCard(app.Stripe, cus, "mastercard", "4444")
	e.setDefault(t, app, cus, card2.ID)
	e.fake.SetSubscriptionStatus(app.Stripe, "sub_bw", "past_due")
	subPastDue := subActive
	subPastDue.Status = "past_due"
	inv2 := monthlyInvoice("in_bw0002", cus, "sub_bw", "price_pro", "open", T+30)
	e.fake.AddInvoice(app.Stripe, inv2)
	newer := []event{
		pmAttached(t, e.eventID(), T+30, card2),
		customerUpdated(t, e.eventID(), T+31, appwheel.Customer{ID: cus, DefaultPaymentMethodID: card2.ID}, cusCreated, card.ID),
		subscriptionEvent(t, e.eventID(), "customer.subscription.updated", T+32, subPastDue, T+30, "active"),
		invoiceEvent(t, e.eventID(), "invoice.finalized", T+33, inv2),
	}
	e.fake.ResetCalls()
	for _, ev := range newer {
		e.deliver(t, app, ev)
	}
	wantNoStripeCalls(t, e.fake)
	e.wantMirrorIsTruth(t, app, "u1")

	// An event older than the backfill, after newer ones: still nothing.
	e.deliver(t, app, subscriptionEvent(t, e.eventID(), "customer.subscription.updated", T-20*day+5, subActive, T-20*day, "incomplete"))
	e.wantMirrorIsTruth(t, app, "u1")

	e.fake.ResetCalls()
	pms, err := e.svc.PaymentMethods(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := methodIDs(t, pms.Methods), []string{card2.ID, card.ID}; !cmp.Equal(got, want) || pms.DefaultMethodID != card2.ID {
		t.Errorf("methods = %v default %q, want %v default %q", got, pms.DefaultMethodID, want, card2.ID)
	}
	subs, err := e.svc.Subscriptions(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Status != "past_due" || subs[0].OrderStatus != 3 {
		t.Errorf("subscriptions = %+v, want sub_bw past_due (orderStatus 3)", subs)
	}
	wantNoStripeCalls(t, e.fake)
}

// A method added and removed before the backfill never appears in it; its
// payment_method.attached event, delivered late (Stripe retries for days
// and keeps no order), must not bring it back.
func TestMirrorLateAttachOfMethodDetachedBeforeBackfill(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.user(t, app, "u1", false)
	T := e.clock.Now().Unix()
	old := e.fake.AttachCard(app.Stripe, cus, "amex", "0005")
	card := e.fake.AttachCard(app.Stripe, cus, "visa", "4242")
	e.detach(t, app, old.ID)

	if _, err := e.svc.PaymentMethods(ctx, app, "u1"); err != nil { // backfills at T
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.deliver(t, app, pmAttached(t, e.eventID(), T-30*60, old)) // old: the snapshot while attached

	pms, err := e.svc.PaymentMethods(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := methodIDs(t, pms.Methods), []string{card.ID}; !cmp.Equal(got, want) {
		t.Errorf("methods = %v, want %v: the late event of a removed card brought it back", got, want)
	}
	e.wantMirrorIsTruth(t, app, "u1")
}

// A draft invoice deleted at Stripe leaves its list; invoice.deleted must
// take it out of the mirror too.
// TestMirrorDeletedDraftSameSecondAsFetch: a draft the mirror fetched in
// the second it was deleted is newer than the invoice.deleted event; Stripe
// is asked, and the draft goes.
func TestMirrorDeletedDraftSameSecondAsFetch(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.user(t, app, "u1", false)
	draft := e.fake.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: cus, Status: "draft", Currency: "usd", AmountDue: 500})
	// The backfill reads the draft half a second into the second in which
	// it is then deleted: the event (stamped by the second) is older.
	e.clock.Advance(500 * time.Millisecond)
	if invs, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"}); err != nil || len(invs.Invoices) != 1 {
		t.Fatalf("first read (backfill): %v, %v; want the draft", invs, err)
	}
	e.fake.DeleteDraft(app.Stripe, draft.ID)
	e.fake.ResetCalls()
	e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.deleted", e.clock.Now().Unix(), *draft))
	wantCalls(t, e.fake, map[string]int{"Invoice": 1})
	if invs, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"}); err != nil || len(invs.Invoices) != 0 {
		t.Errorf("after invoice.deleted: invoices = %v, %v; want none", invs, err)
	}
}

func TestMirrorDeletedDraftInvoice(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.user(t, app, "u1", true)
	now := e.clock.Now().Unix()
	draft := appwheel.Invoice{ID: "in_draft01", CustomerID: cus, Status: "draft", Currency: "usd", AmountDue: 500, Created: now - 60}
	e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.created", now-60, draft))
	e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.deleted", now-30, draft))

	invs, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(invs.Invoices) != 0 {
		t.Errorf("invoices = %v, want none: the draft was deleted", orderIDs(invs.Invoices))
	}
	// A late invoice.updated of the deleted draft does not bring it back.
	e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.updated", now-45, draft))
	if invs, err = e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"}); err != nil || len(invs.Invoices) != 0 {
		t.Errorf("after a late update: invoices = %v, %v; want none", orderIDs(invs.Invoices), err)
	}
	e.clock.Advance(time.Hour)
	if err := e.svc.ReconcileApp(ctx, app, time.Minute); err != nil {
		t.Fatal(err)
	}
	e.wantMirrorIsTruth(t, app, "u1")

	// With the invoice.deleted event lost, the reconcile finds the draft
	// gone from Stripe's list and forgets it.
	lost := appwheel.Invoice{ID: "in_draft02", CustomerID: cus, Status: "draft", Currency: "usd", AmountDue: 700, Created: now - 20}
	e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.created", now-20, lost))
	e.clock.Advance(time.Hour)
	if err := e.svc.ReconcileApp(ctx, app, time.Minute); err != nil {
		t.Fatal(err)
	}
	if invs, err = e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"}); err != nil || len(invs.Invoices) != 0 {
		t.Errorf("after the reconcile: invoices = %v, %v; want none", orderIDs(invs.Invoices), err)
	}
	e.wantMirrorIsTruth(t, app, "u1")
}
