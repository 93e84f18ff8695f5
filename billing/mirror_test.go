package billing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/internal/fakestripe"
	"github.com/appwheel/appwheel/sqlite"
	"github.com/appwheel/appwheel/stripe"
)

// ---------------------------------------------------------------------------
// The mirror's test environment.

// testClock is the service's clock, moved by hand.
type testClock struct{ us atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.UnixMicro(c.us.Load()) }
func (c *testClock) Set(t time.Time)         { c.us.Store(t.UnixMicro()) }
func (c *testClock) Advance(d time.Duration) { c.us.Add(d.Microseconds()) }

// mirrorEnv is a billing.Service as the server wires it: real SQLite, the
// real apps service (apps in mirror mode, found by id when an event is
// applied), stripe.DecodeEvent, and the fake Stripe holding the truth.
type mirrorEnv struct {
	db     *sqlite.DB
	fake   *fakestripe.Fake
	apps   *apps.Service
	svc    *billing.Service
	clock  *testClock
	events int // event ids handed out
}

func newMirrorEnv(tb testing.TB) *mirrorEnv {
	tb.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(filepath.Join(tb.TempDir(), "mirror.db"))
	if err := db.Open(ctx); err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	key, err := crypt.ParseKey(crypt.NewKey())
	if err != nil {
		tb.Fatal(err)
	}
	box, err := crypt.NewBox(key)
	if err != nil {
		tb.Fatal(err)
	}
	e := &mirrorEnv{db: db, fake: fakestripe.New(), clock: &testClock{}}
	// The fake Stripe stamps what it creates with the real time; the
	// service's now is an hour later, so everything seeded has happened.
	e.clock.Set(time.Now().Truncate(time.Second).Add(time.Hour))
	e.apps = apps.NewService(db, box, e.clock.Now)
	e.svc = billing.New(billing.Config{
		Store: db, Stripe: e.fake, Apps: e.apps, DecodeEvent: stripe.DecodeEvent,
		Now: e.clock.Now, BackgroundRate: 1000,
	})
	return e
}

// newApp creates an app in mirror mode on the given Stripe account.
func (e *mirrorEnv) newApp(tb testing.TB, name, stripeKey string) *appwheel.App {
	tb.Helper()
	app, err := e.apps.Create(context.Background(), apps.CreateParams{
		Name: name, Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey,
		StripeWebhookSecret: "whsec_" + name, ReadMode: appwheel.ReadMirror,
	})
	if err != nil {
		tb.Fatalf("create app %s: %v", name, err)
	}
	return app
}

// user seeds a Stripe customer for (app, user) and maps it in the store.
// A synced user is one created in mirror mode (its mirror is complete from
// the start); an unsynced one dates from before, and its first read
// backfills.
func (e *mirrorEnv) user(tb testing.TB, app *appwheel.App, user string, synced bool) string {
	tb.Helper()
	cus := e.fake.AddCustomer(app.Stripe, app.ID, user)
	e.mapCustomer(tb, app, user, cus.ID, synced)
	return cus.ID
}

// mapCustomer records that customerID is user's customer in app.
func (e *mirrorEnv) mapCustomer(tb testing.TB, app *appwheel.App, user, customerID string, synced bool) {
	tb.Helper()
	ctx := context.Background()
	if got, err := e.db.PutCustomer(ctx, app.ID, user, customerID, e.clock.Now()); err != nil || got != customerID {
		tb.Fatalf("PutCustomer(%s, %s): got %q, %v; want %q, nil", app.ID, user, got, err, customerID)
	}
	if synced {
		if err := e.db.MarkSynced(ctx, app.ID, user, e.clock.Now()); err != nil {
			tb.Fatalf("MarkSynced(%s, %s): %v", app.ID, user, err)
		}
	}
}

// fakePM returns the fake's payment method as it is now, Stripe's JSON
// included. It counts a Stripe call.
func (e *mirrorEnv) fakePM(tb testing.TB, app *appwheel.App, id string) *appwheel.PaymentMethod {
	tb.Helper()
	pm, err := e.fake.PaymentMethod(context.Background(), app.Stripe, id)
	if err != nil {
		tb.Fatalf("fake PaymentMethod(%s): %v", id, err)
	}
	return pm
}

