package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
)

// setupIntent is a Stripe SetupIntent: saving a card to charge it later.
type setupIntent struct {
	ID                                string            `json:"id"`
	Object                            string            `json:"object"`
	Application                       *string           `json:"application"`
	AutomaticPaymentMethods           *autoPMs          `json:"automatic_payment_methods"`
	CancellationReason                *string           `json:"cancellation_reason"`
	ClientSecret                      string            `json:"client_secret"`
	Created                           int64             `json:"created"`
	Customer                          *string           `json:"customer"`
	CustomerAccount                   *string           `json:"customer_account"`
	Description                       *string           `json:"description"`
	ExcludedPaymentMethodTypes        *[]string         `json:"excluded_payment_method_types"`
	FlowDirections                    *[]string         `json:"flow_directions"`
	LastSetupError                    *setupError       `json:"last_setup_error"`
	LatestAttempt                     *string           `json:"latest_attempt"`
	Livemode                          bool              `json:"livemode"`
	Mandate                           *string           `json:"mandate"`
	Metadata                          map[string]string `json:"metadata"`
	NextAction                        *struct{}         `json:"next_action"`
	OnBehalfOf                        *string           `json:"on_behalf_of"`
	PaymentMethod                     *string           `json:"payment_method"`
	PaymentMethodConfigurationDetails *struct{}         `json:"payment_method_configuration_details"`
	PaymentMethodOptions              map[string]any    `json:"payment_method_options"`
	PaymentMethodTypes                []string          `json:"payment_method_types"`
	SingleUseMandate                  *string           `json:"single_use_mandate"`
	Status                            string            `json:"status"`
	Usage                             string            `json:"usage"`
}

type autoPMs struct {
	AllowRedirects *string `json:"allow_redirects,omitempty"`
	Enabled        bool    `json:"enabled"`
}

// setupError is a setup intent's last_setup_error: the decline, with the
// payment method that was declined.
type setupError struct {
	Code          string          `json:"code,omitempty"`
	DeclineCode   string          `json:"decline_code,omitempty"`
	DocURL        string          `json:"doc_url,omitempty"`
	Message       string          `json:"message"`
	PaymentMethod json.RawMessage `json:"payment_method,omitempty"`
	Type          string          `json:"type"`
}

func (si *setupIntent) objectID() string { return si.ID }

// Setup intent statuses the sandbox goes through.
const (
	siRequiresPaymentMethod = "requires_payment_method"
	siRequiresConfirmation  = "requires_confirmation"
	siSucceeded             = "succeeded"
	siCanceled              = "canceled"
)

var (
	setupIntentCreateSpec = endpoint(map[string]*spec{
		"customer":             str(),
		"description":          str().clr(),
		"metadata":             metadataSpec(),
		"payment_method":       str(),
		"payment_method_types": arr(str()),
		"automatic_payment_methods": obj(map[string]*spec{
			"enabled":         boolean().req(),
			"allow_redirects": enum("always", "never"),
		}),
		"usage":      enum("off_session", "on_session"),
		"confirm":    boolean(),
		"return_url": str(),
	})
	setupIntentUpdateSpec = endpoint(map[string]*spec{
		"customer":             str(),
		"description":          str().clr(),
		"metadata":             metadataSpec(),
		"payment_method":       str(),
		"payment_method_types": arr(str()),
	})
	setupIntentGetSpec     = endpoint(map[string]*spec{"client_secret": str()})
	setupIntentConfirmSpec = endpoint(map[string]*spec{
		"payment_method": str(),
		"client_secret":  str(),
		"return_url":     str(),
		"use_stripe_sdk": boolean(),
	})
	setupIntentCancelSpec = endpoint(map[string]*spec{
		"cancellation_reason": enum("abandoned", "duplicate", "requested_by_customer"),
	})
	setupIntentListSpec = listEndpoint(map[string]*spec{"customer": str(), "payment_method": str()})
)

