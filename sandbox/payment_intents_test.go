package sandbox_test

import (
	"strings"
	"testing"
	"time"
)

// TestDefaultIncompleteIntegration is Stripe's documented subscription
// integration: the backend creates the subscription with
// payment_behavior=default_incomplete, saving the card on the
// subscription, and hands latest_invoice.confirmation_secret to the front
// end, which confirms the invoice's payment intent with the publishable
// key; a decline leaves it to confirm again.
func TestDefaultIncompleteIntegration(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_incomplete"
	pk := e.keys(t, key).Publishable
	price := e.price(t, key, "pro_monthly")
	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", vals("email", "new@example.com")), "id")
	create := func(t *testing.T) map[string]any {
		t.Helper()
		return e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price,
			"payment_behavior", "default_incomplete", "payment_settings[save_default_payment_method]", "on_subscription",
			"expand[0]", "latest_invoice.confirmation_secret"))
	}

	sub := create(t)
	secret := str(sub, "latest_invoice.confirmation_secret.client_secret")
	pi, _, _ := strings.Cut(secret, "_secret_")
	if str(sub, "status") != "incomplete" || str(sub, "payment_settings.save_default_payment_method") != "on_subscription" ||
		!strings.HasPrefix(pi, "pi_") || str(sub, "latest_invoice.confirmation_secret.type") != "payment_intent" {
		t.Fatalf("got %v, want an incomplete subscription whose invoice has a payment intent's client secret", sub)
	}
	inv := str(sub, "latest_invoice.id")
	if _, ok := e.mustCall(t, 200, key, "GET", "/v1/invoices/"+inv, nil)["confirmation_secret"]; ok {
		t.Error("got confirmation_secret without expand, want it left out, as Stripe includes it only when expanded")
	}
	if a := e.call(t, pk, "POST", "/v1/payment_intents/"+pi+"/confirm", vals("payment_method", "pm_card_visa")); a.Status != 400 || a.errorField(t, "param") != "client_secret" {
		t.Errorf("the publishable key without the client secret: got %d %s, want 400 on client_secret", a.Status, a.Body)
	}

	// The card declines: nothing paid, the intent waits for another card.
	a := e.call(t, pk, "POST", "/v1/payment_intents/"+pi+"/confirm", vals("client_secret", secret, "payment_method", "pm_card_chargeDeclined"))
	if a.Status != 402 || a.errorField(t, "type") != "card_error" {
		t.Fatalf("got %d %s, want 402 card_error", a.Status, a.Body)
	}
	intent := e.mustCall(t, 200, pk, "GET", "/v1/payment_intents/"+pi, vals("client_secret", secret))
	if str(intent, "status") != "requires_payment_method" || str(intent, "last_payment_error.code") != "card_declined" || get(intent, "invoice_id") != nil {
		t.Errorf("got %v, want requires_payment_method with the decline and no bookkeeping", intent)
	}

	done := e.mustCall(t, 200, pk, "POST", "/v1/payment_intents/"+pi+"/confirm", vals("client_secret", secret, "payment_method", "pm_card_visa"))
	got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), vals("expand[0]", "latest_invoice"))
	pm := str(done, "payment_method")
	if str(done, "status") != "succeeded" || num(done, "amount_received") != 999 || str(got, "status") != "active" ||
		str(got, "default_payment_method") != pm || str(got, "latest_invoice.status") != "paid" {
		t.Errorf("got intent %v, subscription %v: want succeeded, active, the card saved as its default", done, got)
	}
	if card := e.mustCall(t, 200, key, "GET", "/v1/payment_methods/"+pm, nil); str(card, "customer") != cid {
		t.Errorf("got %v, want the card attached to the customer", card)
	}
	if a := e.call(t, pk, "POST", "/v1/payment_intents/"+pi+"/confirm", vals("client_secret", secret, "payment_method", "pm_card_visa")); a.Status != 400 || a.errorField(t, "code") != "payment_intent_unexpected_state" {
		t.Errorf("confirming twice: got %d %s, want 400 payment_intent_unexpected_state", a.Status, a.Body)
	}
	var types []string
	for _, ev := range get(e.mustCall(t, 200, key, "GET", "/v1/events", vals("limit", "100")), "data").([]any) {
		types = append(types, ev.(map[string]any)["type"].(string))
	}
	for _, want := range []string{"payment_intent.created", "payment_intent.payment_failed", "payment_intent.succeeded", "invoice.paid"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("events %v lack %s", types, want)
		}
	}

	// The customer's payment intents are listed; the restricted key for
	// AppWheel reaches none, as AppWheel needs none.
	if a := e.call(t, key, "GET", "/v1/payment_intents", vals("customer", cid)); a.Status != 200 || len(get(a.json(t), "data").([]any)) != 1 {
		t.Errorf("got %d %s, want the one payment intent of the customer", a.Status, a.Body)
	}
	if a := e.call(t, e.keys(t, key).Restricted, "GET", "/v1/payment_intents", nil); a.Status != 403 {
		t.Errorf("got %d with the restricted key, want 403: AppWheel needs no payment intents", a.Status)
	}
}

