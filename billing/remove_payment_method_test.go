package billing_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/google/go-cmp/cmp"
)

// ---------------------------------------------------------------------------
// removePaymentMethod

func TestRemovePaymentMethodNotFound(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the method to remove for user_1 of app A, and the
		// customer it must stay attached to ("" when it is not attached).
		setup func(t *testing.T, e *env) (methodID, attachedTo string)
		// wantNoCalls: the service must not even ask Stripe.
		wantNoCalls bool
	}{
		{"OtherUsersMethodSameApp", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 2)
			other := e.customer(t, e.appA, "user_2")
			return e.cards(t, e.appA, other, 1)[0], other
		}, false},
		{"OtherUsersOnlyMethod", func(t *testing.T, e *env) (string, string) {
			e.customer(t, e.appA, "user_1")
			other := e.customer(t, e.appA, "user_2")
			return e.cards(t, e.appA, other, 1)[0], other
		}, false},
		{"OtherAppsMethod", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			other := e.customer(t, e.appB, "user_1") // same appUserId, other app and account
			return e.cards(t, e.appB, other, 1)[0], other
		}, false},
		{"UnknownMethod", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			return "pm_doesnotexist", ""
		}, false},
		{"DetachedMethod", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			return e.fake.CreateDetachedCard(e.appA.Stripe, "visa", "4242").ID, ""
		}, false},
		{"UserWithoutCustomer", func(t *testing.T, e *env) (string, string) {
			other := e.customer(t, e.appA, "user_2")
			return e.cards(t, e.appA, other, 1)[0], other
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			methodID, owner := tt.setup(t, e)
			e.fake.ResetCalls()

			got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: methodID, Force: true,
			})
			if got != nil {
				t.Errorf("got %+v, want nil", got)
			}
			wantCode(t, err, appwheel.ENOTFOUND)
			if tt.wantNoCalls {
				wantNoStripeCalls(t, e.fake)
			}
			if n := e.fake.Calls("DetachPaymentMethod"); n != 0 {
				t.Errorf("got %d DetachPaymentMethod calls, want 0", n)
			}
			if n := e.fake.Calls("SetDefaultPaymentMethod"); n != 0 {
				t.Errorf("got %d SetDefaultPaymentMethod calls, want 0", n)
			}
			if n := e.fake.Calls("CreateCustomer"); n != 0 {
				t.Errorf("got %d CreateCustomer calls, want 0", n)
			}
			if owner != "" {
				for _, app := range []*appwheel.App{e.appA, e.appB} {
					if pm, err := e.fake.PaymentMethod(t.Context(), app.Stripe, methodID); err == nil && pm.CustomerID != owner {
						t.Errorf("method %s is attached to %q, want still %q", methodID, pm.CustomerID, owner)
					}
				}
			}
		})
	}
}

func TestRemovePaymentMethodInvalid(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		methodID  string
		wantParam string
	}{
		{"EmptyMethodID", "user_1", "", "methodId"},
		{"InvoiceID", "user_1", "in_123", "methodId"},
		{"ChargeID", "user_1", "ch_123", "methodId"},
		{"PrefixOnly", "user_1", "pm_", "methodId"},
		{"UpperCasePrefix", "user_1", "PM_123", "methodId"},
		{"SQLish", "user_1", "pm_x;drop", "methodId"},
		{"PathTraversal", "user_1", "pm_../../v1/customers", "methodId"},
		{"Space", "user_1", "pm_1 2", "methodId"},
		{"Unicode", "user_1", "pm_é", "methodId"},
		{"Over255Bytes", "user_1", "pm_" + strings.Repeat("a", 297), "methodId"},
		{"EmptyAppUserID", "", "pm_123", "appUserId"},
		{"ControlAppUserID", "u\x01", "pm_123", "appUserId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			e.fake.ResetCalls()

			for _, force := range []bool{false, true} {
				got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
					AppUserID: tt.user, MethodID: tt.methodID, Force: force,
				})
				if got != nil {
					t.Errorf("force=%v: got %+v, want nil", force, got)
				}
				wantCode(t, err, appwheel.EINVALID)
				if msg := appwheel.ErrorMessage(err); !strings.Contains(msg, tt.wantParam) {
					t.Errorf("force=%v: got message %q, want it to name %q", force, msg, tt.wantParam)
				}
			}
			wantNoStripeCalls(t, e.fake)
		})
	}

	t.Run("255BytesIsAShape", func(t *testing.T) {
		// The longest id Stripe allows is asked about, and simply not found.
		e := newEnv(t)
		e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
		_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: "pm_" + strings.Repeat("a", 252),
		})
		wantCode(t, err, appwheel.ENOTFOUND)
	})
}

