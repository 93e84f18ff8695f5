package sandbox

import (
	"net/http"
	"strings"
)

// customer is a Stripe Customer.
type customer struct {
	ID                  string                  `json:"id"`
	Object              string                  `json:"object"`
	Address             *address                `json:"address"`
	Balance             int64                   `json:"balance"`
	Created             int64                   `json:"created"`
	Currency            *string                 `json:"currency"`
	DefaultSource       *string                 `json:"default_source"`
	Delinquent          bool                    `json:"delinquent"`
	Description         *string                 `json:"description"`
	Discount            *struct{}               `json:"discount"`
	Email               *string                 `json:"email"`
	InvoicePrefix       string                  `json:"invoice_prefix"`
	InvoiceSettings     customerInvoiceSettings `json:"invoice_settings"`
	Livemode            bool                    `json:"livemode"`
	Metadata            map[string]string       `json:"metadata"`
	Name                *string                 `json:"name"`
	NextInvoiceSequence int64                   `json:"next_invoice_sequence"`
	Phone               *string                 `json:"phone"`
	PreferredLocales    []string                `json:"preferred_locales"`
	Shipping            *struct{}               `json:"shipping"`
	TaxExempt           string                  `json:"tax_exempt"`
	TestClock           *string                 `json:"test_clock"`
	// Deleted customers answer with a stub, as at Stripe.
	Deleted bool `json:"deleted,omitempty"`
}

type customerInvoiceSettings struct {
	CustomFields         *struct{} `json:"custom_fields"`
	DefaultPaymentMethod *string   `json:"default_payment_method"`
	Footer               *string   `json:"footer"`
	RenderingOptions     *struct{} `json:"rendering_options"`
}

func (c *customer) objectID() string { return c.ID }

// deletedStub is what Stripe answers for a deleted customer.
type deletedStub struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func (c *customer) view() any {
	if c.Deleted {
		return deletedStub{ID: c.ID, Object: "customer", Deleted: true}
	}
	return c
}

// liveCustomer returns the customer with id unless it does not exist or
// was deleted.
func (t *tx) liveCustomer(id string) (*customer, bool) {
	c, ok := t.a.Customers.get(id)
	if !ok || c.Deleted {
		return nil, false
	}
	return c, true
}

func customerFields() map[string]*spec {
	return map[string]*spec{
		"description":      str().clr(),
		"email":            str().clr(),
		"name":             str().clr(),
		"phone":            str().clr(),
		"metadata":         metadataSpec(),
		"invoice_settings": obj(map[string]*spec{"default_payment_method": str().clr()}),
		"address": obj(map[string]*spec{
			"city": str().clr(), "country": str().clr(), "line1": str().clr(),
			"line2": str().clr(), "postal_code": str().clr(), "state": str().clr(),
		}).clr(),
	}
}

// applyAddress sets c's address from the address parameter: "" removes
// it, and the fields sent replace those of the address it has.
func (c *customer) applyAddress(p params) {
	n := p.get("address")
	switch {
	case n == nil:
		return
	case n.leaf: // address=""
		c.Address = nil
		return
	}
	if c.Address == nil {
		c.Address = &address{}
	}
	a := c.Address
	for name, field := range map[string]**string{"city": &a.City, "country": &a.Country, "line1": &a.Line1,
		"line2": &a.Line2, "postal_code": &a.PostalCode, "state": &a.State} {
		if p.has("address", name) {
			*field = strOrNil(p.str("address", name))
		}
	}
}

var (
	customerCreateSpec = endpoint(func() map[string]*spec {
		f := customerFields()
		f["payment_method"] = str()
		return f
	}())
	customerUpdateSpec = endpoint(customerFields())
	customerListSpec   = listEndpoint(map[string]*spec{"email": str(), "created": timeRange()})
)

// createCustomer is POST /v1/customers. payment_method attaches a method
// at once, as Stripe allows.
func createCustomer(t *tx, r *request) (any, *apiError) {
	c := t.newCustomer()
	c.Metadata = r.p.applyMetadata(nil, "metadata")
	c.Description, c.Email = strOrNil(r.p.str("description")), strOrNil(r.p.str("email"))
	c.Name, c.Phone = strOrNil(r.p.str("name")), strOrNil(r.p.str("phone"))
	c.applyAddress(r.p)

	var pm *paymentMethod
	if id := r.p.str("payment_method"); id != "" {
		var aerr *apiError
		if pm, aerr = t.resolvePaymentMethod(id, "payment_method"); aerr != nil {
			return nil, aerr
		}
		if aerr := checkCard(pm, "payment_method"); aerr != nil {
			return nil, aerr
		}
		if pm.Customer != nil || (pm.Internal != nil && pm.Internal.Consumed) {
			return nil, invalid("payment_method", "The payment method you provided has already been attached to a customer.")
		}
	}
	if dpm := r.p.str("invoice_settings", "default_payment_method"); dpm != "" {
		if pm == nil || pm.ID != dpm {
			return nil, noSuchParam("PaymentMethod", "invoice_settings[default_payment_method]", dpm).withMessage(
				"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", dpm)
		}
		c.InvoiceSettings.DefaultPaymentMethod = &pm.ID
	}
	t.addCustomer(c)
	if pm != nil {
		if aerr := t.attach(pm, c, "payment_method"); aerr != nil {
			return nil, aerr
		}
	}
	return c, nil
}

