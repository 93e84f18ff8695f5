package sandbox

import "net/http"

// paymentIntent is a Stripe PaymentIntent. The sandbox makes one for each
// invoice it finalizes with an amount due, as Stripe does: charging the
// invoice moves it, and confirming it (with the invoice's
// confirmation_secret, from a front end) pays the invoice. That is
// Stripe's documented subscription integration: create the subscription
// with payment_behavior=default_incomplete, send
// latest_invoice.confirmation_secret.client_secret to the front end,
// confirm there.
type paymentIntent struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Amount               int64             `json:"amount"`
	AmountCapturable     int64             `json:"amount_capturable"`
	AmountReceived       int64             `json:"amount_received"`
	Application          *string           `json:"application"`
	CanceledAt           *int64            `json:"canceled_at"`
	CancellationReason   *string           `json:"cancellation_reason"`
	CaptureMethod        string            `json:"capture_method"`
	ClientSecret         string            `json:"client_secret"`
	ConfirmationMethod   string            `json:"confirmation_method"`
	Created              int64             `json:"created"`
	Currency             string            `json:"currency"`
	Customer             *string           `json:"customer"`
	Description          *string           `json:"description"`
	LastPaymentError     *setupError       `json:"last_payment_error"`
	LatestCharge         *string           `json:"latest_charge"`
	Livemode             bool              `json:"livemode"`
	Metadata             map[string]string `json:"metadata"`
	NextAction           *struct{}         `json:"next_action"`
	OnBehalfOf           *string           `json:"on_behalf_of"`
	PaymentMethod        *string           `json:"payment_method"`
	PaymentMethodOptions map[string]any    `json:"payment_method_options"`
	PaymentMethodTypes   []string          `json:"payment_method_types"`
	ReceiptEmail         *string           `json:"receipt_email"`
	SetupFutureUsage     *string           `json:"setup_future_usage"`
	Status               string            `json:"status"`

	// Invoice is the invoice it pays: bookkeeping, left out of answers
	// (since API 2025-03-31 the link is the invoice's payments).
	Invoice string `json:"invoice_id,omitempty"`
}

func (pi *paymentIntent) objectID() string { return pi.ID }

func (pi *paymentIntent) view() *paymentIntent {
	c := *pi
	c.Invoice = ""
	return &c
}

// Payment intent statuses the sandbox goes through.
const (
	piRequiresPaymentMethod = "requires_payment_method"
	piSucceeded             = "succeeded"
	piCanceled              = "canceled"
)

// newPaymentIntent makes the payment intent of invoice in, as finalizing
// it does. A subscription that saves the card it is paid with
// (payment_settings.save_default_payment_method=on_subscription) asks for
// the card to be kept for later charges: setup_future_usage=off_session.
func (t *tx) newPaymentIntent(in *invoice) *paymentIntent {
	id := t.newID("pi")
	pi := &paymentIntent{
		ID: id, Object: "payment_intent", Amount: in.AmountDue, CaptureMethod: "automatic",
		ClientSecret: id + "_secret_" + randomString(24), ConfirmationMethod: "automatic", Created: t.unix(),
		Currency: in.Currency, Customer: &in.Customer, Description: ptr("Subscription creation"), Metadata: map[string]string{},
		PaymentMethodOptions: map[string]any{"card": map[string]any{"installments": nil, "mandate_options": nil,
			"network": nil, "request_three_d_secure": "automatic"}},
		PaymentMethodTypes: []string{"card"}, Status: piRequiresPaymentMethod, Invoice: in.ID,
	}
	if in.BillingReason != "subscription_create" {
		pi.Description = ptr("Subscription update")
	}
	if sub := t.invoiceSubscription(in); sub != nil && sub.PaymentSettings.SaveDefaultPaymentMethod == "on_subscription" {
		pi.SetupFutureUsage = ptr("off_session")
	}
	t.a.PaymentIntents.add(pi)
	t.emit("payment_intent.created", pi, nil)
	return pi
}

// paymentOutcome records on the invoice's payment intent how charging pm
// went: succeeded, or back to requires_payment_method with the decline.
func (t *tx) paymentOutcome(in *invoice, pm *paymentMethod, failure *apiError) {
	pi, ok := t.a.PaymentIntents.get(in.PaymentIntent)
	if !ok {
		return
	}
	if pm != nil {
		pi.PaymentMethod = &pm.ID
	}
	if failure != nil {
		pi.Status = piRequiresPaymentMethod
		pi.LastPaymentError = &setupError{Code: failure.Code, DeclineCode: failure.DeclineCode, DocURL: failure.DocURL,
			Message: failure.Message, Type: failure.Type}
		if pm != nil {
			pi.LastPaymentError.PaymentMethod = t.renderJSON(pm)
		}
		t.emit("payment_intent.payment_failed", pi, nil)
		return
	}
	pi.Status, pi.AmountReceived, pi.LastPaymentError = piSucceeded, pi.Amount, nil
	t.emit("payment_intent.succeeded", pi, nil)
}

// cancelPaymentIntent cancels the payment intent of an invoice that will
// not be paid (voided), as Stripe does.
func (t *tx) cancelPaymentIntent(in *invoice, reason string) {
	pi, ok := t.a.PaymentIntents.get(in.PaymentIntent)
	if !ok || pi.Status == piSucceeded || pi.Status == piCanceled {
		return
	}
	pi.Status, pi.CanceledAt, pi.CancellationReason = piCanceled, ptr(t.unix()), &reason
	t.emit("payment_intent.canceled", pi, nil)
}

