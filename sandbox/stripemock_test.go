package sandbox_test

import (
	"strings"
	"testing"

	"github.com/appwheel/appwheel/internal/stripemock"
)

// TestStripeMockComparison sends the same requests to the sandbox and to
// stripe-mock, which validates requests against Stripe's OpenAPI spec: the
// valid ones must be accepted by both, the invalid ones refused by both with
// the same error type. Some refusals need state or rules the spec does not
// hold (unknown IDs, Stripe's cross-field rules); stripe-mock accepts those,
// and the rows say so (mockAccepts), checking the sandbox alone.
func TestStripeMockComparison(t *testing.T) {
	mock := stripemock.ForTest(t) // skips without stripe-mock, unless APPWHEEL_REQUIRE_STRIPE_MOCK is set
	e := newEnv(t)
	const key = "sk_test_compare"

	// The sandbox's objects for the {placeholders}; stripe-mock takes any ID.
	cid, pm := e.customerWithCard(t, key, "pm_card_visa")
	pm2 := str(e.mustCall(t, 200, key, "POST", "/v1/payment_methods/pm_card_mastercard/attach", vals("customer", cid)), "id")
	newSI := func() string {
		return str(e.mustCall(t, 200, key, "POST", "/v1/setup_intents", vals("customer", cid, "payment_method_types[0]", "card")), "id")
	}
	newCS := func() string {
		return str(e.mustCall(t, 200, key, "POST", "/v1/checkout/sessions", vals("mode", "setup", "customer", cid,
			"success_url", "https://a.example/ok", "payment_method_types[0]", "card")), "id")
	}
	prod := str(e.mustCall(t, 200, key, "POST", "/v1/products", vals("name", "Pro")), "id")
	price := str(e.mustCall(t, 200, key, "POST", "/v1/prices", vals("currency", "usd", "unit_amount", "999", "product", prod,
		"recurring[interval]", "month")), "id")
	newSub := func() string {
		return str(e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price)), "id")
	}
	sub, sub2 := newSub(), newSub()
	in := str(e.invoices(t, key, cid)[0], "id")
	evt := str(e.mustCall(t, 200, key, "GET", "/v1/events", vals("limit", "1")), "data.0.id")
	ids := map[string][2]string{ // placeholder: sandbox, stripe-mock
		"{cus}": {cid, "cus_123"}, "{pm}": {pm, "pm_123"}, "{pm2}": {pm2, "pm_123"},
		"{seti}": {newSI(), "seti_123"}, "{seti2}": {newSI(), "seti_123"},
		"{cs}": {newCS(), "cs_test_123"}, "{cs2}": {newCS(), "cs_test_123"},
		"{prod}": {prod, "prod_123"}, "{price}": {price, "price_123"},
		"{sub}": {sub, "sub_123"}, "{sub2}": {sub2, "sub_123"}, "{in}": {in, "in_123"}, "{evt}": {evt, "evt_123"},
	}
	fill := func(s string, which int) string {
		for ph, v := range ids {
			s = strings.ReplaceAll(s, ph, v[which])
		}
		return s
	}

	checkoutParams := []string{"mode", "setup", "customer", "{cus}", "success_url", "https://a.example/ok?s={CHECKOUT_SESSION_ID}",
		"cancel_url", "https://a.example/no", "payment_method_types[0]", "card", "metadata[appwheel_app_id]", "a",
		"setup_intent_data[metadata][appwheel_app_user_id]", "u"}
	tests := []struct {
		name         string
		key          string // "" = the test key; "-" = none
		method, path string
		params       []string
		wantStatus   int    // the sandbox's; 2xx rows want 2xx from both
		wantType     string // error type, for 4xx
		mockAccepts  string // why stripe-mock accepts what the sandbox refuses
	}{
		// What AppWheel's adapter sends, and the rest of the sandbox's API.
		{name: "create customer", method: "POST", path: "/v1/customers", params: []string{"metadata[appwheel_app_id]", "a", "metadata[appwheel_app_user_id]", "u", "email", "j@example.com"}, wantStatus: 200},
		{name: "retrieve customer", method: "GET", path: "/v1/customers/{cus}", wantStatus: 200},
		{name: "retrieve customer, expanded", method: "GET", path: "/v1/customers/{cus}", params: []string{"expand[0]", "invoice_settings.default_payment_method"}, wantStatus: 200},
		{name: "set default payment method", method: "POST", path: "/v1/customers/{cus}", params: []string{"invoice_settings[default_payment_method]", "{pm}"}, wantStatus: 200},
		{name: "list customers", method: "GET", path: "/v1/customers", params: []string{"limit", "3", "email", "j@example.com"}, wantStatus: 200},
		{name: "search customers", method: "GET", path: "/v1/customers/search", params: []string{"query", "metadata['appwheel_app_user_id']:'u'", "limit", "10"}, wantStatus: 200},
		{name: "create checkout session", method: "POST", path: "/v1/checkout/sessions", params: checkoutParams, wantStatus: 200},
		{name: "retrieve checkout session", method: "GET", path: "/v1/checkout/sessions/{cs}", wantStatus: 200},
		{name: "expire checkout session", method: "POST", path: "/v1/checkout/sessions/{cs2}/expire", wantStatus: 200},
		{name: "create setup intent", method: "POST", path: "/v1/setup_intents", params: []string{"customer", "{cus}", "payment_method_types[0]", "card", "usage", "off_session", "metadata[appwheel_app_id]", "a"}, wantStatus: 200},
		{name: "retrieve setup intent", method: "GET", path: "/v1/setup_intents/{seti}", wantStatus: 200},
		{name: "confirm setup intent", method: "POST", path: "/v1/setup_intents/{seti2}/confirm", params: []string{"payment_method", "pm_card_visa"}, wantStatus: 200},
		{name: "retrieve payment method", method: "GET", path: "/v1/payment_methods/{pm}", wantStatus: 200},
		{name: "list customer payment methods", method: "GET", path: "/v1/customers/{cus}/payment_methods", params: []string{"limit", "100"}, wantStatus: 200},
		{name: "list payment methods", method: "GET", path: "/v1/payment_methods", params: []string{"customer", "{cus}", "type", "card"}, wantStatus: 200},
		{name: "attach a test token", method: "POST", path: "/v1/payment_methods/pm_card_amex/attach", params: []string{"customer", "{cus}"}, wantStatus: 200},
		{name: "detach payment method", method: "POST", path: "/v1/payment_methods/{pm2}/detach", wantStatus: 200},
		{name: "create product", method: "POST", path: "/v1/products", params: []string{"name", "Pro"}, wantStatus: 200},
		{name: "retrieve product", method: "GET", path: "/v1/products/{prod}", wantStatus: 200},
		{name: "create price", method: "POST", path: "/v1/prices", params: []string{"currency", "usd", "unit_amount", "999", "product", "{prod}", "recurring[interval]", "week", "recurring[interval_count]", "2", "lookup_key", "pro_2w"}, wantStatus: 200},
		{name: "list prices by lookup key", method: "GET", path: "/v1/prices", params: []string{"lookup_keys[0]", "pro_2w"}, wantStatus: 200},
		{name: "retrieve price", method: "GET", path: "/v1/prices/{price}", wantStatus: 200},
		{name: "create subscription", method: "POST", path: "/v1/subscriptions", params: []string{"customer", "{cus}", "items[0][price]", "{price}", "expand[0]", "latest_invoice"}, wantStatus: 200},
		{name: "list subscriptions", method: "GET", path: "/v1/subscriptions", params: []string{"customer", "{cus}", "status", "all", "limit", "100"}, wantStatus: 200},
		{name: "retrieve subscription", method: "GET", path: "/v1/subscriptions/{sub}", wantStatus: 200},
		{name: "cancel at period end", method: "POST", path: "/v1/subscriptions/{sub}", params: []string{"cancel_at_period_end", "true"}, wantStatus: 200},
		{name: "cancel subscription", method: "DELETE", path: "/v1/subscriptions/{sub2}", wantStatus: 200},
		{name: "list invoices", method: "GET", path: "/v1/invoices", params: []string{"customer", "{cus}", "limit", "20", "starting_after", "{in}"}, wantStatus: 200},
		{name: "retrieve invoice", method: "GET", path: "/v1/invoices/{in}", wantStatus: 200},
		{name: "list events", method: "GET", path: "/v1/events", params: []string{"limit", "3", "type", "customer.created"}, wantStatus: 200},
		{name: "retrieve event", method: "GET", path: "/v1/events/{evt}", wantStatus: 200},

		// Refused by both: what the spec forbids.
		{name: "no key", key: "-", method: "GET", path: "/v1/customers", wantStatus: 401, wantType: "invalid_request_error"},
		{name: "unknown parameter", method: "POST", path: "/v1/customers", params: []string{"foo", "bar"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad checkout mode", method: "POST", path: "/v1/checkout/sessions", params: []string{"mode", "foo", "success_url", "https://a.example/ok"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad ui_mode", method: "POST", path: "/v1/checkout/sessions", params: []string{"mode", "setup", "ui_mode", "popup", "success_url", "https://a.example/ok"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad setup intent usage", method: "POST", path: "/v1/setup_intents", params: []string{"usage", "sometimes"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad subscription status filter", method: "GET", path: "/v1/subscriptions", params: []string{"status", "foo"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad payment_behavior", method: "POST", path: "/v1/subscriptions", params: []string{"customer", "{cus}", "items[0][price]", "{price}", "payment_behavior", "sometimes"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad limit", method: "GET", path: "/v1/invoices", params: []string{"limit", "abc"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad boolean", method: "POST", path: "/v1/subscriptions/{sub}", params: []string{"cancel_at_period_end", "maybe"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "bad interval", method: "POST", path: "/v1/prices", params: []string{"currency", "usd", "unit_amount", "1", "product", "{prod}", "recurring[interval]", "fortnight"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "price without currency", method: "POST", path: "/v1/prices", params: []string{"unit_amount", "1", "product", "{prod}"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "product without name", method: "POST", path: "/v1/products", params: []string{"description", "x"}, wantStatus: 400, wantType: "invalid_request_error"},
		{name: "search without query", method: "GET", path: "/v1/customers/search", wantStatus: 400, wantType: "invalid_request_error"},

		// Refused by the sandbox as by Stripe, beyond what stripe-mock checks.
		{name: "checkout without mode", method: "POST", path: "/v1/checkout/sessions", params: []string{"success_url", "https://a.example/ok", "currency", "usd"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "mode is not required in the spec"},
		{name: "checkout without success_url", method: "POST", path: "/v1/checkout/sessions", params: []string{"mode", "setup", "payment_method_types[0]", "card"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "success_url is required by a rule, not the spec"},
		{name: "subscription without items", method: "POST", path: "/v1/subscriptions", params: []string{"customer", "{cus}"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "items is not required in the spec"},
		{name: "subscription without customer", method: "POST", path: "/v1/subscriptions", params: []string{"items[0][price]", "{price}"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "customer is not required in the spec"},
		{name: "limit over 100", method: "GET", path: "/v1/invoices", params: []string{"limit", "1000"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "the spec sets no maximum"},
		{name: "unknown customer", method: "GET", path: "/v1/customers/cus_missing", wantStatus: 404, wantType: "invalid_request_error", mockAccepts: "stripe-mock has no state"},
		{name: "unknown price in items", method: "POST", path: "/v1/subscriptions", params: []string{"customer", "{cus}", "items[0][price]", "price_missing"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "stripe-mock has no state"},
		{name: "unknown nested parameter", method: "POST", path: "/v1/customers/{cus}", params: []string{"invoice_settings[foo]", "1"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "stripe-mock checks unknown parameters at the top level only"},
		{name: "unknown subscription item field", method: "POST", path: "/v1/subscriptions", params: []string{"customer", "{cus}", "items[0][prise]", "{price}"}, wantStatus: 400, wantType: "invalid_request_error", mockAccepts: "stripe-mock checks unknown parameters at the top level only"},
		{name: "declined card", method: "POST", path: "/v1/payment_methods/pm_card_chargeDeclined/attach", params: []string{"customer", "{cus}"}, wantStatus: 402, wantType: "card_error", mockAccepts: "stripe-mock declines nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.key
			switch k {
			case "":
				k = key
			case "-":
				k = ""
			}
			var sbParams, mockParams []string
			for _, p := range tt.params {
				sbParams, mockParams = append(sbParams, fill(p, 0)), append(mockParams, fill(p, 1))
			}
			got := do(t, e.srv.URL, k, tt.method, fill(tt.path, 0), vals(sbParams...))
			m := do(t, mock, k, tt.method, fill(tt.path, 1), vals(mockParams...))
			if got.Status != tt.wantStatus {
				t.Errorf("sandbox: got %d %s, want %d", got.Status, got.Body, tt.wantStatus)
			}
			if tt.wantStatus < 300 {
				if m.Status >= 300 {
					t.Errorf("stripe-mock: got %d %s, want 2xx like the sandbox", m.Status, m.Body)
				}
				return
			}
			if gotType := got.errorField(t, "type"); gotType != tt.wantType {
				t.Errorf("sandbox: got error type %q, want %q", gotType, tt.wantType)
			}
			if tt.mockAccepts != "" {
				if m.Status >= 400 {
					t.Logf("stripe-mock now refuses this too (%d); the row's note %q is out of date", m.Status, tt.mockAccepts)
				}
				return
			}
			if m.Status < 400 || m.Status >= 500 {
				t.Errorf("stripe-mock: got %d %s, want 4xx like the sandbox", m.Status, m.Body)
				return
			}
			if mt := m.errorField(t, "type"); mt != tt.wantType {
				t.Errorf("stripe-mock: got error type %q, want %q like the sandbox", mt, tt.wantType)
			}
			if mp := m.errorField(t, "param"); mp != "" && mp != got.errorField(t, "param") {
				t.Errorf("got param %q from the sandbox, %q from stripe-mock", got.errorField(t, "param"), mp)
			}
		})
	}
}