// newSetupIntent creates and stores a setup intent for cards.
func (t *tx) newSetupIntent(customerID, usage string, metadata map[string]string) *setupIntent {
	id := t.newID("seti")
	si := &setupIntent{
		ID:                   id,
		Object:               "setup_intent",
		ClientSecret:         id + "_secret_" + randomString(32),
		Created:              t.unix(),
		Customer:             strOrNil(customerID),
		Metadata:             metadata,
		PaymentMethodOptions: map[string]any{"card": map[string]any{"mandate_options": nil, "network": nil, "request_three_d_secure": "automatic"}},
		PaymentMethodTypes:   []string{"card"},
		Status:               siRequiresPaymentMethod,
		Usage:                usage,
	}
	if si.Metadata == nil {
		si.Metadata = map[string]string{}
	}
	t.a.SetupIntents.add(si)
	t.emit("setup_intent.created", si, nil)
	return si
}

// createSetupIntent is POST /v1/setup_intents. Only cards exist here.
func createSetupIntent(t *tx, r *request) (any, *apiError) {
	cid := r.p.str("customer")
	if cid != "" {
		if _, ok := t.liveCustomer(cid); !ok {
			return nil, noSuchParam("customer", "customer", cid)
		}
	}
	if r.p.has("payment_method_types") && r.p.has("automatic_payment_methods") {
		return nil, invalid("automatic_payment_methods", "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.")
	}
	if aerr := cardsOnly(r.p.strs("payment_method_types")); aerr != nil {
		return nil, aerr
	}
	if r.p.has("return_url") && !r.p.bool("confirm") {
		return nil, invalid("return_url", "You may only specify return_url when confirm is true.")
	}
	usage := r.p.str("usage")
	if usage == "" {
		usage = "off_session"
	}
	var pm *paymentMethod
	if id := r.p.str("payment_method"); id != "" {
		var aerr *apiError
		if pm, aerr = t.resolvePaymentMethod(id, "payment_method"); aerr != nil {
			return nil, aerr
		}
	}
	si := t.newSetupIntent(cid, usage, r.p.applyMetadata(nil, "metadata"))
	si.Description = strOrNil(r.p.str("description"))
	if r.p.has("automatic_payment_methods") {
		si.AutomaticPaymentMethods = &autoPMs{Enabled: r.p.bool("automatic_payment_methods", "enabled"),
			AllowRedirects: strOrNil(r.p.str("automatic_payment_methods", "allow_redirects"))}
	}
	if pm != nil {
		si.PaymentMethod = &pm.ID
		si.Status = siRequiresConfirmation
	}
	if r.p.bool("confirm") {
		if aerr := t.confirmSetupIntent(si, pm, "payment_method"); aerr != nil {
			return nil, aerr
		}
	}
	return si, nil
}

// cardsOnly refuses payment_method_types other than card, the only type
// the sandbox has.
func cardsOnly(types []string) *apiError {
	for i, typ := range types {
		if typ != "card" {
			return invalid(childPath("payment_method_types", itoa(i)),
				"The payment method type %q is invalid. The AppWheel sandbox supports only card.", typ)
		}
	}
	return nil
}

