package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/portal"
)

// The hosted billing page's API side: createPortalSession, and the page's
// routes served, measured and logged by the API's middleware.

const (
	portalSessionsPath = "/v1/stripe/portal-sessions"
	// portalBase is the public URL the portal's links are made with in
	// these tests; they are followed on the test server by their path.
	portalBase = "https://billing.example.test"
)

// newPortalEnv is an API serving the hosted billing page, its links under
// portalBase. configure adjusts the config further.
func newPortalEnv(t *testing.T, configure ...func(*appwheelhttp.Config)) *env {
	t.Helper()
	withPortal := func(c *appwheelhttp.Config) {
		p, err := portal.New(portal.Config{
			Billing: c.Billing, Apps: c.Apps, Key: bytes.Repeat([]byte{9}, 32), BaseURL: portalBase, Now: c.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Portal = p
	}
	return &env{Env: apitest.New(t, append([]func(*appwheelhttp.Config){withPortal}, configure...)...), t: t}
}

// portalToken is the token of a session link, which must be under portalBase.
func portalToken(t *testing.T, s portal.Session) string {
	t.Helper()
	token, ok := strings.CutPrefix(s.URL, portalBase+"/portal/")
	if !ok || token == "" || strings.ContainsAny(token, "/?#") {
		t.Fatalf("url = %q, want %s/portal/{token}", s.URL, portalBase)
	}
	return token
}

func TestCreatePortalSession(t *testing.T) {
	e := newPortalEnv(t)
	app := e.NewApp("a", "shop.example.com")
	for _, locale := range []string{"", "en", "zh-CN"} {
		t.Run("locale="+locale, func(t *testing.T) {
			body := `{"appUserId":"u1","returnUrl":"https://shop.example.com/account"}`
			if locale != "" {
				body = `{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"` + locale + `"}`
			}
			r := e.do(app, req{method: "POST", target: portalSessionsPath, body: body}).want(t, 200, 0)
			var s portal.Session
			r.decode(t, &s)
			portalToken(t, s)
			var fields map[string]json.RawMessage
			r.decode(t, &fields)
			if len(fields) != 2 {
				t.Errorf("data = %s, want exactly url and expiresAt", r.Data)
			}
			// expiresAt: Unix seconds as a string, 5 minutes from the server's now.
			exp, err := strconv.ParseInt(s.ExpiresAt, 10, 64)
			if err != nil {
				t.Fatalf("expiresAt = %q, want a string of Unix seconds", s.ExpiresAt)
			}
			if ahead := time.Unix(exp, 0).Sub(e.Clock.Now()); ahead < 5*time.Minute-2*time.Second || ahead > 5*time.Minute {
				t.Errorf("expiresAt is %v ahead, want about 5 minutes", ahead)
			}
		})
	}

	// Every call is a new link; with an Idempotency-Key a retry gets the
	// first one again.
	body := `{"appUserId":"u2","returnUrl":"https://shop.example.com/account"}`
	var s1, s2, s3 portal.Session
	key := map[string]string{"Idempotency-Key": "portal-1"}
	e.do(app, req{method: "POST", target: portalSessionsPath, body: body, headers: key}).want(t, 200, 0).decode(t, &s1)
	replay := e.do(app, req{method: "POST", target: portalSessionsPath, body: body, headers: key}).want(t, 200, 0)
	replay.decode(t, &s2)
	e.do(app, req{method: "POST", target: portalSessionsPath, body: body}).want(t, 200, 0).decode(t, &s3)
	if s2 != s1 || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %+v (Idempotent-Replayed %q), want %+v again", s2, replay.Header.Get("Idempotent-Replayed"), s1)
	}
	if portalToken(t, s3) == portalToken(t, s1) {
		t.Error("two sessions share a token")
	}

	// An app that lists no redirect hosts takes any http(s) returnUrl.
	open := e.NewApp("open")
	e.do(open, req{method: "POST", target: portalSessionsPath, body: `{"appUserId":"u1","returnUrl":"http://localhost:3000/back"}`}).want(t, 200, 0)
}

func TestCreatePortalSessionRefused(t *testing.T) {
	e := newPortalEnv(t)
	app := e.NewApp("a", "shop.example.com")
	const ok = `"returnUrl":"https://shop.example.com/account"`
	for _, tc := range []struct {
		name, target, body string
		status, code       int
		names              string // the message names it
	}{
		{"no appUserId", portalSessionsPath, `{` + ok + `}`, 400, appwheel.EINVALID, "appUserId"},
		{"empty appUserId", portalSessionsPath, `{"appUserId":"",` + ok + `}`, 400, appwheel.EINVALID, "appUserId"},
		{"control character", portalSessionsPath, `{"appUserId":"u\u0001",` + ok + `}`, 400, appwheel.EINVALID, "appUserId"},
		{"appUserId too long", portalSessionsPath, `{"appUserId":"` + strings.Repeat("é", 129) + `",` + ok + `}`, 400, appwheel.EINVALID, "appUserId"},
		{"appUserId a number", portalSessionsPath, `{"appUserId":1,` + ok + `}`, 400, appwheel.EINVALID, "appUserId"},
		{"no returnUrl", portalSessionsPath, `{"appUserId":"u1"}`, 400, appwheel.EINVALID, "returnUrl"},
		{"relative returnUrl", portalSessionsPath, `{"appUserId":"u1","returnUrl":"/account"}`, 400, appwheel.EINVALID, "returnUrl"},
		{"ftp returnUrl", portalSessionsPath, `{"appUserId":"u1","returnUrl":"ftp://shop.example.com/account"}`, 400, appwheel.EINVALID, "returnUrl"},
		{"returnUrl host not allowed", portalSessionsPath, `{"appUserId":"u1","returnUrl":"https://evil.example.net/account"}`, 403, appwheel.EFORBIDDEN, "returnUrl"},
		{"locale fr", portalSessionsPath, `{"appUserId":"u1",` + ok + `,"locale":"fr"}`, 400, appwheel.EINVALID, "locale"},
		{"locale a number", portalSessionsPath, `{"appUserId":"u1",` + ok + `,"locale":1}`, 400, appwheel.EINVALID, "locale"},
		{"unknown field", portalSessionsPath, `{"appUserId":"u1",` + ok + `,"makeDefault":true}`, 400, appwheel.EINVALID, "makeDefault"},
		{"field name case", portalSessionsPath, `{"appUserID":"u1",` + ok + `}`, 400, appwheel.EINVALID, "appUserID"},
		{"not JSON", portalSessionsPath, `appUserId=u1`, 400, appwheel.EINVALID, "JSON"},
		{"empty body", portalSessionsPath, ``, 400, appwheel.EINVALID, "JSON"},
		{"query parameter", portalSessionsPath + "?appUserId=u1", `{"appUserId":"u1",` + ok + `}`, 400, appwheel.EINVALID, "appUserId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(app, req{method: "POST", target: tc.target, body: tc.body}).want(t, tc.status, tc.code)
			if !strings.Contains(r.Msg, tc.names) {
				t.Errorf("message %q does not name %s", r.Msg, tc.names)
			}
		})
	}

	body := `{"appUserId":"u1",` + ok + `}`
	t.Run("unsigned", func(t *testing.T) {
		e.raw("POST", portalSessionsPath, body, nil).want(t, 401, appwheel.EUNAUTHENTICATED)
	})
	t.Run("wrong secret", func(t *testing.T) {
		wrong := *app
		wrong.Secret = "aws_not_the_secret"
		e.do(&wrong, req{method: "POST", target: portalSessionsPath, body: body}).want(t, 401, appwheel.EUNAUTHENTICATED)
	})
	t.Run("replayed", func(t *testing.T) {
		ts := e.Clock.Now().Unix()
		h := signedHeaders(app, app.Secret, ts, "POST", portalSessionsPath, body, "portal-replay-nonce")
		e.raw("POST", portalSessionsPath, body, h).want(t, 200, 0)
		e.raw("POST", portalSessionsPath, body, h).want(t, 401, appwheel.EUNAUTHENTICATED)
	})
	t.Run("GET", func(t *testing.T) {
		r := e.do(app, req{method: "GET", target: portalSessionsPath}).want(t, 405, appwheel.EINVALID)
		if got := strings.Join(r.Header.Values("Allow"), ", "); got != "POST" {
			t.Errorf("Allow = %q, want POST", got)
		}
	})
}

