package sandbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/appwheel/appwheel/sandbox"
	stripe "github.com/stripe/stripe-go/v85"
)

// TestDecode decodes every kind of answer with stripe-go's own types and
// checks that the fields AppWheel and its tests read are set.
func TestDecode(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_decode"
	e.keys(t, key)
	sc := e.client(key)
	ctx := context.Background()

	cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{
		Email:    stripe.String("jenny@example.com"),
		Metadata: map[string]string{"appwheel_app_user_id": "U1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("customer", func(t *testing.T) {
		if cus.Object != "customer" || cus.Email != "jenny@example.com" || cus.Created != start.Unix() || cus.InvoiceSettings == nil {
			t.Errorf("got %+v, want a customer with email, created and invoice settings", cus)
		}
	})
	t.Run("customer search", func(t *testing.T) {
		it := sc.V1Customers.Search(ctx, &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{
			Query: "metadata['appwheel_app_user_id']:'U1'"}})
		var got []string
		for c, err := range it.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, c.ID)
		}
		if len(got) != 1 || got[0] != cus.ID {
			t.Errorf("got %v, want [%s]", got, cus.ID)
		}
	})

	si, err := sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{
		Customer: stripe.String(cus.ID), PaymentMethodTypes: stripe.StringSlice([]string{"card"}), Usage: stripe.String("off_session"),
	})
	if err != nil {
		t.Fatal(err)
	}
	si, err = sc.V1SetupIntents.Confirm(ctx, si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_amex")})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("setup intent", func(t *testing.T) {
		if si.Status != stripe.SetupIntentStatusSucceeded || si.PaymentMethod == nil || si.Customer == nil || si.Customer.ID != cus.ID ||
			si.Usage != "off_session" || len(si.PaymentMethodTypes) != 1 {
			t.Errorf("got %+v, want succeeded with the customer and a payment method", si)
		}
	})
	t.Run("card error", func(t *testing.T) {
		failing, err := sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{Customer: stripe.String(cus.ID)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sc.V1SetupIntents.Confirm(ctx, failing.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_chargeDeclinedInsufficientFunds")})
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard || se.Code != stripe.ErrorCodeCardDeclined ||
			se.DeclineCode != stripe.DeclineCodeInsufficientFunds || se.RequestID == "" || se.SetupIntent == nil ||
			se.SetupIntent.LastSetupError == nil || se.PaymentMethod == nil || se.PaymentMethod.Card.Last4 != "9995" {
			t.Errorf("got %#v, want a 402 card_error with the setup intent and the declined card", err)
		}
	})
	pm, err := sc.V1PaymentMethods.Retrieve(ctx, si.PaymentMethod.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("payment method", func(t *testing.T) {
		c := pm.Card
		if pm.Customer == nil || pm.Customer.ID != cus.ID || c == nil || c.Brand != stripe.PaymentMethodCardBrandAmex ||
			c.Last4 != "0005" || c.DisplayBrand != "american_express" || c.Checks == nil || c.Networks == nil ||
			c.ThreeDSecureUsage == nil || c.Fingerprint == "" {
			t.Errorf("got %+v card %+v, want an amex of the customer", pm, c)
		}
	})

	_, err = sc.V1Customers.Update(ctx, cus.ID, &stripe.CustomerUpdateParams{
		InvoiceSettings: &stripe.CustomerUpdateInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(pm.ID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("customer with expanded default", func(t *testing.T) {
		p := &stripe.CustomerRetrieveParams{}
		p.AddExpand("invoice_settings.default_payment_method")
		c, err := sc.V1Customers.Retrieve(ctx, cus.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if d := c.InvoiceSettings.DefaultPaymentMethod; d == nil || d.ID != pm.ID || d.Card == nil || d.Card.Last4 != "0005" {
			t.Errorf("got default %+v, want the expanded amex", d)
		}
	})

	cs, err := sc.V1CheckoutSessions.Create(ctx, &stripe.CheckoutSessionCreateParams{
		Mode: stripe.String("setup"), Customer: stripe.String(cus.ID), SuccessURL: stripe.String("https://app.example/ok"),
		CancelURL: stripe.String("https://app.example/no"), PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Metadata: map[string]string{"k": "v"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("checkout session", func(t *testing.T) {
		p := &stripe.CheckoutSessionRetrieveParams{}
		p.AddExpand("setup_intent")
		got, err := sc.V1CheckoutSessions.Retrieve(ctx, cs.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != stripe.CheckoutSessionStatusOpen || got.Mode != stripe.CheckoutSessionModeSetup || got.URL != e.srv.URL+"/checkout/"+cs.ID ||
			got.SetupIntent == nil || got.SetupIntent.Status != stripe.SetupIntentStatusRequiresPaymentMethod ||
			got.Customer == nil || got.Customer.ID != cus.ID || got.SuccessURL == "" || got.CancelURL == "" || got.Metadata["k"] != "v" ||
			got.ExpiresAt != start.Add(24*time.Hour).Unix() {
			t.Errorf("got %+v, want an open setup session with its expanded setup intent", got)
		}
		exp, err := sc.V1CheckoutSessions.Expire(ctx, cs.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if exp.Status != stripe.CheckoutSessionStatusExpired || exp.URL != "" {
			t.Errorf("got status %s url %q, want expired without url", exp.Status, exp.URL)
		}
	})

	prod, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("Pro")})
	if err != nil {
		t.Fatal(err)
	}
	price, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{
		Currency: stripe.String("usd"), UnitAmount: stripe.Int64(2400), Product: stripe.String(prod.ID), LookupKey: stripe.String("pro_quarterly"),
		Recurring: &stripe.PriceCreateRecurringParams{Interval: stripe.String("month"), IntervalCount: stripe.Int64(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("product and price", func(t *testing.T) {
		p, err := sc.V1Products.Retrieve(ctx, prod.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Pro" || !p.Active || p.DefaultPrice == nil || p.DefaultPrice.ID != price.ID {
			t.Errorf("got %+v, want Pro with its default price", p)
		}
		if price.Recurring == nil || price.Recurring.Interval != "month" || price.Recurring.IntervalCount != 3 ||
			price.UnitAmount != 2400 || price.LookupKey != "pro_quarterly" || price.Type != stripe.PriceTypeRecurring {
			t.Errorf("got %+v, want a quarterly recurring price", price)
		}
		var found []string
		for p, err := range sc.V1Prices.List(ctx, &stripe.PriceListParams{LookupKeys: stripe.StringSlice([]string{"pro_quarterly"})}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			found = append(found, p.ID)
		}
		if len(found) != 1 || found[0] != price.ID {
			t.Errorf("got %v by lookup key, want [%s]", found, price.ID)
		}
	})

	sp := &stripe.SubscriptionCreateParams{
		Customer: stripe.String(cus.ID),
		Items:    []*stripe.SubscriptionCreateItemParams{{Price: stripe.String(price.ID)}},
	}
	sp.AddExpand("latest_invoice")
	sub, err := sc.V1Subscriptions.Create(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("subscription", func(t *testing.T) {
		it := sub.Items.Data[0]
		wantEnd := time.Date(2026, time.April, 30, 10, 0, 0, 0, time.UTC).Unix()
		if sub.Status != stripe.SubscriptionStatusActive || sub.Customer.ID != cus.ID || it.Price.ID != price.ID ||
			it.CurrentPeriodStart != start.Unix() || it.CurrentPeriodEnd != wantEnd || it.Price.Recurring.IntervalCount != 3 ||
			sub.LatestInvoice == nil || sub.LatestInvoice.Status != stripe.InvoiceStatusPaid {
			t.Errorf("got %+v item %+v, want active, period to %d on the item, latest invoice expanded and paid", sub, it, wantEnd)
		}
	})
	t.Run("invoice", func(t *testing.T) {
		in, err := sc.V1Invoices.Retrieve(ctx, sub.LatestInvoice.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		line := in.Lines.Data[0]
		if in.Parent == nil || in.Parent.Type != "subscription_details" || in.Parent.SubscriptionDetails.Subscription.ID != sub.ID ||
			line.Pricing.PriceDetails.Price.ID != price.ID || line.Period.Start != start.Unix() || line.Period.End != sub.Items.Data[0].CurrentPeriodEnd ||
			in.StatusTransitions.PaidAt != start.Unix() || in.InvoicePDF == "" || in.HostedInvoiceURL == "" ||
			in.AmountDue != 2400 || in.AmountPaid != 2400 || in.Currency != "usd" || in.Number == "" || in.CustomerEmail != "jenny@example.com" ||
			line.Parent.SubscriptionItemDetails.SubscriptionItem != sub.Items.Data[0].ID {
			t.Errorf("got %+v line %+v, want the paid first invoice of %s", in, line, sub.ID)
		}
	})
	t.Run("events", func(t *testing.T) {
		var types []string
		for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("invoice.*")}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.APIVersion != sandbox.APIVersion || ev.Data == nil || ev.Data.Object["object"] != "invoice" {
				t.Errorf("got event %+v, want api version %s and an invoice", ev, sandbox.APIVersion)
			}
			types = append(types, string(ev.Type))
		}
		want := []string{"invoice.payment_succeeded", "invoice.paid", "invoice.finalized", "invoice.created"}
		if len(types) != len(want) {
			t.Fatalf("got %v, want %v", types, want)
		}
		for i := range want {
			if types[i] != want[i] {
				t.Errorf("got %v, want %v (newest first)", types, want)
				break
			}
		}
		updates := 0
		for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("customer.updated")}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			updates++
			prev, _ := ev.Data.PreviousAttributes["invoice_settings"].(map[string]any)
			if v, ok := prev["default_payment_method"]; !ok || v != nil {
				t.Errorf("got previous_attributes %v, want invoice_settings.default_payment_method null", ev.Data.PreviousAttributes)
			}
			got, err := sc.V1Events.Retrieve(ctx, ev.ID, nil)
			if err != nil || got.ID != ev.ID || got.Type != "customer.updated" {
				t.Errorf("got %+v, %v retrieving %s, want it", got, err, ev.ID)
			}
		}
		if updates != 1 {
			t.Errorf("got %d customer.updated events, want 1", updates)
		}
	})
}
