package http_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
)

const pmPath = "/v1/stripe/payment-methods"

func TestCreatePaymentMethod(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")

	var checkout appwheel.PaymentMethodSetup
	e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"checkout","successUrl":"http://www.baidu.com?success","cancelUrl":"http://www.baidu.com?cancelurl"}`}).
		want(t, 200, 0).decode(t, &checkout)
	if !strings.HasPrefix(checkout.CheckoutID, "cs_") || checkout.CheckoutURL == "" || checkout.SetupIntentID != "" || checkout.ClientSecret != "" {
		t.Errorf("checkout data = %+v; want checkout fields set, setup intent fields empty", checkout)
	}

	r := e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`}).want(t, 200, 0)
	// All four keys are always present.
	if got, want := string(r.Data), `"checkoutUrl":"","checkoutId":""`; !strings.Contains(got, want) {
		t.Errorf("data = %s; want it to contain %s", got, want)
	}
	var si appwheel.PaymentMethodSetup
	r.decode(t, &si)
	if !strings.HasPrefix(si.SetupIntentID, "seti_") || !strings.HasPrefix(si.ClientSecret, si.SetupIntentID+"_secret_") {
		t.Errorf("setupIntent data = %+v", si)
	}
	if got := e.Stripe.Calls("CreateCustomer"); got != 1 {
		t.Errorf("CreateCustomer calls = %d, want 1 (the customer is reused)", got)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	long := strings.Repeat("x", 129)
	tests := []struct {
		name   string
		method string
		target string
		body   string
		status int
		code   int
		msg    string // a part of the message
	}{
		{"malformed JSON", "POST", pmPath, `{"appUserId":`, 400, appwheel.EINVALID, "malformed JSON"},
		{"not an object", "POST", pmPath, `[1,2]`, 400, appwheel.EINVALID, "JSON object"},
		{"empty body", "POST", pmPath, ``, 400, appwheel.EINVALID, "JSON object"},
		{"trailing data", "POST", pmPath, `{"appUserId":"u1","type":"setupIntent"} {}`, 400, appwheel.EINVALID, "trailing"},
		{"wrong type", "POST", pmPath, `{"appUserId":12,"type":"setupIntent"}`, 400, appwheel.EINVALID, "appUserId must be a string"},
		{"unknown field", "POST", pmPath, `{"appUserID":"u1","type":"setupIntent"}`, 400, appwheel.EINVALID, `unknown parameter "appUserID"`},
		{"missing appUserId", "POST", pmPath, `{"type":"setupIntent"}`, 400, appwheel.EINVALID, "appUserId is required"},
		{"long appUserId", "POST", pmPath, `{"appUserId":"` + long + `","type":"setupIntent"}`, 400, appwheel.EINVALID, "at most 128"},
		{"control char appUserId", "POST", pmPath, `{"appUserId":"u\n1","type":"setupIntent"}`, 400, appwheel.EINVALID, "control"},
		{"unknown type", "POST", pmPath, `{"appUserId":"u1","type":"card"}`, 400, appwheel.EINVALID, "type must be"},
		{"javascript URL", "POST", pmPath, `{"appUserId":"u1","type":"checkout","successUrl":"javascript:alert(1)","cancelUrl":"https://shop.example.com/c"}`, 400, appwheel.EINVALID, "successUrl"},
		{"relative URL", "POST", pmPath, `{"appUserId":"u1","type":"checkout","successUrl":"https://shop.example.com/s","cancelUrl":"/cancel"}`, 400, appwheel.EINVALID, "cancelUrl"},
		{"host not allowed", "POST", pmPath, `{"appUserId":"u1","type":"checkout","successUrl":"https://evil.example.net/s","cancelUrl":"https://shop.example.com/c"}`, 403, appwheel.EFORBIDDEN, "not among"},
		{"list without user", "GET", pmPath, ``, 400, appwheel.EINVALID, "appUserId is required"},
		{"list unknown query", "GET", pmPath + "?appUserId=u1&user=2", ``, 400, appwheel.EINVALID, "unknown query parameter"},
		{"list repeated query", "GET", pmPath + "?appUserId=u1&appUserId=u2", ``, 400, appwheel.EINVALID, "more than once"},
		{"remove wrong id kind", "DELETE", pmPath + "/in_123?appUserId=u1", ``, 400, appwheel.EINVALID, "methodId"},
		{"remove bad force", "DELETE", pmPath + "/pm_123?appUserId=u1&force=maybe", ``, 400, appwheel.EINVALID, "force"},
		{"invoices limit 0", "GET", "/v1/stripe/invoices?appUserId=u1&limit=0", ``, 400, appwheel.EINVALID, "limit"},
		{"invoices limit 101", "GET", "/v1/stripe/invoices?appUserId=u1&limit=101", ``, 400, appwheel.EINVALID, "limit"},
		{"invoices limit text", "GET", "/v1/stripe/invoices?appUserId=u1&limit=ten", ``, 400, appwheel.EINVALID, "limit"},
		{"invoices bad cursor", "GET", "/v1/stripe/invoices?appUserId=u1&startingAfter=pm_1", ``, 400, appwheel.EINVALID, "startingAfter"},
		{"body too large", "POST", pmPath, `{"appUserId":"` + strings.Repeat("a", 1<<20) + `"}`, 413, appwheel.EINVALID, "1 MiB"},
		{"non-ASCII redirect host", "POST", pmPath, `{"appUserId":"u1","type":"checkout","successUrl":"https://ſhop.example.com/s","cancelUrl":"https://shop.example.com/c"}`, 400, appwheel.EINVALID, "ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(app, req{method: tt.method, target: tt.target, body: tt.body}).want(t, tt.status, tt.code)
			if !strings.Contains(r.Msg, tt.msg) {
				t.Errorf("message = %q; want it to contain %q", r.Msg, tt.msg)
			}
		})
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0", n)
	}
}

