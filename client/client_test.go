package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
)

// newClient returns an API over the fake Stripe and a client for a new app.
// The client's clock moves a second per request, so no two signatures match.
func newClient(t *testing.T) (*apitest.Env, *appwheel.App, *client.Client) {
	t.Helper()
	e := apitest.New(t)
	app := e.NewApp("a")
	return e, app, clientFor(e, app, app.Secret)
}

func clientFor(e *apitest.Env, app *appwheel.App, secret string) *client.Client {
	return client.New(app.ID, app.Platform, secret,
		client.WithBaseURL(e.Server.URL),
		client.WithHTTPClient(e.Server.Client()),
		client.WithClock(func() time.Time { e.Clock.Advance(time.Second); return e.Clock.Now() }))
}

func TestClientFlow(t *testing.T) {
	e, app, c := newClient(t)
	ctx := context.Background()

	setup, err := c.CreatePaymentMethod(ctx, client.CreatePaymentMethodParams{
		AppUserID: "u1", Type: client.TypeCheckout,
		SuccessURL: "https://shop.example.com/ok", CancelURL: "https://shop.example.com/no",
		IdempotencyKey: "k1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(setup.CheckoutID, "cs_") || setup.ClientSecret != "" {
		t.Errorf("setup = %+v", setup)
	}
	cus := e.Customer(app, "u1")
	older := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	newer := e.Stripe.AttachCard(app.Stripe, cus, "mastercard", "4444")
	if _, err := c.SetDefaultPaymentMethod(ctx, "u1", older.ID); err != nil {
		t.Fatal(err)
	}

	list, err := c.PaymentMethods(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Methods) != 2 || list.DefaultMethodID != older.ID {
		t.Fatalf("list = %d methods, default %q", len(list.Methods), list.DefaultMethodID)
	}
	got := list.Methods[0]
	if got.ID != newer.ID || got.Card == nil || got.Card.Brand != "mastercard" || got.Card.Last4 != "4444" || !strings.Contains(string(got.Raw), `"object":"payment_method"`) {
		t.Errorf("first method = %+v (raw %s)", got, got.Raw)
	}

	removed, err := c.RemovePaymentMethod(ctx, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: older.ID})
	if err != nil {
		t.Fatal(err)
	}
	// No subscription moved: MovedSubscriptionIDs is empty ([] or nil alike).
	if diff := cmp.Diff(&client.RemovedPaymentMethod{MethodID: older.ID, NewDefaultMethodID: newer.ID}, removed, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
}

func TestClientErrors(t *testing.T) {
	e, app, c := newClient(t)
	ctx := context.Background()

	_, err := c.RemovePaymentMethod(ctx, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: "pm_nope"})
	var ce *client.Error
	if !client.IsNotFound(err) || !errors.As(err, &ce) || ce.HTTPStatus != http.StatusNotFound || ce.RequestID == "" {
		t.Errorf("remove unknown: err = %v; want a 1004 *client.Error with a request id", err)
	}
	if _, err := c.PaymentMethods(ctx, ""); !client.IsInvalid(err) {
		t.Errorf("empty appUserId: err = %v, want 1001", err)
	}
	if _, err := clientFor(e, app, "wrong").PaymentMethods(ctx, "u1"); !client.IsUnauthenticated(err) {
		t.Errorf("wrong secret: err = %v, want 1002", err)
	}
	e.Stripe.FailNext("CreateSetupIntent", &appwheel.Error{Code: appwheel.ESTRIPE, Message: "Your card was declined.",
		Stripe: &appwheel.StripeErrorDetail{Type: "card_error", DeclineCode: "generic_decline"}})
	_, err = c.CreatePaymentMethod(ctx, client.CreatePaymentMethodParams{AppUserID: "u1", Type: client.TypeSetupIntent})
	if !client.IsStripeDeclined(err) || !errors.As(err, &ce) || ce.Stripe == nil || ce.Stripe.DeclineCode != "generic_decline" {
		t.Errorf("declined: err = %v", err)
	}
	if client.IsRetryable(err) {
		t.Error("a decline is not retryable")
	}
}

func TestAllInvoices(t *testing.T) {
	e, app, c := newClient(t)
	ctx := context.Background()
	if _, err := c.CreatePaymentMethod(ctx, client.CreatePaymentMethodParams{AppUserID: "u1", Type: client.TypeSetupIntent}); err != nil {
		t.Fatal(err)
	}
	cus := e.Customer(app, "u1")
	var want []string
	for range 7 {
		inv := e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: cus, Status: "paid"})
		want = append([]string{inv.ID}, want...) // newest first
	}
	var got []string
	for inv, err := range c.AllInvoices(ctx, "u1", 3) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, inv.OrderID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invoice ids (-want +got):\n%s", diff)
	}
}

// recorder keeps the headers of every request a client sends.
type recorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	methods []string
	headers []http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.methods = append(r.methods, req.Method)
	r.headers = append(r.headers, req.Header.Clone())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// TestClientNonces: every request carries a fresh, well-formed nonce,
// which writes (POST, DELETE) must: identical writes in the same second
// all pass, none is taken for a replay.
func TestClientNonces(t *testing.T) {
	e := apitest.New(t)
	app := e.NewApp("a")
	rec := &recorder{next: e.Server.Client().Transport}
	c := client.New(app.ID, app.Platform, app.Secret,
		client.WithBaseURL(e.Server.URL),
		client.WithHTTPClient(&http.Client{Transport: rec}),
		client.WithClock(e.Clock.Now)) // frozen: every request in the same second
	ctx := context.Background()

	for range 2 {
		if _, err := c.CreatePaymentMethod(ctx, client.CreatePaymentMethodParams{AppUserID: "u1", Type: client.TypeSetupIntent}); err != nil {
			t.Fatalf("identical CreatePaymentMethod: %v", err)
		}
	}
	card := e.Stripe.AttachCard(app.Stripe, e.Customer(app, "u1"), "visa", "4242")
	for range 2 {
		if _, err := c.SetDefaultPaymentMethod(ctx, "u1", card.ID); err != nil {
			t.Fatalf("identical SetDefaultPaymentMethod: %v", err)
		}
		if _, err := c.PaymentMethods(ctx, "u1"); err != nil {
			t.Fatalf("identical PaymentMethods: %v", err)
		}
		// Authenticated, so the business answer: not ours to remove.
		if _, err := c.RemovePaymentMethod(ctx, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: "pm_nope"}); !client.IsNotFound(err) {
			t.Fatalf("identical RemovePaymentMethod: err = %v, want 1004", err)
		}
	}

	seen := map[string]bool{}
	writes := 0
	for i, h := range rec.headers {
		nonce := h.Get(signature.HeaderNonce)
		if nonce == "" || !signature.ValidNonce(nonce) {
			t.Errorf("%s #%d: %s = %q, want 1–64 printable ASCII characters", rec.methods[i], i, signature.HeaderNonce, nonce)
		}
		if seen[nonce] {
			t.Errorf("%s #%d: nonce %q sent before", rec.methods[i], i, nonce)
		}
		seen[nonce] = true
		if rec.methods[i] == http.MethodPost || rec.methods[i] == http.MethodDelete {
			writes++
		}
	}
	if len(rec.headers) != 8 || writes != 6 {
		t.Errorf("recorded %d requests, %d writes; want 8 and 6", len(rec.headers), writes)
	}
}
