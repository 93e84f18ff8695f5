package sandbox

import (
	"net/http"
	"strings"
)

// paymentMethod is a Stripe PaymentMethod of type card.
type paymentMethod struct {
	ID              string            `json:"id"`
	Object          string            `json:"object"`
	AllowRedisplay  string            `json:"allow_redisplay"`
	BillingDetails  billingDetails    `json:"billing_details"`
	Card            *pmCard           `json:"card"`
	Created         int64             `json:"created"`
	Customer        *string           `json:"customer"`
	CustomerAccount *string           `json:"customer_account"`
	Livemode        bool              `json:"livemode"`
	Metadata        map[string]string `json:"metadata"`
	Type            string            `json:"type"`

	// Internal is the sandbox's bookkeeping, kept in the snapshot and left
	// out of the API's answers (view).
	Internal *pmInternal `json:"internal,omitempty"`
}

type pmInternal struct {
	CardNumber string `json:"card_number"` // which test card this is
	// Consumed is set once the method was detached: Stripe never lets it be
	// attached or used again.
	Consumed bool `json:"consumed,omitempty"`
}

func (pm *paymentMethod) objectID() string { return pm.ID }

func (pm *paymentMethod) view() *paymentMethod {
	c := *pm
	c.Internal = nil
	return &c
}

// testCard is the test card behind pm.
func (pm *paymentMethod) testCard() *testCard {
	if pm.Internal == nil {
		return nil
	}
	return cardByNumber(pm.Internal.CardNumber)
}

func (pm *paymentMethod) customerID() string { return deref(pm.Customer) }

type billingDetails struct {
	Address address `json:"address"`
	Email   *string `json:"email"`
	Name    *string `json:"name"`
	Phone   *string `json:"phone"`
	TaxID   *string `json:"tax_id"`
}

type address struct {
	City       *string `json:"city"`
	Country    *string `json:"country"`
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	PostalCode *string `json:"postal_code"`
	State      *string `json:"state"`
}

type pmCard struct {
	Brand             string       `json:"brand"`
	Checks            cardChecks   `json:"checks"`
	Country           string       `json:"country"`
	DisplayBrand      string       `json:"display_brand"`
	ExpMonth          int64        `json:"exp_month"`
	ExpYear           int64        `json:"exp_year"`
	Fingerprint       string       `json:"fingerprint"`
	Funding           string       `json:"funding"`
	GeneratedFrom     *struct{}    `json:"generated_from"`
	Last4             string       `json:"last4"`
	Networks          cardNetworks `json:"networks"`
	RegulatedStatus   string       `json:"regulated_status"`
	ThreeDSecureUsage threeDSUsage `json:"three_d_secure_usage"`
	Wallet            *struct{}    `json:"wallet"`
}

type cardChecks struct {
	AddressLine1Check      *string `json:"address_line1_check"`
	AddressPostalCodeCheck *string `json:"address_postal_code_check"`
	CVCCheck               *string `json:"cvc_check"`
}

type cardNetworks struct {
	Available []string `json:"available"`
	Preferred *string  `json:"preferred"`
}

type threeDSUsage struct {
	Supported bool `json:"supported"`
}

// cardDetails is what a card form or a token gives a new payment method.
type cardDetails struct {
	ExpMonth, ExpYear int64
	Name              string
	CVCChecked        bool
	AllowRedisplay    string
}

// newCardPaymentMethod creates and stores a new, unattached payment method
// for card c: each use of a test token makes a new one, as at Stripe.
func (t *tx) newCardPaymentMethod(c *testCard, d cardDetails) *paymentMethod {
	if d.ExpMonth == 0 {
		d.ExpMonth, d.ExpYear = tokenExpiry(t.now)
	}
	if d.AllowRedisplay == "" {
		d.AllowRedisplay = "unspecified"
	}
	cvc := "pass"
	if !d.CVCChecked {
		cvc = "unchecked"
	}
	pm := &paymentMethod{
		ID:             t.newID("pm"),
		Object:         "payment_method",
		AllowRedisplay: d.AllowRedisplay,
		BillingDetails: billingDetails{Name: strOrNil(d.Name)},
		Card: &pmCard{
			Brand:             c.Brand,
			Checks:            cardChecks{CVCCheck: &cvc},
			Country:           c.Country,
			DisplayBrand:      c.DisplayBrand,
			ExpMonth:          d.ExpMonth,
			ExpYear:           d.ExpYear,
			Fingerprint:       fingerprint(t.a.ID, c.Number),
			Funding:           c.Funding,
			Last4:             c.last4(),
			Networks:          cardNetworks{Available: []string{c.Network}},
			RegulatedStatus:   "unregulated",
			ThreeDSecureUsage: threeDSUsage{Supported: true},
		},
		Created:  t.unix(),
		Metadata: map[string]string{},
		Type:     "card",
		Internal: &pmInternal{CardNumber: c.Number},
	}
	t.a.PaymentMethods.add(pm)
	t.changed = true
	return pm
}