// setDefault and detach change the fake's truth (counted calls: reset
// the counters before counting).
func (e *mirrorEnv) setDefault(tb testing.TB, app *appwheel.App, customerID, methodID string) {
	tb.Helper()
	if err := e.fake.SetDefaultPaymentMethod(context.Background(), app.Stripe, customerID, methodID, ""); err != nil {
		tb.Fatalf("fake SetDefaultPaymentMethod(%s): %v", methodID, err)
	}
}

func (e *mirrorEnv) detach(tb testing.TB, app *appwheel.App, methodID string) {
	tb.Helper()
	if err := e.fake.DetachPaymentMethod(context.Background(), app.Stripe, methodID, ""); err != nil {
		tb.Fatalf("fake DetachPaymentMethod(%s): %v", methodID, err)
	}
}

func (e *mirrorEnv) eventID() string {
	e.events++
	return fmt.Sprintf("evt_1TmRr%08d", e.events)
}

// deliver does what the webhook endpoint and the job do with an event:
// record it, then apply it from the record (stripe.DecodeEvent included).
func (e *mirrorEnv) deliver(tb testing.TB, app *appwheel.App, ev event) {
	tb.Helper()
	ctx := context.Background()
	fresh, err := e.db.RecordEvent(ctx, &appwheel.Event{
		AppID: app.ID, ID: ev.ID, Type: ev.Type, Created: ev.Created, Payload: ev.Payload, ReceivedAt: e.clock.Now(),
	})
	if err != nil || !fresh {
		tb.Fatalf("RecordEvent(%s): got %v, %v; want true, nil", ev.ID, fresh, err)
	}
	if err := e.svc.ApplyRecordedEvent(ctx, app.ID, ev.ID); err != nil {
		tb.Fatalf("ApplyRecordedEvent(%s %s): %v", ev.Type, ev.ID, err)
	}
	rec, err := e.db.Event(ctx, app.ID, ev.ID)
	if err != nil {
		tb.Fatalf("Event(%s): %v", ev.ID, err)
	}
	if rec.ProcessedAt.IsZero() {
		tb.Fatalf("event %s %s not marked processed", ev.Type, ev.ID)
	}
}

// reapply applies an event a second time, as a job run again after a
// crash between applying the event and marking it processed would.
func (e *mirrorEnv) reapply(tb testing.TB, app *appwheel.App, ev event) {
	tb.Helper()
	se, err := stripe.DecodeEvent(ev.Payload)
	if err != nil {
		tb.Fatalf("DecodeEvent(%s): %v", ev.ID, err)
	}
	if err := e.svc.ApplyEvent(context.Background(), app, se); err != nil {
		tb.Fatalf("ApplyEvent(%s %s) again: %v", ev.Type, ev.ID, err)
	}
}

// mirrorState is one user's Stripe data: what the mirror holds, or what
// the fake Stripe holds.
type mirrorState struct {
	Default  string
	Methods  []*appwheel.PaymentMethod
	Subs     []*appwheel.Subscription
	Invoices []*appwheel.Invoice
}

// mirrored reads the user's mirror straight from the store.
func (e *mirrorEnv) mirrored(tb testing.TB, app *appwheel.App, user string) mirrorState {
	tb.Helper()
	ctx := context.Background()
	st, err := e.db.CustomerState(ctx, app.ID, user)
	if err != nil {
		tb.Fatalf("CustomerState(%s): %v", user, err)
	}
	var s mirrorState
	s.Default = st.DefaultPaymentMethodID
	if s.Methods, err = e.db.PaymentMethodsOf(ctx, app.ID, st.CustomerID); err != nil {
		tb.Fatalf("PaymentMethodsOf: %v", err)
	}
	if s.Subs, err = e.db.SubscriptionsOf(ctx, app.ID, st.CustomerID); err != nil {
		tb.Fatalf("SubscriptionsOf: %v", err)
	}
	for after := ""; ; {
		page, err := e.db.InvoicesOf(ctx, app.ID, appwheel.ListInvoicesParams{CustomerID: st.CustomerID, Limit: 100, StartingAfter: after})
		if err != nil {
			tb.Fatalf("InvoicesOf: %v", err)
		}
		s.Invoices = append(s.Invoices, page.Invoices...)
		if !page.HasMore {
			break
		}
		after = page.Invoices[len(page.Invoices)-1].ID
	}
	return s
}

