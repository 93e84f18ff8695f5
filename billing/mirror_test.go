package billing_test

import (
	"context"
	"fmt"
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
	db   *sqlite.DB
	fake *fakestripe.Fake
	apps *apps.Service
	svc  *billing.Service
	// uncached is another replica over the same store that keeps no
	// rendered pages: what every read must answer (wantPagesCurrent).
	uncached *billing.Service
	clock    *testClock
	events   int // event ids handed out
}

func newMirrorEnv(tb testing.TB) *mirrorEnv {
	tb.Helper()
	return newMirrorEnvWith(tb, nil)
}

// newMirrorEnvWith is newMirrorEnv with the service's Config changed by
// configure.
func newMirrorEnvWith(tb testing.TB, configure func(*billing.Config)) *mirrorEnv {
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
	cfg := billing.Config{
		Store: db, Stripe: e.fake, Apps: e.apps, DecodeEvent: stripe.DecodeEvent,
		Now: e.clock.Now, BackgroundRate: 1000,
	}
	if configure != nil {
		configure(&cfg)
	}
	e.svc = billing.New(cfg)
	cfg.Store, cfg.PageCacheBytes = db, -1
	e.uncached = billing.New(cfg)
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
