package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// checkoutSession is a Stripe Checkout Session. The sandbox emulates setup
// mode, the one AppWheel uses: the customer saves a card on the hosted page
// (checkout_page.go), which completes the session and its setup intent.
type checkoutSession struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	AfterExpiration           *struct{}         `json:"after_expiration"`
	AllowPromotionCodes       *bool             `json:"allow_promotion_codes"`
	AmountSubtotal            *int64            `json:"amount_subtotal"`
	AmountTotal               *int64            `json:"amount_total"`
	AutomaticTax              automaticTax      `json:"automatic_tax"`
	BillingAddressCollection  *string           `json:"billing_address_collection"`
	CancelURL                 *string           `json:"cancel_url"`
	ClientReferenceID         *string           `json:"client_reference_id"`
	ClientSecret              *string           `json:"client_secret"`
	Consent                   *struct{}         `json:"consent"`
	ConsentCollection         *struct{}         `json:"consent_collection"`
	Created                   int64             `json:"created"`
	Currency                  *string           `json:"currency"`
	CustomFields              []any             `json:"custom_fields"`
	CustomText                customText        `json:"custom_text"`
	Customer                  *string           `json:"customer"`
	CustomerCreation          *string           `json:"customer_creation"`
	CustomerDetails           *customerDetails  `json:"customer_details"`
	CustomerEmail             *string           `json:"customer_email"`
	ExpiresAt                 int64             `json:"expires_at"`
	Invoice                   *string           `json:"invoice"`
	InvoiceCreation           *struct{}         `json:"invoice_creation"`
	Livemode                  bool              `json:"livemode"`
	Locale                    *string           `json:"locale"`
	Metadata                  map[string]string `json:"metadata"`
	Mode                      string            `json:"mode"`
	PaymentIntent             *string           `json:"payment_intent"`
	PaymentLink               *string           `json:"payment_link"`
	PaymentMethodCollection   string            `json:"payment_method_collection"`
	PaymentMethodOptions      map[string]any    `json:"payment_method_options"`
	PaymentMethodTypes        []string          `json:"payment_method_types"`
	PaymentStatus             string            `json:"payment_status"`
	PhoneNumberCollection     enabledFlag       `json:"phone_number_collection"`
	RecoveredFrom             *string           `json:"recovered_from"`
	SetupIntent               *string           `json:"setup_intent"`
	ShippingAddressCollection *struct{}         `json:"shipping_address_collection"`
	ShippingCost              *struct{}         `json:"shipping_cost"`
	ShippingOptions           []any             `json:"shipping_options"`
	Status                    string            `json:"status"`
	SubmitType                *string           `json:"submit_type"`
	Subscription              *string           `json:"subscription"`
	SuccessURL                *string           `json:"success_url"`
	ReturnURL                 *string           `json:"return_url,omitempty"`
	TotalDetails              *struct{}         `json:"total_details"`
	UIMode                    string            `json:"ui_mode"`
	URL                       *string           `json:"url"`

	// Internal is the sandbox's bookkeeping, left out of answers.
	Internal *csInternal `json:"internal,omitempty"`
}

// csInternal is what a subscription-mode session starts when completed.
type csInternal struct {
	Items          []csItem          `json:"items,omitempty"`
	TrialDays      int64             `json:"trial_days,omitempty"`
	SubMetadata    map[string]string `json:"sub_metadata,omitempty"`
	SubDescription string            `json:"sub_description,omitempty"`
}

type csItem struct {
	Price    string `json:"price"`
	Quantity int64  `json:"quantity"`
}

type automaticTax struct {
	Enabled   bool      `json:"enabled"`
	Liability *struct{} `json:"liability"`
	Provider  *string   `json:"provider"`
	Status    *string   `json:"status"`
}

type customText struct {
	AfterSubmit              *struct{} `json:"after_submit"`
	ShippingAddress          *struct{} `json:"shipping_address"`
	Submit                   *struct{} `json:"submit"`
	TermsOfServiceAcceptance *struct{} `json:"terms_of_service_acceptance"`
}

type enabledFlag struct {
	Enabled bool `json:"enabled"`
}

// customerDetails is what the customer entered on the page.
type customerDetails struct {
	Address   *address `json:"address"`
	Email     *string  `json:"email"`
	Name      *string  `json:"name"`
	Phone     *string  `json:"phone"`
	TaxExempt string   `json:"tax_exempt"`
	TaxIDs    []any    `json:"tax_ids"`
}

func (cs *checkoutSession) objectID() string { return cs.ID }

// view fills in url: the sandbox's own page, built from BaseURL, present
// only while the session is open and hosted, as Stripe's is.
func (cs *checkoutSession) view(base string) *checkoutSession {
	c := *cs
	c.URL, c.Internal = nil, nil
	if c.Status == csOpen && c.UIMode == "hosted_page" {
		c.URL = ptr(base + "/checkout/" + c.ID)
	}
	return &c
}