// truth reads the customer's data from the fake Stripe. It counts Stripe
// calls: check call counts before.
func (e *mirrorEnv) truth(tb testing.TB, app *appwheel.App, customerID string) mirrorState {
	tb.Helper()
	ctx := context.Background()
	var s mirrorState
	cus, err := e.fake.Customer(ctx, app.Stripe, customerID)
	if err != nil {
		tb.Fatalf("fake Customer: %v", err)
	}
	s.Default = cus.DefaultPaymentMethodID
	if s.Methods, err = e.fake.PaymentMethods(ctx, app.Stripe, customerID); err != nil {
		tb.Fatalf("fake PaymentMethods: %v", err)
	}
	if s.Subs, err = e.fake.Subscriptions(ctx, app.Stripe, customerID); err != nil {
		tb.Fatalf("fake Subscriptions: %v", err)
	}
	for after := ""; ; {
		page, err := e.fake.Invoices(ctx, app.Stripe, appwheel.ListInvoicesParams{CustomerID: customerID, Limit: 100, StartingAfter: after})
		if err != nil {
			tb.Fatalf("fake Invoices: %v", err)
		}
		s.Invoices = append(s.Invoices, page.Invoices...)
		if !page.HasMore {
			break
		}
		after = page.Invoices[len(page.Invoices)-1].ID
	}
	if len(s.Methods) == 0 {
		s.Methods = nil // as the store returns none
	}
	if len(s.Subs) == 0 {
		s.Subs = nil
	}
	if len(s.Invoices) == 0 {
		s.Invoices = nil
	}
	return s
}

// wantMirrorIsTruth fails unless the user's mirror holds what Stripe holds
// (Stripe's JSON of each payment method included). It counts Stripe calls.
func (e *mirrorEnv) wantMirrorIsTruth(tb testing.TB, app *appwheel.App, user string) {
	tb.Helper()
	got := e.mirrored(tb, app, user)
	cus, err := e.db.CustomerID(context.Background(), app.ID, user)
	if err != nil {
		tb.Fatal(err)
	}
	if diff := cmp.Diff(e.truth(tb, app, cus), got, ignorePriceTerms); diff != "" {
		tb.Errorf("mirror of %s differs from Stripe (-stripe +mirror):\n%s", user, diff)
	}
}

// ignorePriceTerms leaves out the price terms the mirror adds to each
// invoice (Stripe's invoice does not carry them).
var ignorePriceTerms = cmpopts.IgnoreFields(appwheel.Invoice{}, "PriceInterval", "PriceIntervalCount")

// wantCalls fails unless exactly the given Stripe calls were made.
func wantCalls(tb testing.TB, f *fakestripe.Fake, want map[string]int) {
	tb.Helper()
	total := 0
	for method, n := range want {
		total += n
		if got := f.Calls(method); got != n {
			tb.Errorf("%s calls = %d, want %d", method, got, n)
		}
	}
	if got := f.TotalCalls(); got != total {
		tb.Errorf("Stripe calls = %d, want %d (%v)", got, total, want)
	}
}

// cardsOf attaches n cards to a customer, oldest first.
func (e *mirrorEnv) cardsOf(tb testing.TB, app *appwheel.App, customerID string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.fake.AttachCard(app.Stripe, customerID, "visa", fmt.Sprintf("%04d", 4242+i)).ID
	}
	return ids
}

const day = 24 * 60 * 60

// monthlyInvoice is the invoice of one monthly period of a subscription:
// its line bills [start, start+30d); the invoice's own period is the
// previous one, as Stripe sets it on renewals.
func monthlyInvoice(id, customerID, subID, priceID, status string, start int64) appwheel.Invoice {
	inv := appwheel.Invoice{
		ID: id, CustomerID: customerID, SubscriptionID: subID, PriceID: priceID,
		Number: "", Status: status, Currency: "usd", AmountDue: 999,
		Created: start, PeriodStart: start - 30*day, PeriodEnd: start,
		ServicePeriodStart: start, ServicePeriodEnd: start + 30*day,
	}
	if status != "draft" {
		inv.Number = "N" + id[len(id)-4:]
		inv.HostedInvoiceURL = "https://invoice.stripe.com/i/acct_1/" + id
		inv.InvoicePDF = "https://pay.stripe.com/invoice/acct_1/" + id + "/pdf"
	}
	if status == "paid" {
		inv.AmountPaid, inv.PaidAt = 999, start+60
	}
	return inv
}

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

// ---------------------------------------------------------------------------
// AppWheel's own writes.

