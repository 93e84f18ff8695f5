package sandbox

import (
	"net/http"
	"regexp"
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
	}
}

var (
	customerCreateSpec = endpoint(func() map[string]*spec {
		f := customerFields()
		f["payment_method"] = str()
		return f
	}())
	customerUpdateSpec = endpoint(customerFields())
	customerListSpec   = listEndpoint(map[string]*spec{"email": str()})
	customerSearchSpec = endpoint(map[string]*spec{"query": str().req(), "limit": integer(), "page": str()})
)

// createCustomer is POST /v1/customers. payment_method attaches a method
// at once, as Stripe allows.
func createCustomer(t *tx, r *request) (any, *apiError) {
	c := &customer{
		ID:                  t.newID("cus"),
		Object:              "customer",
		Created:             t.unix(),
		InvoicePrefix:       strings.ToUpper(randomString(8)),
		Metadata:            r.p.applyMetadata(nil, "metadata"),
		NextInvoiceSequence: 1,
		PreferredLocales:    []string{},
		TaxExempt:           "none",
	}
	c.Description, c.Email = strOrNil(r.p.str("description")), strOrNil(r.p.str("email"))
	c.Name, c.Phone = strOrNil(r.p.str("name")), strOrNil(r.p.str("phone"))

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
	t.a.Customers.add(c)
	t.emit("customer.created", c, nil)
	if pm != nil {
		if aerr := t.attach(pm, c, "payment_method"); aerr != nil {
			return nil, aerr
		}
	}
	return c, nil
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
		return !c.Deleted && (email == "" || deref(c.Email) == email)
	})
	return paginate(cs, r.p, "/v1/customers", "customer")
}

// searchClause matches one clause of the search language the sandbox
// understands: field:'value' with field one of metadata['key'], email,
// name, phone (quotes ' or ").
var searchClause = regexp.MustCompile(`^(metadata\[(?:'([^']*)'|"([^"]*)")\]|email|name|phone|description):(?:'([^']*)'|"([^"]*)")$`)

// searchCustomers is GET /v1/customers/search, for queries made of clauses
// joined by AND or by OR (Stripe allows no mixing), e.g.
// metadata['appwheel_app_user_id']:'U'. Unlike Stripe's, the results are
// current at once: there is no indexing delay to emulate.
func searchCustomers(t *tx, r *request) (any, *apiError) {
	q := strings.TrimSpace(r.p.str("query"))
	op := " AND "
	if strings.Contains(q, " OR ") {
		if strings.Contains(q, " AND ") {
			return nil, invalid("query", "Search queries cannot mix AND and OR.")
		}
		op = " OR "
	}
	type clause struct{ field, key, value string }
	var clauses []clause
	for _, part := range strings.Split(q, op) {
		m := searchClause.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return nil, invalid("query", "Unsupported search query: %q. The AppWheel sandbox understands clauses of the form metadata['key']:'value', email:'…', name:'…', phone:'…' or description:'…', joined by AND or by OR.", part)
		}
		c := clause{field: m[1], value: m[4] + m[5]}
		if strings.HasPrefix(c.field, "metadata") {
			c.field, c.key = "metadata", m[2]+m[3]
		}
		clauses = append(clauses, c)
	}
	match := func(cus *customer, c clause) bool {
		switch c.field {
		case "metadata":
			v, ok := cus.Metadata[c.key]
			return ok && v == c.value
		case "email":
			return strings.EqualFold(deref(cus.Email), c.value)
		case "name":
			return deref(cus.Name) == c.value
		case "phone":
			return deref(cus.Phone) == c.value
		case "description":
			return deref(cus.Description) == c.value
		}
		return false
	}
	cs := t.a.Customers.newestFirst(func(cus *customer) bool {
		if cus.Deleted {
			return false
		}
		for _, c := range clauses {
			ok := match(cus, c)
			if op == " OR " && ok {
				return true
			}
			if op == " AND " && !ok {
				return false
			}
		}
		return op == " AND "
	})
	return searchPage(cs, r.p, "/v1/customers/search")
}

func customerRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/customers", spec: customerCreateSpec, kind: "customer", h: createCustomer},
		{method: http.MethodGet, path: "/v1/customers", spec: customerListSpec, kind: "customer", list: true, h: listCustomers},
		{method: http.MethodGet, path: "/v1/customers/search", spec: customerSearchSpec, kind: "customer", list: true, h: searchCustomers},
		{method: http.MethodGet, path: "/v1/customers/{id}", spec: endpoint(nil), kind: "customer", h: getCustomer},
		{method: http.MethodPost, path: "/v1/customers/{id}", spec: customerUpdateSpec, kind: "customer", h: updateCustomer},
		{method: http.MethodDelete, path: "/v1/customers/{id}", spec: endpoint(nil), h: deleteCustomer},
		{method: http.MethodGet, path: "/v1/customers/{id}/payment_methods", spec: customerPMListSpec, kind: "payment_method", list: true, h: listCustomerPaymentMethods},
	}
}
