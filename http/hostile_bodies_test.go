package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/signature"
)

// Hostile bodies: nesting and sizes built to hurt the parser, repeated
// keys, and input a message would echo back.

func nested(open, close string, depth int, inner string) string {
	return strings.Repeat(open, depth) + inner + strings.Repeat(close, depth)
}

// TestHostileBodies: deeply nested and oversized JSON is refused with 400
// (413 past 1 MiB), quickly, without a panic or a Stripe call.
func TestHostileBodies(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	mirror := e.NewMirrorApp("m")
	const depth = 100_000
	tests := []struct {
		name   string
		target string
		body   string
		status int
	}{
		{"100k nested arrays", pmPath, nested("[", "]", depth, ""), 400},
		{"100k nested objects", pmPath, nested(`{"a":`, "}", depth, "1"), 400},
		{"100k nested arrays in appUserId", pmPath, `{"appUserId":` + nested("[", "]", depth, `"u1"`) + `,"type":"setupIntent"}`, 400},
		{"100k nested objects in an unknown key", pmPath, `{"appUserId":"u1","type":"setupIntent","x":` + nested(`{"a":`, "}", depth, "1") + `}`, 400},
		{"100k unterminated arrays", pmPath, strings.Repeat("[", depth), 400},
		{"10001 nested arrays, one over encoding/json's limit", pmPath, `{"appUserId":"u1","type":"setupIntent","x":` + nested("[", "]", 10001, "") + `}`, 400},
		{"nested default body", pmPath + "/pm_123/default", nested("[", "]", depth, ""), 400},
		{"900 KB appUserId", pmPath, `{"appUserId":"` + strings.Repeat("x", 900_000) + `","type":"setupIntent"}`, 400},
		{"50k duplicate keys", pmPath, "{" + strings.Repeat(`"appUserId":"u1",`, 50_000) + `"type":"checkout"}`, 400},
		{"1 MiB of whitespace", pmPath, strings.Repeat(" ", appwheelhttp.MaxBodyBytes), 400},
		{"1 MiB + 1 of a valid request", pmPath, `{"appUserId":"u1","type":"setupIntent"}` + strings.Repeat(" ", appwheelhttp.MaxBodyBytes-38), 413},
		{"4 MiB", pmPath, strings.Repeat("[", 4<<20), 413},
		{"huge number", pmPath, `{"appUserId":"u1","type":"setupIntent","x":1` + strings.Repeat("0", 500_000) + `}`, 400},
		{"huge exponent", pmPath, `{"appUserId":1e999999999}`, 400},
		{"many unicode escapes", pmPath, `{"appUserId":"` + strings.Repeat(`\ud83d\ude00`, 60_000) + `","type":"setupIntent"}`, 400},
		{"lone surrogates", pmPath, `{"appUserId":"` + strings.Repeat(`\ud800`, 10) + `","type":"setupIntent"}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			start := time.Now()
			r := e.do(app, req{method: "POST", target: tt.target, body: tt.body})
			took := time.Since(start)
			hWant(t, r, [2]int{tt.status, map[int]int{200: 0, 400: appwheel.EINVALID, 413: appwheel.EINVALID}[tt.status]})
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if n := e.Stripe.TotalCalls() - before; tt.status != 200 && n != 0 {
				t.Errorf("%d Stripe calls for a refused body", n)
			}
			if len(r.Msg) > 200 {
				t.Errorf("message echoes the body: %d bytes", len(r.Msg))
			}
		})
	}
	// The limit is inclusive: exactly 1 MiB is read.
	exact := `{"appUserId":"u1","type":"setupIntent"}` + strings.Repeat(" ", appwheelhttp.MaxBodyBytes-39)
	if len(exact) != appwheelhttp.MaxBodyBytes {
		t.Fatalf("exact body is %d bytes", len(exact))
	}
	e.do(app, req{method: "POST", target: pmPath, body: exact}).want(t, 200, 0)

	// The webhook endpoint: nested, oversized, signed correctly.
	for name, payload := range map[string]string{
		"nested arrays":  nested("[", "]", depth, ""),
		"nested objects": `{"id":"evt_deep","object":"event","type":"x","data":{"object":` + nested(`{"a":`, "}", depth, "1") + `}}`,
	} {
		t.Run("webhook "+name, func(t *testing.T) {
			start := time.Now()
			e.webhook(mirror.ID, []byte(payload), signNow([]byte(payload), mirror.Stripe.WebhookSecret)).want(t, 400, appwheel.EINVALID)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			e.wantNotRecorded(t, mirror.ID, "evt_deep")
		})
	}
	// A 413 closes the connection (the rest of the body is never read); a
	// request without credentials is answered before its body is read.
	oversized := strings.Repeat("[", 2<<20)
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"without credentials", nil, "HTTP/1.1 401 "},
		{"signed", signedHeaders(app, app.Secret, e.Clock.Now().Unix(), "POST", pmPath, oversized, "big-1"), "HTTP/1.1 413 "},
	} {
		conn, err := net.Dial("tcp", e.Server.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", pmPath, len(oversized))
		for k, v := range tt.headers {
			fmt.Fprintf(conn, "%s: %s\r\n", k, v)
		}
		fmt.Fprintf(conn, "\r\n%s", oversized)
		head, _ := io.ReadAll(io.LimitReader(conn, 1024))
		conn.Close()
		if !bytes.HasPrefix(head, []byte(tt.want)) || !bytes.Contains(head, []byte("\r\nConnection: close\r\n")) {
			t.Errorf("2 MiB body %s: %q, want %swith Connection: close", tt.name, head, tt.want)
		}
	}

	big := `{"id":"evt_big","object":"event","type":"x","pad":"` + strings.Repeat("x", appwheelhttp.MaxBodyBytes) + `"}`
	e.webhook(mirror.ID, []byte(big), signNow([]byte(big), mirror.Stripe.WebhookSecret)).want(t, 413, appwheel.EINVALID)
	e.wantNotRecorded(t, mirror.ID, "evt_big")
}

// TestHostileDuplicateJSONKeys: a body that gives a key twice, at any
// depth, is refused with 1001 naming it, before anything is done: no
// customer, no Stripe call. (encoding/json would let the last one win.)
func TestHostileDuplicateJSONKeys(t *testing.T) {
	e := newEnv(t)
	open := e.NewApp("open")
	shop := e.NewApp("shop", "shop.example.com")
	ok, evil := "https://shop.example.com/ok", "https://evil.example.net/phish"
	ctx := context.Background()
	tests := []struct {
		name, body, key, user string
		app                   *appwheel.App
	}{
		{"bad value last", `{"appUserId":"d1","appUserId":"\u0000","type":"setupIntent"}`, "appUserId", "d1", open},
		{"bad value first", `{"appUserId":"\u0000","appUserId":"d1","type":"setupIntent"}`, "appUserId", "d1", open},
		{"type flipped", `{"type":"setupIntent","appUserId":"d2","type":"checkout"}`, "type", "d2", open},
		{"null after a value", `{"appUserId":"d3","appUserId":null,"type":"setupIntent"}`, "appUserId", "d3", open},
		{"escaped name", `{"appUserId":"d4","app\u0055serId":"d5","type":"setupIntent"}`, "appUserId", "d5", open},
		{"evil url last", `{"appUserId":"d6","type":"checkout","successUrl":"` + ok + `","successUrl":"` + evil + `","cancelUrl":"` + ok + `"}`, "successUrl", "d6", shop},
		{"evil url first", `{"appUserId":"d7","type":"checkout","successUrl":"` + evil + `","successUrl":"` + ok + `","cancelUrl":"` + ok + `"}`, "successUrl", "d7", shop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			r := e.do(tt.app, req{method: "POST", target: pmPath, body: tt.body}).want(t, 400, appwheel.EINVALID)
			if want := "parameter " + appwheel.Quote(tt.key) + " is given twice"; r.Msg != want {
				t.Errorf("message %q, want %q", r.Msg, want)
			}
			if n := e.Stripe.TotalCalls() - before; n != 0 {
				t.Errorf("%d Stripe calls for a refused body", n)
			}
			if id, err := e.Store.CustomerID(ctx, tt.app.ID, tt.user); err == nil {
				t.Errorf("customer %s made for %q", id, tt.user)
			}
		})
	}
	// Nested objects too (the import's pairs).
	if r := e.do(open, req{method: "POST", target: "/v1/stripe/customer-imports", body: `{"pairs":[{"appUserId":"a","customerId":"cus_1","appUserId":"b"}]}`}).
		want(t, 400, appwheel.EINVALID); r.Msg != `parameter "appUserId" is given twice` {
		t.Errorf("a key twice in a nested object: message %q", r.Msg)
	}
	// And on the default endpoint.
	w := newHWorld(t, false)
	w.e.do(w.a, req{method: "POST", target: pmPath + "/" + w.pmA1 + "/default", body: `{"appUserId":"u1","appUserId":"u2"}`}).want(t, 400, appwheel.EINVALID)
	if n := w.e.Stripe.Calls("SetDefaultPaymentMethod"); n != 0 {
		t.Errorf("SetDefaultPaymentMethod calls = %d, want 0", n)
	}
}

// TestHostileTextEncodings: a body that is not UTF-8, or is sent as
// anything but application/json, is refused with 1001 saying so.
func TestHostileTextEncodings(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	r := e.do(app, req{method: "POST", target: pmPath, body: "{\"appUserId\":\"u\xff\xfe\",\"type\":\"setupIntent\"}"}).want(t, 400, appwheel.EINVALID)
	if !strings.Contains(r.Msg, "UTF-8") {
		t.Errorf("invalid UTF-8: message %q", r.Msg)
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"} {
		r := e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`, headers: map[string]string{"Content-Type": ct}}).
			want(t, 400, appwheel.EINVALID)
		if !strings.Contains(r.Msg, "Content-Type") {
			t.Errorf("Content-Type %q: message %q, want one naming the header", ct, r.Msg)
		}
	}
	e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent"}`, headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}}).
		want(t, 200, 0)
	if n := e.Stripe.Calls("CreateSetupIntent"); n != 1 {
		t.Errorf("CreateSetupIntent calls = %d, want 1 (the accepted request's)", n)
	}
}

