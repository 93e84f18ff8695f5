package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/crypt"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/fakestripe"
	"github.com/appwheel/appwheel/signature"
	"github.com/appwheel/appwheel/sqlite"
)

// env is a running API over a real SQLite database and the fake Stripe.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlite.DB
	apps   *apps.Service
	stripe *fakestripe.Fake
	clock  *clock // the server's clock
}

// clock is the server's clock; tests move it. Every signed request moves it
// one second on, so two identical requests never share a signature.
type clock struct{ unixNano atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.unixNano.Load()) }
func (c *clock) Advance(d time.Duration) { c.unixNano.Add(int64(d)) }

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "appwheel.db"))
	if err := db.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, _ := crypt.ParseKey(crypt.NewKey())
	box, err := crypt.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: db, stripe: fakestripe.New(), clock: &clock{}}
	e.clock.unixNano.Store(time.Now().UnixNano())
	e.apps = apps.NewService(db, box, e.clock.Now)
	api := appwheelhttp.NewServer(appwheelhttp.Config{
		Apps:    e.apps,
		Billing: billing.NewService(db, e.stripe, e.clock.Now),
		Store:   db,
		Now:     e.clock.Now,
	})
	e.srv = httptest.NewServer(api)
	t.Cleanup(e.srv.Close)
	return e
}

// newApp creates an app with its own fake Stripe account.
func (e *env) newApp(name string, redirectHosts ...string) *appwheel.App {
	e.t.Helper()
	app, err := e.apps.Create(context.Background(), apps.CreateParams{
		Name: name, Platform: "stripe", StripeSecretKey: "sk_test_" + name, RedirectHosts: redirectHosts,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return app
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
		e.clock.Advance(time.Second)
		ts = e.clock.Now().Unix()
	}
	h := map[string]string{
		signature.HeaderAppID:     app.ID,
		signature.HeaderPlatform:  app.Platform,
		signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
		signature.HeaderSignature: signature.Sign(app.Secret, ts, r.method, r.target, []byte(r.body)),
	}
	for k, v := range r.headers {
		h[k] = v
	}
	return e.raw(r.method, r.target, r.body, h)
}

// raw sends a request with exactly the given headers ("" values are left out).
func (e *env) raw(method, target, body string, headers map[string]string) response {
	e.t.Helper()
	hr, err := http.NewRequest(method, e.srv.URL+target, bytes.NewReader([]byte(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		if v != "" {
			hr.Header.Set(k, v)
		}
	}
	resp, err := e.srv.Client().Do(hr)
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
