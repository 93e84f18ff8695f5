package billing_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// Which card pays: the tests of the rules in billing/which_card.go, over
// real SQLite and the fake Stripe.

// subscribe seeds a live subscription of the customer; own is its own
// default_payment_method ("" charges the customer's default).
func (e *env) subscribe(tb testing.TB, app *appwheel.App, customerID, status, own string) string {
	tb.Helper()
	return e.fake.AddSubscription(app.Stripe, customerID, appwheel.Subscription{
		Status: status, PriceID: "price_monthly", Interval: "month", IntervalCount: 1,
		CurrentPeriodEnd: fixedNow.AddDate(0, 1, 0).Unix(), DefaultPaymentMethodID: own,
	}).ID
}

// charged returns the card each of the customer's subscriptions would be
// charged to now, as Stripe decides it, by subscription id.
func (e *env) charged(tb testing.TB, app *appwheel.App, customerID string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	subs, err := e.fake.Subscriptions(ctx, app.Stripe, customerID)
	if err != nil {
		tb.Fatal(err)
	}
	methods, err := e.fake.PaymentMethods(ctx, app.Stripe, customerID)
	if err != nil {
		tb.Fatal(err)
	}
	attached := func(id string) bool {
		return slices.ContainsFunc(methods, func(pm *appwheel.PaymentMethod) bool { return pm.ID == id })
	}
	def := e.defaultOf(tb, app, customerID)
	out := map[string]string{}
	for _, sub := range subs {
		out[sub.ID] = sub.ChargedMethod(def, attached)
	}
	return out
}

func (e *env) remove(tb testing.TB, user, methodID string, force bool) (*appwheel.RemovedPaymentMethod, error) {
	tb.Helper()
	return e.svc.RemovePaymentMethod(context.Background(), e.appA, billing.RemovePaymentMethodParams{AppUserID: user, MethodID: methodID, Force: force})
}

func TestFirstCardAddedBecomesDefault(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	setup, err := e.svc.CreatePaymentMethod(ctx, e.appA, setupIntentParams("u1"))
	if err != nil {
		t.Fatal(err)
	}
	first := e.fake.CompleteSetup(e.appA.Stripe, setup.SetupIntentID, "visa", "4242")

	list, err := e.svc.PaymentMethods(ctx, e.appA, "u1")
	if err != nil {
		t.Fatal(err)
	}
	cus := e.storedCustomer(t, e.appA, "u1")
	if list.DefaultMethodID != first.ID || e.defaultOf(t, e.appA, cus) != first.ID {
		t.Errorf("after the first card: defaultMethodId %q, Stripe's default %q; want %s", list.DefaultMethodID, e.defaultOf(t, e.appA, cus), first.ID)
	}

	// A second card added without makeDefault leaves the default alone, and
	// a read that finds nothing to do makes no extra Stripe call.
	checkout, err := e.svc.CreatePaymentMethod(ctx, e.appA, checkoutParams("u1"))
	if err != nil {
		t.Fatal(err)
	}
	e.fake.CompleteSetup(e.appA.Stripe, checkout.CheckoutID, "mastercard", "4444")
	e.fake.ResetCalls()
	if list, err = e.svc.PaymentMethods(ctx, e.appA, "u1"); err != nil {
		t.Fatal(err)
	}
	if list.DefaultMethodID != first.ID || len(list.Methods) != 2 {
		t.Errorf("after a second card: %d methods, default %q; want 2, %s", len(list.Methods), list.DefaultMethodID, first.ID)
	}
	wantCalls(t, e.fake, map[string]int{"PaymentMethods": 1, "Customer": 1})
}

