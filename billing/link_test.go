package billing_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/internal/fakestripe"
)

// Linking the customers an app created before AppWheel (issue 12), over
// real SQLite and the fake Stripe.

func TestLinkCustomerSyncsTheMirror(t *testing.T) {
	e := newMirrorEnv(t)
	ctx := context.Background()
	app := e.newApp(t, "shop", "sk_test_shop")
	old := e.fake.AddExistingCustomer(app.Stripe, map[string]string{"user_id": "u1"})
	cards := e.cardsOf(t, app, old.ID, 2)
	sub := e.fake.AddSubscription(app.Stripe, old.ID, appwheel.Subscription{Status: "active", PriceID: "price_m", Interval: "month", IntervalCount: 1, DefaultPaymentMethodID: cards[1]})
	e.fake.AddInvoice(app.Stripe, monthlyInvoice("in_old1", old.ID, sub.ID, "price_m", "paid", e.clock.Now().Add(-24*3600e9).Unix()))

	got, err := e.svc.LinkCustomer(ctx, app, billing.LinkCustomerParams{AppUserID: "u1", CustomerID: old.ID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&billing.CustomerLink{AppUserID: "u1", CustomerID: old.ID}, got); diff != "" {
		t.Errorf("LinkCustomer (-want +got):\n%s", diff)
	}
	meta := e.fake.CustomerMetadata(app.Stripe, old.ID)
	if meta[fakestripe.MetadataAppID] != app.ID || meta[fakestripe.MetadataAppUserID] != "u1" || meta["user_id"] != "u1" {
		t.Errorf("customer metadata = %v; want AppWheel's keys added and the app's kept", meta)
	}
	// The customer had no default: its oldest card became it, as for a
	// user who added cards through AppWheel.
	if d := e.truth(t, app, old.ID).Default; d != cards[0] {
		t.Errorf("Stripe's default = %q, want the oldest card %s", d, cards[0])
	}
	e.wantMirrorIsTruth(t, app, "u1")

	// Reads make no Stripe call, and see everything.
	e.fake.ResetCalls()
	methods, err := e.svc.PaymentMethods(ctx, app, "u1")
	if err != nil || len(methods.Methods) != 2 || methods.DefaultMethodID != cards[0] {
		t.Errorf("PaymentMethods = %+v, %v", methods, err)
	}
	subs, err := e.svc.Subscriptions(ctx, app, "u1")
	if err != nil || len(subs) != 1 || subs[0].PaymentMethodID != cards[1] {
		t.Errorf("Subscriptions = %+v, %v; want one charging %s", subs, err, cards[1])
	}
	invs, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
	if err != nil || len(invs.Invoices) != 1 || invs.Invoices[0].OrderID != "in_old1" {
		t.Errorf("Invoices = %+v, %v", invs, err)
	}
	wantCalls(t, e.fake, map[string]int{})

	// createPaymentMethod uses the linked customer: no second one.
	before := len(e.fake.Customers(app.Stripe))
	if _, err := e.svc.CreatePaymentMethod(ctx, app, billing.CreatePaymentMethodParams{AppUserID: "u1", Type: appwheel.AddBySetupIntent}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("CreateCustomer"); n != 0 || len(e.fake.Customers(app.Stripe)) != before {
		t.Errorf("CreateCustomer calls = %d; want the linked customer used", n)
	}
	// The guard protects the imported subscription: its card moves.
	removed, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: cards[1]})
	if err != nil || len(removed.MovedSubscriptionIDs) != 1 {
		t.Errorf("RemovePaymentMethod = %+v, %v; want the subscription moved", removed, err)
	}

	// Linking the same pair again is no error.
	if _, err := e.svc.LinkCustomer(ctx, app, billing.LinkCustomerParams{AppUserID: "u1", CustomerID: old.ID}); err != nil {
		t.Errorf("linking again: %v", err)
	}
}

func TestLinkCustomerRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	taken := e.customer(t, e.appA, "u1") // u1's, through AppWheel
	free := e.fake.AddExistingCustomer(e.appA.Stripe, nil).ID
	other := e.fake.AddExistingCustomer(e.appB.Stripe, nil).ID // app B's account
	deleted := e.fake.AddExistingCustomer(e.appA.Stripe, nil).ID
	e.fake.DeleteCustomer(e.appA.Stripe, deleted)
	for _, tt := range []struct {
		name, user, customer string
		want                 int
	}{
		{"another user's customer", "u2", taken, appwheel.ECONFLICT},
		{"a user with another customer", "u1", free, appwheel.ECONFLICT},
		{"another account's customer", "u3", other, appwheel.ENOTFOUND},
		{"a deleted customer", "u3", deleted, appwheel.ENOTFOUND},
		{"no such customer", "u3", "cus_nope", appwheel.ENOTFOUND},
		{"not a customer id", "u3", "pm_123", appwheel.EINVALID},
		{"no user", "", free, appwheel.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.LinkCustomer(ctx, e.appA, billing.LinkCustomerParams{AppUserID: tt.user, CustomerID: tt.customer})
			wantCode(t, err, tt.want)
		})
	}
	if n := e.fake.Calls("TagCustomer"); n != 0 {
		t.Errorf("TagCustomer calls = %d, want 0: a refused link changes nothing at Stripe", n)
	}
	if id := e.storedCustomer(t, e.appA, "u3"); id != "" {
		t.Errorf("u3 got customer %q", id)
	}
}
