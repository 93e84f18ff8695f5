package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/appwheel/appwheel/sandbox"
)

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_idem"
	first := e.call(t, key, "POST", "/v1/customers", vals("email", "a@example.com"), "Idempotency-Key", "k1")
	again := e.call(t, key, "POST", "/v1/customers", vals("email", "a@example.com"), "Idempotency-Key", "k1")
	if first.Status != 200 || again.Status != 200 || string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("got %d then %d (replayed %q), want the first answer replayed", first.Status, again.Status, again.Header.Get("Idempotent-Replayed"))
	}
	if n := len(e.mustCall(t, 200, key, "GET", "/v1/customers", nil)["data"].([]any)); n != 1 {
		t.Errorf("got %d customers, want 1", n)
	}
	other := e.call(t, key, "POST", "/v1/customers", vals("email", "b@example.com"), "Idempotency-Key", "k1")
	if other.Status != 400 || other.errorField(t, "type") != "idempotency_error" {
		t.Errorf("got %d %s, want 400 idempotency_error", other.Status, other.Body)
	}
	// Keys are per account.
	if a := e.call(t, "sk_test_other", "POST", "/v1/customers", vals("email", "b@example.com"), "Idempotency-Key", "k1"); a.Status != 200 {
		t.Errorf("got %d on another account, want 200", a.Status)
	}
	// A decline ran, so it is saved and replayed; a validation error did not run, so it is not.
	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")
	d1 := e.call(t, key, "POST", "/v1/payment_methods/pm_card_chargeDeclined/attach", vals("customer", cid), "Idempotency-Key", "k2")
	d2 := e.call(t, key, "POST", "/v1/payment_methods/pm_card_chargeDeclined/attach", vals("customer", cid), "Idempotency-Key", "k2")
	if d1.Status != 402 || d2.Status != 402 || d2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("got %d then %d (replayed %q), want the 402 replayed", d1.Status, d2.Status, d2.Header.Get("Idempotent-Replayed"))
	}
	v1 := e.call(t, key, "POST", "/v1/customers", vals("bogus", "1"), "Idempotency-Key", "k3")
	v2 := e.call(t, key, "POST", "/v1/customers", nil, "Idempotency-Key", "k3")
	if v1.Status != 400 || v2.Status != 200 {
		t.Errorf("got %d then %d, want 400 then a fresh 200", v1.Status, v2.Status)
	}
}

