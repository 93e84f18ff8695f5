package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// ---------------------------------------------------------------------------
// Backfill and synced reads.

func TestMirrorFirstReadBackfills(t *testing.T) {
	ctx := context.Background()
	reads := []struct {
		name string
		read func(e *mirrorEnv, app *appwheel.App) error
	}{
		{"paymentMethods", func(e *mirrorEnv, app *appwheel.App) error {
			_, err := e.svc.PaymentMethods(ctx, app, "u1")
			return err
		}},
		{"invoices", func(e *mirrorEnv, app *appwheel.App) error {
			_, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
			return err
		}},
		{"subscriptions", func(e *mirrorEnv, app *appwheel.App) error {
			_, err := e.svc.Subscriptions(ctx, app, "u1")
			return err
		}},
	}
	for _, first := range reads {
		t.Run("first read "+first.name, func(t *testing.T) {
			e := newMirrorEnv(t)
			app := e.newApp(t, "shop", "sk_test_shop")
			cus := e.user(t, app, "u1", false)
			cards := e.cardsOf(t, app, cus, 2)
			e.setDefault(t, app, cus, cards[0])
			now := e.clock.Now().Unix()
			subCreated := now - 150*30*day
			sub := e.fake.AddSubscription(app.Stripe, cus, appwheel.Subscription{
				ID: "sub_backfill", PriceID: "price_monthly", Interval: "month", IntervalCount: 1,
				Created: subCreated, CurrentPeriodEnd: subCreated + 150*30*day,
			})
			// 150 invoices: Stripe lists at most 100 a page, so the
			// backfill needs two.
			var invoices []string
			for i := range 150 {
				inv := monthlyInvoice(fmt.Sprintf("in_bf%04d", i), cus, sub.ID, "price_monthly", "paid", subCreated+int64(i)*30*day)
				invoices = append(invoices, e.fake.AddInvoice(app.Stripe, inv).ID)
			}
			e.fake.ResetCalls()

			if err := first.read(e, app); err != nil {
				t.Fatalf("first read: %v", err)
			}
			wantCalls(t, e.fake, map[string]int{"Customer": 1, "PaymentMethods": 1, "Subscriptions": 1, "Invoices": 2})
			st, err := e.db.CustomerState(ctx, app.ID, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if !st.SyncedAt.Equal(e.clock.Now()) {
				t.Errorf("SyncedAt = %v, want the backfill's time %v", st.SyncedAt, e.clock.Now())
			}

			// Every read now comes from the mirror.
			e.clock.Advance(time.Minute)
			e.fake.ResetCalls()
			pms, err := e.svc.PaymentMethods(ctx, app, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := methodIDs(t, pms.Methods), []string{cards[1], cards[0]}; !cmp.Equal(got, want) {
				t.Errorf("methods = %v, want %v (newest first)", got, want)
			}
			if pms.DefaultMethodID != cards[0] {
				t.Errorf("default = %q, want %q", pms.DefaultMethodID, cards[0])
			}
			page1, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(page1.Invoices) != 100 || !page1.HasMore {
				t.Fatalf("page 1: got %d invoices, hasMore %v; want 100, true", len(page1.Invoices), page1.HasMore)
			}
			page2, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{
				AppUserID: "u1", Limit: 100, StartingAfter: page1.Invoices[99].OrderID,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(page2.Invoices) != 50 || page2.HasMore {
				t.Fatalf("page 2: got %d invoices, hasMore %v; want 50, false", len(page2.Invoices), page2.HasMore)
			}
			got := append(orderIDs(page1.Invoices), orderIDs(page2.Invoices)...)
			if diff := cmp.Diff(reversed(invoices), got); diff != "" {
				t.Errorf("invoices (-want +got):\n%s", diff)
			}
			if o := page1.Invoices[0]; o.OrderStatus != 1 || o.OriginOrderID != sub.ID || o.ProductPeriod != "P1M" {
				t.Errorf("newest order = %+v; want orderStatus 1, originOrderId %s, productPeriod P1M", o, sub.ID)
			}
			subs, err := e.svc.Subscriptions(ctx, app, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if len(subs) != 1 || subs[0].ID != sub.ID || subs[0].Status != "active" {
				t.Errorf("subscriptions = %+v, want %s active", subs, sub.ID)
			}
			wantNoStripeCalls(t, e.fake)
			e.wantMirrorIsTruth(t, app, "u1")
		})
	}
}

func TestMirrorReadWithoutCustomer(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	pms, err := e.svc.PaymentMethods(ctx, app, "nobody")
	if err != nil || len(pms.Methods) != 0 || pms.DefaultMethodID != "" {
		t.Errorf("PaymentMethods = %+v, %v; want none", pms, err)
	}
	invs, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "nobody"})
	if err != nil || len(invs.Invoices) != 0 || invs.HasMore {
		t.Errorf("Invoices = %+v, %v; want none", invs, err)
	}
	subs, err := e.svc.Subscriptions(ctx, app, "nobody")
	if err != nil || len(subs) != 0 {
		t.Errorf("Subscriptions = %+v, %v; want none", subs, err)
	}
	wantNoStripeCalls(t, e.fake)
	if _, err := e.db.CustomerID(ctx, app.ID, "nobody"); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("a read created a customer (err %v)", err)
	}
}

// A user's first createPaymentMethod in mirror mode makes a customer whose
// mirror is complete (empty) from the start: reads of it never backfill.
// Only the payment methods are read from Stripe while the setup just
// started is pending (so the card added at Stripe shows at once), until
// the webhook saying it finished or the end of SetupPendingWindow.
func TestMirrorNewUserIsSyncedAtCreation(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*mirrorEnv, *appwheel.App, *appwheel.CustomerState, *appwheel.PaymentMethodSetup) {
		e := newMirrorEnv(t)
		app := e.newApp(t, "shop", "sk_test_shop")
		si, err := e.svc.CreatePaymentMethod(ctx, app, setupIntentParams("u1"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.db.CustomerState(ctx, app.ID, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if !st.SyncedAt.Equal(e.clock.Now()) {
			t.Errorf("SyncedAt = %v, want %v: a customer just made has a complete (empty) mirror", st.SyncedAt, e.clock.Now())
		}
		if want := e.clock.Now().Add(billing.SetupPendingWindow); !st.SetupPendingUntil.Equal(want) {
			t.Errorf("SetupPendingUntil = %v, want %v", st.SetupPendingUntil, want)
		}
		e.clock.Advance(time.Minute)
		e.fake.ResetCalls()
		return e, app, st, si
	}
	readMethods := func(t *testing.T, e *mirrorEnv, app *appwheel.App) *appwheel.PaymentMethodList {
		t.Helper()
		pms, err := e.svc.PaymentMethods(ctx, app, "u1")
		if err != nil {
			t.Fatal(err)
		}
		return pms
	}

	t.Run("invoices and subscriptions make no Stripe call", func(t *testing.T) {
		e, app, _, _ := setup(t)
		invs, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
		if err != nil || len(invs.Invoices) != 0 || invs.HasMore {
			t.Errorf("Invoices = %+v, %v; want none", invs, err)
		}
		subs, err := e.svc.Subscriptions(ctx, app, "u1")
		if err != nil || len(subs) != 0 {
			t.Errorf("Subscriptions = %+v, %v; want none", subs, err)
		}
		wantNoStripeCalls(t, e.fake)
	})

	t.Run("methods read from Stripe until the setup webhook", func(t *testing.T) {
		e, app, st, si := setup(t)
		if pms := readMethods(t, e, app); len(pms.Methods) != 0 {
			t.Errorf("methods = %s, want none", pms.Methods)
		}
		wantCalls(t, e.fake, map[string]int{"PaymentMethods": 1}) // no backfill
		// The user finishes the setup at Stripe; no webhook yet.
		pm := e.fake.AttachCard(app.Stripe, st.CustomerID, "visa", "4242")
		e.fake.ResetCalls()
		if pms := readMethods(t, e, app); len(pms.Methods) != 1 || string(pms.Methods[0]) != string(pm.Raw) || pms.DefaultMethodID != pm.ID {
			t.Errorf("methods = %s, default %q; want [%s] at once, as the default", pms.Methods, pms.DefaultMethodID, pm.Raw)
		}
		// The first card becomes the default: decided again under the
		// user's lock on Stripe's state, then set.
		wantCalls(t, e.fake, map[string]int{"PaymentMethods": 2, "Customer": 1, "Subscriptions": 1, "SetDefaultPaymentMethod": 1})

		// The webhooks arrive: from then on reads are local.
		now := e.clock.Now().Unix()
		e.deliver(t, app, pmAttached(t, e.eventID(), now-20, pm))
		e.deliver(t, app, setupIntentSucceeded(t, e.eventID(), now-20, si.SetupIntentID, st.CustomerID, pm.ID))
		e.fake.ResetCalls()
		if pms := readMethods(t, e, app); len(pms.Methods) != 1 || string(pms.Methods[0]) != string(pm.Raw) {
			t.Errorf("methods after the webhooks = %s, want [%s]", pms.Methods, pm.Raw)
		}
		wantNoStripeCalls(t, e.fake)
	})

	t.Run("abandoned setup stops costing calls after the window", func(t *testing.T) {
		e, app, _, _ := setup(t)
		e.clock.Advance(billing.SetupPendingWindow)
		if pms := readMethods(t, e, app); len(pms.Methods) != 0 || pms.DefaultMethodID != "" {
			t.Errorf("methods = %s, default %q; want none", pms.Methods, pms.DefaultMethodID)
		}
		wantNoStripeCalls(t, e.fake)
	})

	t.Run("the card's webhook keeps a synced user's reads local", func(t *testing.T) {
		e, app, st, _ := setup(t)
		e.clock.Advance(billing.SetupPendingWindow)
		// A snapshot newer than the mirror is written as is: no Stripe call.
		pm := e.fake.AttachCard(app.Stripe, st.CustomerID, "visa", "4242")
		e.fake.ResetCalls()
		e.deliver(t, app, pmAttached(t, e.eventID(), e.clock.Now().Unix(), pm))
		if pms := readMethods(t, e, app); len(pms.Methods) != 1 || string(pms.Methods[0]) != string(pm.Raw) {
			t.Errorf("methods = %s, want [%s]", pms.Methods, pm.Raw)
		}
		wantNoStripeCalls(t, e.fake)
	})
}

// A plan change leaves older invoices billed at a price that is no longer
// the subscription's. Reading them from a synced mirror must still make
// no Stripe call.
func TestMirrorSyncedReadOfOldPriceInvoices(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.user(t, app, "u1", false)
	now := e.clock.Now().Unix()
	start := now - 13*30*day
	sub := e.fake.AddSubscription(app.Stripe, cus, appwheel.Subscription{
		ID: "sub_plan", PriceID: "price_yearly", Interval: "year", IntervalCount: 1,
		Created: start, CurrentPeriodEnd: now + 300*day,
	})
	e.fake.AddPrice(app.Stripe, appwheel.Price{ID: "price_monthly", Interval: "month", IntervalCount: 1})
	for i := range 12 { // a year of monthly invoices, then the switch to yearly
		e.fake.AddInvoice(app.Stripe, monthlyInvoice(fmt.Sprintf("in_m%04d", i), cus, sub.ID, "price_monthly", "paid", start+int64(i)*30*day))
	}
	yearly := monthlyInvoice("in_y0001", cus, sub.ID, "price_yearly", "paid", start+12*30*day)
	yearly.ServicePeriodEnd = yearly.ServicePeriodStart + 365*day
	e.fake.AddInvoice(app.Stripe, yearly)

	// The first read backfills and shows the newest invoice only.
	first, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.fake.ResetCalls()
	next, err := e.svc.Invoices(ctx, app, billing.ListInvoicesParams{AppUserID: "u1", Limit: 100, StartingAfter: first.Invoices[0].OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Invoices) != 12 || next.Invoices[0].ProductPeriod != "P1M" {
		t.Errorf("older invoices: got %d, first %+v; want 12 of productPeriod P1M", len(next.Invoices), next.Invoices[0])
	}
	wantNoStripeCalls(t, e.fake)
}