// TestHostileMessagesBoundEchoedInput: a message names the parameter that
// is wrong, but should not copy an attacker's megabyte back into every
// response (and into whatever logs the SDK user keeps).
func TestHostileMessagesBoundEchoedInput(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	big := strings.Repeat("x", 900_000)
	ts := e.Clock.Now().Unix()
	for name, r := range map[string]response{
		"type":          e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"` + big + `"}`}),
		"unknown key":   e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent","` + big + `":1}`}),
		"unknown query": e.do(app, req{method: "GET", target: listTarget + "&" + big[:60_000] + "=1"}),
		"unknown app":   e.raw("GET", listTarget, "", map[string]string{signature.HeaderAppID: big[:60_000], signature.HeaderPlatform: "stripe", signature.HeaderTimestamp: "1", signature.HeaderSignature: "v1=00"}),
		"platform":      e.raw("GET", listTarget, "", map[string]string{signature.HeaderAppID: app.ID, signature.HeaderPlatform: big[:60_000], signature.HeaderTimestamp: strconv.FormatInt(ts, 10), signature.HeaderSignature: signature.Sign(app.Secret, ts, "GET", listTarget, nil, "")}),
	} {
		if r.Code == 0 {
			t.Errorf("%s: accepted", name)
		}
		if len(r.Msg) > 1024 {
			t.Errorf("%s: message is %d bytes, want at most 1 KiB", name, len(r.Msg))
		}
	}
}