func TestRemovePaymentMethodLastMethod(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string // the user's subscriptions, oldest first
		force    bool
		wantCode int
	}{
		{"Active", []string{"active"}, false, appwheel.ELASTMETHOD},
		{"Trialing", []string{"trialing"}, false, appwheel.ELASTMETHOD},
		{"PastDue", []string{"past_due"}, false, appwheel.ELASTMETHOD},
		{"Unpaid", []string{"unpaid"}, false, appwheel.ELASTMETHOD},
		{"ActiveAmongDead", []string{"active", "canceled", "incomplete_expired"}, false, appwheel.ELASTMETHOD},
		{"UnpaidOlderThanCanceled", []string{"unpaid", "canceled"}, false, appwheel.ELASTMETHOD},
		{"ActiveForce", []string{"active"}, true, 0},
		{"TrialingForce", []string{"trialing"}, true, 0},
		{"PastDueForce", []string{"past_due"}, true, 0},
		{"UnpaidForce", []string{"unpaid"}, true, 0},
		{"Canceled", []string{"canceled"}, false, 0},
		{"IncompleteExpired", []string{"incomplete_expired"}, false, 0},
		{"CanceledAndIncompleteExpired", []string{"canceled", "incomplete_expired"}, false, 0},
		{"Incomplete", []string{"incomplete"}, false, 0},
		{"Paused", []string{"paused"}, false, 0},
		{"NoSubscription", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cusID := e.customer(t, e.appA, "user_1")
			pm := e.cards(t, e.appA, cusID, 1)[0]
			e.setDefault(t, e.appA, cusID, pm)
			for _, status := range tt.statuses {
				e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{
					Status: status, PriceID: "price_1", Interval: "month", IntervalCount: 1,
				})
			}
			// Another user's live subscription changes nothing.
			e.fake.AddSubscription(e.appA.Stripe, e.customer(t, e.appA, "user_2"), appwheel.Subscription{Status: "active"})

			got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: pm, Force: tt.force,
			})
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != 0 {
				if got != nil {
					t.Errorf("got %+v, want nil", got)
				}
				if !strings.Contains(appwheel.ErrorMessage(err), "force") {
					t.Errorf("got message %q, want it to mention force", appwheel.ErrorMessage(err))
				}
				if n := e.fake.Calls("DetachPaymentMethod"); n != 0 {
					t.Errorf("got %d DetachPaymentMethod calls, want 0", n)
				}
				if got := e.attachedTo(t, e.appA, pm); got != cusID {
					t.Errorf("method attached to %q, want still %q", got, cusID)
				}
				if got := e.defaultOf(t, e.appA, cusID); got != pm {
					t.Errorf("got default %q, want still %q", got, pm)
				}
				return
			}
			want := &appwheel.RemovedPaymentMethod{MethodID: pm, MovedSubscriptionIDs: []string{}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("removed mismatch (-want +got):\n%s", diff)
			}
			if got := e.attachedTo(t, e.appA, pm); got != "" {
				t.Errorf("method attached to %q, want detached", got)
			}
			if got := e.defaultOf(t, e.appA, cusID); got != "" {
				t.Errorf("got default %q, want none", got)
			}
		})
	}

	t.Run("NotLastWithLiveSubscription", func(t *testing.T) {
		e := newEnv(t)
		cusID := e.customer(t, e.appA, "user_1")
		cards := e.cards(t, e.appA, cusID, 2)
		e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{Status: "active"})

		got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[0],
		})
		if err != nil {
			t.Fatalf("RemovePaymentMethod: got error %v, want nil", err)
		}
		if diff := cmp.Diff(&appwheel.RemovedPaymentMethod{MethodID: cards[0], MovedSubscriptionIDs: []string{}}, got); diff != "" {
			t.Errorf("removed mismatch (-want +got):\n%s", diff)
		}
		// Now it is the last one.
		_, err = e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[1],
		})
		wantCode(t, err, appwheel.ELASTMETHOD)
	})
}

