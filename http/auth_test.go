package http_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/signature"
)

const listTarget = "/v1/stripe/payment-methods?appUserId=u1"

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	other := e.NewApp("b")
	now := e.Clock.Now().Unix()
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	age := int64(0)
	signed := func(secret string, ts int64) map[string]string {
		if ts == now {
			age++ // a distinct signature per case, so none is a replay
			ts -= age
		}
		return map[string]string{
			signature.HeaderAppID:     app.ID,
			signature.HeaderPlatform:  "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderSignature: signature.Sign(secret, ts, "GET", listTarget, nil, ""),
		}
	}
	with := func(h map[string]string, k, v string) map[string]string {
		h[k] = v
		return h
	}
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		code    int
	}{
		{"signed", signed(app.Secret, now), 200, 0},
		{"signed 299 s old", signed(app.Secret, now-299), 200, 0},
		{"signed 301 s old", signed(app.Secret, now-301), 401, appwheel.EUNAUTHENTICATED},
		{"signed 301 s ahead", signed(app.Secret, now+301), 401, appwheel.EUNAUTHENTICATED},
		{"other app's secret", signed(other.Secret, now), 401, appwheel.EUNAUTHENTICATED},
		{"unknown app", with(signed(app.Secret, now), signature.HeaderAppID, "app_nope"), 401, appwheel.EUNAUTHENTICATED},
		{"no app id", with(signed(app.Secret, now), signature.HeaderAppID, ""), 401, appwheel.EUNAUTHENTICATED},
		{"no platform", with(signed(app.Secret, now), signature.HeaderPlatform, ""), 401, appwheel.EUNAUTHENTICATED},
		{"wrong platform", with(signed(app.Secret, now), signature.HeaderPlatform, "apple"), 403, appwheel.EFORBIDDEN},
		{"no timestamp", with(signed(app.Secret, now), signature.HeaderTimestamp, ""), 401, appwheel.EUNAUTHENTICATED},
		{"bad timestamp", with(signed(app.Secret, now), signature.HeaderTimestamp, "yesterday"), 401, appwheel.EUNAUTHENTICATED},
		{"no signature", with(signed(app.Secret, now), signature.HeaderSignature, ""), 401, appwheel.EUNAUTHENTICATED},
		{"malformed signature", with(signed(app.Secret, now), signature.HeaderSignature, "v1=zz"), 401, appwheel.EUNAUTHENTICATED},
		{"basic", map[string]string{"Authorization": basic(app.ID, app.Secret), signature.HeaderPlatform: "stripe"}, 200, 0},
		{"basic wrong secret", map[string]string{"Authorization": basic(app.ID, other.Secret), signature.HeaderPlatform: "stripe"}, 401, appwheel.EUNAUTHENTICATED},
		{"basic id mismatch", map[string]string{"Authorization": basic(app.ID, app.Secret), signature.HeaderPlatform: "stripe", signature.HeaderAppID: other.ID}, 401, appwheel.EUNAUTHENTICATED},
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
}

func TestReplayRefused(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	headers := map[string]string{
		signature.HeaderAppID:     app.ID,
		signature.HeaderPlatform:  "stripe",
		signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
		signature.HeaderSignature: signature.Sign(app.Secret, ts, "GET", listTarget, nil, ""),
	}
	e.raw("GET", listTarget, "", headers).want(t, 200, 0)
	r := e.raw("GET", listTarget, "", headers).want(t, 401, appwheel.EUNAUTHENTICATED)
	if r.Msg != "request replayed: each signature is accepted once" {
		t.Errorf("message = %q", r.Msg)
	}
	// Still refused later in the window.
	e.Clock.Advance(200 * time.Second)
	e.raw("GET", listTarget, "", headers).want(t, 401, appwheel.EUNAUTHENTICATED)
}

func TestSignatureCoversRequest(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	// Signed for u1, sent for u2: the query is part of what is signed.
	headers := map[string]string{
		signature.HeaderAppID:     app.ID,
		signature.HeaderPlatform:  "stripe",
		signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
		signature.HeaderSignature: signature.Sign(app.Secret, ts, "GET", listTarget, nil, ""),
	}
	e.raw("GET", "/v1/stripe/payment-methods?appUserId=u2", "", headers).want(t, 401, appwheel.EUNAUTHENTICATED)
	// Signed for one body, sent with another.
	body := `{"appUserId":"u1","type":"setupIntent"}`
	headers[signature.HeaderSignature] = signature.Sign(app.Secret, ts, "POST", "/v1/stripe/payment-methods", []byte(body), "")
	e.raw("POST", "/v1/stripe/payment-methods", `{"appUserId":"u2","type":"setupIntent"}`, headers).want(t, 401, appwheel.EUNAUTHENTICATED)
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
	e.Clock.Advance(time.Hour)
	e.do(&old, req{method: "GET", target: listTarget}).want(t, 401, appwheel.EUNAUTHENTICATED)
	e.do(rotated, req{method: "GET", target: listTarget}).want(t, 200, 0)
}

func TestDisabledApp(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	if _, err := e.Apps.SetDisabled(context.Background(), app.ID, true); err != nil {
		t.Fatal(err)
	}
	r := e.do(app, req{method: "GET", target: listTarget}).want(t, http.StatusForbidden, appwheel.EFORBIDDEN)
	if r.Msg != "app is disabled" {
		t.Errorf("message = %q, want %q", r.Msg, "app is disabled")
	}
}

func TestNonceMakesIdenticalRequestsDistinct(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	ts := e.Clock.Now().Unix()
	send := func(nonce string) response {
		return e.raw("GET", listTarget, "", map[string]string{
			signature.HeaderAppID:     app.ID,
			signature.HeaderPlatform:  "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderNonce:     nonce,
			signature.HeaderSignature: signature.Sign(app.Secret, ts, "GET", listTarget, nil, nonce),
		})
	}
	send("n1").want(t, 200, 0)
	send("n2").want(t, 200, 0) // same request, same second, another nonce
	send("n1").want(t, 401, appwheel.EUNAUTHENTICATED)
	send("not valid").want(t, 401, appwheel.EUNAUTHENTICATED)
	// A nonce the signature does not cover is refused.
	r := e.raw("GET", listTarget, "", map[string]string{
		signature.HeaderAppID:     app.ID,
		signature.HeaderPlatform:  "stripe",
		signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
		signature.HeaderNonce:     "n3",
		signature.HeaderSignature: signature.Sign(app.Secret, ts, "GET", listTarget, nil, ""),
	})
	r.want(t, 401, appwheel.EUNAUTHENTICATED)
}