// TestHeldBodiesUnread: requests whose headers already fail (an unknown
// AppID, no platform, a stale timestamp) that announce 1 MiB bodies and
// never send them are answered at once, their bodies never awaited: a
// hundred of them hold no server memory for bodies. (A known app's
// signature covers the body, so its body is read, within the bodies'
// budget: TestBodyBudget.)
func TestHeldBodiesUnread(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	now := e.Clock.Now().Unix()
	for i := range 100 {
		conn, err := net.Dial("tcp", e.Server.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		appID, platform, ts := "app_unknown", "stripe", now
		switch i % 3 {
		case 1:
			appID, platform = app.ID, ""
		case 2:
			appID, ts = app.ID, now-3600
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s: %s\r\n%s: %s\r\n%s: %d\r\n%s: v1=%064d\r\n%s: n%d\r\n\r\n",
			pmPath, appwheelhttp.MaxBodyBytes, signature.HeaderAppID, appID, signature.HeaderPlatform, platform,
			signature.HeaderTimestamp, ts, signature.HeaderSignature, 0, signature.HeaderNonce, i)
		head := make([]byte, 12)
		if _, err := io.ReadFull(conn, head); err != nil || string(head) != "HTTP/1.1 401" && string(head) != "HTTP/1.1 429" {
			t.Fatalf("request %d with its body held back: %q, %v; want an answer (401, or 429 once throttled) before the body", i, head, err)
		}
	}
}
