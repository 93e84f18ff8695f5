package http_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
)

// Hostile headers and floods: huge and malformed header values, and one
// app's flood of requests.

// TestHostileHeaders: huge and malformed header values are refused in the
// envelope (or, past net/http's own limit, by net/http), never echoed into
// a response header, and never reach Stripe.
func TestHostileHeaders(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	huge := strings.Repeat("A", 512<<10) // under net/http's default 1 MiB of headers
	signed := func(extra map[string]string) map[string]string {
		e.Clock.Advance(time.Second)
		ts := e.Clock.Now().Unix()
		h := map[string]string{
			signature.HeaderAppID:     app.ID,
			signature.HeaderPlatform:  "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderNonce:     "n1",
			signature.HeaderSignature: signature.Sign(app.Secret, ts, "POST", pmPath, []byte(`{"appUserId":"u1","type":"setupIntent"}`), "n1"),
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	body := `{"appUserId":"u1","type":"setupIntent"}`
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		code    int
	}{
		{"huge app id", signed(map[string]string{signature.HeaderAppID: huge}), 401, appwheel.EUNAUTHENTICATED},
		{"huge platform", signed(map[string]string{signature.HeaderPlatform: huge}), 403, appwheel.EFORBIDDEN},
		{"huge timestamp", signed(map[string]string{signature.HeaderTimestamp: strings.Repeat("9", 512<<10)}), 401, appwheel.EUNAUTHENTICATED},
		{"huge signature", signed(map[string]string{signature.HeaderSignature: "v1=" + huge}), 401, appwheel.EUNAUTHENTICATED},
		{"huge nonce", signed(map[string]string{signature.HeaderNonce: huge}), 401, appwheel.EUNAUTHENTICATED},
		{"huge Basic auth", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(app.ID+":"+huge)), signature.HeaderPlatform: "stripe"}, 401, appwheel.EUNAUTHENTICATED},
		{"huge Idempotency-Key", signed(map[string]string{"Idempotency-Key": huge}), 400, appwheel.EINVALID},
		{"Idempotency-Key of 256", signed(map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}), 400, appwheel.EINVALID},
		{"Idempotency-Key with unicode", signed(map[string]string{"Idempotency-Key": "ключ"}), 400, appwheel.EINVALID},
		{"many app ids", signed(map[string]string{signature.HeaderAppID: app.ID + ", " + app.ID}), 401, appwheel.EUNAUTHENTICATED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			start := time.Now()
			r := e.raw("POST", pmPath, body, tt.headers).want(t, tt.status, tt.code)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if n := e.Stripe.TotalCalls() - before; n != 0 {
				t.Errorf("%d Stripe calls", n)
			}
			for k, vs := range r.Header {
				for _, v := range vs {
					if len(v) > 1024 {
						t.Errorf("response header %s is %d bytes: a request header echoed", k, len(v))
					}
				}
			}
			hNoLeak(t, r, []string{app.Secret, app.Stripe.SecretKey})
		})
	}

	// X-Request-Id: a well-formed one is kept, anything else replaced.
	for _, id := range []string{huge, "<script>alert(1)</script>", "short", "id\u2028with-separator", "abc%0d%0aSet-Cookie:x", strings.Repeat("a", 65)} {
		r := e.raw("GET", "/healthz", "", map[string]string{"X-Request-Id": id}).want(t, 200, 0)
		if got := r.Header.Get("X-Request-Id"); got == id || len(got) > 64 {
			t.Errorf("X-Request-Id %.40q… echoed as %.40q", id, got)
		}
	}
	kept := "trace-0123456789_ABC"
	if got := e.raw("GET", "/healthz", "", map[string]string{"X-Request-Id": kept}).want(t, 200, 0).Header.Get("X-Request-Id"); got != kept {
		t.Errorf("X-Request-Id = %q, want %q kept", got, kept)
	}

	// Raw CR/LF in a header value never reaches AppWheel: net/http refuses
	// the request with its own 400.
	conn, err := net.Dial("tcp", e.Server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abcdefgh\rSet-Cookie: y=z\r\n\r\n")
	reply, _ := io.ReadAll(io.LimitReader(conn, 4096))
	if bytes.Contains(reply, []byte("Set-Cookie")) {
		t.Errorf("a bare CR in a request header reached the response: %q", reply)
	}

	// Past net/http's header limit the server answers 431 itself (not in
	// the envelope: AppWheel never sees the request), and keeps serving.
	hr, _ := http.NewRequest("GET", e.Server.URL+listTarget, nil)
	hr.Header.Set(signature.HeaderAppID, strings.Repeat("A", 2<<20))
	resp, err := e.Server.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("2 MiB header: HTTP %d, want 431 from net/http", resp.StatusCode)
	}
	e.do(app, req{method: "GET", target: listTarget}).want(t, 200, 0)
}