func TestAPIErrors(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_errors"
	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")
	tests := []struct {
		name                         string
		key, method, path            string
		params                       []string
		wantStatus                   int
		wantType, wantCode, wantParm string
		wantMessage                  string
	}{
		{"no key", "", "GET", "/v1/customers", nil, 401, "invalid_request_error", "", "", "did not provide an API key"},
		{"live key", "sk_live_abc123456789", "GET", "/v1/customers", nil, 401, "invalid_request_error", "", "", "Invalid API Key provided: sk_live_****6789"},
		{"unknown param", key, "POST", "/v1/customers", []string{"foo", "1"}, 400, "invalid_request_error", "parameter_unknown", "foo", "Received unknown parameter: foo"},
		{"unknown nested param", key, "POST", "/v1/customers/" + cid, []string{"invoice_settings[foo]", "1"}, 400, "invalid_request_error", "parameter_unknown", "invoice_settings[foo]", "Received unknown parameter: invoice_settings[foo]"},
		{"unknown customer", key, "GET", "/v1/customers/cus_x", nil, 404, "invalid_request_error", "resource_missing", "id", "No such customer: 'cus_x'"},
		{"unknown customer param", key, "POST", "/v1/setup_intents", []string{"customer", "cus_x"}, 400, "invalid_request_error", "resource_missing", "customer", "No such customer: 'cus_x'"},
		{"unknown default payment method", key, "POST", "/v1/customers/" + cid, []string{"invoice_settings[default_payment_method]", "pm_x"}, 400, "invalid_request_error", "resource_missing", "invoice_settings[default_payment_method]", "No such PaymentMethod: 'pm_x'"},
		{"bad mode", key, "POST", "/v1/checkout/sessions", []string{"mode", "foo", "success_url", "https://a.example"}, 400, "invalid_request_error", "", "mode", "Invalid mode: must be one of payment, setup, or subscription"},
		{"missing mode", key, "POST", "/v1/checkout/sessions", []string{"success_url", "https://a.example"}, 400, "invalid_request_error", "parameter_missing", "mode", "Missing required param: mode."},
		{"missing success_url", key, "POST", "/v1/checkout/sessions", []string{"mode", "setup", "currency", "usd"}, 400, "invalid_request_error", "parameter_missing", "success_url", ""},
		{"bad usage", key, "POST", "/v1/setup_intents", []string{"usage", "sometimes"}, 400, "invalid_request_error", "", "usage", "Invalid usage"},
		{"bad status filter", key, "GET", "/v1/subscriptions", []string{"status", "foo"}, 400, "invalid_request_error", "", "status", ""},
		{"missing customer", key, "POST", "/v1/subscriptions", []string{"items[0][price]", "price_x"}, 400, "invalid_request_error", "parameter_missing", "customer", ""},
		{"missing items", key, "POST", "/v1/subscriptions", []string{"customer", cid}, 400, "invalid_request_error", "parameter_missing", "items", ""},
		{"unknown price", key, "POST", "/v1/subscriptions", []string{"customer", cid, "items[0][price]", "price_x"}, 400, "invalid_request_error", "resource_missing", "items[0][price]", "No such price: 'price_x'"},
		{"bad integer", key, "GET", "/v1/invoices", []string{"limit", "abc"}, 400, "invalid_request_error", "", "limit", "Invalid integer: abc"},
		{"limit too big", key, "GET", "/v1/invoices", []string{"limit", "1000"}, 400, "invalid_request_error", "", "limit", ""},
		{"empty string", key, "POST", "/v1/subscriptions", []string{"customer", "", "items[0][price]", "p"}, 400, "invalid_request_error", "parameter_invalid_empty", "customer", ""},
		{"bad expand", key, "GET", "/v1/customers/" + cid, []string{"expand[]", "foo"}, 400, "invalid_request_error", "", "expand", "This property cannot be expanded (foo)."},
		{"list expand without data.", key, "GET", "/v1/customers", []string{"expand[]", "customer"}, 400, "invalid_request_error", "", "expand", "data.customer"},
		{"unknown starting_after", key, "GET", "/v1/invoices", []string{"starting_after", "in_x"}, 400, "invalid_request_error", "resource_missing", "starting_after", ""},
		{"unknown route", key, "GET", "/v1/charges", nil, 404, "invalid_request_error", "", "", "Unrecognized request URL (GET: /v1/charges)"},
		{"unsupported search", key, "GET", "/v1/customers/search", []string{"query", "created>1"}, 400, "invalid_request_error", "", "query", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.call(t, tt.key, tt.method, tt.path, vals(tt.params...))
			if a.Status != tt.wantStatus || a.errorField(t, "type") != tt.wantType || a.errorField(t, "code") != tt.wantCode ||
				a.errorField(t, "param") != tt.wantParm || !strings.Contains(a.errorField(t, "message"), tt.wantMessage) {
				t.Errorf("got %d %s, want %d %s code %q param %q message containing %q", a.Status, a.Body, tt.wantStatus, tt.wantType, tt.wantCode, tt.wantParm, tt.wantMessage)
			}
			if !strings.HasPrefix(a.Header.Get("Request-Id"), "req_") || !strings.HasPrefix(a.errorField(t, "request_log_url"), e.srv.URL+"/_sandbox/requests/req_") {
				t.Errorf("got Request-Id %q and request_log_url %q, want req_… and a sandbox URL", a.Header.Get("Request-Id"), a.errorField(t, "request_log_url"))
			}
		})
	}
	t.Run("request_log_url leads to the failed request", func(t *testing.T) {
		a := e.call(t, key, "GET", "/v1/customers/cus_nope", nil)
		res, err := http.Get(a.errorField(t, "request_log_url"))
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, "cus_nope") {
			t.Errorf("got %d %s, want the logged error", res.StatusCode, body)
		}
	})
	t.Run("Basic auth and Stripe-Version", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/v1/customers/"+cid, nil)
		req.SetBasicAuth(key, "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, res)
		if res.StatusCode != 200 || res.Header.Get("Stripe-Version") == "" {
			t.Errorf("got %d with Stripe-Version %q, want 200 and a version", res.StatusCode, res.Header.Get("Stripe-Version"))
		}
	})
	t.Run("accounts are separate", func(t *testing.T) {
		if a := e.call(t, "sk_test_someone_else", "GET", "/v1/customers/"+cid, nil); a.Status != 404 {
			t.Errorf("got %d reading another account's customer, want 404", a.Status)
		}
	})
}

