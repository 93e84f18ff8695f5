package http_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apiref"
	"github.com/appwheel/appwheel/apiref/apireftest"
	"github.com/appwheel/appwheel/billing"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
	"github.com/appwheel/appwheel/stripe"
)

// The OpenAPI document (apiref's openapi.json) is held to the server two
// ways: its routes are the router's, and real responses validate against
// its schemas. The document's own checks, and the page /docs renders from
// it, are apiref's tests.

// oaSpec is the document under test, with the response and request
// validation these tests add.
type oaSpec struct{ *apireftest.Spec }

func oaLoadSpec(t *testing.T) *oaSpec {
	t.Helper()
	return &oaSpec{apireftest.Load(t)}
}

// oaResult is one raw HTTP exchange.
type oaResult struct {
	method, target string
	status         int
	header         http.Header
	body           []byte
}

// envelope decodes the response's envelope code.
func (r oaResult) code(t *testing.T) int {
	t.Helper()
	var env struct {
		Code *int `json:"code"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Code == nil {
		t.Fatalf("%s %s: body is not an envelope: %q", r.method, r.target, r.body)
	}
	return *env.Code
}

func (r oaResult) data(t *testing.T, v any) {
	t.Helper()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		t.Fatalf("data %s: %v", env.Data, err)
	}
}

// send makes one request. With an app it is signed, with a random
// X-AppWheel-Nonce; redirects are not followed.
func (e *env) oaSend(app *appwheel.App, method, target, body string, headers map[string]string) oaResult {
	e.t.Helper()
	hr, err := http.NewRequest(method, e.Server.URL+target, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if app != nil {
		ts := e.Clock.Now().Unix()
		nonce := make([]byte, 8)
		rand.Read(nonce)
		n := hex.EncodeToString(nonce)
		hr.Header.Set(signature.HeaderAppID, app.ID)
		hr.Header.Set(signature.HeaderPlatform, app.Platform)
		hr.Header.Set(signature.HeaderTimestamp, strconv.FormatInt(ts, 10))
		hr.Header.Set(signature.HeaderNonce, n)
		hr.Header.Set(signature.HeaderSignature, signature.Sign(app.Secret, ts, method, target, []byte(body), n))
	}
	if body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		hr.Header.Set(k, v)
	}
	client := *e.Server.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return oaResult{method: method, target: target, status: resp.StatusCode, header: resp.Header, body: b}
}

// validate checks a response against the operation (method, path
// template) in the document: its status is documented, its content type is
// one of the response's, its body validates against the schema, and the
// response's headers are present when required and valid.
func (s *oaSpec) validate(t *testing.T, path string, r oaResult) {
	t.Helper()
	op := apireftest.Ptr("paths", path, strings.ToLower(r.method))
	if s.Obj(op) == nil {
		t.Errorf("%s %s: no operation %s %s in the document", r.method, r.target, r.method, path)
		return
	}
	resp := op + apireftest.Ptr("responses", strconv.Itoa(r.status))
	if s.Obj(resp) == nil {
		t.Errorf("%s %s: HTTP %d is not documented for %s %s: %s", r.method, r.target, r.status, r.method, path, r.body)
		return
	}
	s.validateResponse(t, s.Resolve(t, resp), r)
}

// validateComponent checks a response against components.responses.name
// (the answers of no operation: 404 for no route, 405).
func (s *oaSpec) validateComponent(t *testing.T, name string, r oaResult) {
	t.Helper()
	s.validateResponse(t, apireftest.Ptr("components", "responses", name), r)
}

func (s *oaSpec) validateResponse(t *testing.T, resp string, r oaResult) {
	t.Helper()
	what := fmt.Sprintf("%s %s → HTTP %d (%s)", r.method, r.target, r.status, resp)
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s: Content-Type %q: %v", what, r.header.Get("Content-Type"), err)
		return
	}
	content := s.Obj(resp + "/content")
	if _, ok := content[mt]; !ok {
		t.Errorf("%s: Content-Type %s is not among the documented %v", what, mt, slices.Sorted(oaKeys(content)))
	}
	if mt == "application/json" {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
		if err != nil {
			t.Errorf("%s: body is not JSON: %v", what, err)
		} else if err := s.Schema(t, resp+apireftest.Ptr("content", mt, "schema")).Validate(inst); err != nil {
			t.Errorf("%s: body does not match the schema:\n%s\n%v", what, r.body, err)
		}
	}
	headers := s.Obj(resp + "/headers")
	if _, ok := headers["X-Request-Id"]; !ok {
		t.Errorf("%s: the response does not document X-Request-Id", what)
	}
	for name := range headers {
		h := s.Resolve(t, resp+apireftest.Ptr("headers", name))
		values := r.header.Values(name)
		if len(values) == 0 {
			if req, _ := s.Obj(h)["required"].(bool); req {
				t.Errorf("%s: required header %s missing", what, name)
			}
			continue
		}
		sch := s.Schema(t, h+"/schema")
		for _, v := range values {
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s: header %s: %q: %v", what, name, v, err)
			}
		}
	}
}

// validateRequest checks a request body against the operation's schema.
func (s *oaSpec) validateRequest(t *testing.T, method, path, body string) error {
	t.Helper()
	rb := s.Resolve(t, apireftest.Ptr("paths", path, strings.ToLower(method), "requestBody"))
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		return err
	}
	return s.Schema(t, rb+apireftest.Ptr("content", "application/json", "schema")).Validate(inst)
}

func oaKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// oaServerRoutes lists the routes server.go registers, read from its source:
// every s.mux.Handle / HandleFunc call. Only the catch-all (notFoundPattern,
// which answers 404 and 405) may use a non-literal pattern.
func oaServerRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := regexp.MustCompile(`s\.mux\.Handle(?:Func)?\(\s*([^,]+),`).FindAllStringSubmatch(string(src), -1)
	literal := regexp.MustCompile(`^"([A-Z]+) (/[^" ]*)"$`)
	var routes []string
	for _, c := range calls {
		arg := strings.TrimSpace(c[1])
		if m := literal.FindStringSubmatch(arg); m != nil {
			routes = append(routes, m[1]+" "+m[2])
			continue
		}
		if arg != "notFoundPattern" {
			t.Errorf("server.go registers a route with pattern %s: use a \"METHOD /path\" literal so the document can be checked against it", arg)
		}
	}
	if len(routes) < 5 {
		t.Fatalf("found only %d routes in server.go: %v", len(routes), routes)
	}
	slices.Sort(routes)
	return routes
}