func TestRemovePaymentMethodDefault(t *testing.T) {
	tests := []struct {
		name        string
		cards       int
		defaultIdx  int // oldest first; -1 for none
		removeIdx   int
		wantDefault int // the customer's default after, -1 for none
		wantNew     int // newDefaultMethodId, -1 for ""
	}{
		{"RemoveNewestDefault", 3, 2, 2, 1, 1},
		{"RemoveMiddleDefault", 3, 1, 1, 2, 2},
		{"RemoveOldestDefault", 3, 0, 0, 2, 2},
		{"RemoveDefaultOfTwo", 2, 1, 1, 0, 0},
		{"RemoveOnlyMethodDefault", 1, 0, 0, -1, -1},
		{"RemoveNonDefaultNewer", 3, 0, 2, 0, -1},
		{"RemoveNonDefaultOlder", 3, 2, 0, 2, -1},
		{"RemoveWithoutDefault", 3, -1, 1, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cusID := e.customer(t, e.appA, "user_1")
			cards := e.cards(t, e.appA, cusID, tt.cards)
			if tt.defaultIdx >= 0 {
				e.setDefault(t, e.appA, cusID, cards[tt.defaultIdx])
			}
			pick := func(i int) string {
				if i < 0 {
					return ""
				}
				return cards[i]
			}

			got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: cards[tt.removeIdx],
			})
			if err != nil {
				t.Fatalf("RemovePaymentMethod: got error %v, want nil", err)
			}
			want := &appwheel.RemovedPaymentMethod{MethodID: cards[tt.removeIdx], NewDefaultMethodID: pick(tt.wantNew), MovedSubscriptionIDs: []string{}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("removed mismatch (-want +got):\n%s", diff)
			}
			if got, want := e.defaultOf(t, e.appA, cusID), pick(tt.wantDefault); got != want {
				t.Errorf("got customer default %q, want %q", got, want)
			}
			wantJSON := fmt.Sprintf(`{"methodId":%q,"newDefaultMethodId":%q,"movedSubscriptionIds":[]}`, want.MethodID, want.NewDefaultMethodID)
			if gotJSON := mustJSON(t, got); gotJSON != wantJSON {
				t.Errorf("got JSON %s, want %s", gotJSON, wantJSON)
			}
			if n := e.fake.Calls("DetachPaymentMethod"); n != 1 {
				t.Errorf("got %d DetachPaymentMethod calls, want 1", n)
			}
			// The removed method is gone from the user's list; the rest stay.
			list, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
			if err != nil {
				t.Fatalf("PaymentMethods: %v", err)
			}
			wantIDs := []string{}
			for i := len(cards) - 1; i >= 0; i-- {
				if i != tt.removeIdx {
					wantIDs = append(wantIDs, cards[i])
				}
			}
			if diff := cmp.Diff(wantIDs, methodIDs(t, list.Methods)); diff != "" {
				t.Errorf("remaining methods mismatch (-want +got):\n%s", diff)
			}
			wantListed := pick(tt.wantDefault)
			if wantListed == "" && len(wantIDs) > 0 {
				// The read gives a customer without a default its oldest card.
				wantListed = wantIDs[len(wantIDs)-1]
			}
			if list.DefaultMethodID != wantListed {
				t.Errorf("got listed default %q, want %q", list.DefaultMethodID, wantListed)
			}
		})
	}
}

func TestRemovePaymentMethodTwice(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	cards := e.cards(t, e.appA, cusID, 2)
	p := billing.RemovePaymentMethodParams{AppUserID: "user_1", MethodID: cards[0]}
	if _, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p); err != nil {
		t.Fatalf("first remove: %v", err)
	}
	_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p)
	wantCode(t, err, appwheel.ENOTFOUND)
}

func TestRemovePaymentMethodConcurrentLastTwo(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	cards := e.cards(t, e.appA, cusID, 2)
	e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{Status: "active"})
	// Both requests list the methods before either detaches.
	e.fake.SetDelay("Customer", 50*time.Millisecond)

	errs := make([]error, len(cards))
	var wg sync.WaitGroup
	for i, pm := range cards {
		wg.Go(func() {
			_, errs[i] = e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: pm,
			})
		})
	}
	wg.Wait()

	e.fake.SetDelay("Customer", 0)
	list, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
	if err != nil {
		t.Fatalf("PaymentMethods: %v", err)
	}
	if got := len(list.Methods); got != 1 {
		t.Errorf("got %d methods left (errors %v), want 1: one removal must be refused with %d",
			got, errs, appwheel.ELASTMETHOD)
	}
}

func TestRemovePaymentMethodRetryAfterFailedPromotion(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	cards := e.cards(t, e.appA, cusID, 2)
	e.setDefault(t, e.appA, cusID, cards[1])
	p := billing.RemovePaymentMethodParams{AppUserID: "user_1", MethodID: cards[1], IdempotencyKey: "idem-1"}
	e.fake.FailNext("SetDefaultPaymentMethod", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable; safe to retry"))

	_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p)
	wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)

	got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p)
	if err != nil {
		t.Fatalf("retry: got error %v, want nil", err)
	}
	want := &appwheel.RemovedPaymentMethod{MethodID: cards[1], NewDefaultMethodID: cards[0], MovedSubscriptionIDs: []string{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("retry: removed mismatch (-want +got):\n%s", diff)
	}
	if got := e.defaultOf(t, e.appA, cusID); got != cards[0] {
		t.Errorf("got customer default %q, want %q", got, cards[0])
	}
}