// TestHostileFlood: one app's flood is answered with 1006 and a
// Retry-After that is honoured, while another app keeps getting 200; a
// flood of forged requests in an app's name does not spend its budget;
// and a rate-limited request's Idempotency-Key is not burnt.
func TestHostileFlood(t *testing.T) {
	// The harness clock moves a second per signed request: at 0.1/s a
	// request refills a tenth of a token.
	e := &env{Env: apitest.New(t, func(c *appwheelhttp.Config) { c.RateLimit, c.RateBurst = 0.1, 5 }), t: t}
	flood, calm := e.NewApp("flood"), e.NewApp("calm")

	// Forged requests in flood's name: 401 each until the failures'
	// budget is spent, 1006 after; and its bucket is intact.
	ts := e.Clock.Now().Unix()
	for i := range 50 {
		r := e.raw("GET", listTarget, "", map[string]string{
			signature.HeaderAppID: flood.ID, signature.HeaderPlatform: "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderSignature: signature.Sign("guess-"+strconv.Itoa(i), ts, "GET", listTarget, nil, ""),
		})
		if i < 20 {
			r.want(t, 401, appwheel.EUNAUTHENTICATED)
		} else {
			r.want(t, 429, appwheel.ERATELIMITED)
		}
	}

	okCount, limited := 0, 0
	var retryAfter string
	for i := range 40 {
		r := e.do(flood, req{method: "GET", target: listTarget})
		switch r.Code {
		case 0:
			okCount++
		case appwheel.ERATELIMITED:
			r.want(t, 429, appwheel.ERATELIMITED)
			limited++
			retryAfter = r.Header.Get("Retry-After")
			if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 || n > 10 {
				t.Fatalf("Retry-After = %q, want 1–10 seconds", retryAfter)
			}
		default:
			t.Fatalf("request %d: HTTP %d code %d (%q)", i, r.Status, r.Code, r.Msg)
		}
		if i%10 == 0 { // within calm's own budget: a token every 10 s
			e.do(calm, req{method: "GET", target: listTarget}).want(t, 200, 0)
		}
	}
	// 40 requests over 44 s of the server's clock: the burst of 5 (the
	// forged requests spent none of it) and about 4 refills.
	if okCount < 5 || okCount > 5+40/10+1 || limited == 0 {
		t.Fatalf("served %d, limited %d; want 5–10 served and the rest limited", okCount, limited)
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0", n)
	}

	// A limited POST with an Idempotency-Key: not stored, so the same key
	// works once the wait is over.
	body := `{"appUserId":"u1","type":"setupIntent"}`
	key := map[string]string{"Idempotency-Key": "flood-1"}
	r := e.do(flood, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 429, appwheel.ERATELIMITED)
	wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	e.Clock.Advance(time.Duration(wait) * time.Second) // do() adds one more
	e.do(flood, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 200, 0)
	if n := e.Stripe.Calls("CreateSetupIntent"); n != 1 {
		t.Errorf("CreateSetupIntent calls = %d, want 1", n)
	}
	e.do(calm, req{method: "GET", target: listTarget}).want(t, 200, 0)
}
