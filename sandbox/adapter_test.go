package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

// TestAdapter runs AppWheel's real Stripe adapter against the sandbox: every
// method of appwheel.Stripe, unchanged, must work as against Stripe, and
// read every field AppWheel uses.
func TestAdapter(t *testing.T) {
	e := newEnv(t)
	p := stripe.New(stripe.Options{APIBase: e.srv.URL, MaxNetworkRetries: -1})
	acct := appwheel.StripeAccount{SecretKey: "sk_test_adapter"}
	ctx := context.Background()
	key := acct.SecretKey
	pk := e.keys(t, key).Publishable

	cus, err := p.CreateCustomer(ctx, acct, appwheel.CreateCustomerParams{AppID: "app_1", AppUserID: "user-1", IdempotencyKey: "cus-app_1-user-1"})
	if err != nil {
		t.Fatalf("CreateCustomer: got error %v, want none", err)
	}
	t.Run("CreateCustomer is idempotent by key", func(t *testing.T) {
		again, err := p.CreateCustomer(ctx, acct, appwheel.CreateCustomerParams{AppID: "app_1", AppUserID: "user-1", IdempotencyKey: "cus-app_1-user-1"})
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != cus.ID {
			t.Errorf("got customer %s, want the first one %s", again.ID, cus.ID)
		}
	})
	t.Run("Customer", func(t *testing.T) {
		got, err := p.Customer(ctx, acct, cus.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != cus.ID || got.Deleted || got.DefaultPaymentMethodID != "" {
			t.Errorf("got %+v, want %s, not deleted, no default", got, cus.ID)
		}
	})
	t.Run("TagCustomer", func(t *testing.T) {
		existing := e.mustCall(t, 200, key, "POST", "/v1/customers", vals("metadata[user_id]", "u7"))
		if err := p.TagCustomer(ctx, acct, str(existing, "id"), "app_1", "user-7", "tag-1"); err != nil {
			t.Fatal(err)
		}
		got := e.mustCall(t, 200, key, "GET", "/v1/customers/"+str(existing, "id"), nil)
		meta, _ := got["metadata"].(map[string]any)
		if meta["appwheel_app_id"] != "app_1" || meta["appwheel_app_user_id"] != "user-7" || meta["user_id"] != "u7" {
			t.Errorf("metadata = %v; want AppWheel's added, the app's kept", meta)
		}
		// Listed, newest first, with its metadata; paging after it goes on
		// to the older customer.
		page, err := p.ListCustomers(ctx, acct, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Customers) != 2 || page.Customers[0].ID != str(existing, "id") || page.Customers[0].Metadata["user_id"] != "u7" {
			t.Fatalf("ListCustomers = %+v", page.Customers)
		}
		next, err := p.ListCustomers(ctx, acct, page.Customers[0].ID)
		if err != nil || len(next.Customers) != 1 || next.Customers[0].ID != cus.ID || next.HasMore {
			t.Errorf("the page after it = %+v, %v; want %s alone", next, err, cus.ID)
		}
	})
	t.Run("CreateCheckoutSession", func(t *testing.T) {
		s, err := p.CreateCheckoutSession(ctx, acct, appwheel.CreateCheckoutSessionParams{
			CustomerID: cus.ID, SuccessURL: "https://app.example/ok?s={CHECKOUT_SESSION_ID}", CancelURL: "https://app.example/cancel",
			AppID: "app_1", AppUserID: "user-1", IdempotencyKey: "checkout-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := e.srv.URL + "/checkout/" + s.ID; s.URL != want || !strings.HasPrefix(s.ID, "cs_test_") {
			t.Errorf("got session %s url %q, want cs_test_… at %q", s.ID, s.URL, want)
		}
		if !strings.HasPrefix(s.SetupIntentID, "seti_") {
			t.Errorf("got session SetupIntent %q, want seti_…", s.SetupIntentID)
		}
	})
	var clientSecret, setupIntentID string
	t.Run("CreateSetupIntent", func(t *testing.T) {
		si, err := p.CreateSetupIntent(ctx, acct, appwheel.CreateSetupIntentParams{CustomerID: cus.ID, AppID: "app_1", AppUserID: "user-1", IdempotencyKey: "si-1"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(si.ID, "seti_") || !strings.HasPrefix(si.ClientSecret, si.ID+"_secret_") {
			t.Errorf("got %+v, want seti_ with its client secret", si)
		}
		clientSecret, setupIntentID = si.ClientSecret, si.ID
	})

	// The front end confirms the intent, as Stripe.js does with the
	// publishable key and the client secret.
	si := e.mustCall(t, 200, pk, "POST", "/v1/setup_intents/"+setupIntentID+"/confirm",
		vals("payment_method", "pm_card_visa", "client_secret", clientSecret))
	pmID := str(si, "payment_method")

	t.Run("SetupIntent", func(t *testing.T) {
		got, err := p.SetupIntent(ctx, acct, setupIntentID)
		if err != nil {
			t.Fatal(err)
		}
		want := appwheel.SetupIntent{ID: setupIntentID, Status: "succeeded", PaymentMethodID: pmID}
		if *got != want {
			t.Errorf("got %+v, want %+v", *got, want)
		}
	})

	t.Run("PaymentMethod", func(t *testing.T) {
		pm, err := p.PaymentMethod(ctx, acct, pmID)
		if err != nil {
			t.Fatal(err)
		}
		if pm.ID != pmID || pm.CustomerID != cus.ID || pm.Type != "card" || pm.Created != start.Unix() {
			t.Errorf("got %+v, want %s of %s, card, created %d", pm, pmID, cus.ID, start.Unix())
		}
		checkRawCard(t, pm.Raw, "visa", "4242")
	})
	t.Run("SetDefaultPaymentMethod", func(t *testing.T) {
		if err := p.SetDefaultPaymentMethod(ctx, acct, cus.ID, pmID, "default-1"); err != nil {
			t.Fatal(err)
		}
		got, err := p.Customer(ctx, acct, cus.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DefaultPaymentMethodID != pmID {
			t.Errorf("got default %q, want %q", got.DefaultPaymentMethodID, pmID)
		}
	})

	// A second card, a subscription and a renewal, for the lists.
	e.mustCall(t, 200, key, "POST", "/v1/payment_methods/pm_card_mastercard/attach", vals("customer", cus.ID))
	price := e.price(t, key, "pro_monthly")
	sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cus.ID, "items[0][price]", price))
	if _, err := e.sb.Advance(key, 31*24*time.Hour); err != nil {
		t.Fatal(err)
	}

	t.Run("PaymentMethods", func(t *testing.T) {
		pms, err := p.PaymentMethods(ctx, acct, cus.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(pms) != 2 {
			t.Fatalf("got %d payment methods, want 2", len(pms))
		}
		if pms[1].ID != pmID {
			t.Errorf("got oldest %s, want %s", pms[1].ID, pmID)
		}
		checkRawCard(t, pms[0].Raw, "mastercard", "4444")
		checkRawCard(t, pms[1].Raw, "visa", "4242")
	})
	t.Run("Subscriptions", func(t *testing.T) {
		subs, err := p.Subscriptions(ctx, acct, cus.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(subs) != 1 {
			t.Fatalf("got %d subscriptions, want 1", len(subs))
		}
		s := subs[0]
		// Started Jan 31: periods end on month ends, Feb 28 then Mar 31.
		wantEnd := time.Date(2026, time.March, 31, 10, 0, 0, 0, time.UTC).Unix()
		want := appwheel.Subscription{ID: str(sub, "id"), CustomerID: cus.ID, Status: "active", PriceID: price,
			Interval: "month", IntervalCount: 1, CurrentPeriodEnd: wantEnd, Created: start.Unix()}
		if *s != want {
			t.Errorf("got %+v, want %+v", *s, want)
		}
	})
	t.Run("SetSubscriptionPaymentMethod", func(t *testing.T) {
		if err := p.SetSubscriptionPaymentMethod(ctx, acct, str(sub, "id"), pmID, "move-1"); err != nil {
			t.Fatal(err)
		}
		subs, err := p.Subscriptions(ctx, acct, cus.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := subs[0].DefaultPaymentMethodID; got != pmID {
			t.Errorf("got the subscription's card %q, want %q", got, pmID)
		}
		err = p.SetSubscriptionPaymentMethod(ctx, acct, "sub_nope", pmID, "")
		if appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
			t.Errorf("unknown subscription: got %v, want ENOTFOUND", err)
		}
	})
	t.Run("Invoices", func(t *testing.T) {
		page, err := p.Invoices(ctx, acct, appwheel.ListInvoicesParams{CustomerID: cus.ID, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Invoices) != 1 || !page.HasMore {
			t.Fatalf("got %d invoices, has_more %v; want 1 and more", len(page.Invoices), page.HasMore)
		}
		in := page.Invoices[0]
		renewal := time.Date(2026, time.February, 28, 10, 0, 0, 0, time.UTC).Unix()
		if in.SubscriptionID != str(sub, "id") || in.PriceID != price || in.Status != "paid" || in.PaidAt != renewal ||
			in.AmountDue != 999 || in.AmountPaid != 999 || in.Currency != "usd" || in.CustomerEmail != "" ||
			in.Created != renewal || in.PeriodStart != start.Unix() || in.PeriodEnd != renewal || in.Number == "" {
			t.Errorf("got %+v, want the paid renewal of %s at %d", in, str(sub, "id"), renewal)
		}
		if in.InvoicePDF != e.srv.URL+"/invoices/"+in.ID+"/pdf" || in.HostedInvoiceURL != e.srv.URL+"/invoices/"+in.ID {
			t.Errorf("got urls %q %q, want the sandbox's", in.InvoicePDF, in.HostedInvoiceURL)
		}
		next, err := p.Invoices(ctx, acct, appwheel.ListInvoicesParams{CustomerID: cus.ID, Limit: 10, StartingAfter: in.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(next.Invoices) != 1 || next.HasMore || next.Invoices[0].PeriodStart != start.Unix() || next.Invoices[0].PeriodEnd != start.Unix() {
			t.Errorf("got page %+v, want the first invoice (period at creation) and no more", next)
		}
		one, err := p.Invoice(ctx, acct, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if one.ID != in.ID || one.Status != in.Status || one.PriceID != in.PriceID || one.ServicePeriodEnd != in.ServicePeriodEnd {
			t.Errorf("Invoice(%s) = %+v, want what the list gave: %+v", in.ID, one, in)
		}
		pr, err := p.Price(ctx, acct, price)
		if err != nil {
			t.Fatal(err)
		}
		if pr.ID != price || pr.Interval != "month" || pr.IntervalCount != 1 {
			t.Errorf("Price(%s) = %+v, want monthly", price, pr)
		}
	})
	t.Run("DetachPaymentMethod", func(t *testing.T) {
		if err := p.DetachPaymentMethod(ctx, acct, pmID, "detach-1"); err != nil {
			t.Fatal(err)
		}
		pm, err := p.PaymentMethod(ctx, acct, pmID)
		if err != nil {
			t.Fatal(err)
		}
		if pm.CustomerID != "" {
			t.Errorf("got customer %q after detach, want none", pm.CustomerID)
		}
		got, err := p.Customer(ctx, acct, cus.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DefaultPaymentMethodID != "" {
			t.Errorf("got default %q after detaching it, want none", got.DefaultPaymentMethodID)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name     string
			call     func() error
			wantCode int
		}{
			{"unknown customer", func() error { _, err := p.Customer(ctx, acct, "cus_missing"); return err }, appwheel.ENOTFOUND},
			{"unknown payment method", func() error { _, err := p.PaymentMethod(ctx, acct, "pm_missing"); return err }, appwheel.ENOTFOUND},
			{"payment methods of an unknown customer", func() error { _, err := p.PaymentMethods(ctx, acct, "cus_missing"); return err }, appwheel.ENOTFOUND},
			{"default that does not exist", func() error { return p.SetDefaultPaymentMethod(ctx, acct, cus.ID, "pm_missing", "d-2") }, appwheel.ENOTFOUND},
			{"detach twice", func() error { return p.DetachPaymentMethod(ctx, acct, pmID, "detach-2") }, appwheel.ESTRIPE},
			{"setup intent of an unknown customer", func() error {
				_, err := p.CreateSetupIntent(ctx, acct, appwheel.CreateSetupIntentParams{CustomerID: "cus_missing", IdempotencyKey: "si-x"})
				return err
			}, appwheel.ENOTFOUND},
			{"invoices after an unknown invoice", func() error {
				_, err := p.Invoices(ctx, acct, appwheel.ListInvoicesParams{CustomerID: cus.ID, Limit: 5, StartingAfter: "in_missing"})
				return err
			}, appwheel.ENOTFOUND},
			{"bad key", func() error {
				_, err := p.Customer(ctx, appwheel.StripeAccount{SecretKey: "sk_live_nope"}, cus.ID)
				return err
			}, appwheel.ESTRIPE},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var ae *appwheel.Error
				if err := tt.call(); !errors.As(err, &ae) || ae.Code != tt.wantCode {
					t.Errorf("got error %v, want code %d", err, tt.wantCode)
				}
			})
		}
	})
}

// checkRawCard checks that raw is Stripe's JSON for a card payment method
// with the fields a client reads.
func checkRawCard(t *testing.T, raw json.RawMessage, brand, last4 string) {
	t.Helper()
	var pm struct {
		ID             string          `json:"id"`
		Object         string          `json:"object"`
		Type           string          `json:"type"`
		Customer       json.RawMessage `json:"customer"`
		BillingDetails map[string]any  `json:"billing_details"`
		Internal       json.RawMessage `json:"internal"`
		Card           struct {
			Brand, Last4, Funding, Country, Fingerprint string
			DisplayBrand                                string `json:"display_brand"`
			ExpMonth                                    int    `json:"exp_month"`
			ExpYear                                     int    `json:"exp_year"`
			Checks                                      map[string]any
			Networks                                    struct{ Available []string }
			ThreeDSecureUsage                           struct{ Supported bool } `json:"three_d_secure_usage"`
			Wallet                                      json.RawMessage
		} `json:"card"`
	}
	if err := json.Unmarshal(raw, &pm); err != nil {
		t.Fatalf("Raw is not a payment method: %v: %s", err, raw)
	}
	c := pm.Card
	if pm.Object != "payment_method" || pm.Type != "card" || c.Brand != brand || c.Last4 != last4 || c.ExpMonth == 0 ||
		c.ExpYear == 0 || c.Funding != "credit" || c.Country != "US" || len(c.Fingerprint) != 16 || c.DisplayBrand == "" ||
		len(c.Networks.Available) != 1 || !c.ThreeDSecureUsage.Supported || string(c.Wallet) != "null" {
		t.Errorf("got Raw %s, want a %s card ending %s with Stripe's card fields", raw, brand, last4)
	}
	for _, k := range []string{"address_line1_check", "address_postal_code_check", "cvc_check"} {
		if _, ok := c.Checks[k]; !ok {
			t.Errorf("got checks %v, want %s", c.Checks, k)
		}
	}
	if pm.BillingDetails == nil || pm.Internal != nil {
		t.Errorf("got billing_details %v and internal %s, want an object and no sandbox bookkeeping", pm.BillingDetails, pm.Internal)
	}
}