func oaDiffRoutes(t *testing.T, what string, got, want []string) {
	t.Helper()
	for _, r := range got {
		if !slices.Contains(want, r) {
			t.Errorf("%s: %s is in the server but not in openapi.json", what, r)
		}
	}
	for _, r := range want {
		if !slices.Contains(got, r) {
			t.Errorf("%s: %s is in openapi.json but not in the server", what, r)
		}
	}
}

func TestOpenAPIRoutesAreTheServers(t *testing.T) {
	s := oaLoadSpec(t)
	specOps := s.Operations()

	// 1. The source: the routes server.go registers.
	oaDiffRoutes(t, "server.go", oaServerRoutes(t), specOps)

	// 2. The running router: every document path is probed with each
	// method, unauthenticated. A method the path does not serve is 405 with
	// an Allow header naming those it does; a path the router does not know
	// is 404 "no route" for every method. The server runs the hosted
	// billing page, so that it has every route.
	e := newPortalEnv(t)
	fill := strings.NewReplacer("{methodId}", "pm_probe1", "{appId}", "app_probe", "{token}", "probe.token")
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	var served []string
	for path := range s.Obj("/paths") {
		target := fill.Replace(path)
		var registered, allow []string
		noRoute := 0
		for _, m := range methods {
			r := e.oaSend(nil, m, target, "", nil)
			switch {
			case r.status == http.StatusMethodNotAllowed:
				allow = r.header.Values("Allow")
				s.validateComponent(t, "MethodNotAllowed", r)
			case r.status == http.StatusNotFound && strings.Contains(string(r.body), `"no route `):
				noRoute++
			default:
				registered = append(registered, m)
			}
		}
		if noRoute == len(methods) {
			continue // the router does not know the path at all
		}
		if noRoute > 0 {
			t.Errorf("%s: some methods answer no route, others do not", path)
		}
		if allow != nil && !slices.Equal(allow, registered) {
			t.Errorf("%s: Allow %v but methods answered %v", path, allow, registered)
		}
		for _, m := range registered {
			served = append(served, m+" "+path)
			if m == "GET" {
				if r := e.oaSend(nil, "HEAD", target, "", nil); r.status == http.StatusMethodNotAllowed {
					t.Errorf("HEAD %s: 405, but GET routes answer HEAD", target)
				}
			}
		}
	}
	slices.Sort(served)
	oaDiffRoutes(t, "router", served, specOps)
}