func TestMakeDefault(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus := e.customer(t, e.appA, "u1")
	old := e.cards(t, e.appA, cus, 1)[0]
	e.setDefault(t, e.appA, cus, old)
	ownCard := e.subscribe(t, e.appA, cus, "active", old)
	viaCustomer := e.subscribe(t, e.appA, cus, "trialing", "")
	canceled := e.subscribe(t, e.appA, cus, "canceled", old)

	p := checkoutParams("u1")
	p.MakeDefault = true
	setup, err := e.svc.CreatePaymentMethod(ctx, e.appA, p)
	if err != nil {
		t.Fatal(err)
	}
	// Until the card is added, nothing changes.
	if list, err := e.svc.PaymentMethods(ctx, e.appA, "u1"); err != nil || list.DefaultMethodID != old {
		t.Fatalf("before the setup completes: default %q, %v; want %s", list.DefaultMethodID, err, old)
	}
	card := e.fake.CompleteSetup(e.appA.Stripe, setup.CheckoutID, "mastercard", "4444")
	list, err := e.svc.PaymentMethods(ctx, e.appA, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if list.DefaultMethodID != card.ID {
		t.Errorf("defaultMethodId = %q, want the new card %s", list.DefaultMethodID, card.ID)
	}
	want := map[string]string{ownCard: card.ID, viaCustomer: card.ID, canceled: old}
	if diff := cmp.Diff(want, e.charged(t, e.appA, cus)); diff != "" {
		t.Errorf("cards charged (-want +got):\n%s", diff)
	}
	if got := e.fake.Subscription(e.appA.Stripe, canceled).DefaultPaymentMethodID; got != old {
		t.Errorf("canceled subscription's card = %q, want it left at %s", got, old)
	}
	st, err := e.db.CustomerState(ctx, e.appA.ID, "u1")
	if err != nil || st.DefaultSetupIntentID != "" {
		t.Errorf("DefaultSetupIntentID = %q, %v after it was applied; want \"\"", st.DefaultSetupIntentID, err)
	}

	// Applied once: the user's later choice is not undone by a later read.
	if _, err := e.svc.SetDefaultPaymentMethod(ctx, e.appA, "u1", old, ""); err != nil {
		t.Fatal(err)
	}
	if list, err := e.svc.PaymentMethods(ctx, e.appA, "u1"); err != nil || list.DefaultMethodID != old {
		t.Errorf("after choosing %s again: default %q, %v", old, list.DefaultMethodID, err)
	}
}

func TestMakeDefaultFromWebhook(t *testing.T) {
	e := newMirrorEnv(t)
	ctx := context.Background()
	app := e.newApp(t, "a", "sk_test_a")
	cus := e.user(t, app, "u1", true)
	old := e.cardsOf(t, app, cus, 1)[0]
	e.setDefault(t, app, cus, old)
	e.deliver(t, app, customerUpdated(t, e.eventID(), e.clock.Now().Unix(), appwheel.Customer{ID: cus, DefaultPaymentMethodID: old}, e.clock.Now().Unix()-60, ""))

	setup, err := e.svc.CreatePaymentMethod(ctx, app, billing.CreatePaymentMethodParams{AppUserID: "u1", Type: appwheel.AddBySetupIntent, MakeDefault: true})
	if err != nil {
		t.Fatal(err)
	}
	card := e.fake.CompleteSetup(app.Stripe, setup.SetupIntentID, "mastercard", "4444")
	e.clock.Advance(1e9)
	e.deliver(t, app, setupIntentSucceeded(t, e.eventID(), e.clock.Now().Unix(), setup.SetupIntentID, cus, card.ID))

	if got := e.mirrored(t, app, "u1").Default; got != card.ID {
		t.Errorf("mirrored default = %q, want the new card %s", got, card.ID)
	}
	e.wantMirrorIsTruth(t, app, "u1")
	// The setup is seen and settled: a read makes no Stripe call.
	e.fake.ResetCalls()
	list, err := e.svc.PaymentMethods(ctx, app, "u1")
	if err != nil || list.DefaultMethodID != card.ID {
		t.Errorf("read: default %q, %v; want %s", list.DefaultMethodID, err, card.ID)
	}
	wantCalls(t, e.fake, map[string]int{})
}

func TestFirstCardDefaultWhenWebhookLost(t *testing.T) {
	e := newMirrorEnv(t)
	ctx := context.Background()
	app := e.newApp(t, "a", "sk_test_a")
	cus := e.user(t, app, "u1", true)
	setup, err := e.svc.CreatePaymentMethod(ctx, app, billing.CreatePaymentMethodParams{AppUserID: "u1", Type: appwheel.AddBySetupIntent})
	if err != nil {
		t.Fatal(err)
	}
	card := e.fake.CompleteSetup(app.Stripe, setup.SetupIntentID, "visa", "4242")
	// No webhook: the read during the setup window finds the card.
	list, err := e.svc.PaymentMethods(ctx, app, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if list.DefaultMethodID != card.ID || e.truth(t, app, cus).Default != card.ID {
		t.Errorf("defaultMethodId %q, Stripe's %q; want %s", list.DefaultMethodID, e.truth(t, app, cus).Default, card.ID)
	}
	e.wantMirrorIsTruth(t, app, "u1")
}

func TestRemoveMovesSubscriptionsToAnotherCard(t *testing.T) {
	tests := []struct {
		name string
		// the user's three cards are c0 (oldest), c1, c2; the default and
		// each subscription's own card are indexes into them, -1 for none.
		dflt        int
		subs        []int // live subscriptions' own cards
		remove      int
		wantDefault int // the customer's default afterwards, -1 none
		wantNew     int // newDefaultMethodId, -1 ""
		wantMoved   []int
		wantCharged []int // each subscription's card afterwards
	}{
		{name: "own card removed, default stays", dflt: 0, subs: []int{2, -1}, remove: 2,
			wantDefault: 0, wantNew: -1, wantMoved: []int{0}, wantCharged: []int{0, 0}},
		{name: "default removed, newest remaining", dflt: 0, subs: []int{-1, 1}, remove: 0,
			wantDefault: 2, wantNew: 2, wantMoved: []int{0}, wantCharged: []int{2, 1}},
		{name: "default removed, subscription names it too", dflt: 1, subs: []int{1}, remove: 1,
			wantDefault: 2, wantNew: 2, wantMoved: []int{0}, wantCharged: []int{2}},
		{name: "no default: own card to the newest", dflt: -1, subs: []int{0, -1}, remove: 0,
			wantDefault: -1, wantNew: -1, wantMoved: []int{0}, wantCharged: []int{2, -1}},
		{name: "card nobody charges", dflt: 0, subs: []int{-1, 1}, remove: 2,
			wantDefault: 0, wantNew: -1, wantMoved: []int{}, wantCharged: []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cus := e.customer(t, e.appA, "u1")
			cards := e.cards(t, e.appA, cus, 3)
			card := func(i int) string {
				if i < 0 {
					return ""
				}
				return cards[i]
			}
			if tt.dflt >= 0 {
				e.setDefault(t, e.appA, cus, cards[tt.dflt])
			}
			var subs []string
			for _, own := range tt.subs {
				subs = append(subs, e.subscribe(t, e.appA, cus, "active", card(own)))
			}
			got, err := e.remove(t, "u1", cards[tt.remove], false)
			if err != nil {
				t.Fatal(err)
			}
			want := &appwheel.RemovedPaymentMethod{MethodID: cards[tt.remove], NewDefaultMethodID: card(tt.wantNew), MovedSubscriptionIDs: []string{}}
			for _, i := range tt.wantMoved {
				want.MovedSubscriptionIDs = append(want.MovedSubscriptionIDs, subs[i])
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RemovePaymentMethod (-want +got):\n%s", diff)
			}
			if got := e.defaultOf(t, e.appA, cus); got != card(tt.wantDefault) {
				t.Errorf("Stripe's default = %q, want %q", got, card(tt.wantDefault))
			}
			wantCharged := map[string]string{}
			for i, c := range tt.wantCharged {
				wantCharged[subs[i]] = card(c)
			}
			if diff := cmp.Diff(wantCharged, e.charged(t, e.appA, cus)); diff != "" {
				t.Errorf("cards charged (-want +got):\n%s", diff)
			}
			if at := e.attachedTo(t, e.appA, cards[tt.remove]); at != "" {
				t.Errorf("removed card still attached to %s", at)
			}
		})
	}
}

func TestRemoveLastCardOfSubscriber(t *testing.T) {
	e := newEnv(t)
	cus := e.customer(t, e.appA, "u1")
	cards := e.cards(t, e.appA, cus, 2)
	e.setDefault(t, e.appA, cus, cards[0])
	sub := e.subscribe(t, e.appA, cus, "past_due", cards[1])

	if _, err := e.remove(t, "u1", cards[1], false); err != nil {
		t.Fatal(err)
	}
	_, err := e.remove(t, "u1", cards[0], false)
	wantCode(t, err, appwheel.ELASTMETHOD)
	if !strings.Contains(appwheel.ErrorMessage(err), sub) {
		t.Errorf("refusal %q does not name subscription %s", appwheel.ErrorMessage(err), sub)
	}
	if e.attachedTo(t, e.appA, cards[0]) != cus {
		t.Fatal("refused removal detached the card")
	}
	got, err := e.remove(t, "u1", cards[0], true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.MovedSubscriptionIDs) != 0 || got.NewDefaultMethodID != "" {
		t.Errorf("forced removal of the last card: %+v; want nothing moved", got)
	}
	if diff := cmp.Diff(map[string]string{sub: ""}, e.charged(t, e.appA, cus)); diff != "" {
		t.Errorf("after a forced removal the subscription should charge nothing (-want +got):\n%s", diff)
	}
	views, err := e.svc.Subscriptions(context.Background(), e.appA, "u1")
	if err != nil || len(views) != 1 || views[0].PaymentMethodID != "" {
		t.Errorf("Subscriptions = %+v, %v; want one with paymentMethodId \"\"", views, err)
	}
}

func TestRemoveSubscribersTwoCardsConcurrently(t *testing.T) {
	for range 5 {
		e := newEnv(t)
		cus := e.customer(t, e.appA, "u1")
		cards := e.cards(t, e.appA, cus, 2)
		e.setDefault(t, e.appA, cus, cards[0])
		e.subscribe(t, e.appA, cus, "active", "")

		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range cards {
			wg.Go(func() { _, errs[i] = e.remove(t, "u1", id, false) })
		}
		wg.Wait()
		codes := []int{appwheel.ErrorCode(errs[0]), appwheel.ErrorCode(errs[1])}
		slices.Sort(codes)
		if !slices.Equal(codes, []int{0, appwheel.ELASTMETHOD}) {
			t.Fatalf("concurrent removals: codes %v (%v); want one 0 and one %d", codes, errs, appwheel.ELASTMETHOD)
		}
		methods, err := e.fake.PaymentMethods(context.Background(), e.appA.Stripe, cus)
		if err != nil || len(methods) != 1 {
			t.Fatalf("cards left: %d, %v; want 1", len(methods), err)
		}
		for sub, card := range e.charged(t, e.appA, cus) {
			if card != methods[0].ID {
				t.Errorf("subscription %s charges %q, want the remaining card %s", sub, card, methods[0].ID)
			}
		}
	}
}

func TestRemoveFailurePartWayThenRetry(t *testing.T) {
	e := newEnv(t)
	cus := e.customer(t, e.appA, "u1")
	cards := e.cards(t, e.appA, cus, 2)
	e.setDefault(t, e.appA, cus, cards[0])
	own := e.subscribe(t, e.appA, cus, "active", cards[0])
	via := e.subscribe(t, e.appA, cus, "active", "")

	// The moves are made, then the detach fails (Stripe down; or the process
	// dies there): every live subscription can still be charged.
	e.fake.FailNext("DetachPaymentMethod", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable"))
	_, err := e.remove(t, "u1", cards[0], false)
	wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
	want := map[string]string{own: cards[1], via: cards[1]}
	if diff := cmp.Diff(want, e.charged(t, e.appA, cus)); diff != "" {
		t.Errorf("after the failure (-want +got):\n%s", diff)
	}
	// A retry, with another Idempotency-Key or none, finishes the job.
	if _, err := e.remove(t, "u1", cards[0], false); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if at := e.attachedTo(t, e.appA, cards[0]); at != "" {
		t.Errorf("card still attached to %s after the retry", at)
	}
	if diff := cmp.Diff(want, e.charged(t, e.appA, cus)); diff != "" {
		t.Errorf("after the retry (-want +got):\n%s", diff)
	}
}

func TestSetDefaultMovesSubscriptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus := e.customer(t, e.appA, "u1")
	cards := e.cards(t, e.appA, cus, 2)
	e.setDefault(t, e.appA, cus, cards[0])
	own := e.subscribe(t, e.appA, cus, "active", cards[0])
	via := e.subscribe(t, e.appA, cus, "unpaid", "")
	ended := e.subscribe(t, e.appA, cus, "canceled", cards[0])

	got, err := e.svc.SetDefaultPaymentMethod(ctx, e.appA, "u1", cards[1], "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&appwheel.DefaultPaymentMethod{DefaultMethodID: cards[1], MovedSubscriptionIDs: []string{own}}, got); diff != "" {
		t.Errorf("SetDefaultPaymentMethod (-want +got):\n%s", diff)
	}
	want := map[string]string{own: cards[1], via: cards[1], ended: cards[0]}
	if diff := cmp.Diff(want, e.charged(t, e.appA, cus)); diff != "" {
		t.Errorf("cards charged (-want +got):\n%s", diff)
	}
	views, err := e.svc.Subscriptions(ctx, e.appA, "u1")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if v.PaymentMethodID != want[v.ID] {
			t.Errorf("subscription %s: paymentMethodId %q, want %q", v.ID, v.PaymentMethodID, want[v.ID])
		}
	}
}