// updateSetupIntent is POST /v1/setup_intents/{id}: while it is not done,
// its customer (once: Stripe does not move a setup intent to another
// customer), description, metadata, payment method and types. Stripe has
// no setup_intent.updated event, so none is sent.
func updateSetupIntent(t *tx, r *request) (any, *apiError) {
	si, aerr := t.pendingSetupIntent(r.id, "update")
	if aerr != nil {
		return nil, aerr
	}
	if cid := r.p.str("customer"); cid != "" && cid != deref(si.Customer) {
		if si.Customer != nil {
			return nil, invalid("customer", "You cannot change the customer of a SetupIntent that already has one.")
		}
		if _, ok := t.liveCustomer(cid); !ok {
			return nil, noSuchParam("customer", "customer", cid)
		}
	}
	if aerr := cardsOnly(r.p.strs("payment_method_types")); aerr != nil {
		return nil, aerr
	}
	var pm *paymentMethod
	if id := r.p.str("payment_method"); id != "" {
		if pm, aerr = t.resolvePaymentMethod(id, "payment_method"); aerr != nil {
			return nil, aerr
		}
	}
	if cid := r.p.str("customer"); cid != "" {
		si.Customer = &cid
	}
	if r.p.has("description") {
		si.Description = strOrNil(r.p.str("description"))
	}
	si.Metadata = r.p.applyMetadata(si.Metadata, "metadata")
	if r.p.has("payment_method_types") {
		si.PaymentMethodTypes = r.p.strs("payment_method_types")
	}
	if pm != nil {
		si.PaymentMethod = &pm.ID
		si.Status = siRequiresConfirmation
	}
	t.changed = true
	return si, nil
}

// checkClientSecret enforces the client_secret a publishable key must send,
// and that a given one matches.
func checkClientSecret(r *request, secret, kind string) *apiError {
	cs := r.p.str("client_secret")
	if cs == "" && !r.publishable {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(cs), []byte(secret)) != 1 {
		return invalid("client_secret", "The client_secret provided does not match the client_secret associated with the %s.", kind)
	}
	return nil
}

// getSetupIntent is GET /v1/setup_intents/{id}.
func getSetupIntent(t *tx, r *request) (any, *apiError) {
	si, ok := t.a.SetupIntents.get(r.id)
	if !ok {
		return nil, notFound("setupintent", r.id)
	}
	if aerr := checkClientSecret(r, si.ClientSecret, "SetupIntent"); aerr != nil {
		return nil, aerr
	}
	return si, nil
}

// confirmSetupIntentHandler is POST /v1/setup_intents/{id}/confirm, with the
// payment_method Stripe.js sends (a pm_ ID or a test token).
func confirmSetupIntentHandler(t *tx, r *request) (any, *apiError) {
	si, ok := t.a.SetupIntents.get(r.id)
	if !ok {
		return nil, notFound("setupintent", r.id)
	}
	if aerr := checkClientSecret(r, si.ClientSecret, "SetupIntent"); aerr != nil {
		return nil, aerr
	}
	if aerr := checkConfirmable(si); aerr != nil {
		return nil, aerr
	}
	var pm *paymentMethod
	if id := r.p.str("payment_method"); id != "" {
		var aerr *apiError
		if pm, aerr = t.resolvePaymentMethod(id, "payment_method"); aerr != nil {
			return nil, aerr
		}
	} else if si.PaymentMethod != nil {
		pm, _ = t.a.PaymentMethods.get(*si.PaymentMethod)
	}
	if aerr := t.confirmSetupIntent(si, pm, "payment_method"); aerr != nil {
		return nil, aerr
	}
	return si, nil
}

// checkConfirmable refuses to confirm a setup intent that is done.
func checkConfirmable(si *setupIntent) *apiError {
	switch si.Status {
	case siSucceeded:
		return invalidCode("setup_intent_unexpected_state", "", "You cannot confirm this SetupIntent because it has already succeeded.")
	case siCanceled:
		return invalidCode("setup_intent_unexpected_state", "", "You cannot confirm this SetupIntent because it has a status of canceled.")
	}
	return nil
}