// Checkout session statuses.
const (
	csOpen     = "open"
	csComplete = "complete"
	csExpired  = "expired"
)

var (
	checkoutCreateSpec = endpoint(map[string]*spec{
		"mode":                 enum("payment", "setup", "subscription"),
		"ui_mode":              enum("elements", "embedded_page", "hosted_page"),
		"customer":             str(),
		"customer_email":       str(),
		"success_url":          str(),
		"cancel_url":           str(),
		"return_url":           str(),
		"currency":             str(),
		"client_reference_id":  str(),
		"expires_at":           integer(),
		"metadata":             metadataSpec(),
		"payment_method_types": arr(str()),
		"setup_intent_data": obj(map[string]*spec{
			"description": str(),
			"metadata":    metadataSpec(),
		}),
		"line_items": arr(obj(map[string]*spec{"price": str(), "quantity": integer()})),
		"subscription_data": obj(map[string]*spec{
			"description":       str(),
			"metadata":          metadataSpec(),
			"trial_period_days": integer(),
		}),
	})
	checkoutListSpec = listEndpoint(map[string]*spec{
		"customer":     str(),
		"setup_intent": str(),
		"status":       enum(csOpen, csComplete, csExpired),
	})
)

// checkoutLifetime is how long a session stays open by default, as at Stripe.
const checkoutLifetime = 24 * time.Hour