// resolvePaymentMethod finds the payment method a parameter names: a pm_ ID
// of the account, or a test token, which creates a new payment method.
func (t *tx) resolvePaymentMethod(id, param string) (*paymentMethod, *apiError) {
	if c := cardByToken(id); c != nil {
		return t.newCardPaymentMethod(c, cardDetails{CVCChecked: true}), nil
	}
	pm, ok := t.a.PaymentMethods.get(id)
	if !ok {
		if strings.HasPrefix(id, "pm_card_") {
			return nil, noSuchParam("PaymentMethod", param, id).withMessage(
				"No such PaymentMethod: '%s'. The AppWheel sandbox knows the test tokens pm_card_visa, pm_card_mastercard, pm_card_amex, pm_card_discover, pm_card_chargeDeclined, pm_card_chargeDeclinedInsufficientFunds and pm_card_chargeCustomerFail.", id)
		}
		return nil, noSuchParam("PaymentMethod", param, id)
	}
	return pm, nil
}

// checkCard declines pm as Stripe does when it is attached or set up with a
// card that declines.
func checkCard(pm *paymentMethod, param string) *apiError {
	c := pm.testCard()
	if c == nil || c.Decline == nil {
		return nil
	}
	return cardError(c.Decline.Code, c.Decline.DeclineCode, c.Decline.Message, param)
}

// usableFor refuses pm for an intent (the SetupIntent or PaymentIntent
// named by intent) of the customer customerID ("" for none), as Stripe
// does: a method used up (consumed), or another customer's.
func usableFor(pm *paymentMethod, customerID, param, intent string) *apiError {
	switch {
	case pm.Internal != nil && pm.Internal.Consumed:
		return errConsumed(param)
	case pm.Customer != nil && *pm.Customer != customerID:
		return invalid(param, "The provided PaymentMethod belongs to a different Customer than the %s.", intent)
	}
	return nil
}

func errConsumed(param string) *apiError {
	return invalid(param, "This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.")
}

// attach attaches pm to cus, checking the card first. Attaching to the
// customer it is already attached to is a no-op, as at Stripe.
func (t *tx) attach(pm *paymentMethod, cus *customer, param string) *apiError {
	switch {
	case pm.customerID() == cus.ID:
		return nil
	case pm.Internal != nil && pm.Internal.Consumed:
		return errConsumed(param)
	case pm.Customer != nil:
		return invalid(param, "The payment method you provided has already been attached to a customer.")
	}
	if aerr := checkCard(pm, param); aerr != nil {
		return aerr
	}
	pm.Customer = &cus.ID
	t.emit("payment_method.attached", pm, nil)
	return nil
}

var attachSpec = endpoint(map[string]*spec{"customer": str().req()})

// attachPaymentMethod is POST /v1/payment_methods/{id}/attach.
func attachPaymentMethod(t *tx, r *request) (any, *apiError) {
	cid := r.p.str("customer")
	cus, ok := t.a.Customers.get(cid)
	if !ok || cus.Deleted {
		return nil, noSuchParam("customer", "customer", cid)
	}
	var pm *paymentMethod
	if c := cardByToken(r.id); c != nil {
		pm = t.newCardPaymentMethod(c, cardDetails{CVCChecked: true})
	} else if pm, ok = t.a.PaymentMethods.get(r.id); !ok {
		return nil, notFound("PaymentMethod", r.id)
	}
	if aerr := t.attach(pm, cus, ""); aerr != nil {
		return nil, aerr
	}
	return pm, nil
}