// TestPaymentIntentWithoutSaving: an invoice's payment intent confirmed for
// a subscription that does not save the card pays the invoice and leaves a
// new card unattached and used up (Stripe attaches it only with
// setup_future_usage); a refused confirmation charges nothing; an
// incomplete subscription that expires cancels its intent.
func TestPaymentIntentWithoutSaving(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_nosave"
	e.keys(t, key)
	price := e.price(t, key, "pro_monthly")
	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")
	newSub := func(t *testing.T) (map[string]any, string) {
		t.Helper()
		sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price,
			"payment_behavior", "default_incomplete", "expand[0]", "latest_invoice.confirmation_secret"))
		pi, _, _ := strings.Cut(str(sub, "latest_invoice.confirmation_secret.client_secret"), "_secret_")
		return sub, pi
	}

	sub, pi := newSub(t)
	if got := e.mustCall(t, 200, key, "GET", "/v1/payment_intents/"+pi, nil); get(got, "setup_future_usage") != nil {
		t.Errorf("got setup_future_usage %v, want null without save_default_payment_method", get(got, "setup_future_usage"))
	}
	done := e.mustCall(t, 200, key, "POST", "/v1/payment_intents/"+pi+"/confirm", vals("payment_method", "pm_card_visa"))
	card := e.mustCall(t, 200, key, "GET", "/v1/payment_methods/"+str(done, "payment_method"), nil)
	got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), nil)
	if get(card, "customer") != nil || get(got, "default_payment_method") != nil || str(got, "status") != "active" {
		t.Errorf("got card %v, subscription %v: want the subscription active, the card neither attached nor its default", card, got)
	}
	if a := e.call(t, key, "POST", "/v1/payment_methods/"+str(card, "id")+"/attach", vals("customer", cid)); a.Status != 400 {
		t.Errorf("attaching the used card: got %d %s, want 400", a.Status, a.Body)
	}

	// A card that cannot be used is refused before anything is charged.
	sub2, pi2 := newSub(t)
	if a := e.call(t, key, "POST", "/v1/payment_intents/"+pi2+"/confirm", vals("payment_method", str(card, "id"))); a.Status != 400 || a.errorField(t, "param") != "payment_method" {
		t.Errorf("got %d %s, want 400 on payment_method", a.Status, a.Body)
	}
	if inv := e.mustCall(t, 200, key, "GET", "/v1/invoices/"+str(sub2, "latest_invoice.id"), nil); str(inv, "status") != "open" {
		t.Errorf("got invoice %s after a refused confirmation, want open", str(inv, "status"))
	}

	// Unpaid for 23 hours: the invoice is voided and its intent canceled.
	e.clock.mu.Lock()
	e.clock.now = e.clock.now.Add(24 * time.Hour)
	e.clock.mu.Unlock()
	intent := e.mustCall(t, 200, key, "GET", "/v1/payment_intents/"+pi2, nil)
	if str(intent, "status") != "canceled" || str(intent, "cancellation_reason") != "void_invoice" {
		t.Errorf("got %v, want canceled for void_invoice", intent)
	}
}
