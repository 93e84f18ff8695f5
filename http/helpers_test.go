package http_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
)

// env is a running API over a real SQLite database and the fake Stripe.
type env struct {
	*apitest.Env
	t *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{Env: apitest.New(t), t: t}
}

// response is a decoded envelope.
type response struct {
	Status int
	Header http.Header
	Code   int             `json:"code"`
	Data   json.RawMessage `json:"data"`
	Msg    string          `json:"message"`
	Stripe json.RawMessage `json:"stripe"`
}

// req describes one request; sign controls how it is authenticated.
type req struct {
	method, target string
	body           string
	headers        map[string]string
	ts             int64 // signature timestamp; 0 means the server's now
}

// do sends r signed with app's secret.
func (e *env) do(app *appwheel.App, r req) response {
	e.t.Helper()
	ts := r.ts
	if ts == 0 {
		e.Clock.Advance(time.Second)
		ts = e.Clock.Now().Unix()
	}
	// Writes must carry a nonce (README, "Authentication"); one given in
	// r.headers is the one signed.
	nonce := r.headers[signature.HeaderNonce]
	if nonce == "" && r.method != http.MethodGet {
		nonce = rand.Text()
	}
	h := map[string]string{
		signature.HeaderAppID:     app.ID,
		signature.HeaderPlatform:  app.Platform,
		signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
		signature.HeaderNonce:     nonce,
		signature.HeaderSignature: signature.Sign(app.Secret, ts, r.method, r.target, []byte(r.body), nonce),
	}
	for k, v := range r.headers {
		h[k] = v
	}
	return e.raw(r.method, r.target, r.body, h)
}

// raw sends a request with exactly the given headers ("" values are left
// out), and, with a body, Content-Type application/json as the SDKs send
// it unless headers name a Content-Type ("" for none).
func (e *env) raw(method, target, body string, headers map[string]string) response {
	e.t.Helper()
	hr, err := http.NewRequest(method, e.Server.URL+target, bytes.NewReader([]byte(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, named := headers["Content-Type"]; body != "" && !named {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v != "" {
			hr.Header.Set(k, v)
		}
	}
	resp, err := e.Server.Client().Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(data, &out); err != nil {
		e.t.Fatalf("%s %s: body is not an envelope: %q", method, target, data)
	}
	return out
}

// want checks a response's status and code.
func (r response) want(t *testing.T, status, code int) response {
	t.Helper()
	if r.Status != status || r.Code != code {
		t.Fatalf("got HTTP %d code %d (%q), want HTTP %d code %d", r.Status, r.Code, r.Msg, status, code)
	}
	if code != 0 && string(r.Data) != "null" {
		t.Errorf("failure data = %s, want null", r.Data)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id header")
	}
	return r
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decoding data %s: %v", r.Data, err)
	}
}