// TestPortalSessionsMatchOpenAPI holds createPortalSession's answers, and
// the bodies that make them, to the OpenAPI document.
func TestPortalSessionsMatchOpenAPI(t *testing.T) {
	s := oaLoadSpec(t)
	e := newPortalEnv(t)
	app := e.NewApp("a", "shop.example.com")
	body := func(b string, valid bool) string {
		t.Helper()
		if err := s.validateRequest(t, "POST", portalSessionsPath, b); (err == nil) != valid {
			t.Errorf("body %s: schema says valid=%v (%v), want %v", b, err == nil, err, valid)
		}
		return b
	}
	expect := func(r oaResult, status, code int) oaResult {
		t.Helper()
		if r.status != status || r.code(t) != code {
			t.Fatalf("%s %s: HTTP %d, want %d with code %d: %s", r.method, r.target, r.status, status, code, r.body)
		}
		s.validate(t, portalSessionsPath, r)
		return r
	}
	ok := body(`{"appUserId":"u1","returnUrl":"https://shop.example.com/account"}`, true)
	key := map[string]string{"Idempotency-Key": "portal-oa"}
	expect(e.oaSend(app, "POST", portalSessionsPath, body(`{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"zh-CN"}`, true), nil), 200, 0)
	expect(e.oaSend(app, "POST", portalSessionsPath, ok, key), 200, 0)
	if r := expect(e.oaSend(app, "POST", portalSessionsPath, ok, key), 200, 0); r.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay lacks Idempotent-Replayed: true")
	}
	expect(e.oaSend(app, "POST", portalSessionsPath, body(`{"appUserId":"u2","returnUrl":"https://shop.example.com/account"}`, true), key), 409, appwheel.EIDEMPOTENCY)
	expect(e.oaSend(app, "POST", portalSessionsPath, body(`{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"fr"}`, false), nil), 400, appwheel.EINVALID)
	expect(e.oaSend(app, "POST", portalSessionsPath, body(`{"appUserId":"","returnUrl":"https://shop.example.com/account"}`, false), nil), 400, appwheel.EINVALID)
	expect(e.oaSend(app, "POST", portalSessionsPath, body(`{"appUserId":"u1"}`, false), nil), 400, appwheel.EINVALID)
	expect(e.oaSend(app, "POST", portalSessionsPath, body(`{"appUserId":"u1","returnUrl":"https://shop.example.com/account","makeDefault":true}`, false), nil), 400, appwheel.EINVALID)
	expect(e.oaSend(app, "POST", portalSessionsPath, body(`{"appUserId":"u1","returnUrl":"https://evil.example.net/account"}`, true), nil), 403, appwheel.EFORBIDDEN)
	expect(e.oaSend(app, "POST", portalSessionsPath, `{"appUserId":"`+strings.Repeat("a", appwheelhttp.MaxBodyBytes)+`"}`, nil), 413, appwheel.EINVALID)
	expect(e.oaSend(nil, "POST", portalSessionsPath, ok, nil), 401, appwheel.EUNAUTHENTICATED)
	r := e.oaSend(app, "GET", portalSessionsPath, "", nil)
	if r.status != 405 || r.code(t) != appwheel.EINVALID {
		t.Errorf("GET %s: HTTP %d: %s", portalSessionsPath, r.status, r.body)
	}
	s.validateComponent(t, "MethodNotAllowed", r)
	// A server without the page: the route does not exist.
	plain := newEnv(t)
	papp := plain.NewApp("a", "shop.example.com")
	expect(plain.oaSend(papp, "POST", portalSessionsPath, ok, nil), 404, appwheel.ENOTFOUND)
}