func TestMirrorReadAfterOwnWrite(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		cards int
		// write changes the user's methods (cards oldest first, the
		// oldest the default) and returns the events Stripe then sends.
		write       func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event
		wantMethods func(cards []string) []string
		wantDefault func(cards []string) string
		bug         string
	}{
		{
			name: "set default", cards: 3,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.SetDefaultPaymentMethod(ctx, app, "u1", cards[2], ""); err != nil {
					t.Fatal(err)
				}
				return []event{customerUpdated(t, e.eventID(), e.clock.Now().Unix(), appwheel.Customer{ID: cus, DefaultPaymentMethodID: cards[2]}, 1, cards[0])}
			},
			wantMethods: func(c []string) []string { return []string{c[2], c[1], c[0]} },
			wantDefault: func(c []string) string { return c[2] },
		},
		{
			name: "remove a method", cards: 3,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: cards[1]}); err != nil {
					t.Fatal(err)
				}
				return []event{pmDetached(t, e.eventID(), e.clock.Now().Unix(), e.fakePM(t, app, cards[1]), cus)}
			},
			wantMethods: func(c []string) []string { return []string{c[2], c[0]} },
			wantDefault: func(c []string) string { return c[0] },
		},
		{
			name: "remove the default promotes the newest", cards: 3,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: cards[0]}); err != nil {
					t.Fatal(err)
				}
				now := e.clock.Now().Unix()
				return []event{
					customerUpdated(t, e.eventID(), now, appwheel.Customer{ID: cus, DefaultPaymentMethodID: cards[2]}, 1, cards[0]),
					pmDetached(t, e.eventID(), now, e.fakePM(t, app, cards[0]), cus),
				}
			},
			wantMethods: func(c []string) []string { return []string{c[2], c[1]} },
			wantDefault: func(c []string) string { return c[2] },
		},
		{
			name: "remove the last method clears the default", cards: 1,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: cards[0]}); err != nil {
					t.Fatal(err)
				}
				now := e.clock.Now().Unix()
				return []event{
					pmDetached(t, e.eventID(), now, e.fakePM(t, app, cards[0]), cus),
					customerUpdated(t, e.eventID(), now, appwheel.Customer{ID: cus}, 1, cards[0]),
				}
			},
			wantMethods: func(c []string) []string { return []string{} },
			wantDefault: func(c []string) string { return "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			e := newMirrorEnv(t)
			app := e.newApp(t, "shop", "sk_test_shop")
			cus := e.user(t, app, "u1", false)
			cards := e.cardsOf(t, app, cus, tt.cards)
			e.setDefault(t, app, cus, cards[0])
			if _, err := e.svc.PaymentMethods(ctx, app, "u1"); err != nil { // backfills
				t.Fatal(err)
			}
			e.clock.Advance(time.Second)

			events := tt.write(t, e, app, cus, cards)
			e.fake.ResetCalls()
			got, err := e.svc.PaymentMethods(ctx, app, "u1")
			if err != nil {
				t.Fatal(err)
			}
			wantNoStripeCalls(t, e.fake)
			if diff := cmp.Diff(tt.wantMethods(cards), methodIDs(t, got.Methods)); diff != "" {
				t.Errorf("methods right after the write (-want +got):\n%s", diff)
			}
			if want := tt.wantDefault(cards); got.DefaultMethodID != want {
				t.Errorf("default right after the write = %q, want %q", got.DefaultMethodID, want)
			}
			e.wantMirrorIsTruth(t, app, "u1")

			// Stripe's webhooks for the write, from the same second, change
			// nothing.
			for _, ev := range events {
				e.deliver(t, app, ev)
			}
			e.wantMirrorIsTruth(t, app, "u1")
		})
	}
}

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
func TestMirrorDeletedDraftInvoice(t *testing.T) {
	t.Skip("KNOWN GAP: invoice.deleted is applied like any invoice event (billing/events.go applyInvoice), so a deleted draft " +
		"stays listed: appwheel.Invoice has no Deleted and the mirror store no delete, and reconcile only upserts listed invoices. " +
		"(A re-fetch that finds it gone no longer makes the job retry forever.)")
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
	e.clock.Advance(time.Hour)
	if err := e.svc.ReconcileApp(ctx, app, time.Minute); err != nil {
		t.Fatal(err)
	}
	e.wantMirrorIsTruth(t, app, "u1")
}

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
