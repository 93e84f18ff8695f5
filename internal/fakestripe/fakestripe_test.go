package fakestripe_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/fakestripe"
	"github.com/google/go-cmp/cmp"
)

var (
	acctA = appwheel.StripeAccount{SecretKey: "sk_test_a"}
	acctB = appwheel.StripeAccount{SecretKey: "sk_test_b"}
)

func wantCode(tb testing.TB, err error, code int) *appwheel.Error {
	tb.Helper()
	var e *appwheel.Error
	if !errors.As(err, &e) || e.Code != code {
		tb.Fatalf("got error %v, want code %d", err, code)
	}
	return e
}

func ids[T any](items []*T, id func(*T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func pmID(pm *appwheel.PaymentMethod) string { return pm.ID }
func invID(inv *appwheel.Invoice) string     { return inv.ID }

func TestAccountIsolation(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	cus := f.AddCustomer(acctA, "app1", "u1")
	pm := f.AttachCard(acctA, cus.ID, "visa", "4242")

	if _, err := f.PaymentMethod(ctx, acctA, pm.ID); err != nil {
		t.Fatalf("own account: %v", err)
	}
	_, err := f.PaymentMethod(ctx, acctB, pm.ID)
	wantCode(t, err, appwheel.ENOTFOUND)
	_, err = f.Customer(ctx, acctB, cus.ID)
	if e := wantCode(t, err, appwheel.ENOTFOUND); e.Message != "No such customer: '"+cus.ID+"'" {
		t.Errorf("got message %q", e.Message)
	}
	_, err = f.PaymentMethods(ctx, acctB, cus.ID)
	wantCode(t, err, appwheel.ENOTFOUND)
	if got := len(f.Customers(acctB)); got != 0 {
		t.Errorf("got %d customers in B, want 0", got)
	}
}

func TestCreateCustomerIdempotentConcurrent(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	f.SetDelay("CreateCustomer", 5*time.Millisecond)
	p := appwheel.CreateCustomerParams{AppID: "app1", AppUserID: "u1", IdempotencyKey: "cus-app1-u1"}

	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			c, err := f.CreateCustomer(ctx, acctA, p)
			if err != nil {
				t.Errorf("CreateCustomer: %v", err)
				return
			}
			got[i] = c.ID
		})
	}
	wg.Wait()
	for _, id := range got {
		if id != got[0] {
			t.Fatalf("got customers %v, want one", got)
		}
	}
	if n := len(f.Customers(acctA)); n != 1 {
		t.Errorf("got %d customers, want 1", n)
	}
	if n := f.Calls("CreateCustomer"); n != 20 {
		t.Errorf("got %d calls, want 20", n)
	}
	want := map[string]string{fakestripe.MetadataAppID: "app1", fakestripe.MetadataAppUserID: "u1"}
	if diff := cmp.Diff(want, f.CustomerMetadata(acctA, got[0])); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}

	// Same key, other request: Stripe's idempotency_error.
	p.AppUserID = "u2"
	_, err := f.CreateCustomer(ctx, acctA, p)
	if e := wantCode(t, err, appwheel.ESTRIPE); e.Stripe.Type != "idempotency_error" {
		t.Errorf("got type %q, want idempotency_error", e.Stripe.Type)
	}
	// No key: no dedupe.
	a, _ := f.CreateCustomer(ctx, acctA, appwheel.CreateCustomerParams{AppID: "app1", AppUserID: "u3"})
	b, _ := f.CreateCustomer(ctx, acctA, appwheel.CreateCustomerParams{AppID: "app1", AppUserID: "u3"})
	if a.ID == b.ID {
		t.Errorf("got one customer %s for two unkeyed calls", a.ID)
	}
}

