package billing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/google/go-cmp/cmp"
)

// ---------------------------------------------------------------------------
// Stripe errors

func TestStripeErrorsPropagate(t *testing.T) {
	declined := &appwheel.Error{
		Code:    appwheel.ESTRIPE,
		Message: "Your card was declined.",
		Stripe: &appwheel.StripeErrorDetail{
			Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline",
			RequestID: "req_123", HTTPStatus: 402,
		},
	}
	unavailable := appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable; safe to retry")

	// Every user_1 of app A has a customer with two cards (the newest the
	// default) and an active subscription with one invoice, unless fresh.
	type op func(ctx context.Context, e *env, cards []string) error
	createCheckout := func(user string) op {
		return func(ctx context.Context, e *env, _ []string) error {
			_, err := e.svc.CreatePaymentMethod(ctx, e.appA, checkoutParams(user))
			return err
		}
	}
	createSetupIntent := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.CreatePaymentMethod(ctx, e.appA, setupIntentParams("user_1"))
		return err
	}
	list := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.PaymentMethods(ctx, e.appA, "user_1")
		return err
	}
	remove := func(i int, force bool) op {
		return func(ctx context.Context, e *env, cards []string) error {
			_, err := e.svc.RemovePaymentMethod(ctx, e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: cards[i], Force: force,
			})
			return err
		}
	}
	setDefault := func(ctx context.Context, e *env, cards []string) error {
		_, err := e.svc.SetDefaultPaymentMethod(ctx, e.appA, "user_1", cards[0], "")
		return err
	}
	invoices := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.Invoices(ctx, e.appA, billing.ListInvoicesParams{AppUserID: "user_1"})
		return err
	}
	subscriptions := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.Subscriptions(ctx, e.appA, "user_1")
		return err
	}

	tests := []struct {
		name     string
		method   string // the fake's method that fails
		op       op
		lastOnly bool // the user has one card, so the subscription check runs
	}{
		{"CreateCustomer", "CreateCustomer", createCheckout("user_new"), false},
		{"CreateCheckoutSession", "CreateCheckoutSession", createCheckout("user_1"), false},
		{"CreateSetupIntent", "CreateSetupIntent", createSetupIntent, false},
		{"ListPaymentMethods", "PaymentMethods", list, false},
		{"ListCustomer", "Customer", list, false},
		{"RemoveLookup", "PaymentMethod", remove(0, false), false},
		{"RemoveList", "PaymentMethods", remove(0, false), false},
		{"RemoveSubscriptions", "Subscriptions", remove(0, false), true},
		{"RemoveCustomer", "Customer", remove(0, false), false},
		{"RemoveDetach", "DetachPaymentMethod", remove(0, true), false},
		{"RemovePromote", "SetDefaultPaymentMethod", remove(1, false), false},
		{"SetDefault", "SetDefaultPaymentMethod", setDefault, false},
		{"SetDefaultLookup", "PaymentMethod", setDefault, false},
		{"Invoices", "Invoices", invoices, false},
		{"InvoicesSubscriptions", "Subscriptions", invoices, false},
		{"Subscriptions", "Subscriptions", subscriptions, false},
	}
	for _, tt := range tests {
		for _, injected := range []*appwheel.Error{unavailable, declined} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, injected.Code), func(t *testing.T) {
				e := newEnv(t)
				cusID := e.customer(t, e.appA, "user_1")
				n := 2
				if tt.lastOnly {
					n = 1
				}
				cards := e.cards(t, e.appA, cusID, n)
				e.setDefault(t, e.appA, cusID, cards[n-1])
				sub := e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{Status: "active", PriceID: "price_1"})
				e.fake.AddInvoice(e.appA.Stripe, appwheel.Invoice{CustomerID: cusID, SubscriptionID: sub.ID, Status: "paid"})
				e.fake.ResetCalls()
				e.fake.FailNext(tt.method, injected)

				err := tt.op(t.Context(), e, cards)
				wantCode(t, err, injected.Code)
				var got *appwheel.Error
				if !errors.As(err, &got) {
					t.Fatalf("got error %T, want *appwheel.Error", err)
				}
				if diff := cmp.Diff(injected, got); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
				if n := e.fake.Calls(tt.method); n == 0 {
					t.Errorf("got 0 %s calls, want the failing one", tt.method)
				}
			})
		}
	}

	t.Run("FailedCreateCustomerStoresNothing", func(t *testing.T) {
		e := newEnv(t)
		e.fake.FailNext("CreateCustomer", unavailable)
		_, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, checkoutParams("user_1"))
		wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
		if id := e.storedCustomer(t, e.appA, "user_1"); id != "" {
			t.Errorf("got stored customer %q, want none", id)
		}
		if n := e.fake.Calls("CreateCheckoutSession"); n != 0 {
			t.Errorf("got %d CreateCheckoutSession calls, want 0", n)
		}
	})

	t.Run("FailedDetachKeepsMethod", func(t *testing.T) {
		e := newEnv(t)
		cusID := e.customer(t, e.appA, "user_1")
		cards := e.cards(t, e.appA, cusID, 2)
		e.setDefault(t, e.appA, cusID, cards[1])
		e.fake.FailNext("DetachPaymentMethod", unavailable)
		_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[1],
		})
		wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
		// The default moves before the detach, so the user is never left
		// without one; the method itself stays attached.
		if got := e.defaultOf(t, e.appA, cusID); got != cards[0] {
			t.Errorf("got default %q, want the promoted %q", got, cards[0])
		}
		if got := e.attachedTo(t, e.appA, cards[1]); got != cusID {
			t.Errorf("method attached to %q, want still %q", got, cusID)
		}
		// The retry finishes the removal.
		if _, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[1],
		}); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if got := e.attachedTo(t, e.appA, cards[1]); got != "" {
			t.Errorf("after retry, method attached to %q, want none", got)
		}
	})

	t.Run("DeadlineIsUnavailable", func(t *testing.T) {
		e := newEnv(t)
		e.customer(t, e.appA, "user_1")
		e.fake.SetDelay("PaymentMethods", time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := e.svc.PaymentMethods(ctx, e.appA, "user_1")
		wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
	})
}
