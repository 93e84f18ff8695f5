package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/stripe"
)

// ---------------------------------------------------------------------------
// Rendered pages (pages.go): served again only while current.

// wantPagesCurrent fails unless the user's paymentMethod and invoices
// answers, as the API sends them (and as the page cache may serve them),
// are byte for byte what a replica without the cache renders now.
func (e *mirrorEnv) wantPagesCurrent(tb testing.TB, app *appwheel.App, user string) {
	tb.Helper()
	ctx := context.Background()
	pages := []struct {
		name string
		read func(*billing.Service) (json.RawMessage, error)
	}{
		{"paymentMethod", func(s *billing.Service) (json.RawMessage, error) { return s.PaymentMethodsJSON(ctx, app, user) }},
		{"invoices", func(s *billing.Service) (json.RawMessage, error) {
			return s.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: user})
		}},
		{"invoices, a page of 1", func(s *billing.Service) (json.RawMessage, error) {
			return s.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: user, Limit: 1})
		}},
	}
	for _, p := range pages {
		got, err := p.read(e.svc)
		if err != nil {
			tb.Fatalf("%s of %s: %v", p.name, user, err)
		}
		want, err := p.read(e.uncached)
		if err != nil {
			tb.Fatalf("%s of %s, uncached: %v", p.name, user, err)
		}
		if !bytes.Equal(got, want) {
			tb.Errorf("%s of %s is stale:\n got %s\nwant %s", p.name, user, got, want)
		}
	}
}

// countingStore is the real store, counting the reads a rendered page
// saves.
type countingStore struct {
	billing.Store
	customerStates, pageReads atomic.Int64
}

func (c *countingStore) CustomerState(ctx context.Context, appID, appUserID string) (*appwheel.CustomerState, error) {
	c.customerStates.Add(1)
	return c.Store.CustomerState(ctx, appID, appUserID)
}

func (c *countingStore) PaymentMethodsOf(ctx context.Context, appID, customerID string) ([]*appwheel.PaymentMethod, error) {
	c.pageReads.Add(1)
	return c.Store.PaymentMethodsOf(ctx, appID, customerID)
}

func (c *countingStore) InvoicesOf(ctx context.Context, appID string, p appwheel.ListInvoicesParams) (*appwheel.InvoicePage, error) {
	c.pageReads.Add(1)
	return c.Store.InvoicesOf(ctx, appID, p)
}

func (c *countingStore) SubscriptionsOf(ctx context.Context, appID, customerID string) ([]*appwheel.Subscription, error) {
	c.pageReads.Add(1)
	return c.Store.SubscriptionsOf(ctx, appID, customerID)
}

func (c *countingStore) StatusHistory(ctx context.Context, appID string, ids []string) (map[string][]appwheel.StatusChange, error) {
	c.pageReads.Add(1)
	return c.Store.StatusHistory(ctx, appID, ids)
}

// newCountingEnv is a mirror environment whose service counts its reads.
func newCountingEnv(t testing.TB) (*mirrorEnv, *countingStore) {
	var counting *countingStore
	e := newMirrorEnvWith(t, func(cfg *billing.Config) {
		counting = &countingStore{Store: cfg.Store}
		cfg.Store = counting
		cfg.LinkBaseURL, cfg.LinkKey = "https://appwheel.test", []byte("pages-test-link-key-0123456789ab")
	})
	return e, counting
}

// seedSubscriber gives a synced user two cards and a subscription with
// three invoices, in Stripe and in the mirror (as events would).
func (e *mirrorEnv) seedSubscriber(t testing.TB, app *appwheel.App, user string) string {
	return e.seedSubscriberWith(t, app, user, 3)
}

