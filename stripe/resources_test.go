package stripe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkRequest compares a received request's method, path and parameters
// (query for GET, form for POST) with want.
func checkRequest(t *testing.T, got request, method, path string, want url.Values) {
	t.Helper()
	if got.Method != method || got.Path != path {
		t.Errorf("got %s %s, want %s %s", got.Method, got.Path, method, path)
	}
	params := got.Form
	if method == http.MethodGet {
		params = got.Query
	}
	if diff := cmp.Diff(want, params); diff != "" {
		t.Errorf("%s %s parameters (-want +got):\n%s", method, path, diff)
	}
}

func TestSubscriptions(t *testing.T) {
	f := newFakeStripe(t,
		reply{status: 200, body: fixture(t, "subscriptions_page1.json")},
		reply{status: 200, body: fixture(t, "subscriptions_page2.json")})
	h := newHarness(t, f.URL)

	got, err := h.p.Subscriptions(context.Background(), acct, "cus_Abc123")
	if err != nil {
		t.Fatal(err)
	}
	want := []*appwheel.Subscription{
		{ID: "sub_1Newest", CustomerID: "cus_Abc123", Status: "incomplete", Created: 1740000000},
		{ID: "sub_1OldMonthly", CustomerID: "cus_Abc123", Status: "past_due", PriceID: "price_1Quarterly", PriceNickname: "Quarterly plan",
			Interval: "month", IntervalCount: 3, CurrentPeriodEnd: 1743465600, Created: 1735689600, DefaultPaymentMethodID: "pm_1Card"},
		{ID: "sub_1Canceled", CustomerID: "cus_Abc123", Status: "canceled", PriceID: "price_1Yearly",
			Interval: "year", IntervalCount: 1, CurrentPeriodEnd: 1731536000, CancelAtPeriodEnd: true, Created: 1700000000},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}

	reqs := f.received()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2 (one per page)", len(reqs))
	}
	checkRequest(t, reqs[0], http.MethodGet, "/v1/subscriptions",
		url.Values{"customer": {"cus_Abc123"}, "status": {"all"}, "limit": {"100"}})
	checkRequest(t, reqs[1], http.MethodGet, "/v1/subscriptions",
		url.Values{"customer": {"cus_Abc123"}, "status": {"all"}, "limit": {"100"}, "starting_after": {"sub_1Canceled"}})
}