func TestExpandAndSearch(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_expand"
	cid, pm := e.customerWithCard(t, key, "pm_card_discover")
	price := e.price(t, key, "pro")
	sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price,
		"expand[0]", "latest_invoice.customer", "expand[1]", "items.data.price.product", "expand[2]", "customer.invoice_settings.default_payment_method"))
	if str(sub, "latest_invoice.customer.id") != cid || str(sub, "items.data.0.price.product.name") != "Pro" ||
		str(sub, "customer.invoice_settings.default_payment_method.card.brand") != "discover" {
		t.Errorf("got %v, want nested expansions", sub)
	}
	list := e.mustCall(t, 200, key, "GET", "/v1/invoices", vals("customer", cid, "expand[]", "data.lines.data.pricing.price_details.price"))
	if str(list, "data.0.lines.data.0.pricing.price_details.price.id") != price {
		t.Errorf("got %v, want the line's price expanded", list)
	}
	_ = pm

	e.mustCall(t, 200, key, "POST", "/v1/customers", vals("email", "x@example.com", "metadata[appwheel_app_user_id]", "U'2"))
	two := e.mustCall(t, 200, key, "POST", "/v1/customers", vals("metadata[appwheel_app_user_id]", "U2", "metadata[appwheel_app_id]", "A"))
	tests := []struct {
		query string
		want  []string
	}{
		{`metadata['appwheel_app_user_id']:'U2'`, []string{str(two, "id")}},
		{`metadata["appwheel_app_user_id"]:"U2" AND metadata['appwheel_app_id']:'A'`, []string{str(two, "id")}},
		{`metadata['appwheel_app_user_id']:'nobody'`, nil},
		{`email:'jenny@example.com' OR metadata['appwheel_app_user_id']:'U2'`, []string{str(two, "id"), cid}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res := e.mustCall(t, 200, key, "GET", "/v1/customers/search", vals("query", tt.query))
			var got []string
			for _, c := range res["data"].([]any) {
				got = append(got, c.(map[string]any)["id"].(string))
			}
			if res["object"] != "search_result" || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %s %v, want search_result %v", res["object"], got, tt.want)
			}
		})
	}
}

// TestMountedUnderPrefix serves the sandbox under /sandbox, as `appwheel
// dev` does: every URL it hands out must carry the prefix.
func TestMountedUnderPrefix(t *testing.T) {
	var sb *sandbox.Sandbox
	mux := http.NewServeMux()
	mux.Handle("/sandbox/", http.StripPrefix("/sandbox", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sb.ServeHTTP(w, r) })))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sb = sandbox.New(sandbox.Config{BaseURL: srv.URL + "/sandbox/"})
	if err := sb.Open(); err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	const key = "sk_test_prefix"
	if _, err := sb.Issue(key); err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/sandbox"
	cus := do(t, base, key, "POST", "/v1/customers", nil).json(t)
	cs := do(t, base, key, "POST", "/v1/checkout/sessions", vals("mode", "setup", "customer", str(cus, "id"),
		"success_url", "https://app.example/ok", "payment_method_types[0]", "card")).json(t)
	if want := base + "/checkout/" + str(cs, "id"); str(cs, "url") != want {
		t.Fatalf("got url %q, want %q", str(cs, "url"), want)
	}
	res, err := http.Get(str(cs, "url"))
	if err != nil {
		t.Fatal(err)
	}
	if page := readBody(t, res); res.StatusCode != 200 || !strings.Contains(page, `action="`+base+`/checkout/`) {
		t.Errorf("got %d, want the page posting back under the prefix", res.StatusCode)
	}
}

