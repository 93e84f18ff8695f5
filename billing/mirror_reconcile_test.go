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
// Reconcile.

func TestMirrorReconcileRepairsDroppedWebhooks(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.user(t, app, "u1", false)
	cards := e.cardsOf(t, app, cus, 2)
	e.setDefault(t, app, cus, cards[0])
	now := e.clock.Now().Unix()
	e.fake.AddSubscription(app.Stripe, cus, appwheel.Subscription{
		ID: "sub_rc", PriceID: "price_pro", Interval: "month", IntervalCount: 1, Created: now - 40*day, CurrentPeriodEnd: now + 20*day,
	})
	e.fake.AddInvoice(app.Stripe, monthlyInvoice("in_rc0001", cus, "sub_rc", "price_pro", "paid", now-40*day))
	inv2 := e.fake.AddInvoice(app.Stripe, monthlyInvoice("in_rc0002", cus, "sub_rc", "price_pro", "open", now-10*day))
	if _, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"}); err != nil { // backfills
		t.Fatal(err)
	}
	// Another user, synced later: not stale yet when reconcile runs.
	e.clock.Advance(50 * time.Minute)
	other := e.user(t, app, "u2", false)
	e.cardsOf(t, app, other, 1)
	if _, err := e.svc.PaymentMethods(ctx, app, "u2"); err != nil {
		t.Fatal(err)
	}

	// Stripe changes and every webhook about it is lost.
	card3 := e.fake.AttachCard(app.Stripe, cus, "mastercard", "4444").ID
	e.setDefault(t, app, cus, card3)
	e.detach(t, app, cards[0])
	e.fake.SetSubscriptionStatus(app.Stripe, "sub_rc", "past_due")
	paid := monthlyInvoice(inv2.ID, cus, "sub_rc", "price_pro", "paid", inv2.Created)
	e.fake.SetInvoice(app.Stripe, paid)
	e.fake.AddInvoice(app.Stripe, monthlyInvoice("in_rc0003", cus, "sub_rc", "price_pro", "open", now+60))

	cusState := e.mirrored(t, app, "u1")
	if cusState.Default != cards[0] || len(cusState.Methods) != 2 || len(cusState.Invoices) != 2 || cusState.Subs[0].Status != "active" {
		t.Fatalf("before reconcile the mirror is not the stale one expected: %+v", cusState)
	}
	u2Before := e.mirrored(t, app, "u2")

	e.clock.Advance(30 * time.Minute) // u1 synced 80 min ago, u2 30 min ago
	e.fake.ResetCalls()
	if err := e.svc.ReconcileApp(ctx, app, time.Hour); err != nil {
		t.Fatal(err)
	}
	// One backfill, u1's: a page of each list.
	wantCalls(t, e.fake, map[string]int{"Customer": 1, "PaymentMethods": 1, "Subscriptions": 1, "Invoices": 1})
	e.wantMirrorIsTruth(t, app, "u1")
	st, err := e.db.CustomerState(ctx, app.ID, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if !st.SyncedAt.Equal(e.clock.Now()) {
		t.Errorf("u1 SyncedAt = %v, want the reconcile's time %v", st.SyncedAt, e.clock.Now())
	}
	if diff := cmp.Diff(u2Before, e.mirrored(t, app, "u2")); diff != "" {
		t.Errorf("u2, synced within maxAge, changed (-before +after):\n%s", diff)
	}
	detached, err := e.db.MirroredPaymentMethod(ctx, app.ID, cards[0])
	if err != nil || detached.CustomerID != "" {
		t.Errorf("removed card = %+v, %v; want it detached", detached, err)
	}

	// Reads show the repaired mirror, with no Stripe call.
	e.fake.ResetCalls()
	subs, err := e.svc.Subscriptions(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Status != "past_due" {
		t.Errorf("subscriptions = %+v, want sub_rc past_due", subs)
	}
	pms, err := e.svc.PaymentMethods(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := methodIDs(t, pms.Methods), []string{card3, cards[1]}; !cmp.Equal(got, want) || pms.DefaultMethodID != card3 {
		t.Errorf("methods = %v default %q, want %v default %q", got, pms.DefaultMethodID, want, card3)
	}
	wantNoStripeCalls(t, e.fake)
}

func TestMirrorReconcileApps(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	mirror := e.newApp(t, "mirror", "sk_test_mirror")
	switched := e.newApp(t, "switched", "sk_test_switched")
	for _, app := range []*appwheel.App{mirror, switched} {
		cus := e.user(t, app, "u1", false)
		e.cardsOf(t, app, cus, 1)
		if _, err := e.svc.PaymentMethods(ctx, app, "u1"); err != nil {
			t.Fatal(err)
		}
		e.fake.AttachCard(app.Stripe, cus, "mastercard", "4444") // no webhook
	}
	// The second app now reads live: its stale mirror is not reconciled.
	if _, err := e.apps.SetReadMode(ctx, switched.ID, appwheel.ReadLive); err != nil {
		t.Fatal(err)
	}
	switchedBefore := e.mirrored(t, switched, "u1")

	e.clock.Advance(2 * time.Hour)
	e.fake.ResetCalls()
	if err := e.svc.ReconcileApps(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, e.fake, map[string]int{"Customer": 1, "PaymentMethods": 1, "Subscriptions": 1, "Invoices": 1})
	e.wantMirrorIsTruth(t, mirror, "u1")
	if diff := cmp.Diff(switchedBefore, e.mirrored(t, switched, "u1")); diff != "" {
		t.Errorf("the live app's mirror was reconciled (-before +after):\n%s", diff)
	}
}

// A customer deleted at Stripe has its methods detached and its
// subscriptions canceled; reconcile must bring the mirror there.
func TestMirrorReconcileDeletedCustomer(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.user(t, app, "u1", false)
	cards := e.cardsOf(t, app, cus, 2)
	e.setDefault(t, app, cus, cards[0])
	e.fake.AddSubscription(app.Stripe, cus, appwheel.Subscription{ID: "sub_del", PriceID: "price_pro", Interval: "month", IntervalCount: 1})
	if _, err := e.svc.PaymentMethods(ctx, app, "u1"); err != nil {
		t.Fatal(err)
	}
	e.fake.DeleteCustomer(app.Stripe, cus)

	e.clock.Advance(2 * time.Hour)
	if err := e.svc.ReconcileApp(ctx, app, time.Hour); err != nil {
		t.Fatal(err)
	}
	pms, err := e.svc.PaymentMethods(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(pms.Methods) != 0 || pms.DefaultMethodID != "" {
		t.Errorf("methods = %v default %q, want none: Stripe detached them with the customer", methodIDs(t, pms.Methods), pms.DefaultMethodID)
	}
	// Reads of a deleted customer are empty, as Stripe's are; the mirror
	// itself still follows Stripe (the subscription canceled).
	subs, err := e.svc.Subscriptions(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 0 {
		t.Errorf("subscriptions = %+v, want none for a deleted customer", subs)
	}
	stored, err := e.db.SubscriptionsOf(ctx, app.ID, cus)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Status != "canceled" {
		t.Errorf("mirrored subscriptions = %+v, want sub_del canceled", stored)
	}
}

// One user whose backfill keeps failing must not keep reconcile from the
// app's other users.
func TestMirrorReconcileSkipsFailingUser(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	e.mapCustomer(t, app, "broken", "cus_unknownToStripe", true) // synced first: first in line
	e.clock.Advance(time.Minute)
	cus := e.user(t, app, "u1", true)
	e.fake.AttachCard(app.Stripe, cus, "visa", "4242") // webhook lost

	e.clock.Advance(2 * time.Hour)
	err := e.svc.ReconcileApp(ctx, app, time.Hour)
	t.Logf("ReconcileApp: %v", err)
	e.wantMirrorIsTruth(t, app, "u1")
}
