package stripe_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

// TestStripeMockContract calls every method of the Provider against
// stripe-mock. stripe-mock rejects any request that does not match Stripe's
// OpenAPI spec (unknown parameters, wrong types, missing required ones), so a
// pass proves our requests are ones Stripe accepts, and that we read its
// fixtures' shapes into the domain types.
func TestStripeMockContract(t *testing.T) {
	base := stripeMockURL(t)
	p := stripe.New(stripe.Options{APIBase: base})
	acct := appwheel.StripeAccount{SecretKey: "sk_test_123"}
	ctx := context.Background()

	t.Run("CreateCustomer", func(t *testing.T) {
		c, err := p.CreateCustomer(ctx, acct, appwheel.CreateCustomerParams{
			AppID: "app_1", AppUserID: "user-1", IdempotencyKey: "create-customer-app_1-user-1",
		})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		wantPrefix(t, "customer ID", c.ID, "cus_")
		if c.Deleted {
			t.Errorf("got Deleted true, want false")
		}
	})

	t.Run("Customer", func(t *testing.T) {
		c, err := p.Customer(ctx, acct, "cus_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		wantPrefix(t, "customer ID", c.ID, "cus_")
	})

	t.Run("ListCustomers", func(t *testing.T) {
		page, err := p.ListCustomers(ctx, acct, "cus_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if len(page.Customers) == 0 {
			t.Fatal("got no customers, want stripe-mock's fixture")
		}
		wantPrefix(t, "customer ID", page.Customers[0].ID, "cus_")
	})

	t.Run("TagCustomer", func(t *testing.T) {
		if err := p.TagCustomer(ctx, acct, "cus_123", "app_1", "user-1", "tag-1"); err != nil {
			t.Fatalf("got error %v, want none", err)
		}
	})

	t.Run("SetDefaultPaymentMethod", func(t *testing.T) {
		if err := p.SetDefaultPaymentMethod(ctx, acct, "cus_123", "pm_123", "set-default-1"); err != nil {
			t.Fatalf("got error %v, want none", err)
		}
	})

	t.Run("CreateCheckoutSession", func(t *testing.T) {
		s, err := p.CreateCheckoutSession(ctx, acct, appwheel.CreateCheckoutSessionParams{
			CustomerID: "cus_123", SuccessURL: "https://app.example/ok", CancelURL: "https://app.example/cancel",
			AppID: "app_1", AppUserID: "user-1", IdempotencyKey: "checkout-1",
		})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		wantPrefix(t, "session ID", s.ID, "cs_")
		wantPrefix(t, "session URL", s.URL, "https://")
	})

	t.Run("CreateSetupIntent", func(t *testing.T) {
		si, err := p.CreateSetupIntent(ctx, acct, appwheel.CreateSetupIntentParams{
			CustomerID: "cus_123", AppID: "app_1", AppUserID: "user-1", IdempotencyKey: "setup-1",
		})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		wantPrefix(t, "SetupIntent ID", si.ID, "seti_")
		if !strings.Contains(si.ClientSecret, "_secret_") {
			t.Errorf("got client secret %q, want one containing _secret_", si.ClientSecret)
		}
	})

	t.Run("SetupIntent", func(t *testing.T) {
		si, err := p.SetupIntent(ctx, acct, "seti_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		wantPrefix(t, "SetupIntent ID", si.ID, "seti_")
		if si.Status == "" || si.ClientSecret != "" {
			t.Errorf("got status %q and client secret %q, want a status and no secret kept", si.Status, si.ClientSecret)
		}
	})

	t.Run("SetSubscriptionPaymentMethod", func(t *testing.T) {
		if err := p.SetSubscriptionPaymentMethod(ctx, acct, "sub_123", "pm_123", "move-1"); err != nil {
			t.Fatalf("got error %v, want none", err)
		}
	})

	t.Run("PaymentMethod", func(t *testing.T) {
		pm, err := p.PaymentMethod(ctx, acct, "pm_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		checkMockPaymentMethod(t, pm)
	})

	t.Run("PaymentMethods", func(t *testing.T) {
		pms, err := p.PaymentMethods(ctx, acct, "cus_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if len(pms) == 0 {
			t.Fatalf("got no payment methods, want stripe-mock's fixture")
		}
		for _, pm := range pms {
			checkMockPaymentMethod(t, pm)
		}
	})

	t.Run("DetachPaymentMethod", func(t *testing.T) {
		if err := p.DetachPaymentMethod(ctx, acct, "pm_123", "detach-1"); err != nil {
			t.Fatalf("got error %v, want none", err)
		}
	})

	t.Run("Subscriptions", func(t *testing.T) {
		subs, err := p.Subscriptions(ctx, acct, "cus_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if len(subs) == 0 {
			t.Fatalf("got no subscriptions, want stripe-mock's fixture")
		}
		s := subs[0]
		wantPrefix(t, "subscription ID", s.ID, "sub_")
		wantPrefix(t, "customer ID", s.CustomerID, "cus_")
		wantPrefix(t, "price ID", s.PriceID, "price_")
		if s.Status == "" || s.Interval == "" || s.IntervalCount < 1 || s.CurrentPeriodEnd == 0 || s.Created == 0 {
			t.Errorf("got %+v, want status, interval, interval count, current period end and created set", s)
		}
	})

	t.Run("Invoices", func(t *testing.T) {
		page, err := p.Invoices(ctx, acct, appwheel.ListInvoicesParams{CustomerID: "cus_123", Limit: 20, StartingAfter: "in_123"})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if len(page.Invoices) == 0 {
			t.Fatalf("got no invoices, want stripe-mock's fixture")
		}
		in := page.Invoices[0]
		wantPrefix(t, "invoice ID", in.ID, "in_")
		wantPrefix(t, "customer ID", in.CustomerID, "cus_")
		if in.Status == "" || in.Currency == "" || in.Created == 0 || in.AmountDue == 0 {
			t.Errorf("got %+v, want status, currency, created and amount due set", in)
		}
		// stripe-mock's fixture has a parent.subscription_details placeholder.
		if in.SubscriptionID == "" {
			t.Errorf("got empty SubscriptionID, want parent.subscription_details.subscription")
		}
	})

	t.Run("Invoice", func(t *testing.T) {
		in, err := p.Invoice(ctx, acct, "in_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		wantPrefix(t, "invoice ID", in.ID, "in_")
		if in.Status == "" || in.Created == 0 {
			t.Errorf("got %+v, want status and created set", in)
		}
	})

	t.Run("Price", func(t *testing.T) {
		pr, err := p.Price(ctx, acct, "price_123")
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		wantPrefix(t, "price ID", pr.ID, "price_")
		if pr.Interval == "" || pr.IntervalCount < 1 {
			t.Errorf("got %+v, want stripe-mock's recurring fixture's interval and count", pr)
		}
	})
}

// checkMockPaymentMethod checks a payment method from stripe-mock's card
// fixture, and that Raw is Stripe's JSON object for it.
func checkMockPaymentMethod(t *testing.T, pm *appwheel.PaymentMethod) {
	t.Helper()
	wantPrefix(t, "payment method ID", pm.ID, "pm_")
	if pm.Type != "card" {
		t.Errorf("got type %q, want card", pm.Type)
	}
	if pm.Created == 0 {
		t.Errorf("got created 0, want the fixture's")
	}
	var raw struct {
		ID             string          `json:"id"`
		Object         string          `json:"object"`
		Type           string          `json:"type"`
		Created        int64           `json:"created"`
		BillingDetails json.RawMessage `json:"billing_details"`
		Card           *struct {
			Brand    string `json:"brand"`
			Last4    string `json:"last4"`
			ExpMonth int    `json:"exp_month"`
			ExpYear  int    `json:"exp_year"`
		} `json:"card"`
	}
	if err := json.Unmarshal(pm.Raw, &raw); err != nil {
		t.Fatalf("Raw is not a JSON object: %v: %s", err, pm.Raw)
	}
	if raw.Object != "payment_method" || raw.ID != pm.ID || raw.Type != pm.Type || raw.Created != pm.Created {
		t.Errorf("got Raw id=%q object=%q type=%q created=%d, want %q payment_method %q %d",
			raw.ID, raw.Object, raw.Type, raw.Created, pm.ID, pm.Type, pm.Created)
	}
	if raw.Card == nil || raw.Card.Brand == "" || len(raw.Card.Last4) != 4 || raw.Card.ExpMonth == 0 || raw.Card.ExpYear == 0 {
		t.Errorf("got Raw card %+v, want brand, last4, exp_month, exp_year", raw.Card)
	}
	if len(raw.BillingDetails) == 0 || raw.BillingDetails[0] != '{' {
		t.Errorf("got Raw billing_details %s, want an object", raw.BillingDetails)
	}
}

func wantPrefix(t *testing.T, what, got, prefix string) {
	t.Helper()
	if !strings.HasPrefix(got, prefix) {
		t.Errorf("got %s %q, want prefix %q", what, got, prefix)
	}
}
