package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel/sandbox"
)

// start is the fake real clock of the tests: Config.Now.
var start = time.Date(2026, time.January, 31, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// env is a sandbox served by an httptest.Server, with BaseURL set to it.
type env struct {
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	clock *fakeClock
}

// newEnv starts a sandbox; edit adjusts its Config (BaseURL and Now are
// set first). The sandbox is closed when the test ends.
func newEnv(t *testing.T, edit ...func(*sandbox.Config)) *env {
	t.Helper()
	e := &env{clock: &fakeClock{now: start}}
	// Every answer and webhook delivery is validated against Stripe's
	// OpenAPI spec (openapi_test.go).
	schemas := specSchemas(t)
	e.srv = httptest.NewServer(checkAnswers(t, schemas, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.sb.ServeHTTP(w, r) })))
	t.Cleanup(e.srv.Close)
	checkedServers.Store(e.srv.URL, true)
	t.Cleanup(func() { checkedServers.Delete(e.srv.URL) })
	cfg := sandbox.Config{BaseURL: e.srv.URL, Now: e.clock.Now, WebhookRetryBase: 5 * time.Millisecond}
	for _, f := range edit {
		f(&cfg)
	}
	cfg.HTTPClient = checkDeliveries(t, schemas, cfg.HTTPClient)
	e.sb = sandbox.New(cfg)
	if err := e.sb.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sb.Close() })
	return e
}

// answer is an API answer.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body into a generic map.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, a.Body)
	}
	return m
}

// errorField returns error.<field> of an error answer.
func (a answer) errorField(t *testing.T, field string) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	s, _ := e[field].(string)
	return s
}

// call sends a request to the sandbox with key as Bearer auth; for POST
// the params are the form body, otherwise the query. header adds headers.
// A secret key is issued first (keys), so that tests name their accounts;
// do sends with a key as it is.
func (e *env) call(t *testing.T, key, method, path string, params url.Values, header ...string) answer {
	t.Helper()
	if strings.HasPrefix(key, "sk_test_") {
		e.keys(t, key)
	}
	return do(t, e.srv.URL, key, method, path, params, header...)
}

// keys issues the account of secret key (idempotent) and returns its keys.
func (e *env) keys(t *testing.T, secret string) sandbox.Keys {
	t.Helper()
	k, err := e.sb.Issue(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func do(t *testing.T, base, key, method, path string, params url.Values, header ...string) answer {
	t.Helper()
	var body io.Reader
	target := base + path
	if method == http.MethodPost {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkOtherAnswer(t, base, res, b)
	return answer{Status: res.StatusCode, Header: res.Header, Body: b}
}

// mustCall is call that fails the test unless the answer is want.
func (e *env) mustCall(t *testing.T, want int, key, method, path string, params url.Values, header ...string) map[string]any {
	t.Helper()
	a := e.call(t, key, method, path, params, header...)
	if a.Status != want {
		t.Fatalf("%s %s: got status %d, want %d: %s", method, path, a.Status, want, a.Body)
	}
	return a.json(t)
}

// client is a stripe-go client of the sandbox for key.
func (e *env) client(key string) *stripe.Client {
	return stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(e.srv.URL),
		HTTPClient:        e.srv.Client(),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
}

// vals builds url.Values from key, value pairs.
func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// str reads a string at a dotted path of a decoded JSON object.
func str(m map[string]any, path string) string {
	v := get(m, path)
	s, _ := v.(string)
	return s
}

// get reads a dotted path of a decoded JSON object; numeric segments index
// arrays.
func get(m map[string]any, path string) any {
	var cur any = m
	for _, seg := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[seg]
		case []any:
			i := 0
			for _, ch := range seg {
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// num reads a number at a dotted path.
func num(m map[string]any, path string) int64 {
	f, _ := get(m, path).(float64)
	return int64(f)
}

// customerWithCard makes a customer with a card attached through a
// confirmed setup intent of token, set as the invoice default. It returns
// the customer and payment method IDs.
func (e *env) customerWithCard(t *testing.T, key, token string) (string, string) {
	t.Helper()
	cus := e.mustCall(t, 200, key, "POST", "/v1/customers", vals("email", "jenny@example.com", "metadata[appwheel_app_user_id]", "u1"))
	cid := str(cus, "id")
	si := e.mustCall(t, 200, key, "POST", "/v1/setup_intents", vals("customer", cid, "payment_method_types[0]", "card"))
	si = e.mustCall(t, 200, key, "POST", "/v1/setup_intents/"+str(si, "id")+"/confirm", vals("payment_method", token))
	pmID := str(si, "payment_method")
	e.mustCall(t, 200, key, "POST", "/v1/customers/"+cid, vals("invoice_settings[default_payment_method]", pmID))
	return cid, pmID
}

// price makes a monthly price of 999 usd with lookup key lk.
func (e *env) price(t *testing.T, key, lk string) string {
	t.Helper()
	id, err := e.sb.EnsurePrice(key, sandbox.PriceSpec{LookupKey: lk, ProductName: "Pro", Currency: "usd", Interval: "month", IntervalCount: 1, UnitAmount: 999})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// readBody reads and closes a response body.
func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sandboxPriceSpec(lookupKey, interval string, count, amount int64) sandbox.PriceSpec {
	return sandbox.PriceSpec{LookupKey: lookupKey, ProductName: "Plan " + lookupKey, Currency: "usd", Interval: interval, IntervalCount: count, UnitAmount: amount}
}