// confirmSetupIntent sets up pm with si: a card that declines fails the
// intent (402 card_error, last_setup_error, setup_intent.setup_failed) and
// leaves it waiting for another method; otherwise pm is attached to the
// intent's customer and the intent succeeds.
func (t *tx) confirmSetupIntent(si *setupIntent, pm *paymentMethod, param string) *apiError {
	if aerr := checkConfirmable(si); aerr != nil {
		return aerr
	}
	if pm == nil {
		return invalidCode("parameter_missing", param,
			"You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.")
	}
	cus, _ := t.liveCustomer(deref(si.Customer))
	cid := ""
	if cus != nil {
		cid = cus.ID
	}
	if aerr := usableFor(pm, cid, param, "SetupIntent"); aerr != nil {
		return aerr
	}
	if aerr := checkCard(pm, param); aerr != nil {
		pmJSON := t.renderJSON(pm)
		si.Status = siRequiresPaymentMethod
		si.PaymentMethod = nil
		si.LastSetupError = &setupError{Code: aerr.Code, DeclineCode: aerr.DeclineCode, DocURL: aerr.DocURL,
			Message: aerr.Message, PaymentMethod: pmJSON, Type: errCard}
		t.emit("setup_intent.setup_failed", si, nil)
		aerr.PaymentMethod = pmJSON
		aerr.SetupIntent = t.renderJSON(si)
		return aerr
	}
	if cus != nil {
		if aerr := t.attach(pm, cus, param); aerr != nil {
			return aerr
		}
	}
	si.PaymentMethod = &pm.ID
	si.Status = siSucceeded
	si.LastSetupError = nil
	t.emit("setup_intent.succeeded", si, nil)
	return nil
}

// pendingSetupIntent returns the setup intent id if it is not done
// (succeeded or canceled), which Stripe refuses to change: verb names the
// change refused.
func (t *tx) pendingSetupIntent(id, verb string) (*setupIntent, *apiError) {
	si, ok := t.a.SetupIntents.get(id)
	if !ok {
		return nil, notFound("setupintent", id)
	}
	if si.Status == siSucceeded || si.Status == siCanceled {
		return nil, invalidCode("setup_intent_unexpected_state", "",
			"You cannot %s this SetupIntent because it has a status of %s.", verb, si.Status)
	}
	return si, nil
}

// cancelSetupIntentHandler is POST /v1/setup_intents/{id}/cancel.
func cancelSetupIntentHandler(t *tx, r *request) (any, *apiError) {
	si, aerr := t.pendingSetupIntent(r.id, "cancel")
	if aerr != nil {
		return nil, aerr
	}
	t.cancelSetupIntent(si, r.p.str("cancellation_reason"))
	return si, nil
}

func (t *tx) cancelSetupIntent(si *setupIntent, reason string) {
	si.Status = siCanceled
	si.CancellationReason = strOrNil(reason)
	t.emit("setup_intent.canceled", si, nil)
}

// listSetupIntents is GET /v1/setup_intents.
func listSetupIntents(t *tx, r *request) (any, *apiError) {
	cid, pmID := r.p.str("customer"), r.p.str("payment_method")
	sis := t.a.SetupIntents.newestFirst(func(si *setupIntent) bool {
		return (cid == "" || deref(si.Customer) == cid) && (pmID == "" || deref(si.PaymentMethod) == pmID)
	})
	return paginate(sis, r.p, "/v1/setup_intents", "setupintent")
}

func setupIntentRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/setup_intents", spec: setupIntentCreateSpec, kind: "setup_intent", h: createSetupIntent},
		{method: http.MethodGet, path: "/v1/setup_intents", spec: setupIntentListSpec, kind: "setup_intent", list: true, h: listSetupIntents},
		{method: http.MethodGet, path: "/v1/setup_intents/{id}", spec: setupIntentGetSpec, kind: "setup_intent", publishable: true, h: getSetupIntent},
		{method: http.MethodPost, path: "/v1/setup_intents/{id}", spec: setupIntentUpdateSpec, kind: "setup_intent", h: updateSetupIntent},
		{method: http.MethodPost, path: "/v1/setup_intents/{id}/confirm", spec: setupIntentConfirmSpec, kind: "setup_intent", publishable: true, h: confirmSetupIntentHandler},
		{method: http.MethodPost, path: "/v1/setup_intents/{id}/cancel", spec: setupIntentCancelSpec, kind: "setup_intent", h: cancelSetupIntentHandler},
	}
}