func TestEnsurePrice(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_prices"
	e.keys(t, key)
	spec := sandboxPriceSpec("pro_monthly", "month", 1, 999)
	first, err := e.sb.EnsurePrice(key, spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.sb.EnsurePrice(key, spec)
	if err != nil || again != first {
		t.Errorf("got %s, %v for the same spec, want %s", again, err, first)
	}
	spec.UnitAmount = 1299
	changed, err := e.sb.EnsurePrice(key, spec)
	if err != nil || changed == first {
		t.Fatalf("got %s, %v for a changed amount, want a new price", changed, err)
	}
	byKey := e.mustCall(t, 200, key, "GET", "/v1/prices", vals("lookup_keys[]", "pro_monthly"))
	if data := byKey["data"].([]any); len(data) != 1 || str(byKey, "data.0.id") != changed || num(byKey, "data.0.unit_amount") != 1299 {
		t.Errorf("got %v by lookup key, want only the new price", byKey["data"])
	}
	old := e.mustCall(t, 200, key, "GET", "/v1/prices/"+first, vals("expand[]", "product"))
	if get(old, "lookup_key") != nil || str(old, "product.name") != "Plan pro_monthly" {
		t.Errorf("got old price %v, want it without the lookup key, of the same product", old)
	}
	if n := len(e.mustCall(t, 200, key, "GET", "/v1/products", nil)["data"].([]any)); n != 1 {
		t.Errorf("got %d products, want 1 (found by name)", n)
	}
	for _, bad := range []sandbox.PriceSpec{
		{ProductName: "P", Currency: "usd", Interval: "month"},
		{LookupKey: "k", ProductName: "P", Currency: "usd", Interval: "fortnight"},
		{LookupKey: "k", ProductName: "P", Currency: "dollars", Interval: "month"},
		{LookupKey: "k", ProductName: "P", Currency: "usd", Interval: "month", IntervalCount: 13},
	} {
		if _, err := e.sb.EnsurePrice(key, bad); err == nil {
			t.Errorf("got no error for %+v, want one", bad)
		}
	}
	if _, err := e.sb.EnsurePrice("not-a-key", spec); err == nil {
		t.Errorf("got no error for a bad key, want one")
	}
}

func TestDeleteCustomer(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_delete"
	cid, _ := e.customerWithCard(t, key, "pm_card_visa")
	sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", e.price(t, key, "p")))
	got := e.mustCall(t, 200, key, "DELETE", "/v1/customers/"+cid, nil)
	if got["deleted"] != true || str(got, "id") != cid {
		t.Errorf("got %v, want the deleted stub", got)
	}
	if got := e.mustCall(t, 200, key, "GET", "/v1/customers/"+cid, nil); got["deleted"] != true {
		t.Errorf("got %v retrieving it, want the deleted stub", got)
	}
	if s := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), nil); str(s, "status") != "canceled" {
		t.Errorf("got subscription %s, want canceled with its customer", str(s, "status"))
	}
	if a := e.call(t, key, "POST", "/v1/customers/"+cid, vals("name", "x")); a.Status != 404 {
		t.Errorf("got %d updating a deleted customer, want 404", a.Status)
	}
	types := e.eventTypes(t, key)
	if want := []string{"customer.subscription.deleted", "customer.deleted"}; !containsInOrder(types, want) {
		t.Errorf("got %v, want %v", types, want)
	}
}

// TestPagesAreLabelled checks that every HTML page says it is the sandbox.
func TestPagesAreLabelled(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_pages"
	cid, _ := e.customerWithCard(t, key, "pm_card_visa")
	e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", e.price(t, key, "p")))
	in := e.invoices(t, key, cid)[0]
	cs := e.mustCall(t, 200, key, "POST", "/v1/checkout/sessions", vals("mode", "setup", "currency", "usd", "success_url", "https://a.example"))
	for _, u := range []string{e.srv.URL + "/", str(cs, "url"), str(in, "hosted_invoice_url"), e.srv.URL + "/checkout/cs_test_nope", e.srv.URL + "/invoices/in_nope"} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		page := readBody(t, res)
		if !strings.Contains(page, "for development and tests only") || !strings.Contains(res.Header.Get("Content-Type"), "text/html") ||
			strings.Contains(page, "<script") || strings.Contains(page, "<link") {
			t.Errorf("%s: got %s, want a self-contained HTML page labelled as the sandbox", u, res.Header.Get("Content-Type"))
		}
	}
}