// createCheckoutSession is POST /v1/checkout/sessions, in setup mode (it
// creates the session's setup intent at once, as Stripe does) or in
// subscription mode (the subscription starts when the page is submitted).
func createCheckoutSession(t *tx, r *request) (any, *apiError) {
	if !r.p.has("mode") {
		return nil, missingParam("mode")
	}
	mode := r.p.str("mode")
	var items []subItem
	switch mode {
	case "setup":
		for _, p := range []string{"line_items", "subscription_data"} {
			if r.p.has(p) {
				return nil, invalid(p, "%s cannot be used in setup mode.", p)
			}
		}
	case "subscription":
		if r.p.has("setup_intent_data") {
			return nil, invalid("setup_intent_data", "setup_intent_data can only be used in setup mode.")
		}
		var aerr *apiError
		if items, aerr = t.subscriptionPrices(r.p.list("line_items"), "line_items"); aerr != nil {
			return nil, aerr
		}
		if _, aerr := trialDays(r.p, 1, "subscription_data", "trial_period_days"); aerr != nil {
			return nil, aerr
		}
	default:
		return nil, invalid("mode", "The AppWheel sandbox emulates Checkout in setup and subscription modes, not mode=%s.", mode)
	}
	ui := r.p.str("ui_mode")
	if ui == "" {
		ui = "hosted_page"
	}
	hosted := ui == "hosted_page"
	switch {
	case hosted && !r.p.has("success_url"):
		return nil, missingParam("success_url")
	case !hosted && (r.p.has("success_url") || r.p.has("cancel_url")):
		return nil, invalid("success_url", "success_url and cancel_url cannot be used with ui_mode=%s; use return_url.", ui)
	case hosted && r.p.has("return_url"):
		return nil, invalid("return_url", "return_url can only be used with ui_mode=embedded_page or elements.")
	}
	for _, p := range []string{"success_url", "cancel_url", "return_url"} {
		if v := r.p.str(p); r.p.has(p) && !validURL(v) {
			return nil, invalidCode("url_invalid", p, "Not a valid URL")
		}
	}
	cid := r.p.str("customer")
	if cid != "" && r.p.has("customer_email") {
		return nil, invalid("customer_email", "You may only specify one of these parameters: customer, customer_email.")
	}
	if cid != "" {
		if _, ok := t.liveCustomer(cid); !ok {
			return nil, noSuchParam("customer", "customer", cid)
		}
	}
	types := r.p.strs("payment_method_types")
	if aerr := cardsOnly(types); aerr != nil {
		return nil, aerr
	}
	if len(types) == 0 && mode == "subscription" {
		types = []string{"card"}
	}
	if len(types) == 0 {
		if !r.p.has("currency") {
			return nil, missingParam("currency").withMessage(
				"You must provide `currency` when using `mode=setup` without `payment_method_types`.")
		}
		types = []string{"card"}
	}
	expires := t.now.Add(checkoutLifetime).Unix()
	if r.p.has("expires_at") {
		expires = r.p.int("expires_at")
		if expires < t.now.Add(30*time.Minute).Unix() || expires > t.now.Add(24*time.Hour).Unix() {
			return nil, invalid("expires_at", "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.")
		}
	}

	cs := &checkoutSession{
		ID:                      "cs_test_" + randomString(58),
		Object:                  "checkout.session",
		CancelURL:               strOrNil(r.p.str("cancel_url")),
		ClientReferenceID:       strOrNil(r.p.str("client_reference_id")),
		Created:                 t.unix(),
		Currency:                strOrNil(strings.ToLower(r.p.str("currency"))),
		CustomFields:            []any{},
		Customer:                strOrNil(cid),
		CustomerEmail:           strOrNil(r.p.str("customer_email")),
		ExpiresAt:               expires,
		Metadata:                r.p.applyMetadata(nil, "metadata"),
		Mode:                    mode,
		PaymentMethodCollection: "always",
		PaymentMethodOptions:    map[string]any{},
		PaymentMethodTypes:      types,
		PaymentStatus:           "no_payment_required",
		ShippingOptions:         []any{},
		Status:                  csOpen,
		SuccessURL:              strOrNil(r.p.str("success_url")),
		ReturnURL:               strOrNil(r.p.str("return_url")),
		UIMode:                  ui,
	}
	if !hosted {
		cs.ClientSecret = ptr(cs.ID + "_secret_" + randomString(24))
	}
	if mode == "setup" {
		si := t.newSetupIntent(cid, "off_session", r.p.applyMetadata(nil, "setup_intent_data", "metadata"))
		si.Description = strOrNil(r.p.str("setup_intent_data", "description"))
		cs.SetupIntent = &si.ID
	} else {
		cs.subscriptionMode(items, r.p)
	}
	t.a.CheckoutSessions.add(cs)
	return cs, nil
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// getCheckoutSession is GET /v1/checkout/sessions/{id}.
func getCheckoutSession(t *tx, r *request) (any, *apiError) {
	cs, ok := t.a.CheckoutSessions.get(r.id)
	if !ok {
		return nil, notFound("checkout.session", r.id)
	}
	return cs, nil
}

// expireCheckoutSession is POST /v1/checkout/sessions/{id}/expire.
func expireCheckoutSession(t *tx, r *request) (any, *apiError) {
	cs, ok := t.a.CheckoutSessions.get(r.id)
	if !ok {
		return nil, notFound("checkout.session", r.id)
	}
	if cs.Status != csOpen {
		return nil, invalid("", "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of %q.", cs.Status)
	}
	t.expireSession(cs)
	return cs, nil
}

// expireSession expires an open session and cancels its setup intent.
func (t *tx) expireSession(cs *checkoutSession) {
	cs.Status = csExpired
	if si, ok := t.a.SetupIntents.get(deref(cs.SetupIntent)); ok && si.Status != siSucceeded && si.Status != siCanceled {
		t.cancelSetupIntent(si, "abandoned")
	}
	t.emit("checkout.session.expired", cs, nil)
}

// completeSession saves card c with the details entered on the page: a new
// payment method, set up with the session's setup intent (attached to the
// session's customer); then the session completes. A declined card
// completes nothing and answers the card error.
func (t *tx) completeSession(cs *checkoutSession, c *testCard, d cardDetails) *apiError {
	if cs.Mode == "subscription" {
		return t.completeSubscriptionSession(cs, c, d)
	}
	si, ok := t.a.SetupIntents.get(deref(cs.SetupIntent))
	if !ok {
		return &apiError{Status: http.StatusInternalServerError, Type: errAPI, Message: "the session has no setup intent"}
	}
	d.CVCChecked, d.AllowRedisplay = true, "limited"
	pm := t.newCardPaymentMethod(c, d)
	if aerr := t.confirmSetupIntent(si, pm, ""); aerr != nil {
		return aerr
	}
	details := &customerDetails{Name: strOrNil(d.Name), TaxExempt: "none", TaxIDs: []any{}}
	if cus, ok := t.liveCustomer(deref(cs.Customer)); ok {
		details.Email = cus.Email
	} else {
		details.Email = cs.CustomerEmail
	}
	cs.CustomerDetails = details
	cs.Status = csComplete
	t.emit("checkout.session.completed", cs, nil)
	return nil
}

// listCheckoutSessions is GET /v1/checkout/sessions.
func listCheckoutSessions(t *tx, r *request) (any, *apiError) {
	cid, siID, status := r.p.str("customer"), r.p.str("setup_intent"), r.p.str("status")
	css := t.a.CheckoutSessions.newestFirst(func(cs *checkoutSession) bool {
		return (cid == "" || deref(cs.Customer) == cid) && (siID == "" || deref(cs.SetupIntent) == siID) &&
			(status == "" || cs.Status == status)
	})
	return paginate(css, r.p, "/v1/checkout/sessions", "checkout.session")
}

func checkoutRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/checkout/sessions", spec: checkoutCreateSpec, kind: "checkout.session", h: createCheckoutSession},
		{method: http.MethodGet, path: "/v1/checkout/sessions", spec: checkoutListSpec, kind: "checkout.session", list: true, h: listCheckoutSessions},
		{method: http.MethodGet, path: "/v1/checkout/sessions/{id}", spec: endpoint(nil), kind: "checkout.session", h: getCheckoutSession},
		{method: http.MethodPost, path: "/v1/checkout/sessions/{id}/expire", spec: endpoint(nil), kind: "checkout.session", h: expireCheckoutSession},
	}
}