// customerOf is the user's Stripe customer in the store.
func (e *mirrorEnv) customerOf(tb testing.TB, app *appwheel.App, user string) string {
	tb.Helper()
	id, err := e.db.CustomerID(context.Background(), app.ID, user)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// seedSubscriberWith is seedSubscriber with n monthly invoices.
func (e *mirrorEnv) seedSubscriberWith(t testing.TB, app *appwheel.App, user string, n int) string {
	t.Helper()
	cus := e.user(t, app, user, true)
	now := e.clock.Now().Unix()
	for _, id := range e.cardsOf(t, app, cus, 2) {
		e.deliver(t, app, pmAttached(t, e.eventID(), now-3*30*day, e.fakePM(t, app, id)))
	}
	sub := appwheel.Subscription{
		ID: "sub_" + user, CustomerID: cus, Status: "active", PriceID: "price_pro", Interval: "month", IntervalCount: 1,
		Created: now - int64(n)*30*day, CurrentPeriodEnd: now + 10*day,
	}
	e.fake.AddSubscription(app.Stripe, cus, sub)
	e.deliver(t, app, subscriptionEvent(t, e.eventID(), "customer.subscription.created", sub.Created, sub, sub.Created, ""))
	for i := range n {
		inv := monthlyInvoice(fmt.Sprintf("in_%s%04d", user, i), cus, sub.ID, "price_pro", "paid", now-int64(n-i)*30*day+10*day)
		e.fake.AddInvoice(app.Stripe, inv)
		e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.paid", inv.Created+60, inv))
	}
	return cus
}

// TestPagesServedWhileCurrent: the second read of an unchanged user is the
// first one's bytes, for one point read of the customer row.
func TestPagesServedWhileCurrent(t *testing.T) {
	ctx := context.Background()
	e, counting := newCountingEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	e.seedSubscriber(t, app, "u1")

	reads := []struct {
		name string
		read func() (json.RawMessage, error)
	}{
		{"paymentMethod", func() (json.RawMessage, error) { return e.svc.PaymentMethodsJSON(ctx, app, "u1") }},
		{"invoices", func() (json.RawMessage, error) {
			return e.svc.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: "u1", Limit: 2})
		}},
	}
	for _, r := range reads {
		first, err := r.read()
		if err != nil {
			t.Fatal(err)
		}
		counting.customerStates.Store(0)
		counting.pageReads.Store(0)
		e.fake.ResetCalls()
		again, err := r.read()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Errorf("%s: second read differs:\n%s\n%s", r.name, first, again)
		}
		if got := counting.customerStates.Load(); got != 1 {
			t.Errorf("%s: %d customer reads, want 1 (the version)", r.name, got)
		}
		if got := counting.pageReads.Load(); got != 0 {
			t.Errorf("%s: %d reads of the user's data, want 0 (served rendered)", r.name, got)
		}
		wantNoStripeCalls(t, e.fake)
	}
	e.wantPagesCurrent(t, app, "u1")

	// Rendered again after a change, from the customer row the check read:
	// a miss reads it once, as a read without the cache does.
	card := e.fake.AttachCard(app.Stripe, e.customerOf(t, app, "u1"), "visa", "1117")
	e.deliver(t, app, pmAttached(t, e.eventID(), e.clock.Now().Unix()-5, card))
	counting.customerStates.Store(0)
	counting.pageReads.Store(0)
	if _, err := e.svc.PaymentMethodsJSON(ctx, app, "u1"); err != nil {
		t.Fatal(err)
	}
	if got := counting.customerStates.Load(); got != 1 || counting.pageReads.Load() == 0 {
		t.Errorf("the read after a change: %d customer reads and %d data reads, want 1 and some", got, counting.pageReads.Load())
	}

	// Another user's pages are their own.
	e.seedSubscriber(t, app, "u2")
	e.wantPagesCurrent(t, app, "u2")
	e.wantPagesCurrent(t, app, "u1")
}