func TestRoutesInEnvelope(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, target string
		status, code   int
		allow          string
	}{
		{"GET", "/nope", 404, appwheel.ENOTFOUND, ""},
		{"GET", "/v1/stripe/orders", 404, appwheel.ENOTFOUND, ""},
		{"PUT", pmPath, 405, appwheel.EINVALID, "GET, POST"},
		{"GET", pmPath + "/pm_1", 405, appwheel.EINVALID, "DELETE"},
		{"POST", "/healthz", 405, appwheel.EINVALID, "GET"},
		{"GET", "/healthz", 200, 0, ""},
		{"GET", "//v1/stripe/payment-methods", 404, appwheel.ENOTFOUND, ""},
		{"GET", "/v1/stripe/./invoices", 404, appwheel.ENOTFOUND, ""},
		{"GET", "/readyz", 200, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := e.raw(tt.method, tt.target, "", nil).want(t, tt.status, tt.code)
			if got := strings.Join(r.Header.Values("Allow"), ", "); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestCrossTenantIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.NewApp("a"), e.NewApp("b")
	ctx := context.Background()
	// u1 of app a has a card; app b has a user with the same appUserId.
	e.do(a, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`}).want(t, 200, 0)
	e.do(b, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`}).want(t, 200, 0)
	cusA, err := e.Store.CustomerID(ctx, a.ID, "u1")
	if err != nil {
		t.Fatal(err)
	}
	cusB, err := e.Store.CustomerID(ctx, b.ID, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if cusA == cusB {
		t.Fatalf("apps a and b share customer %s for u1", cusA)
	}
	pm := e.Stripe.AttachCard(a.Stripe, cusA, "visa", "4242")
	e.Stripe.AttachCard(a.Stripe, cusA, "visa", "1111") // so u1 of a keeps one

	var list appwheel.PaymentMethodList
	e.do(b, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0).decode(t, &list)
	if len(list.Methods) != 0 {
		t.Errorf("app b sees %d methods of app a's user", len(list.Methods))
	}
	// Another app's method, another user's method: 1004, nothing detached.
	e.do(b, req{method: "DELETE", target: pmPath + "/" + pm.ID + "?appUserId=u1"}).want(t, 404, appwheel.ENOTFOUND)
	e.do(a, req{method: "DELETE", target: pmPath + "/" + pm.ID + "?appUserId=u2"}).want(t, 404, appwheel.ENOTFOUND)
	e.do(b, req{method: "POST", target: pmPath + "/" + pm.ID + "/default", body: `{"appUserId":"u1"}`}).want(t, 404, appwheel.ENOTFOUND)
	if n := e.Stripe.Calls("DetachPaymentMethod"); n != 0 {
		t.Fatalf("DetachPaymentMethod calls = %d, want 0", n)
	}
	// The owner can.
	var removed appwheel.RemovedPaymentMethod
	e.do(a, req{method: "DELETE", target: pmPath + "/" + pm.ID + "?appUserId=u1"}).want(t, 200, 0).decode(t, &removed)
	if removed.MethodID != pm.ID {
		t.Errorf("methodId = %s, want %s", removed.MethodID, pm.ID)
	}
}

func TestRemoveGuardAndDefaultPromotion(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`}).want(t, 200, 0)
	cus, err := e.Store.CustomerID(context.Background(), app.ID, "u1")
	if err != nil {
		t.Fatal(err)
	}
	older := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	newer := e.Stripe.AttachCard(app.Stripe, cus, "mastercard", "4444")
	sub := e.Stripe.AddSubscription(app.Stripe, cus, appwheel.Subscription{Status: "active", PriceID: "price_1", Interval: "month", IntervalCount: 1})

	e.do(app, req{method: "POST", target: pmPath + "/" + older.ID + "/default", body: `{"appUserId":"u1"}`}).want(t, 200, 0)
	var list appwheel.PaymentMethodList
	e.do(app, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0).decode(t, &list)
	if list.DefaultMethodID != older.ID || len(list.Methods) != 2 || !strings.Contains(string(list.Methods[0]), newer.ID) {
		t.Fatalf("list = default %s, %d methods; want default %s, 2 methods, newest (%s) first", list.DefaultMethodID, len(list.Methods), older.ID, newer.ID)
	}

	var removed appwheel.RemovedPaymentMethod
	e.do(app, req{method: "DELETE", target: pmPath + "/" + older.ID + "?appUserId=u1"}).want(t, 200, 0).decode(t, &removed)
	want := appwheel.RemovedPaymentMethod{MethodID: older.ID, NewDefaultMethodID: newer.ID, MovedSubscriptionIDs: []string{sub.ID}}
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	// The last method while a subscription is active: refused, then forced.
	r := e.do(app, req{method: "DELETE", target: pmPath + "/" + newer.ID + "?appUserId=u1"}).want(t, 409, appwheel.ELASTMETHOD)
	if !strings.Contains(r.Msg, "force=true") {
		t.Errorf("message = %q; want it to mention force=true", r.Msg)
	}
	e.do(app, req{method: "DELETE", target: pmPath + "/" + newer.ID + "?appUserId=u1&force=true"}).want(t, 200, 0)
	e.do(app, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0).decode(t, &list)
	if len(list.Methods) != 0 || list.DefaultMethodID != "" {
		t.Errorf("after removing both: %d methods, default %q; want none", len(list.Methods), list.DefaultMethodID)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	body := `{"appUserId":"u1","type":"checkout","successUrl":"https://shop.example.com/s","cancelUrl":"https://shop.example.com/c"}`
	key := map[string]string{"Idempotency-Key": "order-42"}

	first := e.do(app, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 200, 0)
	again := e.do(app, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 200, 0)
	if string(first.Data) != string(again.Data) {
		t.Errorf("replayed data = %s, want %s", again.Data, first.Data)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed: true")
	}
	if n := e.Stripe.Calls("CreateCheckoutSession"); n != 1 {
		t.Errorf("CreateCheckoutSession calls = %d, want 1", n)
	}
	other := strings.Replace(body, "u1", "u2", 1)
	e.do(app, req{method: "POST", target: pmPath, body: other, headers: key}).want(t, 409, appwheel.EIDEMPOTENCY)
	// Keys are per app.
	e.do(e.NewApp("b"), req{method: "POST", target: pmPath, body: other, headers: key}).want(t, 200, 0)
	e.do(app, req{method: "POST", target: pmPath, body: body, headers: map[string]string{"Idempotency-Key": "ключ"}}).want(t, 400, appwheel.EINVALID)
}

func TestIdempotencyRetryAfterStripeOutage(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	body := `{"appUserId":"u1","type":"setupIntent"}`
	key := map[string]string{"Idempotency-Key": "k1"}
	e.Stripe.FailNext("CreateSetupIntent", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable; safe to retry"))
	e.do(app, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 502, appwheel.ESTRIPEUNAVAILABLE)
	// The failure was not stored: the retry runs and succeeds.
	e.do(app, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 200, 0)
}

func TestConcurrentIdempotentRequestsRunOnce(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	e.Stripe.SetDelay("CreateSetupIntent", 50_000_000) // 50 ms: the requests overlap
	body := `{"appUserId":"u1","type":"setupIntent"}`
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() {
			codes[i] = e.do(app, req{method: "POST", target: pmPath, body: body, headers: map[string]string{"Idempotency-Key": "same"}}).Code
		})
	}
	wg.Wait()
	if n := e.Stripe.Calls("CreateSetupIntent"); n != 1 {
		t.Errorf("CreateSetupIntent calls = %d, want 1", n)
	}
	for _, c := range codes {
		if c != 0 && c != appwheel.EIDEMPOTENCY {
			t.Errorf("code %d; want 0 or %d", c, appwheel.EIDEMPOTENCY)
		}
	}
}

func TestStripeErrorPassedOn(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	e.Stripe.FailNext("CreateSetupIntent", &appwheel.Error{
		Code:    appwheel.ESTRIPE,
		Message: "Your card was declined.",
		Stripe:  &appwheel.StripeErrorDetail{Type: "card_error", Code: "card_declined", DeclineCode: "insufficient_funds", HTTPStatus: 402},
	})
	r := e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`}).want(t, 402, appwheel.ESTRIPE)
	if r.Msg != "Your card was declined." || !strings.Contains(string(r.Stripe), `"declineCode":"insufficient_funds"`) {
		t.Errorf("message %q, stripe %s", r.Msg, r.Stripe)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	e.do(app, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0)
	e.raw("GET", "/nope", "", nil)
	resp, err := http.Get(e.Server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`appwheel_http_requests_total{code="0",route="GET /v1/stripe/payment-methods"} 1`,
		`appwheel_http_requests_total{code="1004",route="unmatched"} 1`,
		`appwheel_http_request_duration_seconds_bucket{route="GET /v1/stripe/payment-methods"`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestIdempotencyKeyOfADeadOwner: a key left in flight by a process that
// died (it stopped beating) is taken over within seconds, while a live
// owner's beats keep it held however long its request runs.
func TestIdempotencyKeyOfADeadOwner(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	body := `{"appUserId":"u1","type":"setupIntent"}`
	for _, tt := range []struct {
		key   string
		beats bool
	}{{"dead-owner", false}, {"live-owner", true}} {
		t.Run(tt.key, func(t *testing.T) {
			// Another process claimed the key and is (or was) running it.
			owner := &appwheel.IdempotentRequest{AppID: app.ID, Key: tt.key, RequestHash: "another process's",
				CreatedAt: e.Clock.Now(), ExpiresAt: e.Clock.Now().Add(24 * time.Hour)}
			if held, err := e.Store.BeginIdempotentRequest(t.Context(), owner, e.Clock.Now().Add(-time.Hour)); err != nil || held != nil {
				t.Fatalf("claiming the key: %v, %v", held, err)
			}
			headers := map[string]string{"Idempotency-Key": tt.key}
			e.do(app, req{method: "POST", target: pmPath, body: body, headers: headers}).want(t, 409, appwheel.EIDEMPOTENCY)
			e.Clock.Advance(10 * time.Second)
			if tt.beats {
				if err := e.Store.HeartbeatIdempotentRequest(t.Context(), owner, e.Clock.Now()); err != nil {
					t.Fatal(err)
				}
				e.do(app, req{method: "POST", target: pmPath, body: body, headers: headers}).want(t, 409, appwheel.EIDEMPOTENCY)
				return
			}
			e.do(app, req{method: "POST", target: pmPath, body: body, headers: headers}).want(t, 200, 0)
		})
	}
}

// TestIdempotentResponseSealed: the response kept for an Idempotency-Key
// carries a SetupIntent's client secret, so it is stored sealed, and
// replayed as it was sent.
func TestIdempotentResponseSealed(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	headers := map[string]string{"Idempotency-Key": "sealed-1"}
	first := e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`, headers: headers}).want(t, 200, 0)
	var setup appwheel.PaymentMethodSetup
	first.decode(t, &setup)
	if !strings.Contains(setup.ClientSecret, "_secret_") {
		t.Fatalf("setup = %+v, want a client secret", setup)
	}
	db, err := sql.Open("sqlite", e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored []byte
	if err := db.QueryRow(`SELECT body FROM idempotency_keys WHERE key = ?`, "sealed-1").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte(setup.ClientSecret)) || bytes.Contains(stored, []byte(setup.SetupIntentID)) {
		t.Error("the kept response holds the client secret in the clear")
	}
	again := e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`, headers: headers}).want(t, 200, 0)
	if string(again.Data) != string(first.Data) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed %s, want %s", again.Data, first.Data)
	}
}