func TestNewestFirst(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	cus := f.AddCustomer(acctA, "app1", "u1")
	other := f.AddCustomer(acctA, "app1", "u2")
	var want []string
	for _, last4 := range []string{"1111", "2222", "3333"} {
		pm := f.AttachCard(acctA, cus.ID, "visa", last4)
		f.AttachCard(acctA, other.ID, "visa", last4)
		want = append([]string{pm.ID}, want...)
	}
	pms, err := f.PaymentMethods(ctx, acctA, cus.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, ids(pms, pmID)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	for i := 1; i < len(pms); i++ {
		if pms[i-1].Created <= pms[i].Created {
			t.Errorf("Created not strictly decreasing: %d, %d", pms[i-1].Created, pms[i].Created)
		}
	}

	var raw struct {
		Object   string  `json:"object"`
		Customer *string `json:"customer"`
		Card     struct {
			Brand string `json:"brand"`
			Last4 string `json:"last4"`
		} `json:"card"`
	}
	if err := json.Unmarshal(pms[0].Raw, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Object != "payment_method" || raw.Customer == nil || *raw.Customer != cus.ID || raw.Card.Last4 != "3333" {
		t.Errorf("got raw %s", pms[0].Raw)
	}

	s1 := f.AddSubscription(acctA, cus.ID, appwheel.Subscription{})
	s2 := f.AddSubscription(acctA, cus.ID, appwheel.Subscription{Status: "canceled"})
	subs, err := f.Subscriptions(ctx, acctA, cus.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].ID != s2.ID || subs[1].ID != s1.ID || subs[1].Status != "active" {
		t.Errorf("got subscriptions %+v %+v", subs[0], subs[1])
	}
	f.SetSubscriptionStatus(acctA, s1.ID, "past_due")
	subs, _ = f.Subscriptions(ctx, acctA, cus.ID)
	if subs[1].Status != "past_due" {
		t.Errorf("got status %q, want past_due", subs[1].Status)
	}
}

func TestDetach(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	cus := f.AddCustomer(acctA, "app1", "u1")
	pm1 := f.AttachCard(acctA, cus.ID, "visa", "4242")
	pm2 := f.AttachCard(acctA, cus.ID, "mastercard", "4444")

	err := f.SetDefaultPaymentMethod(ctx, acctA, cus.ID, f.CreateDetachedCard(acctA, "visa", "0000").ID, "")
	wantCode(t, err, appwheel.ESTRIPE)
	if err := f.SetDefaultPaymentMethod(ctx, acctA, cus.ID, pm1.ID, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := f.DetachPaymentMethod(ctx, acctA, pm1.ID, "d1"); err != nil {
		t.Fatal(err)
	}
	c, _ := f.Customer(ctx, acctA, cus.ID)
	if c.DefaultPaymentMethodID != "" {
		t.Errorf("got default %q after detaching it, want none", c.DefaultPaymentMethodID)
	}
	got, _ := f.PaymentMethod(ctx, acctA, pm1.ID)
	if got.CustomerID != "" {
		t.Errorf("got customer %q on detached method", got.CustomerID)
	}
	pms, _ := f.PaymentMethods(ctx, acctA, cus.ID)
	if diff := cmp.Diff([]string{pm2.ID}, ids(pms, pmID)); diff != "" {
		t.Errorf("remaining (-want +got):\n%s", diff)
	}
	// A retry with the same key replays the success.
	if err := f.DetachPaymentMethod(ctx, acctA, pm1.ID, "d1"); err != nil {
		t.Errorf("retry: %v", err)
	}
	err = f.DetachPaymentMethod(ctx, acctA, pm1.ID, "d2")
	e := wantCode(t, err, appwheel.ESTRIPE)
	if e.Message != "The payment method you provided is not attached to a customer so detachment is impossible." || e.Stripe.Type != "invalid_request_error" {
		t.Errorf("got %q, %+v", e.Message, e.Stripe)
	}
	wantCode(t, f.DetachPaymentMethod(ctx, acctA, "pm_nope", ""), appwheel.ENOTFOUND)
}

func TestInvoicePagination(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	cus := f.AddCustomer(acctA, "app1", "u1")
	other := f.AddCustomer(acctA, "app1", "u2")
	var want []string // newest first
	for range 5 {
		inv := f.AddInvoice(acctA, appwheel.Invoice{CustomerID: cus.ID, Status: "paid"})
		f.AddInvoice(acctA, appwheel.Invoice{CustomerID: other.ID})
		want = append([]string{inv.ID}, want...)
	}

	var got []string
	after := ""
	for pages := 1; ; pages++ {
		page, err := f.Invoices(ctx, acctA, appwheel.ListInvoicesParams{CustomerID: cus.ID, Limit: 2, StartingAfter: after})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page.Invoices, invID)...)
		if wantMore := pages < 3; page.HasMore != wantMore {
			t.Errorf("page %d: got HasMore %v, want %v", pages, page.HasMore, wantMore)
		}
		if !page.HasMore {
			break
		}
		after = got[len(got)-1]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invoices (-want +got):\n%s", diff)
	}

	page, err := f.Invoices(ctx, acctA, appwheel.ListInvoicesParams{CustomerID: cus.ID, Limit: 5})
	if err != nil || len(page.Invoices) != 5 || page.HasMore {
		t.Errorf("limit 5: got %d invoices, HasMore %v, err %v", len(page.Invoices), page.HasMore, err)
	}
	_, err = f.Invoices(ctx, acctA, appwheel.ListInvoicesParams{CustomerID: cus.ID, Limit: 2, StartingAfter: "in_nope"})
	if e := wantCode(t, err, appwheel.ESTRIPE); e.Stripe.Param != "starting_after" {
		t.Errorf("got param %q, want starting_after", e.Stripe.Param)
	}
}

func TestFaults(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	cus := f.AddCustomer(acctA, "app1", "u1")
	boom := appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "boom")

	f.FailNext("PaymentMethods", boom)
	if _, err := f.PaymentMethods(ctx, acctA, cus.ID); err != boom {
		t.Errorf("got %v, want the injected error", err)
	}
	if _, err := f.PaymentMethods(ctx, acctA, cus.ID); err != nil {
		t.Errorf("second call: got %v, want one-shot failure", err)
	}
	if got, want := f.Calls("PaymentMethods"), 2; got != want {
		t.Errorf("got %d calls, want %d", got, want)
	}

	// FailNextAfter: the write happens, the response is lost, the retry
	// with the same key returns the first result.
	f.FailNextAfter("CreateCustomer", boom)
	p := appwheel.CreateCustomerParams{AppID: "app1", AppUserID: "u2", IdempotencyKey: "k"}
	if _, err := f.CreateCustomer(ctx, acctA, p); err != boom {
		t.Fatalf("got %v, want the injected error", err)
	}
	c, err := f.CreateCustomer(ctx, acctA, p)
	if err != nil || len(f.Customers(acctA)) != 2 {
		t.Errorf("retry: got %v, %v; %d customers, want 2", c, err, len(f.Customers(acctA)))
	}
	if got, want := f.TotalCalls(), 4; got != want {
		t.Errorf("got %d total calls, want %d", got, want)
	}
	f.ResetCalls()
	if f.TotalCalls() != 0 || f.Calls("CreateCustomer") != 0 {
		t.Errorf("counters not reset")
	}

	// SetDelay respects the context: a deadline is ESTRIPEUNAVAILABLE, a
	// cancellation the context's error.
	f.SetDelay("Customer", time.Minute)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = f.Customer(dctx, acctA, cus.ID)
	wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(10*time.Millisecond, cancel)
	if _, err = f.Customer(cctx, acctA, cus.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestReturnsCopies(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	cus := f.AddCustomer(acctA, "app1", "u1")
	pm := f.AttachCard(acctA, cus.ID, "visa", "4242")
	pm.CustomerID = "cus_mutated"
	pm.Raw[0] = 'X'
	got, _ := f.PaymentMethod(ctx, acctA, pm.ID)
	if got.CustomerID != cus.ID || !json.Valid(got.Raw) {
		t.Errorf("fake state changed through a returned value: %+v", got)
	}
}

func TestCheckoutAndSetupIntent(t *testing.T) {
	ctx := t.Context()
	f := fakestripe.New()
	cus := f.AddCustomer(acctA, "app1", "u1")
	cs, err := f.CreateCheckoutSession(ctx, acctA, appwheel.CreateCheckoutSessionParams{CustomerID: cus.ID, IdempotencyKey: "cs1"})
	if err != nil || cs.URL != "https://checkout.stripe.test/c/pay/"+cs.ID {
		t.Fatalf("got %+v, %v", cs, err)
	}
	again, _ := f.CreateCheckoutSession(ctx, acctA, appwheel.CreateCheckoutSessionParams{CustomerID: cus.ID, IdempotencyKey: "cs1"})
	if *again != *cs || len(f.CheckoutSessions(acctA)) != 1 {
		t.Errorf("idempotent retry made another session: %+v", again)
	}
	si, err := f.CreateSetupIntent(ctx, acctA, appwheel.CreateSetupIntentParams{CustomerID: cus.ID})
	if err != nil || len(si.ClientSecret) <= len(si.ID+"_secret_") || si.ClientSecret[:len(si.ID)+8] != si.ID+"_secret_" {
		t.Fatalf("got %+v, %v", si, err)
	}
	_, err = f.CreateSetupIntent(ctx, acctA, appwheel.CreateSetupIntentParams{CustomerID: "cus_nope"})
	wantCode(t, err, appwheel.ENOTFOUND)
}