// TestPagesAfterEveryKindOfChange renders a user's pages, changes what they
// show in each way the mirror changes (webhooks of every kind, AppWheel's
// own writes), and wants the next read current each time.
func TestPagesAfterEveryKindOfChange(t *testing.T) {
	ctx := context.Background()
	e, _ := newCountingEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.seedSubscriber(t, app, "u1")
	now := e.clock.Now().Unix()
	methods, err := e.fake.PaymentMethods(ctx, app.Stripe, cus)
	if err != nil {
		t.Fatal(err)
	}
	sub := appwheel.Subscription{
		ID: "sub_u1", CustomerID: cus, Status: "past_due", PriceID: "price_pro", Interval: "month", IntervalCount: 1,
		Created: now - 3*30*day, CurrentPeriodEnd: now + 10*day,
	}
	open := monthlyInvoice("in_u1open", cus, sub.ID, "price_pro", "open", now-day)
	paid := open
	paid.Status, paid.AmountPaid, paid.PaidAt = "paid", open.AmountDue, now-60
	newCard := e.fake.AttachCard(app.Stripe, cus, "amex", "0005")

	changes := []struct {
		name   string
		change func(t *testing.T)
	}{
		{"card attached (webhook)", func(t *testing.T) {
			e.deliver(t, app, pmAttached(t, e.eventID(), now-100, e.fakePM(t, app, newCard.ID)))
		}},
		{"default changed (webhook)", func(t *testing.T) {
			e.setDefault(t, app, cus, newCard.ID)
			e.deliver(t, app, customerUpdated(t, e.eventID(), now-90, appwheel.Customer{ID: cus, DefaultPaymentMethodID: newCard.ID}, now-4*30*day, ""))
		}},
		{"card detached (webhook)", func(t *testing.T) {
			e.detach(t, app, methods[0].ID)
			e.deliver(t, app, pmDetached(t, e.eventID(), now-80, e.fakePM(t, app, methods[0].ID), cus))
		}},
		{"subscription past due (webhook)", func(t *testing.T) {
			e.fake.SetSubscriptionStatus(app.Stripe, sub.ID, "past_due")
			e.deliver(t, app, subscriptionEvent(t, e.eventID(), "customer.subscription.updated", now-70, sub, sub.Created, "active"))
		}},
		{"invoice finalized (webhook)", func(t *testing.T) {
			e.fake.AddInvoice(app.Stripe, paid)
			e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.finalized", now-65, open))
		}},
		{"invoice paid (webhook)", func(t *testing.T) {
			e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.paid", now-60, paid))
		}},
		{"default set through AppWheel", func(t *testing.T) {
			if _, err := e.svc.SetDefaultPaymentMethod(ctx, app, "u1", methods[1].ID, ""); err != nil {
				t.Fatal(err)
			}
		}},
		{"card removed through AppWheel", func(t *testing.T) {
			if _, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: newCard.ID}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range changes {
		e.wantPagesCurrent(t, app, "u1") // rendered, and kept
		before, err := e.svc.PaymentMethodsJSON(ctx, app, "u1")
		if err != nil {
			t.Fatal(err)
		}
		beforeInvoices, err := e.svc.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		c.change(t)
		e.wantPagesCurrent(t, app, "u1")
		after, _ := e.svc.PaymentMethodsJSON(ctx, app, "u1")
		afterInvoices, _ := e.svc.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
		if bytes.Equal(before, after) && bytes.Equal(beforeInvoices, afterInvoices) {
			t.Errorf("%s: neither page changed, so the test checked nothing", c.name)
		}
	}
}

// TestPagesAcrossReplicas: a page kept by one replica is not served after
// another replica changed the user, on that replica's next read.
func TestPagesAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	e, _ := newCountingEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.seedSubscriber(t, app, "u1")
	other := billing.New(billing.Config{
		Store: e.db, Stripe: e.fake, Apps: e.apps, DecodeEvent: stripe.DecodeEvent, Now: e.clock.Now, BackgroundRate: 1000,
	})

	e.wantPagesCurrent(t, app, "u1") // kept by e.svc
	card := e.fake.AttachCard(app.Stripe, cus, "visa", "1881")
	ev := pmAttached(t, e.eventID(), e.clock.Now().Unix()-10, card)
	if _, err := e.db.RecordEvent(ctx, &appwheel.Event{AppID: app.ID, ID: ev.ID, Type: ev.Type, Created: ev.Created, Payload: ev.Payload, ReceivedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := other.ApplyRecordedEvent(ctx, app.ID, ev.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.PaymentMethodsJSON(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(card.ID)) {
		t.Errorf("after the other replica applied %s, paymentMethod = %s, want the new card", ev.Type, got)
	}
	e.wantPagesCurrent(t, app, "u1")

	if _, err := other.SetDefaultPaymentMethod(ctx, app, "u1", card.ID, ""); err != nil {
		t.Fatal(err)
	}
	got, _ = e.svc.PaymentMethodsJSON(ctx, app, "u1")
	if !bytes.Contains(got, []byte(`"defaultMethodId":"`+card.ID+`"`)) {
		t.Errorf("after the other replica set the default, paymentMethod = %s, want %s the default", got, card.ID)
	}
	e.wantPagesCurrent(t, app, "u1")
}

// TestPagesExpireWithTheClock: the invoice links a page carries are those
// of the hour it was rendered in; the page is not served past that hour.
func TestPagesExpireWithTheClock(t *testing.T) {
	ctx := context.Background()
	e, counting := newCountingEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	e.seedSubscriber(t, app, "u1")
	hourEnd := e.clock.Now().Truncate(time.Hour).Add(time.Hour)

	e.clock.Set(hourEnd.Add(-time.Second))
	read := func() json.RawMessage {
		t.Helper()
		page, err := e.svc.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	inHour := read()
	e.wantPagesCurrent(t, app, "u1")
	counting.pageReads.Store(0)
	if again := read(); !bytes.Equal(again, inHour) || counting.pageReads.Load() != 0 {
		t.Fatalf("within the hour: not served from the kept page (%d reads)", counting.pageReads.Load())
	}

	e.clock.Set(hourEnd)
	next := read()
	if bytes.Equal(next, inHour) {
		t.Errorf("the page rendered before %s was served after it, with that hour's links", hourEnd.Format(time.TimeOnly))
	}
	e.wantPagesCurrent(t, app, "u1")
}

// TestPagesNotKeptForReadsThatAskStripe: a live app's reads, and a user's
// while a setup is pending, go to Stripe every time.
func TestPagesNotKeptForReadsThatAskStripe(t *testing.T) {
	ctx := context.Background()
	e, _ := newCountingEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	e.seedSubscriber(t, app, "u1")
	if _, err := e.svc.CreatePaymentMethod(ctx, app, billing.CreatePaymentMethodParams{
		AppUserID: "u1", Type: appwheel.AddBySetupIntent,
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		e.fake.ResetCalls()
		if _, err := e.svc.PaymentMethodsJSON(ctx, app, "u1"); err != nil {
			t.Fatal(err)
		}
		if e.fake.Calls("PaymentMethods") == 0 {
			t.Errorf("setup pending: no PaymentMethods call, want the read to ask Stripe each time")
		}
	}

	live, err := e.apps.SetReadMode(ctx, app.ID, appwheel.ReadLive)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		e.fake.ResetCalls()
		if _, err := e.svc.InvoicesJSON(ctx, live, billing.ListInvoicesParams{AppUserID: "u1"}); err != nil {
			t.Fatal(err)
		}
		if e.fake.Calls("Invoices") == 0 {
			t.Errorf("live app: no Invoices call, want the read to ask Stripe each time")
		}
	}
}

// TestPagesKeptInTheDatabase: a user's first page of invoices rendered by
// one replica is served by another that never rendered it, for the point
// read of the customer row and one of the kept page, byte for byte; not
// after a change, nor past its hour, nor for another page.
func TestPagesKeptInTheDatabase(t *testing.T) {
	ctx := context.Background()
	e, _ := newCountingEnv(t)
	app := e.newApp(t, "shop", "sk_test_shop")
	cus := e.seedSubscriber(t, app, "u1")
	counting := &countingStore{Store: e.db}
	other := billing.New(billing.Config{
		Store: counting, Stripe: e.fake, Apps: e.apps, DecodeEvent: stripe.DecodeEvent, Now: e.clock.Now, BackgroundRate: 1000,
		LinkBaseURL: "https://appwheel.test", LinkKey: []byte("pages-test-link-key-0123456789ab"),
	})
	first := func(s *billing.Service) json.RawMessage {
		t.Helper()
		page, err := s.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	rendered := func(what string, want bool, read func()) {
		t.Helper()
		counting.pageReads.Store(0)
		read()
		if got := counting.pageReads.Load() > 0; got != want {
			t.Errorf("%s: rendered from the mirror = %v, want %v", what, got, want)
		}
	}

	kept := first(e.svc)
	rendered("the other replica's first read", false, func() {
		if got := first(other); !bytes.Equal(got, kept) {
			t.Errorf("the other replica served\n%s\nwant the kept page\n%s", got, kept)
		}
	})
	rendered("another page size", true, func() {
		if _, err := other.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: "u1", Limit: 2}); err != nil {
			t.Fatal(err)
		}
	})

	// A new invoice: the kept page is stale on every replica.
	inv := monthlyInvoice("in_u1new", cus, "sub_u1", "price_pro", "open", e.clock.Now().Unix()-30)
	e.fake.AddInvoice(app.Stripe, inv)
	e.deliver(t, app, invoiceEvent(t, e.eventID(), "invoice.finalized", inv.Created+1, inv))
	fresh := billing.New(billing.Config{
		Store: counting, Stripe: e.fake, Apps: e.apps, DecodeEvent: stripe.DecodeEvent, Now: e.clock.Now, BackgroundRate: 1000,
		LinkBaseURL: "https://appwheel.test", LinkKey: []byte("pages-test-link-key-0123456789ab"),
	})
	rendered("a replica's read after a change", true, func() {
		if got := first(fresh); !bytes.Contains(got, []byte("in_u1new")) {
			t.Errorf("after the change: %s, want the new invoice", got)
		}
	})
	e.wantPagesCurrent(t, app, "u1")

	// Past the hour its links were made in, a kept page is not served.
	e.clock.Set(e.clock.Now().Truncate(time.Hour).Add(time.Hour))
	later := billing.New(billing.Config{
		Store: counting, Stripe: e.fake, Apps: e.apps, DecodeEvent: stripe.DecodeEvent, Now: e.clock.Now, BackgroundRate: 1000,
		LinkBaseURL: "https://appwheel.test", LinkKey: []byte("pages-test-link-key-0123456789ab"),
	})
	rendered("a read past the hour", true, func() { first(later) })
	e.wantPagesCurrent(t, app, "u1")
}