var (
	paymentIntentGetSpec     = endpoint(map[string]*spec{"client_secret": str()})
	paymentIntentConfirmSpec = endpoint(map[string]*spec{
		"payment_method": str(),
		"client_secret":  str(),
		"return_url":     str(),
		"off_session":    boolean(),
		"use_stripe_sdk": boolean(),
	})
	paymentIntentListSpec = listEndpoint(map[string]*spec{"customer": str(), "created": timeRange()})
)

// getPaymentIntent is GET /v1/payment_intents/{id}; with a publishable
// key, only with its client_secret.
func getPaymentIntent(t *tx, r *request) (any, *apiError) {
	pi, ok := t.a.PaymentIntents.get(r.id)
	if !ok {
		return nil, notFound("payment_intent", r.id)
	}
	if aerr := checkClientSecret(r, pi.ClientSecret, "PaymentIntent"); aerr != nil {
		return nil, aerr
	}
	return pi, nil
}

// confirmPaymentIntent is POST /v1/payment_intents/{id}/confirm: it
// charges payment_method (an ID of the customer's or a test token) for the
// invoice. Paid: the invoice is paid and its subscription active; an
// intent with setup_future_usage (the subscription saves the card,
// on_subscription) attaches the card to the customer and makes it the
// subscription's default payment method, as Stripe does, and one without
// leaves a new card unattached and used up. Declined: a 402 card_error,
// the intent back to requires_payment_method.
func confirmPaymentIntent(t *tx, r *request) (any, *apiError) {
	pi, ok := t.a.PaymentIntents.get(r.id)
	if !ok {
		return nil, notFound("payment_intent", r.id)
	}
	if aerr := checkClientSecret(r, pi.ClientSecret, "PaymentIntent"); aerr != nil {
		return nil, aerr
	}
	if pi.Status != piRequiresPaymentMethod {
		return nil, invalidCode("payment_intent_unexpected_state", "",
			"You cannot confirm this PaymentIntent because it has a status of %s.", pi.Status)
	}
	in, ok := t.a.Invoices.get(pi.Invoice)
	if !ok || in.Status != invOpen {
		return nil, invalidCode("payment_intent_unexpected_state", "", "This PaymentIntent's invoice is not open for payment.")
	}
	var pm *paymentMethod
	if id := r.p.str("payment_method"); id != "" {
		var aerr *apiError
		if pm, aerr = t.resolvePaymentMethod(id, "payment_method"); aerr != nil {
			return nil, aerr
		}
	} else if pi.PaymentMethod != nil {
		pm, _ = t.a.PaymentMethods.get(*pi.PaymentMethod)
	}
	if pm == nil {
		return nil, invalidCode("parameter_missing", "payment_method",
			"You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.")
	}
	if aerr := usableFor(pm, in.Customer, "payment_method", "PaymentIntent"); aerr != nil {
		return nil, aerr
	}
	cus, _ := t.liveCustomer(in.Customer)
	save := pi.SetupFutureUsage != nil && cus != nil
	// Everything that can refuse is checked: what follows only charges
	// and records (a handler's changes are not rolled back).
	if aerr := t.attemptPayment(in, pm); aerr != nil {
		aerr.PaymentMethod = t.renderJSON(pm)
		aerr.PaymentIntent = t.renderJSON(pi)
		return nil, aerr
	}
	switch {
	case save && pm.Customer == nil:
		pm.Customer = &cus.ID
		t.emit("payment_method.attached", pm, nil)
	case pm.Customer == nil && pm.Internal != nil:
		pm.Internal.Consumed = true
	}
	if sub := t.invoiceSubscription(in); sub != nil && save && deref(sub.DefaultPaymentMethod) != pm.ID {
		before := t.renderMap(sub)
		sub.DefaultPaymentMethod = &pm.ID
		t.emitUpdate("customer.subscription.updated", sub, before)
	}
	return pi, nil
}

// listPaymentIntents is GET /v1/payment_intents.
func listPaymentIntents(t *tx, r *request) (any, *apiError) {
	cid := r.p.str("customer")
	pis := t.a.PaymentIntents.newestFirst(func(pi *paymentIntent) bool {
		return (cid == "" || deref(pi.Customer) == cid) && r.p.inRange(pi.Created, "created")
	})
	return paginate(pis, r.p, "/v1/payment_intents", "payment_intent")
}

// invoiceConfirmationSecret is the confirmation_secret of the invoice with
// id, which Stripe includes only when it is expanded: its payment intent's
// client secret; nil when it has none.
func (t *tx) invoiceConfirmationSecret(id string) any {
	in, ok := t.a.Invoices.get(id)
	if !ok {
		return nil
	}
	pi, ok := t.a.PaymentIntents.get(in.PaymentIntent)
	if !ok {
		return nil
	}
	return map[string]any{"client_secret": pi.ClientSecret, "type": "payment_intent"}
}

func paymentIntentRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/v1/payment_intents", spec: paymentIntentListSpec, kind: "payment_intent", list: true, h: listPaymentIntents},
		{method: http.MethodGet, path: "/v1/payment_intents/{id}", spec: paymentIntentGetSpec, kind: "payment_intent", publishable: true, h: getPaymentIntent},
		{method: http.MethodPost, path: "/v1/payment_intents/{id}/confirm", spec: paymentIntentConfirmSpec, kind: "payment_intent", publishable: true, h: confirmPaymentIntent},
	}
}