// TestPortalNotConfigured: without a portal, neither the endpoint nor the
// pages are served.
func TestPortalNotConfigured(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	e.do(app, req{method: "POST", target: portalSessionsPath, body: `{"appUserId":"u1","returnUrl":"https://shop.example.com/account"}`}).
		want(t, 404, appwheel.ENOTFOUND)
	for _, target := range []string{"/portal/some-token", "/portal/v/some-token", "/portal/assets/portal.css"} {
		e.raw("GET", target, "", nil).want(t, 404, appwheel.ENOTFOUND)
	}
}

// syncBuffer is a log destination the server's goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPortalRoutes: a session's link opens the page's route on the same
// server, and every page route passes through the API's middleware: a
// request id, the access log and the metrics, by route pattern, with the
// tokens (credentials) in neither. What the pages say is the portal's.
func TestPortalRoutes(t *testing.T) {
	logs := &syncBuffer{}
	e := newPortalEnv(t, func(c *appwheelhttp.Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	app := e.NewApp("a", "shop.example.com")
	var s portal.Session
	e.do(app, req{method: "POST", target: portalSessionsPath, body: `{"appUserId":"u1","returnUrl":"https://shop.example.com/account"}`}).
		want(t, 200, 0).decode(t, &s)
	token := portalToken(t, s)
	secrets := []string{token}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// visit sends a request to the test server and fails on the API's own
	// "no route": the router must hand the path to the portal.
	visit := func(method, target string) *http.Response {
		t.Helper()
		hr, err := http.NewRequest(method, e.Server.URL+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noRedirect.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if strings.Contains(resp.Header.Get("Content-Type"), "json") && bytes.Contains(body, []byte(`"no route `)) ||
			resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s %s: the API's no-route answer (HTTP %d): %s", method, target, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no X-Request-Id", method, target)
		}
		return resp
	}
	// The link as returned, by its path on this server.
	opened := visit("GET", strings.TrimPrefix(s.URL, portalBase))
	if loc, ok := strings.CutPrefix(opened.Header.Get("Location"), portalBase+"/portal/v/"); ok && loc != "" {
		secrets = append(secrets, loc) // the visit's token, if the page handed one out
	}
	const probe = "probe-credential-0123456789"
	secrets = append(secrets, probe)
	for _, r := range []struct{ method, target string }{
		{"GET", "/portal/v/" + probe},
		{"GET", "/portal/v/" + probe + "/confirm?action=remove&pm=pm_1"},
		{"POST", "/portal/v/" + probe + "/remove"},
		{"GET", "/portal/assets/portal.css"},
	} {
		visit(r.method, r.target)
	}

	wantRoutes := []string{
		"POST /v1/stripe/portal-sessions",
		"GET /portal/{token}",
		"GET /portal/v/{token}",
		"GET /portal/v/{token}/confirm",
		"POST /portal/v/{token}/{action}",
		"GET /portal/assets/portal.css",
	}
	// The access log line is written as the response completes: wait for
	// all of them.
	var routes []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		routes = routes[:0]
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var rec struct{ Msg, Route string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request" {
				routes = append(routes, rec.Route)
			}
		}
		if len(routes) >= len(wantRoutes) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(routes, wantRoutes) {
		t.Errorf("access log routes = %q, want %q", routes, wantRoutes)
	}

	resp, err := http.Get(e.Server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, route := range wantRoutes {
		// The pages answer outside the envelope: their code is 0.
		if want := `appwheel_http_requests_total{code="0",route="` + route + `"} 1`; !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, secret := range secrets {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the access log holds a token: %s", logs.String())
		}
		if bytes.Contains(metrics, []byte(secret)) {
			t.Error("the metrics hold a token")
		}
	}
}