// newCustomer is a customer as Stripe makes one, not stored yet
// (addCustomer).
func (t *tx) newCustomer() *customer {
	return &customer{
		ID:                  t.newID("cus"),
		Object:              "customer",
		Created:             t.unix(),
		InvoicePrefix:       strings.ToUpper(randomString(8)),
		Metadata:            map[string]string{},
		NextInvoiceSequence: 1,
		PreferredLocales:    []string{},
		TaxExempt:           "none",
	}
}

// addCustomer stores a new customer: customer.created.
func (t *tx) addCustomer(c *customer) {
	t.a.Customers.add(c)
	t.emit("customer.created", c, nil)
}

// getCustomer is GET /v1/customers/{id}; a deleted customer is a stub.
func getCustomer(t *tx, r *request) (any, *apiError) {
	c, ok := t.a.Customers.get(r.id)
	if !ok {
		return nil, notFound("customer", r.id)
	}
	return c, nil
}

// updateCustomer is POST /v1/customers/{id}. The default payment method
// must be attached to the customer; "" unsets it.
func updateCustomer(t *tx, r *request) (any, *apiError) {
	c, ok := t.liveCustomer(r.id)
	if !ok {
		return nil, notFound("customer", r.id)
	}
	if r.p.has("invoice_settings", "default_payment_method") {
		if id := r.p.str("invoice_settings", "default_payment_method"); id != "" {
			pm, ok := t.a.PaymentMethods.get(id)
			if !ok {
				return nil, noSuchParam("PaymentMethod", "invoice_settings[default_payment_method]", id)
			}
			if pm.customerID() != c.ID {
				return nil, noSuchParam("PaymentMethod", "invoice_settings[default_payment_method]", id).withMessage(
					"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", id)
			}
		}
	}
	before := t.renderMap(c)
	if r.p.has("invoice_settings", "default_payment_method") {
		c.InvoiceSettings.DefaultPaymentMethod = strOrNil(r.p.str("invoice_settings", "default_payment_method"))
	}
	for name, field := range map[string]**string{"description": &c.Description, "email": &c.Email, "name": &c.Name, "phone": &c.Phone} {
		if r.p.has(name) {
			*field = strOrNil(r.p.str(name))
		}
	}
	c.applyAddress(r.p)
	c.Metadata = r.p.applyMetadata(c.Metadata, "metadata")
	t.emitUpdate("customer.updated", c, before)
	return c, nil
}

// deleteCustomer is DELETE /v1/customers/{id}: it cancels the customer's
// subscriptions at once, as Stripe does.
func deleteCustomer(t *tx, r *request) (any, *apiError) {
	c, ok := t.liveCustomer(r.id)
	if !ok {
		return nil, notFound("customer", r.id)
	}
	for _, sub := range t.a.Subscriptions.items {
		if sub.Customer == c.ID && !sub.ended() {
			t.cancelSubscription(sub, "cancellation_requested")
		}
	}
	snapshot := t.renderJSON(c)
	c.Deleted = true
	t.emitRaw("customer.deleted", snapshot)
	return c, nil
}

// listCustomers is GET /v1/customers.
func listCustomers(t *tx, r *request) (any, *apiError) {
	email := r.p.str("email")
	cs := t.a.Customers.newestFirst(func(c *customer) bool {
		return !c.Deleted && (email == "" || deref(c.Email) == email) && r.p.inRange(c.Created, "created")
	})
	return paginate(cs, r.p, "/v1/customers", "customer")
}

// customerSearchFields are the fields customer search understands.
var customerSearchFields = []string{"email", "name", "phone", "description"}

// searchCustomers is GET /v1/customers/search, e.g.
// metadata['appwheel_app_user_id']:'U'.
func searchCustomers(t *tx, r *request) (any, *apiError) {
	q, aerr := parseSearch(r.p.str("query"), customerSearchFields)
	if aerr != nil {
		return nil, aerr
	}
	cs := t.a.Customers.newestFirst(func(c *customer) bool {
		return !c.Deleted && t.searchSees(c.Created) && q.matches(func(field, key string) (string, bool) {
			switch field {
			case "metadata":
				v, ok := c.Metadata[key]
				return v, ok
			case "email":
				return deref(c.Email), c.Email != nil
			case "name":
				return deref(c.Name), c.Name != nil
			case "phone":
				return deref(c.Phone), c.Phone != nil
			case "description":
				return deref(c.Description), c.Description != nil
			}
			return "", false
		})
	})
	return searchPage(cs, r.p, "/v1/customers/search")
}

func customerRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/customers", spec: customerCreateSpec, kind: "customer", h: createCustomer},
		{method: http.MethodGet, path: "/v1/customers", spec: customerListSpec, kind: "customer", list: true, h: listCustomers},
		{method: http.MethodGet, path: "/v1/customers/search", spec: searchSpec, kind: "customer", list: true, h: searchCustomers},
		{method: http.MethodGet, path: "/v1/customers/{id}", spec: endpoint(nil), kind: "customer", h: getCustomer},
		{method: http.MethodPost, path: "/v1/customers/{id}", spec: customerUpdateSpec, kind: "customer", h: updateCustomer},
		{method: http.MethodDelete, path: "/v1/customers/{id}", spec: endpoint(nil), h: deleteCustomer},
		{method: http.MethodGet, path: "/v1/customers/{id}/payment_methods", spec: customerPMListSpec, kind: "payment_method", list: true, h: listCustomerPaymentMethods},
		{method: http.MethodGet, path: "/v1/customers/{id}/payment_methods/{pm}", spec: endpoint(nil), kind: "payment_method", h: getCustomerPaymentMethod},
	}
}