func TestInvoices(t *testing.T) {
	f := newFakeStripe(t, reply{status: 200, body: fixture(t, "invoices.json")})
	h := newHarness(t, f.URL)

	got, err := h.p.Invoices(context.Background(), acct, appwheel.ListInvoicesParams{
		CustomerID: "cus_Abc123", Limit: 2, StartingAfter: "in_0Previous",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &appwheel.InvoicePage{
		HasMore: true,
		Invoices: []*appwheel.Invoice{{
			ID: "in_1Paid", CustomerID: "cus_Abc123", SubscriptionID: "sub_1OldMonthly",
			PriceID: "price_1Quarterly", // the subscription line's, not the fee's before it
			Number:  "ABCD1234-0007", Status: "paid", CustomerEmail: "jenny@example.com",
			InvoicePDF:       "https://pay.stripe.com/invoice/acct_1/test_YWNjdA/pdf",
			HostedInvoiceURL: "https://invoice.stripe.com/i/acct_1/test_YWNjdA",
			AmountDue:        2900, AmountPaid: 2900, Currency: "usd", Created: 1738368000,
			PeriodStart: 1735689600, PeriodEnd: 1738368000, PaidAt: 1738375200,
			// The subscription line's period, not the invoice's (the previous one).
			ServicePeriodStart: 1738368000, ServicePeriodEnd: 1746144000,
		}, {
			ID: "in_1OneOff", CustomerID: "cus_Abc123", Status: "draft", AmountDue: 1000,
			Currency: "eur", Created: 1730000000, PeriodStart: 1730000000, PeriodEnd: 1730000000,
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invoice page (-want +got):\n%s", diff)
	}

	reqs := f.received()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1: one page, even when has_more", len(reqs))
	}
	checkRequest(t, reqs[0], http.MethodGet, "/v1/invoices",
		url.Values{"customer": {"cus_Abc123"}, "limit": {"2"}, "starting_after": {"in_0Previous"}})
}

func TestInvoicesLimitClamped(t *testing.T) {
	for _, tt := range []struct{ limit, want string }{{"0", "1"}, {"500", "100"}} {
		t.Run(tt.limit, func(t *testing.T) {
			f := newFakeStripe(t, reply{status: 200, body: `{"object":"list","data":[],"has_more":false}`})
			h := newHarness(t, f.URL)
			var limit int
			_ = json.Unmarshal([]byte(tt.limit), &limit)
			if _, err := h.p.Invoices(context.Background(), acct, appwheel.ListInvoicesParams{CustomerID: "cus_1", Limit: limit}); err != nil {
				t.Fatal(err)
			}
			if got := f.received()[0].Query.Get("limit"); got != tt.want {
				t.Errorf("got limit=%s, want %s", got, tt.want)
			}
		})
	}
}

func TestPaymentMethods(t *testing.T) {
	page1, page2 := fixture(t, "payment_methods_page1.json"), fixture(t, "payment_methods_page2.json")
	f := newFakeStripe(t, reply{status: 200, body: page1}, reply{status: 200, body: page2})
	h := newHarness(t, f.URL)

	got, err := h.p.PaymentMethods(context.Background(), acct, "cus_Abc123")
	if err != nil {
		t.Fatal(err)
	}
	raw := items(t, page1, page2) // by ID, compacted
	want := []*appwheel.PaymentMethod{
		{ID: "pm_1Newest", CustomerID: "cus_Abc123", Type: "card", Created: 1740000000, Raw: raw["pm_1Newest"]},
		{ID: "pm_1Middle", CustomerID: "cus_Abc123", Type: "card", Created: 1735000000, Raw: raw["pm_1Middle"]},
		// same second: ID descending
		{ID: "pm_1SameSecondB", CustomerID: "cus_Abc123", Type: "card", Created: 1720000000, Raw: raw["pm_1SameSecondB"]},
		{ID: "pm_1SameSecondA", CustomerID: "cus_Abc123", Type: "card", Created: 1720000000, Raw: raw["pm_1SameSecondA"]},
		{ID: "pm_1Oldest", CustomerID: "cus_Abc123", Type: "card", Created: 1700000000, Raw: raw["pm_1Oldest"]},
	}
	if diff := cmp.Diff(want, got, rawAsString); diff != "" {
		t.Errorf("payment methods (-want +got):\n%s", diff)
	}
	if !bytes.Contains(got[1].Raw, []byte(`"a_field_stripe_added_later":{"kept":true}`)) {
		t.Errorf("got Raw %s, want fields stripe-go does not know kept", got[1].Raw)
	}

	reqs := f.received()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2 (one per page)", len(reqs))
	}
	checkRequest(t, reqs[0], http.MethodGet, "/v1/customers/cus_Abc123/payment_methods", url.Values{"limit": {"100"}})
	checkRequest(t, reqs[1], http.MethodGet, "/v1/customers/cus_Abc123/payment_methods",
		url.Values{"limit": {"100"}, "starting_after": {"pm_1Oldest"}})
}

// rawAsString compares json.RawMessage as text, for readable diffs.
var rawAsString = cmp.Transformer("raw", func(r json.RawMessage) string { return string(r) })

// items returns the compacted JSON of every object in the lists' data, by ID.
func items(t *testing.T, lists ...string) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	for _, l := range lists {
		var list struct{ Data []json.RawMessage }
		if err := json.Unmarshal([]byte(l), &list); err != nil {
			t.Fatal(err)
		}
		for _, d := range list.Data {
			var obj struct{ ID string }
			_ = json.Unmarshal(d, &obj)
			var buf bytes.Buffer
			_ = json.Compact(&buf, d)
			out[obj.ID] = buf.Bytes()
		}
	}
	return out
}

func TestPaymentMethod(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *appwheel.PaymentMethod
	}{{
		name: "attached",
		body: `{"id": "pm_1A", "object": "payment_method", "type": "card", "created": 1700000000,
			"customer": "cus_1", "billing_details": {"email": null}, "card": {"brand": "visa", "last4": "4242", "exp_month": 1, "exp_year": 2030}}`,
		want: &appwheel.PaymentMethod{ID: "pm_1A", CustomerID: "cus_1", Type: "card", Created: 1700000000,
			Raw: json.RawMessage(`{"id":"pm_1A","object":"payment_method","type":"card","created":1700000000,"customer":"cus_1","billing_details":{"email":null},"card":{"brand":"visa","last4":"4242","exp_month":1,"exp_year":2030}}`)},
	}, {
		name: "detached",
		body: `{"id": "pm_1B", "object": "payment_method", "type": "card", "created": 1700000001, "customer": null}`,
		want: &appwheel.PaymentMethod{ID: "pm_1B", Type: "card", Created: 1700000001,
			Raw: json.RawMessage(`{"id":"pm_1B","object":"payment_method","type":"card","created":1700000001,"customer":null}`)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t, reply{status: 200, body: tt.body})
			h := newHarness(t, f.URL)
			got, err := h.p.PaymentMethod(context.Background(), acct, tt.want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, rawAsString); diff != "" {
				t.Errorf("payment method (-want +got):\n%s", diff)
			}
			checkRequest(t, f.received()[0], http.MethodGet, "/v1/payment_methods/"+tt.want.ID, url.Values{})
		})
	}
}