// detachPaymentMethod is POST /v1/payment_methods/{id}/detach. It also
// unsets the method where it was a default, as Stripe does.
func detachPaymentMethod(t *tx, r *request) (any, *apiError) {
	pm, ok := t.a.PaymentMethods.get(r.id)
	if !ok {
		return nil, notFound("PaymentMethod", r.id)
	}
	if pm.Customer == nil {
		return nil, invalid("", "The payment method you provided is not attached to a customer so detachment is impossible.")
	}
	before := t.renderMap(pm)
	cid := *pm.Customer
	pm.Customer = nil
	pm.Internal.Consumed = true
	t.emit("payment_method.detached", pm, before)
	if cus, ok := t.a.Customers.get(cid); ok && deref(cus.InvoiceSettings.DefaultPaymentMethod) == pm.ID {
		cb := t.renderMap(cus)
		cus.InvoiceSettings.DefaultPaymentMethod = nil
		t.emitUpdate("customer.updated", cus, cb)
	}
	for _, sub := range t.a.Subscriptions.items {
		if deref(sub.DefaultPaymentMethod) == pm.ID {
			sb := t.renderMap(sub)
			sub.DefaultPaymentMethod = nil
			t.emitUpdate("customer.subscription.updated", sub, sb)
		}
	}
	return pm, nil
}

// getPaymentMethod is GET /v1/payment_methods/{id}.
func getPaymentMethod(t *tx, r *request) (any, *apiError) {
	pm, ok := t.a.PaymentMethods.get(r.id)
	if !ok {
		return nil, notFound("PaymentMethod", r.id)
	}
	return pm, nil
}

// paymentMethodTypes are the types the list filter accepts; the sandbox
// only ever has cards.
var paymentMethodTypes = []string{"acss_debit", "affirm", "afterpay_clearpay", "alipay", "amazon_pay", "au_becs_debit",
	"bacs_debit", "bancontact", "blik", "boleto", "card", "cashapp", "eps", "fpx", "giropay", "grabpay", "ideal",
	"klarna", "konbini", "link", "p24", "paypal", "sepa_debit", "sofort", "us_bank_account", "wechat_pay"}

func pmListFields() map[string]*spec {
	return map[string]*spec{"type": enum(paymentMethodTypes...), "allow_redisplay": enum("always", "limited", "unspecified")}
}

var (
	pmListSpec = listEndpoint(func() map[string]*spec {
		f := pmListFields()
		f["customer"] = str()
		return f
	}())
	customerPMListSpec = listEndpoint(pmListFields())
)

// listPaymentMethods is GET /v1/payment_methods?customer=: an unknown
// customer lists nothing, where /v1/customers/{id}/payment_methods is 404.
func listPaymentMethods(t *tx, r *request) (any, *apiError) {
	return t.listPMs(r, r.p.str("customer"), "/v1/payment_methods")
}

// listCustomerPaymentMethods is GET /v1/customers/{id}/payment_methods.
func listCustomerPaymentMethods(t *tx, r *request) (any, *apiError) {
	if _, ok := t.liveCustomer(r.id); !ok {
		return nil, notFound("customer", r.id)
	}
	return t.listPMs(r, r.id, "/v1/customers/"+r.id+"/payment_methods")
}

// getCustomerPaymentMethod is GET /v1/customers/{id}/payment_methods/{pm}:
// a payment method of this customer, and only of this one.
func getCustomerPaymentMethod(t *tx, r *request) (any, *apiError) {
	if _, ok := t.liveCustomer(r.id); !ok {
		return nil, notFound("customer", r.id)
	}
	id := r.hr.PathValue("pm")
	pm, ok := t.a.PaymentMethods.get(id)
	if !ok || pm.customerID() != r.id {
		return nil, notFound("PaymentMethod", id)
	}
	return pm, nil
}

func (t *tx) listPMs(r *request, customerID, url string) (any, *apiError) {
	typ, redisplay := r.p.str("type"), r.p.str("allow_redisplay")
	pms := t.a.PaymentMethods.newestFirst(func(pm *paymentMethod) bool {
		return pm.Customer != nil && (customerID == "" || *pm.Customer == customerID) &&
			(typ == "" || pm.Type == typ) && (redisplay == "" || pm.AllowRedisplay == redisplay)
	})
	return paginate(pms, r.p, url, "payment_method")
}

func paymentMethodRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/v1/payment_methods", spec: pmListSpec, kind: "payment_method", list: true, h: listPaymentMethods},
		{method: http.MethodGet, path: "/v1/payment_methods/{id}", spec: endpoint(nil), kind: "payment_method", h: getPaymentMethod},
		{method: http.MethodPost, path: "/v1/payment_methods/{id}/attach", spec: attachSpec, kind: "payment_method", h: attachPaymentMethod},
		{method: http.MethodPost, path: "/v1/payment_methods/{id}/detach", spec: endpoint(nil), kind: "payment_method", h: detachPaymentMethod},
	}
}