// TestOpenAPIResponsesMatchSchemas drives every operation through its
// success and the errors it can be made to answer, and validates each
// response against the document.
func TestOpenAPIResponsesMatchSchemas(t *testing.T) {
	s := oaLoadSpec(t)
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	const (
		pm      = "/v1/stripe/payment-methods"
		pmOne   = "/v1/stripe/payment-methods/{methodId}"
		pmDef   = "/v1/stripe/payment-methods/{methodId}/default"
		inv     = "/v1/stripe/invoices"
		subs    = "/v1/stripe/subscriptions"
		hook    = "/v1/stripe/webhooks/{appId}"
		link    = "/invoice-links/{token}"
		checkPM = `{"appUserId":"u1","type":"checkout","successUrl":"https://shop.example.com/ok","cancelUrl":"https://shop.example.com/cancel"}`
	)
	covered := map[string]bool{}
	// expect checks a response's status and envelope code and validates it
	// against the operation at path.
	expect := func(path string, r oaResult, status, code int) oaResult {
		t.Helper()
		if r.status != status {
			t.Fatalf("%s %s: HTTP %d, want %d: %s", r.method, r.target, r.status, status, r.body)
		}
		if code >= 0 {
			if got := r.code(t); got != code {
				t.Fatalf("%s %s: code %d, want %d: %s", r.method, r.target, got, code, r.body)
			}
		}
		s.validate(t, path, r)
		covered[fmt.Sprintf("%s %s %d", r.method, path, status)] = true
		return r
	}
	body := func(path, method, b string, valid bool) string {
		t.Helper()
		if err := s.validateRequest(t, method, path, b); (err == nil) != valid {
			t.Errorf("%s %s body %s: schema says valid=%v (%v), want %v", method, path, b, err == nil, err, valid)
		}
		return b
	}

	// createPaymentMethod.
	var setup appwheel.PaymentMethodSetup
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", checkPM, true), nil), 200, 0).data(t, &setup)
	if setup.CheckoutURL == "" || setup.SetupIntentID != "" {
		t.Errorf("checkout setup = %+v", setup)
	}
	key := map[string]string{"Idempotency-Key": "openapi-1"}
	si := body(pm, "POST", `{"appUserId":"u1","type":"setupIntent"}`, true)
	expect(pm, e.oaSend(app, "POST", pm, si, key), 200, 0)
	replay := expect(pm, e.oaSend(app, "POST", pm, si, key), 200, 0)
	if replay.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed: true")
	}
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", `{"appUserId":"u2","type":"setupIntent"}`, true), key), 409, appwheel.EIDEMPOTENCY)
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", `{"appUserID":"u1","type":"setupIntent"}`, false), nil), 400, appwheel.EINVALID)
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", `{"appUserId":"u1","type":"checkout"}`, false), nil), 400, appwheel.EINVALID)
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", `{"appUserId":"","type":"setupIntent"}`, false), nil), 400, appwheel.EINVALID)
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", `{"appUserId":"u\u0001","type":"setupIntent"}`, false), nil), 400, appwheel.EINVALID)
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", `{"appUserId":"`+strings.Repeat("é", 129)+`","type":"setupIntent"}`, false), nil), 400, appwheel.EINVALID)
	body(pm, "POST", `{"appUserId":"`+strings.Repeat("é", 128)+`","type":"setupIntent"}`, true)
	expect(pm, e.oaSend(app, "POST", pm, body(pm, "POST", `{"appUserId":"u1","type":"checkout","successUrl":"https://evil.example.net/ok","cancelUrl":"https://shop.example.com/c"}`, true), nil), 403, appwheel.EFORBIDDEN)
	expect(pm, e.oaSend(app, "POST", pm, `{"appUserId":"`+strings.Repeat("a", appwheelhttp.MaxBodyBytes)+`"}`, nil), 413, appwheel.EINVALID)
	expect(pm, e.oaSend(nil, "POST", pm, si, nil), 401, appwheel.EUNAUTHENTICATED)
	e.Stripe.FailNext("CreateSetupIntent", &appwheel.Error{Code: appwheel.ESTRIPE, Message: "Your card was declined.",
		Stripe: &appwheel.StripeErrorDetail{Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline", HTTPStatus: 402}})
	expect(pm, e.oaSend(app, "POST", pm, si, nil), 402, appwheel.ESTRIPE)
	e.Stripe.FailNext("CreateSetupIntent", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable; safe to retry"))
	expect(pm, e.oaSend(app, "POST", pm, si, nil), 502, appwheel.ESTRIPEUNAVAILABLE)

	// paymentMethod.
	var empty appwheel.PaymentMethodList
	expect(pm, e.oaSend(app, "GET", pm+"?appUserId=nobody", "", nil), 200, 0).data(t, &empty)
	if len(empty.Methods) != 0 || empty.DefaultMethodID != "" {
		t.Errorf("a user without a customer: %+v", empty)
	}
	cus := e.Customer(app, "u1")
	older := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	newer := e.Stripe.AttachCard(app.Stripe, cus, "mastercard", "4444")
	sub := e.Stripe.AddSubscription(app.Stripe, cus, appwheel.Subscription{PriceID: "price_monthly", Interval: "month", IntervalCount: 3, CurrentPeriodEnd: e.Clock.Now().Unix() + 86400})
	var list appwheel.PaymentMethodList
	expect(pm, e.oaSend(app, "GET", pm+"?appUserId=u1", "", nil), 200, 0).data(t, &list)
	if len(list.Methods) != 2 {
		t.Errorf("methods = %d, want 2", len(list.Methods))
	}
	expect(pm, e.oaSend(app, "GET", pm+"?appUserId=u1&user=2", "", nil), 400, appwheel.EINVALID)
	expect(pm, e.oaSend(app, "GET", pm, "", nil), 400, appwheel.EINVALID)

	// setDefaultPaymentMethod.
	def := body(pmDef, "POST", `{"appUserId":"u1"}`, true)
	expect(pmDef, e.oaSend(app, "POST", pm+"/"+older.ID+"/default", def, map[string]string{"Idempotency-Key": "def-1"}), 200, 0)
	expect(pmDef, e.oaSend(app, "POST", pm+"/"+older.ID+"/default", body(pmDef, "POST", `{"appUserId":"u1","force":true}`, false), nil), 400, appwheel.EINVALID)
	expect(pmDef, e.oaSend(app, "POST", pm+"/"+older.ID+"/default", body(pmDef, "POST", `{"appUserId":"u2"}`, true), nil), 404, appwheel.ENOTFOUND)
	expect(pmDef, e.oaSend(app, "POST", pm+"/in_1/default", def, nil), 400, appwheel.EINVALID)

	// removePaymentMethod.
	var removed appwheel.RemovedPaymentMethod
	expect(pmOne, e.oaSend(app, "DELETE", pm+"/"+older.ID+"?appUserId=u2", "", nil), 404, appwheel.ENOTFOUND)
	expect(pmOne, e.oaSend(app, "DELETE", pm+"/"+older.ID+"?appUserId=u1&force=maybe", "", nil), 400, appwheel.EINVALID)
	expect(pmOne, e.oaSend(app, "DELETE", pm+"/"+older.ID+"?appUserId=u1", "", nil), 200, 0).data(t, &removed)
	if removed.NewDefaultMethodID != newer.ID {
		t.Errorf("removed = %+v, want %s promoted", removed, newer.ID)
	}
	expect(pmOne, e.oaSend(app, "DELETE", pm+"/"+newer.ID+"?appUserId=u1", "", nil), 409, appwheel.ELASTMETHOD)
	expect(pmOne, e.oaSend(app, "DELETE", pm+"/"+newer.ID+"?appUserId=u1&force=true", "", map[string]string{"Idempotency-Key": "rm-1"}), 200, 0)
	expect(pmOne, e.oaSend(app, "DELETE", pm+"/"+newer.ID+"?appUserId=u1", "", map[string]string{"Idempotency-Key": "rm-1"}), 409, appwheel.EIDEMPOTENCY)

	// invoices: a subscription invoice, paid, and a one-off draft.
	now := e.Clock.Now().Unix()
	e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{
		CustomerID: cus, SubscriptionID: sub.ID, PriceID: "price_monthly", Number: "ABC-0001", Status: "paid",
		CustomerEmail: "u1@example.com", InvoicePDF: "https://pay.stripe.com/invoice/acct_1/in_x/pdf",
		HostedInvoiceURL: "https://invoice.stripe.com/i/acct_1/in_x", AmountDue: 1999, AmountPaid: 1999, Currency: "usd",
		Created: now - 100, PeriodStart: now - 100, PeriodEnd: now - 100, PaidAt: now - 90,
	})
	e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: cus, Status: "draft", Currency: "usd", AmountDue: 500, Created: now - 50})
	var orders appwheel.OrderList
	expect(inv, e.oaSend(app, "GET", inv+"?appUserId=u1", "", nil), 200, 0).data(t, &orders)
	if len(orders.Invoices) != 2 || orders.Invoices[1].ProductPeriod != "P3M" || orders.Invoices[1].OrderStatus != 1 {
		t.Errorf("orders = %+v", orders)
	}
	var page appwheel.OrderList
	expect(inv, e.oaSend(app, "GET", inv+"?appUserId=u1&limit=1", "", nil), 200, 0).data(t, &page)
	expect(inv, e.oaSend(app, "GET", inv+"?appUserId=u1&limit=1&startingAfter="+page.Invoices[0].OrderID, "", nil), 200, 0)
	expect(inv, e.oaSend(app, "GET", inv+"?appUserId=u1&limit=0", "", nil), 400, appwheel.EINVALID)
	expect(inv, e.oaSend(app, "GET", inv+"?appUserId=u1&startingAfter=pm_1", "", nil), 400, appwheel.EINVALID)

	// subscriptions.
	expect(subs, e.oaSend(app, "GET", subs+"?appUserId=u1", "", nil), 200, 0)
	expect(subs, e.oaSend(app, "GET", subs+"?appUserId=nobody", "", nil), 200, 0)
	expect(subs, e.oaSend(app, "GET", subs, "", nil), 400, appwheel.EINVALID)

	// linkCustomer.
	const links = "/v1/stripe/customer-links"
	existing := e.Stripe.AddExistingCustomer(app.Stripe, nil).ID
	linkBody := body(links, "POST", `{"appUserId":"old1","customerId":"`+existing+`"}`, true)
	expect(links, e.oaSend(app, "POST", links, linkBody, nil), 200, 0)
	expect(links, e.oaSend(app, "POST", links, body(links, "POST", `{"appUserId":"old2","customerId":"`+existing+`"}`, true), nil), 409, appwheel.ECONFLICT)
	expect(links, e.oaSend(app, "POST", links, body(links, "POST", `{"appUserId":"old2","customerId":"cus_nope"}`, true), nil), 404, appwheel.ENOTFOUND)
	expect(links, e.oaSend(app, "POST", links, body(links, "POST", `{"appUserId":"old2","customerId":"pm_1"}`, false), nil), 400, appwheel.EINVALID)

	// createPortalSession, on a server that runs the hosted billing page;
	// on one that does not, the route does not exist.
	const portalSessions = "/v1/stripe/portal-sessions"
	pe := newPortalEnv(t)
	papp := pe.NewApp("p", "shop.example.com")
	portalBody := body(portalSessions, "POST", `{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"zh-CN"}`, true)
	expect(portalSessions, pe.oaSend(papp, "POST", portalSessions, portalBody, nil), 200, 0)
	expect(portalSessions, pe.oaSend(papp, "POST", portalSessions, body(portalSessions, "POST", `{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"fr"}`, false), nil), 400, appwheel.EINVALID)
	expect(portalSessions, pe.oaSend(papp, "POST", portalSessions, body(portalSessions, "POST", `{"appUserId":"u1","returnUrl":"https://evil.example.net/account"}`, true), nil), 403, appwheel.EFORBIDDEN)
	expect(portalSessions, e.oaSend(app, "POST", portalSessions, portalBody, nil), 404, appwheel.ENOTFOUND)

	// startCustomerImport and customerImportStatus, on a server whose
	// billing hands imports to a queue, as serve's hands them to its jobs.
	const (
		imports = "/v1/stripe/customer-imports"
		latest  = "/v1/stripe/customer-imports/latest"
	)
	ie, _ := e.withImportQueue()
	expect(latest, ie.oaSend(app, "GET", latest, "", nil), 404, appwheel.ENOTFOUND)
	importKey := map[string]string{"Idempotency-Key": "import-1"}
	pairs := body(imports, "POST", `{"pairs":[{"appUserId":"old3","customerId":"`+existing+`"}],"dryRun":true}`, true)
	var started importStatus
	expect(imports, ie.oaSend(app, "POST", imports, pairs, importKey), 200, 0).data(t, &started)
	expect(imports, ie.oaSend(app, "POST", imports, pairs, importKey), 200, 0)
	expect(imports, ie.oaSend(app, "POST", imports, body(imports, "POST", `{"metadataKey":"user_id"}`, true), importKey), 409, appwheel.EIDEMPOTENCY)
	expect(imports, ie.oaSend(app, "POST", imports, body(imports, "POST", `{"metadataKey":"user_id","pairs":[{"appUserId":"u","customerId":"cus_1"}]}`, false), nil), 400, appwheel.EINVALID)
	expect(imports, ie.oaSend(app, "POST", imports, body(imports, "POST", `{"dryRun":true}`, false), nil), 400, appwheel.EINVALID)
	expect(imports, ie.oaSend(app, "POST", imports, body(imports, "POST", `{"pairs":[{"appUserId":"u","customerId":"cus_1","email":"x"}]}`, false), nil), 400, appwheel.EINVALID)
	body(imports, "POST", `{"metadataKey":"`+strings.Repeat("k", 41)+`"}`, false)
	body(imports, "POST", `{"pairs":[]}`, false)
	var status importStatus
	expect(latest, ie.oaSend(app, "GET", latest, "", nil), 200, 0).data(t, &status)
	if status.ImportID != started.ImportID || !status.DryRun || status.Seen != 1 {
		t.Errorf("latest import = %+v, want %s, a dry run of 1 pair", status, started.ImportID)
	}
	expect(latest, ie.oaSend(app, "GET", latest+"?importId="+started.ImportID, "", nil), 400, appwheel.EINVALID)

	// A user whose Stripe customer was deleted at Stripe: reads are empty,
	// and the next createPaymentMethod gives the user a new customer.
	expect(pm, e.oaSend(app, "POST", pm, `{"appUserId":"gone","type":"setupIntent"}`, nil), 200, 0)
	deleted := e.Customer(app, "gone")
	e.Stripe.DeleteCustomer(app.Stripe, deleted)
	expect(pm, e.oaSend(app, "GET", pm+"?appUserId=gone", "", nil), 200, 0)
	expect(inv, e.oaSend(app, "GET", inv+"?appUserId=gone", "", nil), 200, 0)
	expect(subs, e.oaSend(app, "GET", subs+"?appUserId=gone", "", nil), 200, 0)
	expect(pm, e.oaSend(app, "POST", pm, `{"appUserId":"gone","type":"setupIntent"}`, nil), 200, 0)
	if renewed := e.Customer(app, "gone"); renewed == deleted {
		t.Errorf("customer after deletion = %s, want a new one", renewed)
	}

	// Authentication failures and a platform mismatch.
	expect(subs, e.oaSend(nil, "GET", subs+"?appUserId=u1", "", map[string]string{signature.HeaderAppID: app.ID, signature.HeaderPlatform: "stripe"}), 401, appwheel.EUNAUTHENTICATED)
	expect(subs, e.oaSend(app, "GET", subs+"?appUserId=u1", "", map[string]string{signature.HeaderPlatform: "apple"}), 403, appwheel.EFORBIDDEN)

	// Webhooks.
	m := e.NewMirrorApp("m")
	event := apitest.StripeEvent(t, "evt_1OpenAPIdoc", "payment_method.attached", e.Clock.Now().Unix(),
		cardObject("pm_1Foreign", "cus_foreign", now, "visa", "4242"), nil)
	hookHeaders := func(sig string) map[string]string { return map[string]string{"Stripe-Signature": sig} }
	expect(hook, e.oaSend(nil, "POST", "/v1/stripe/webhooks/"+m.ID, string(event), hookHeaders(signNow(event, m.Stripe.WebhookSecret))), 200, 0)
	var receipt received
	expect(hook, e.oaSend(nil, "POST", "/v1/stripe/webhooks/"+m.ID, string(event), hookHeaders(signNow(event, m.Stripe.WebhookSecret))), 200, 0).data(t, &receipt)
	if !receipt.Duplicate {
		t.Errorf("redelivery: %+v, want duplicate", receipt)
	}
	expect(hook, e.oaSend(nil, "POST", "/v1/stripe/webhooks/"+m.ID, string(event), hookHeaders("t=1,v1=00")), 400, appwheel.EINVALID)
	expect(hook, e.oaSend(nil, "POST", "/v1/stripe/webhooks/"+m.ID, string(event), nil), 400, appwheel.EINVALID)
	expect(hook, e.oaSend(nil, "POST", "/v1/stripe/webhooks/app_nope", string(event), hookHeaders(signNow(event, m.Stripe.WebhookSecret))), 404, appwheel.ENOTFOUND)
	expect(hook, e.oaSend(nil, "POST", "/v1/stripe/webhooks/"+m.ID, strings.Repeat(" ", appwheelhttp.MaxBodyBytes+1), nil), 413, appwheel.EINVALID)

	// Invoice links: a server whose billing signs them, over the same
	// database and fake Stripe; a mirror app's user synced on first read.
	le := e.oaWithInvoiceLinks()
	lm := e.NewMirrorApp("links")
	lcus := e.Stripe.AddCustomer(lm.Stripe, lm.ID, "u1")
	if _, err := e.Store.PutCustomer(context.Background(), lm.ID, "u1", lcus.ID, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	pdf := "https://pay.stripe.com/invoice/acct_1/in_links/pdf"
	e.Stripe.AddInvoice(lm.Stripe, appwheel.Invoice{CustomerID: lcus.ID, Status: "open", Number: "L-1", Currency: "eur",
		AmountDue: 700, InvoicePDF: pdf, HostedInvoiceURL: "https://invoice.stripe.com/i/acct_1/in_links"})
	var linked appwheel.OrderList
	expect(inv, le.oaSend(lm, "GET", inv+"?appUserId=u1", "", nil), 200, 0).data(t, &linked)
	if len(linked.Invoices) != 1 || !strings.HasPrefix(linked.Invoices[0].InvoicePDF, oaLinkBase+"/invoice-links/") {
		t.Fatalf("mirrored invoices = %+v, want one with an invoice link", linked)
	}
	follow := strings.TrimPrefix(linked.Invoices[0].InvoicePDF, oaLinkBase)
	if r := expect(link, le.oaSend(nil, "GET", follow, "", nil), 302, -1); r.header.Get("Location") != pdf {
		t.Errorf("Location = %q, want %q", r.header.Get("Location"), pdf)
	}
	expect(link, le.oaSend(nil, "GET", follow+"x", "", nil), 404, appwheel.ENOTFOUND)
	expect(link, e.oaSend(nil, "GET", "/invoice-links/bogus", "", nil), 404, appwheel.ENOTFOUND)

	// Operations and documentation.
	expect("/healthz", e.oaSend(nil, "GET", "/healthz", "", nil), 200, 0)
	expect("/readyz", e.oaSend(nil, "GET", "/readyz", "", nil), 200, 0)
	expect("/metrics", e.oaSend(nil, "GET", "/metrics", "", nil), 200, -1)
	spec := expect("/openapi.json", e.oaSend(nil, "GET", "/openapi.json", "", nil), 200, -1)
	if spec.header.Get("Content-Type") != "application/json" || !bytes.Equal(spec.body, s.Raw) {
		t.Errorf("/openapi.json: Content-Type %q, %d bytes; want application/json and openapi.json's %d bytes",
			spec.header.Get("Content-Type"), len(spec.body), len(s.Raw))
	}
	expect("/docs", e.oaSend(nil, "GET", "/docs", "", nil), 200, -1)

	// The router's own answers: no route, and a method the path does not serve.
	for _, target := range []string{"/nope", "/v1/stripe/orders", "//v1/stripe/invoices"} {
		r := e.oaSend(app, "GET", target, "", nil)
		if r.status != 404 || r.code(t) != appwheel.ENOTFOUND {
			t.Errorf("GET %s: HTTP %d: %s", target, r.status, r.body)
		}
		s.validateComponent(t, "NotFound", r)
	}
	r := e.oaSend(app, "PUT", pm, "", nil)
	if r.status != 405 || r.code(t) != appwheel.EINVALID {
		t.Errorf("PUT %s: HTTP %d: %s", pm, r.status, r.body)
	}
	s.validateComponent(t, "MethodNotAllowed", r)

	// Rate limited: 429 with Retry-After.
	limited := &env{Env: apitest.New(t, func(c *appwheelhttp.Config) { c.RateLimit, c.RateBurst = 0.001, 1 }), t: t}
	la := limited.NewApp("r")
	expect(subs, limited.oaSend(la, "GET", subs+"?appUserId=u1", "", nil), 200, 0)
	expect(subs, limited.oaSend(la, "GET", subs+"?appUserId=u1", "", nil), 429, appwheel.ERATELIMITED)

	// Not ready: the database is closed.
	down := newEnv(t)
	down.Store.Close()
	expect("/readyz", down.oaSend(nil, "GET", "/readyz", "", nil), 503, appwheel.EINTERNAL)

	// Every operation's success was seen.
	for _, op := range s.Operations() {
		method, path, _ := strings.Cut(op, " ")
		if !covered[method+" "+path+" 200"] && !covered[method+" "+path+" 302"] {
			t.Errorf("%s: no successful response was validated", op)
		}
	}
}

// oaLinkBase is the public URL invoice links are made with in these tests.
const oaLinkBase = "https://appwheel.example"

// oaWithInvoiceLinks starts a second server over e's database, apps and fake
// Stripe whose billing hands out invoice links.
func (e *env) oaWithInvoiceLinks() *env {
	e.t.Helper()
	b := billing.New(billing.Config{
		Store: e.Store, Stripe: e.Stripe, Apps: e.Apps, DecodeEvent: stripe.DecodeEvent, Now: e.Clock.Now,
		BackgroundRate: 1000, LinkBaseURL: oaLinkBase, LinkKey: []byte("openapi-test-link-key-0123456789"),
	})
	srv := httptest.NewServer(appwheelhttp.NewServer(appwheelhttp.Config{
		Apps: e.Apps, Billing: b, Store: e.Store, Now: e.Clock.Now,
	}))
	e.t.Cleanup(srv.Close)
	cp := *e.Env
	cp.Server = srv
	return &env{Env: &cp, t: e.t}
}

// TestDocsServed: the server answers GET /openapi.json and GET /docs
// with apiref's document and page and their headers, through all its
// middleware, and HEAD with the headers alone.
func TestDocsServed(t *testing.T) {
	s := oaLoadSpec(t)
	e := newEnv(t)
	page, err := apiref.DocsPage()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target string
		body   []byte
		ctype  string
		csp    bool
	}{
		{"/openapi.json", s.Raw, "application/json", false},
		{"/docs", page, "text/html; charset=utf-8", true},
	} {
		for _, method := range []string{"GET", "HEAD"} {
			r := e.oaSend(nil, method, c.target, "", nil)
			want := c.body
			if method == "HEAD" {
				want = nil
			}
			if r.status != 200 || !bytes.Equal(r.body, want) {
				t.Errorf("%s %s: HTTP %d, %d bytes; want 200 and %d bytes", method, c.target, r.status, len(r.body), len(want))
			}
			if got := r.header.Get("Content-Type"); got != c.ctype {
				t.Errorf("%s %s: Content-Type %q, want %q", method, c.target, got, c.ctype)
			}
			if got := r.header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("%s %s: Cache-Control %q, want no-cache", method, c.target, got)
			}
			if csp := r.header.Get("Content-Security-Policy"); c.csp && !strings.HasPrefix(csp, "default-src 'none';") {
				t.Errorf("%s %s: Content-Security-Policy %q, want default-src 'none'", method, c.target, csp)
			}
			if c.csp && r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s %s: no X-Content-Type-Options: nosniff", method, c.target)
			}
		}
	}
}