// TestMarshalPaymentMethod checks the fallback that rebuilds Stripe's JSON
// from the stripe-go struct. Plain encoding/json turns the expandable
// customer field into a whole customer object with empty fields; Stripe sends
// the ID string (or null), and so must Raw.
func TestMarshalPaymentMethod(t *testing.T) {
	body := []byte(`{"id":"pm_1A","object":"payment_method","type":"card","created":1700000000,"customer":"cus_1",
		"billing_details":{"email":"jenny@example.com"},"card":{"brand":"visa","last4":"4242","exp_month":1,"exp_year":2030}}`)
	var pm stripego.PaymentMethod
	if err := json.Unmarshal(body, &pm); err != nil {
		t.Fatal(err)
	}

	plain, _ := json.Marshal(&pm)
	var naive struct{ Customer json.RawMessage }
	_ = json.Unmarshal(plain, &naive)
	if len(naive.Customer) == 0 || naive.Customer[0] != '{' {
		t.Errorf("got customer %s from encoding/json, want the (wrong) customer object stripe-go v85 gives; if stripe-go fixed it, marshalPaymentMethod's patch can go", naive.Customer)
	}

	for _, tt := range []struct {
		name     string
		customer *stripego.Customer
		want     string
	}{{"attached", pm.Customer, `"cus_1"`}, {"detached", nil, `null`}} {
		t.Run(tt.name, func(t *testing.T) {
			pm := pm
			pm.Customer = tt.customer
			b, err := stripe.MarshalPaymentMethod(&pm)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				ID, Object, Type string
				Created          int64
				Customer         json.RawMessage
				Card             struct{ Brand, Last4 string }
				BillingDetails   struct{ Email string } `json:"billing_details"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("got invalid JSON %s: %v", b, err)
			}
			if string(got.Customer) != tt.want {
				t.Errorf("got customer %s, want %s", got.Customer, tt.want)
			}
			if got.ID != "pm_1A" || got.Object != "payment_method" || got.Type != "card" || got.Created != 1700000000 ||
				got.Card.Brand != "visa" || got.Card.Last4 != "4242" || got.BillingDetails.Email != "jenny@example.com" {
				t.Errorf("got %s, want Stripe's fields kept", b)
			}
		})
	}
}

func TestCustomer(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *appwheel.Customer
	}{
		{"default method as ID", `{"id":"cus_1","object":"customer","invoice_settings":{"default_payment_method":"pm_1"}}`,
			&appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_1"}},
		{"default method expanded", `{"id":"cus_1","object":"customer","invoice_settings":{"default_payment_method":{"id":"pm_2","object":"payment_method"}}}`,
			&appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_2"}},
		{"no default method", `{"id":"cus_1","object":"customer","invoice_settings":{"default_payment_method":null}}`,
			&appwheel.Customer{ID: "cus_1"}},
		{"deleted", `{"id":"cus_1","object":"customer","deleted":true}`,
			&appwheel.Customer{ID: "cus_1", Deleted: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t, reply{status: 200, body: tt.body})
			h := newHarness(t, f.URL)
			got, err := h.p.Customer(context.Background(), acct, "cus_1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("customer (-want +got):\n%s", diff)
			}
			checkRequest(t, f.received()[0], http.MethodGet, "/v1/customers/cus_1", url.Values{})
		})
	}
}

// TestWrites checks what each write sends Stripe and reads back.
func TestWrites(t *testing.T) {
	ctx := context.Background()
	f := newFakeStripe(t, reply{status: 200, body: `{"id":"cus_New","object":"customer","invoice_settings":{"default_payment_method":null}}`})
	h := newHarness(t, f.URL)
	c, err := h.p.CreateCustomer(ctx, acct, appwheel.CreateCustomerParams{AppID: "app_1", AppUserID: "openid-42", IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&appwheel.Customer{ID: "cus_New"}, c); diff != "" {
		t.Errorf("customer (-want +got):\n%s", diff)
	}
	checkRequest(t, f.received()[0], http.MethodPost, "/v1/customers", url.Values{
		"metadata[appwheel_app_id]": {"app_1"}, "metadata[appwheel_app_user_id]": {"openid-42"},
	})

	f = newFakeStripe(t, reply{status: 200, body: `{"id":"cus_1","object":"customer"}`})
	h = newHarness(t, f.URL)
	for _, method := range []string{"pm_1", ""} {
		if err := h.p.SetDefaultPaymentMethod(ctx, acct, "cus_1", method, "k2"); err != nil {
			t.Fatal(err)
		}
	}
	checkRequest(t, f.received()[0], http.MethodPost, "/v1/customers/cus_1", url.Values{
		"invoice_settings[default_payment_method]": {"pm_1"},
	})
	checkRequest(t, f.received()[1], http.MethodPost, "/v1/customers/cus_1", url.Values{
		"invoice_settings[default_payment_method]": {""}, // clears it
	})

	f = newFakeStripe(t, reply{status: 200, body: `{"id":"cs_test_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_1"}`})
	h = newHarness(t, f.URL)
	s, err := h.p.CreateCheckoutSession(ctx, acct, appwheel.CreateCheckoutSessionParams{
		CustomerID: "cus_1", SuccessURL: "https://a.example/ok?x=1", CancelURL: "https://a.example/no",
		AppID: "app_1", AppUserID: "openid-42", IdempotencyKey: "k3",
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&appwheel.CheckoutSession{ID: "cs_test_1", URL: "https://checkout.stripe.com/c/pay/cs_test_1"}, s); diff != "" {
		t.Errorf("checkout session (-want +got):\n%s", diff)
	}
	checkRequest(t, f.received()[0], http.MethodPost, "/v1/checkout/sessions", url.Values{
		"mode": {"setup"}, "customer": {"cus_1"},
		"success_url": {"https://a.example/ok?x=1"}, "cancel_url": {"https://a.example/no"},
		"payment_method_types[0]":   {"card"},
		"metadata[appwheel_app_id]": {"app_1"}, "metadata[appwheel_app_user_id]": {"openid-42"},
		"setup_intent_data[metadata][appwheel_app_id]":      {"app_1"},
		"setup_intent_data[metadata][appwheel_app_user_id]": {"openid-42"},
	})

	f = newFakeStripe(t, reply{status: 200, body: `{"id":"seti_1","object":"setup_intent","client_secret":"seti_1_secret_xyz","status":"requires_payment_method"}`})
	h = newHarness(t, f.URL)
	si, err := h.p.CreateSetupIntent(ctx, acct, appwheel.CreateSetupIntentParams{
		CustomerID: "cus_1", AppID: "app_1", AppUserID: "openid-42", IdempotencyKey: "k4",
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&appwheel.SetupIntent{ID: "seti_1", ClientSecret: "seti_1_secret_xyz", Status: "requires_payment_method"}, si); diff != "" {
		t.Errorf("setup intent (-want +got):\n%s", diff)
	}
	checkRequest(t, f.received()[0], http.MethodPost, "/v1/setup_intents", url.Values{
		"customer": {"cus_1"}, "payment_method_types[0]": {"card"}, "usage": {"off_session"},
		"metadata[appwheel_app_id]": {"app_1"}, "metadata[appwheel_app_user_id]": {"openid-42"},
	})

	f = newFakeStripe(t, reply{status: 200, body: `{"id":"pm_1","object":"payment_method","customer":null}`})
	h = newHarness(t, f.URL)
	if err := h.p.DetachPaymentMethod(ctx, acct, "pm_1", "k5"); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.received()[0], http.MethodPost, "/v1/payment_methods/pm_1/detach", url.Values{})

	f = newFakeStripe(t, reply{status: 200, body: `{"id":"cus_9","object":"customer"}`})
	h = newHarness(t, f.URL)
	if err := h.p.TagCustomer(ctx, acct, "cus_9", "app_1", "openid-42", "k7"); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.received()[0], http.MethodPost, "/v1/customers/cus_9", url.Values{
		"metadata[appwheel_app_id]": {"app_1"}, "metadata[appwheel_app_user_id]": {"openid-42"},
	})

	f = newFakeStripe(t, reply{status: 200, body: `{"id":"sub_1","object":"subscription","default_payment_method":"pm_2"}`})
	h = newHarness(t, f.URL)
	if err := h.p.SetSubscriptionPaymentMethod(ctx, acct, "sub_1", "pm_2", "k6"); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, f.received()[0], http.MethodPost, "/v1/subscriptions/sub_1", url.Values{"default_payment_method": {"pm_2"}})

	// The secret of a retrieved SetupIntent is not kept.
	f = newFakeStripe(t, reply{status: 200, body: `{"id":"seti_1","object":"setup_intent","client_secret":"seti_1_secret_xyz","status":"succeeded","payment_method":"pm_3"}`})
	h = newHarness(t, f.URL)
	si, err = h.p.SetupIntent(ctx, acct, "seti_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&appwheel.SetupIntent{ID: "seti_1", Status: "succeeded", PaymentMethodID: "pm_3"}, si); diff != "" {
		t.Errorf("retrieved setup intent (-want +got):\n%s", diff)
	}
	checkRequest(t, f.received()[0], http.MethodGet, "/v1/setup_intents/seti_1", url.Values{})
}

// TestEmptyIDs checks that an empty ID is ENOTFOUND without a call: stripe-go
// would turn GET /v1/payment_methods/ into a list request.
func TestEmptyIDs(t *testing.T) {
	ctx := context.Background()
	f := newFakeStripe(t, reply{status: 500, body: "{}"})
	h := newHarness(t, f.URL)
	calls := map[string]func() error{
		"Customer":                     func() error { _, err := h.p.Customer(ctx, acct, ""); return err },
		"SetDefaultPaymentMethod":      func() error { return h.p.SetDefaultPaymentMethod(ctx, acct, "", "pm_1", "k") },
		"PaymentMethod":                func() error { _, err := h.p.PaymentMethod(ctx, acct, ""); return err },
		"PaymentMethods":               func() error { _, err := h.p.PaymentMethods(ctx, acct, ""); return err },
		"DetachPaymentMethod":          func() error { return h.p.DetachPaymentMethod(ctx, acct, "", "k") },
		"Subscriptions":                func() error { _, err := h.p.Subscriptions(ctx, acct, ""); return err },
		"SetSubscriptionPaymentMethod": func() error { return h.p.SetSubscriptionPaymentMethod(ctx, acct, "", "pm_1", "k") },
		"SetupIntent":                  func() error { _, err := h.p.SetupIntent(ctx, acct, ""); return err },
		"TagCustomer":                  func() error { return h.p.TagCustomer(ctx, acct, "", "app_1", "u1", "k") },
		"Invoices":                     func() error { _, err := h.p.Invoices(ctx, acct, appwheel.ListInvoicesParams{Limit: 10}); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { checkCode(t, call(), appwheel.ENOTFOUND) })
	}
	if n := len(f.received()); n != 0 {
		t.Errorf("got %d requests, want none", n)
	}
}

// TestAPIBaseAndKeys checks that an app's own APIBase wins over
// Options.APIBase, and that each app's key goes to Stripe with its requests.
func TestAPIBaseAndKeys(t *testing.T) {
	global := newFakeStripe(t, reply{status: 200, body: `{"id":"cus_1","object":"customer"}`})
	own := newFakeStripe(t, reply{status: 200, body: `{"id":"cus_1","object":"customer"}`})
	h := newHarness(t, global.URL)
	ctx := context.Background()

	appA := appwheel.StripeAccount{SecretKey: "sk_test_A"}
	appB := appwheel.StripeAccount{SecretKey: "sk_test_B", APIBase: own.URL + "/"}
	for _, a := range []appwheel.StripeAccount{appA, appB, appA, appB} {
		if _, err := h.p.Customer(ctx, a, "cus_1"); err != nil {
			t.Fatal(err)
		}
	}
	for name, tt := range map[string]struct {
		f   *fakeStripe
		key string
	}{"Options.APIBase": {global, "sk_test_A"}, "account APIBase": {own, "sk_test_B"}} {
		reqs := tt.f.received()
		if len(reqs) != 2 {
			t.Errorf("%s: got %d requests, want 2", name, len(reqs))
		}
		for _, r := range reqs {
			if got := r.Header.Get("Authorization"); got != "Bearer "+tt.key {
				t.Errorf("%s: got Authorization %q, want Bearer %s", name, got, tt.key)
			}
			if got := r.Header.Get("Stripe-Version"); got != stripego.APIVersion {
				t.Errorf("%s: got Stripe-Version %q, want %q", name, got, stripego.APIVersion)
			}
		}
	}
}
