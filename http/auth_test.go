package http_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"

	_ "modernc.org/sqlite"
)

const listTarget = "/v1/stripe/payment-methods?appUserId=u1"

// setupBody is a write that succeeds against the fake Stripe.
const setupBody = `{"appUserId":"u1","type":"setupIntent"}`

// signedHeaders returns the headers of a request signed with secret at ts
// for app. A nonce is sent and signed when given; "" sends none.
func signedHeaders(app *appwheel.App, secret string, ts int64, method, target, body, nonce string) map[string]string {
	return map[string]string{
		signature.HeaderAppID:     app.ID,
		signature.HeaderPlatform:  app.Platform,
		signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
		signature.HeaderNonce:     nonce,
		signature.HeaderSignature: signature.Sign(secret, ts, method, target, []byte(body), nonce),
	}
}

// nonceRows counts the signatures the replay store holds, read from the
// SQLite database behind the server.
func nonceRows(t *testing.T, e *env) int {
	t.Helper()
	db, err := sql.Open("sqlite", e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM request_nonces`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func withHeader(h map[string]string, k, v string) map[string]string {
	h[k] = v
	return h
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	other := e.NewApp("b")
	now := e.Clock.Now().Unix()
	signed := func(secret string, ts int64) map[string]string {
		return signedHeaders(app, secret, ts, "GET", listTarget, "", "")
	}
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		code    int
	}{
		{"signed", signed(app.Secret, now), 200, 0},
		{"signed with a nonce", signedHeaders(app, app.Secret, now, "GET", listTarget, "", "n1"), 200, 0},
		{"signed 299 s old", signed(app.Secret, now-299), 200, 0},
		{"signed 301 s old", signed(app.Secret, now-301), 401, appwheel.EUNAUTHENTICATED},
		{"signed 301 s ahead", signed(app.Secret, now+301), 401, appwheel.EUNAUTHENTICATED},
		{"other app's secret", signed(other.Secret, now), 401, appwheel.EUNAUTHENTICATED},
		{"unknown app", withHeader(signed(app.Secret, now), signature.HeaderAppID, "app_nope"), 401, appwheel.EUNAUTHENTICATED},
		{"no app id", withHeader(signed(app.Secret, now), signature.HeaderAppID, ""), 401, appwheel.EUNAUTHENTICATED},
		{"no platform", withHeader(signed(app.Secret, now), signature.HeaderPlatform, ""), 401, appwheel.EUNAUTHENTICATED},
		{"wrong platform", withHeader(signed(app.Secret, now), signature.HeaderPlatform, "apple"), 403, appwheel.EFORBIDDEN},
		// The signature is checked before the platform reveals anything.
		{"wrong platform and wrong secret", withHeader(signed(other.Secret, now), signature.HeaderPlatform, "apple"), 401, appwheel.EUNAUTHENTICATED},
		{"no timestamp", withHeader(signed(app.Secret, now), signature.HeaderTimestamp, ""), 401, appwheel.EUNAUTHENTICATED},
		{"bad timestamp", withHeader(signed(app.Secret, now), signature.HeaderTimestamp, "yesterday"), 401, appwheel.EUNAUTHENTICATED},
		{"no signature", withHeader(signed(app.Secret, now), signature.HeaderSignature, ""), 401, appwheel.EUNAUTHENTICATED},
		{"malformed signature", withHeader(signed(app.Secret, now), signature.HeaderSignature, "v1=zz"), 401, appwheel.EUNAUTHENTICATED},
		{"basic", map[string]string{"Authorization": basicAuth(app.ID, app.Secret), signature.HeaderPlatform: "stripe"}, 200, 0},
		{"basic wrong secret", map[string]string{"Authorization": basicAuth(app.ID, other.Secret), signature.HeaderPlatform: "stripe"}, 401, appwheel.EUNAUTHENTICATED},
		{"basic id mismatch", map[string]string{"Authorization": basicAuth(app.ID, app.Secret), signature.HeaderPlatform: "stripe", signature.HeaderAppID: other.ID}, 401, appwheel.EUNAUTHENTICATED},
		{"nothing", map[string]string{}, 401, appwheel.EUNAUTHENTICATED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.raw("GET", listTarget, "", tt.headers).want(t, tt.status, tt.code)
		})
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0 (no user has a customer)", n)
	}
	if n := nonceRows(t, e); n != 0 {
		t.Errorf("nonce rows = %d, want 0: reads record nothing", n)
	}
}

func TestAuthenticationOfWrites(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	other := e.NewApp("b")
	ts := e.Clock.Now().Unix()
	delTarget := pmPath + "/pm_nope?appUserId=u1"
	n := 0
	nonce := func() string { n++; return "nonce-" + strconv.Itoa(n) }
	tests := []struct {
		name         string
		method       string
		target, body string
		headers      map[string]string
		status       int
		code         int
		msg          string // a part of the message
	}{
		{"POST with a nonce", "POST", pmPath, setupBody, signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, nonce()), 200, 0, ""},
		{"DELETE with a nonce", "DELETE", delTarget, "", signedHeaders(app, app.Secret, ts, "DELETE", delTarget, "", nonce()), 404, appwheel.ENOTFOUND, ""},
		{"POST without a nonce", "POST", pmPath, setupBody, signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, ""), 401, appwheel.EUNAUTHENTICATED, signature.HeaderNonce},
		{"DELETE without a nonce", "DELETE", delTarget, "", signedHeaders(app, app.Secret, ts, "DELETE", delTarget, "", ""), 401, appwheel.EUNAUTHENTICATED, signature.HeaderNonce},
		{"nonce signed but not sent", "POST", pmPath, setupBody,
			withHeader(signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, nonce()), signature.HeaderNonce, ""), 401, appwheel.EUNAUTHENTICATED, signature.HeaderNonce},
		{"nonce sent but not signed", "POST", pmPath, setupBody,
			withHeader(signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, ""), signature.HeaderNonce, nonce()), 401, appwheel.EUNAUTHENTICATED, "signature"},
		{"nonce with a space", "POST", pmPath, setupBody, signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, "a b"), 401, appwheel.EUNAUTHENTICATED, signature.HeaderNonce},
		{"nonce of 65", "POST", pmPath, setupBody, signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, strings.Repeat("n", 65)), 401, appwheel.EUNAUTHENTICATED, signature.HeaderNonce},
		{"nonce of 64", "POST", pmPath, setupBody, signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, strings.Repeat("n", 64)), 200, 0, ""},
		// The credential, nonce included, is checked before the platform.
		{"no nonce, wrong platform", "POST", pmPath, setupBody,
			withHeader(signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, ""), signature.HeaderPlatform, "apple"), 401, appwheel.EUNAUTHENTICATED, signature.HeaderNonce},
		{"other app's secret", "POST", pmPath, setupBody, signedHeaders(app, other.Secret, ts, "POST", pmPath, setupBody, nonce()), 401, appwheel.EUNAUTHENTICATED, "signature"},
		{"basic, no nonce", "POST", pmPath, setupBody, map[string]string{"Authorization": basicAuth(app.ID, app.Secret), signature.HeaderPlatform: "stripe"}, 200, 0, ""},
		{"basic again, no replay refusal", "POST", pmPath, setupBody, map[string]string{"Authorization": basicAuth(app.ID, app.Secret), signature.HeaderPlatform: "stripe"}, 200, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.raw(tt.method, tt.target, tt.body, tt.headers).want(t, tt.status, tt.code)
			if !strings.Contains(r.Msg, tt.msg) {
				t.Errorf("message = %q; want it to contain %q", r.Msg, tt.msg)
			}
		})
	}
	// The three signed writes that were authenticated, and only they.
	if n := nonceRows(t, e); n != 3 {
		t.Errorf("nonce rows = %d, want 3", n)
	}
}

func TestWriteReplayRefused(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	post := signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, "n1")
	delTarget := pmPath + "/pm_nope?appUserId=u1"
	del := signedHeaders(app, app.Secret, ts, "DELETE", delTarget, "", "n1")

	e.raw("POST", pmPath, setupBody, post).want(t, 200, 0)
	e.raw("DELETE", delTarget, "", del).want(t, 404, appwheel.ENOTFOUND)
	calls := e.Stripe.TotalCalls()
	for _, r := range []response{
		e.raw("POST", pmPath, setupBody, post),
		e.raw("DELETE", delTarget, "", del),
	} {
		r.want(t, 401, appwheel.EUNAUTHENTICATED)
		if !strings.HasPrefix(r.Msg, "request replayed") {
			t.Errorf("message = %q; want it to say the request is replayed", r.Msg)
		}
	}
	// Still refused later in the window.
	e.Clock.Advance(200 * time.Second)
	e.raw("POST", pmPath, setupBody, post).want(t, 401, appwheel.EUNAUTHENTICATED)
	if n := e.Stripe.TotalCalls() - calls; n != 0 {
		t.Errorf("replays made %d Stripe calls, want 0", n)
	}
	if n := nonceRows(t, e); n != 2 {
		t.Errorf("nonce rows = %d, want 2", n)
	}
}

func TestReadReplayAccepted(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	for _, target := range []string{listTarget, "/v1/stripe/invoices?appUserId=u1", "/v1/stripe/subscriptions?appUserId=u1"} {
		for _, nonce := range []string{"", "n1"} {
			h := signedHeaders(app, app.Secret, ts, "GET", target, "", nonce)
			// Identical reads, same second, same signature: never refused.
			e.raw("GET", target, "", h).want(t, 200, 0)
			e.raw("GET", target, "", h).want(t, 200, 0)
		}
	}
	e.Clock.Advance(200 * time.Second)
	e.raw("GET", listTarget, "", signedHeaders(app, app.Secret, ts, "GET", listTarget, "", "")).want(t, 200, 0)
	// The window still applies.
	e.Clock.Advance(101 * time.Second)
	e.raw("GET", listTarget, "", signedHeaders(app, app.Secret, ts, "GET", listTarget, "", "")).want(t, 401, appwheel.EUNAUTHENTICATED)
	if n := nonceRows(t, e); n != 0 {
		t.Errorf("nonce rows = %d, want 0: a read's authentication writes nothing", n)
	}
}

func TestWrongPlatformIsAlwaysForbidden(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	post := signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, "n1")
	get := signedHeaders(app, app.Secret, ts, "GET", listTarget, "", "n1")
	for i := range 3 {
		r := e.raw("POST", pmPath, setupBody, withHeader(post, signature.HeaderPlatform, "apple"))
		if r.Status != 403 || r.Code != appwheel.EFORBIDDEN {
			t.Fatalf("POST %d with platform apple: HTTP %d code %d (%q), want HTTP 403 code 1003", i+1, r.Status, r.Code, r.Msg)
		}
		e.raw("GET", listTarget, "", withHeader(get, signature.HeaderPlatform, "apple")).want(t, 403, appwheel.EFORBIDDEN)
	}
	if n := nonceRows(t, e); n != 0 {
		t.Errorf("nonce rows = %d, want 0: a forbidden request is not recorded", n)
	}
	// The platform header is not signed, so the same signature with the
	// right platform is a first use: the refusals did not spend it.
	e.raw("POST", pmPath, setupBody, withHeader(post, signature.HeaderPlatform, "stripe")).want(t, 200, 0)
	e.raw("POST", pmPath, setupBody, post).want(t, 401, appwheel.EUNAUTHENTICATED)
	e.raw("POST", pmPath, setupBody, withHeader(post, signature.HeaderPlatform, "apple")).want(t, 403, appwheel.EFORBIDDEN)
}

func TestSignatureCoversRequest(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	// Signed for u1, sent for u2: the query is part of what is signed.
	headers := signedHeaders(app, app.Secret, ts, "GET", listTarget, "", "")
	e.raw("GET", "/v1/stripe/payment-methods?appUserId=u2", "", headers).want(t, 401, appwheel.EUNAUTHENTICATED)
	// Signed for one body, sent with another.
	headers = signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, "n1")
	e.raw("POST", pmPath, `{"appUserId":"u2","type":"setupIntent"}`, headers).want(t, 401, appwheel.EUNAUTHENTICATED)
	// Signed as a GET, sent as a DELETE.
	headers = signedHeaders(app, app.Secret, ts, "GET", pmPath+"/pm_1?appUserId=u1", "", "n1")
	e.raw("DELETE", pmPath+"/pm_1?appUserId=u1", "", headers).want(t, 401, appwheel.EUNAUTHENTICATED)
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0", n)
	}
}

func TestRotatedSecretGracePeriod(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	old := *app
	rotated, err := e.Apps.RotateSecret(context.Background(), app.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.do(rotated, req{method: "GET", target: listTarget}).want(t, 200, 0)
	e.do(&old, req{method: "GET", target: listTarget}).want(t, 200, 0)
	write := func(secret, nonce string) response {
		ts := e.Clock.Now().Unix()
		return e.raw("POST", pmPath, setupBody, signedHeaders(app, secret, ts, "POST", pmPath, setupBody, nonce))
	}
	write(old.Secret, "w1").want(t, 200, 0)
	write(rotated.Secret, "w2").want(t, 200, 0)
	e.Clock.Advance(time.Hour)
	e.do(&old, req{method: "GET", target: listTarget}).want(t, 401, appwheel.EUNAUTHENTICATED)
	write(old.Secret, "w3").want(t, 401, appwheel.EUNAUTHENTICATED)
	e.do(rotated, req{method: "GET", target: listTarget}).want(t, 200, 0)
	write(rotated.Secret, "w4").want(t, 200, 0)
}

func TestDisabledApp(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	other := e.NewApp("b")
	if _, err := e.Apps.SetDisabled(context.Background(), app.ID, true); err != nil {
		t.Fatal(err)
	}
	r := e.do(app, req{method: "GET", target: listTarget}).want(t, http.StatusForbidden, appwheel.EFORBIDDEN)
	if r.Msg != "app is disabled" {
		t.Errorf("message = %q, want %q", r.Msg, "app is disabled")
	}
	ts := e.Clock.Now().Unix()
	post := signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, "n1")
	e.raw("POST", pmPath, setupBody, post).want(t, http.StatusForbidden, appwheel.EFORBIDDEN)
	e.raw("POST", pmPath, setupBody, post).want(t, http.StatusForbidden, appwheel.EFORBIDDEN)
	// A wrong signature learns nothing of the app's state.
	e.raw("POST", pmPath, setupBody, signedHeaders(app, other.Secret, ts, "POST", pmPath, setupBody, "n1")).want(t, 401, appwheel.EUNAUTHENTICATED)
	if n := nonceRows(t, e); n != 0 {
		t.Errorf("nonce rows = %d, want 0", n)
	}
}

func TestNonceMakesIdenticalWritesDistinct(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	send := func(nonce string) response {
		return e.raw("POST", pmPath, setupBody, signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, nonce))
	}
	send("n1").want(t, 200, 0)
	send("n2").want(t, 200, 0) // same request, same second, another nonce
	send("n1").want(t, 401, appwheel.EUNAUTHENTICATED)
	send("not valid").want(t, 401, appwheel.EUNAUTHENTICATED)
	// A nonce the signature does not cover is refused, on a write and a read.
	e.raw("POST", pmPath, setupBody, withHeader(signedHeaders(app, app.Secret, ts, "POST", pmPath, setupBody, ""), signature.HeaderNonce, "n3")).
		want(t, 401, appwheel.EUNAUTHENTICATED)
	e.raw("GET", listTarget, "", withHeader(signedHeaders(app, app.Secret, ts, "GET", listTarget, "", ""), signature.HeaderNonce, "n3")).
		want(t, 401, appwheel.EUNAUTHENTICATED)
	// A malformed nonce is refused on a read too.
	e.raw("GET", listTarget, "", signedHeaders(app, app.Secret, ts, "GET", listTarget, "", "not valid")).
		want(t, 401, appwheel.EUNAUTHENTICATED)
}

// TestSecretRotatedOnAnotherReplica: the server has the app in memory
// when another replica rotates its secret; the new secret works at once,
// and the old one, still in memory, is refused once the server has read
// the app again (at the latest after apps.CacheTTL).
func TestSecretRotatedOnAnotherReplica(t *testing.T) {
	e := newEnv(t)
	other := e.OtherReplica()
	app := e.NewApp("a")
	old := app.Secret
	ts := e.Clock.Now().Unix()
	get := func(secret string) response {
		return e.raw("GET", listTarget, "", signedHeaders(app, secret, ts, "GET", listTarget, "", ""))
	}
	basic := func(secret string) response {
		return e.raw("GET", listTarget, "", map[string]string{"Authorization": basicAuth(app.ID, secret), signature.HeaderPlatform: "stripe"})
	}
	get(old).want(t, 200, 0) // the server has the app in memory

	rotated, err := other.RotateSecret(context.Background(), app.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Within CacheTTL the server may still accept the old secret: the
	// documented window, and a sign the app came from memory.
	get(old).want(t, 200, 0)
	get(rotated.Secret).want(t, 200, 0)
	// That request made the server read the app again: the old secret is
	// refused now, by both schemes, with the usual message.
	const bad = "unknown app, or the AppSecret or signature does not match it"
	if r := get(old).want(t, 401, appwheel.EUNAUTHENTICATED); r.Msg != bad {
		t.Errorf("message = %q", r.Msg)
	}
	if r := basic(old).want(t, 401, appwheel.EUNAUTHENTICATED); r.Msg != bad {
		t.Errorf("message = %q", r.Msg)
	}
	basic(rotated.Secret).want(t, 200, 0)

	// Rotated again, used first with Basic: accepted at once too.
	again, err := other.RotateSecret(context.Background(), app.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	basic(again.Secret).want(t, 200, 0)
	get(again.Secret).want(t, 200, 0)
	e.Clock.Advance(apps.CacheTTL)
	get(rotated.Secret).want(t, 401, appwheel.EUNAUTHENTICATED)
	get(old).want(t, 401, appwheel.EUNAUTHENTICATED)
}

// TestAppDisabledOnAnotherReplica: a disable by another replica takes
// effect after apps.CacheTTL, and so does the enable that undoes it.
func TestAppDisabledOnAnotherReplica(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	other := e.OtherReplica()
	app := e.NewApp("a")
	get := func() response {
		ts := e.Clock.Now().Unix()
		return e.raw("GET", listTarget, "", signedHeaders(app, app.Secret, ts, "GET", listTarget, "", ""))
	}
	get().want(t, 200, 0)
	if _, err := other.SetDisabled(ctx, app.ID, true); err != nil {
		t.Fatal(err)
	}
	get().want(t, 200, 0) // from memory, within CacheTTL
	e.Clock.Advance(apps.CacheTTL)
	if r := get().want(t, http.StatusForbidden, appwheel.EFORBIDDEN); r.Msg != "app is disabled" {
		t.Errorf("message = %q, want %q", r.Msg, "app is disabled")
	}
	// A wrong secret, which makes the server read the app again, is still
	// 1002: it learns nothing of the app's state.
	ts := e.Clock.Now().Unix()
	e.raw("GET", listTarget, "", signedHeaders(app, "aws_wrong", ts, "GET", listTarget, "", "")).want(t, 401, appwheel.EUNAUTHENTICATED)

	if _, err := other.SetDisabled(ctx, app.ID, false); err != nil {
		t.Fatal(err)
	}
	get().want(t, http.StatusForbidden, appwheel.EFORBIDDEN)
	e.Clock.Advance(apps.CacheTTL)
	get().want(t, 200, 0)
}

// TestFailedAuthentication: an unknown AppID and a known one with a wrong
// credential get the same answer; failures are answered 1006 once an
// address or an AppID has spent its budget of them, while a client that
// authenticates is not held up; and they are logged at a bounded rate.
func TestFailedAuthentication(t *testing.T) {
	var logs bytes.Buffer
	e := &env{Env: apitest.New(t, func(c *appwheelhttp.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	}), t: t}
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	forged := func(appID string) response {
		return e.raw("GET", listTarget, "", map[string]string{
			signature.HeaderAppID: appID, signature.HeaderPlatform: "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderSignature: signature.Sign("a-guess", ts, "GET", listTarget, nil, ""),
		})
	}
	unknown := forged("app_000000000000000000000000").want(t, 401, appwheel.EUNAUTHENTICATED)
	known := forged(app.ID).want(t, 401, appwheel.EUNAUTHENTICATED)
	basicUnknown := e.raw("GET", listTarget, "", map[string]string{"Authorization": basicAuth("app_nope", "aws_x"), signature.HeaderPlatform: "stripe"}).
		want(t, 401, appwheel.EUNAUTHENTICATED)
	basicKnown := e.raw("GET", listTarget, "", map[string]string{"Authorization": basicAuth(app.ID, "aws_x"), signature.HeaderPlatform: "stripe"}).
		want(t, 401, appwheel.EUNAUTHENTICATED)
	for _, r := range []response{known, basicUnknown, basicKnown} {
		if r.Msg != unknown.Msg {
			t.Errorf("messages differ: %q and %q: the answer tells which AppIDs exist", r.Msg, unknown.Msg)
		}
	}

	// 4 failures so far from this address; the budget is 20.
	limited := 0
	for range 30 {
		if r := forged(app.ID); r.Code == appwheel.ERATELIMITED {
			limited++
		} else {
			r.want(t, 401, appwheel.EUNAUTHENTICATED)
		}
	}
	if limited != 14 {
		t.Errorf("%d of 30 more failures answered 1006, want 14 (past a budget of 20)", limited)
	}
	// The app itself, from the same address, still gets in.
	e.do(app, req{method: "GET", target: listTarget}).want(t, 200, 0)

	lines := strings.Count(logs.String(), `"msg":"authentication failed"`)
	if lines == 0 || lines > 2 {
		t.Errorf("%d log lines for 34 failures within a second, want 1 or 2 (at most one a second)", lines)
	}
}
