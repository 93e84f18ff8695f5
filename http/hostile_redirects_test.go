package http_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/appwheel/appwheel"
)

// Hostile redirect URLs: checkout URLs built to inject headers, run script
// or leave the app's allowed hosts.

// TestHostileRedirectURLs: checkout URLs that would inject headers, run
// script, or leave the app's allowed hosts are refused with 1001 or 1003
// before any Stripe call, in either position; what is accepted reaches
// Stripe byte for byte.
func TestHostileRedirectURLs(t *testing.T) {
	e := newEnv(t)
	shop := e.NewApp("shop", "shop.example.com")
	open := e.NewApp("open")
	good := "https://shop.example.com/ok"
	const (
		inv = appwheel.EINVALID
		frb = appwheel.EFORBIDDEN
	)
	tests := []struct {
		name string
		url  string
		shop int // code for the app with an allow-list
		open int // code for the app without one; -1: not asserted
	}{
		{"CRLF", good + "\r\nSet-Cookie: a=b", inv, inv},
		{"LF", good + "\nLocation: https://evil.com", inv, inv},
		{"CR in host", "https://shop.example.com\r\n.evil.com/", inv, inv},
		{"NUL in host", "https://shop.example.com\x00.evil.com/", inv, inv},
		{"encoded CRLF in host", "https://shop.example.com%0d%0aSet-Cookie:a=b/", inv, inv},
		{"encoded slash in host", "https://shop.example.com%2f.evil.com/", inv, inv},
		{"tab in host", "https://shop.example.com\t.evil.com/", inv, inv},
		{"leading space", " " + good, inv, inv},
		{"leading tab", "\t" + good, inv, inv},
		{"C1 control", good + "\u0085", inv, inv},
		{"DEL", good + "\x7f", inv, inv},
		{"backslash userinfo", "https://evil.com\\@shop.example.com/", inv, inv},
		{"backslash host", "https://shop.example.com\\.evil.com/", inv, inv},
		{"backslashes for slashes", "https:\\\\evil.com/", inv, inv},
		{"slash backslash", "https:/\\evil.com/", inv, inv},
		{"javascript", "javascript:alert(document.cookie)", inv, inv},
		{"javascript with host", "JavaScript://shop.example.com/%0aalert(1)", inv, inv},
		{"data", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", inv, inv},
		{"vbscript", "vbscript:msgbox(1)", inv, inv},
		{"file", "file:///etc/passwd", inv, inv},
		{"ftp", "ftp://shop.example.com/", inv, inv},
		{"protocol-relative", "//evil.com/x", inv, inv},
		{"triple slash", "///evil.com/x", inv, inv},
		{"one slash", "http:/evil.com", inv, inv},
		{"no slash", "http:evil.com", inv, inv},
		{"no host", "https:///ok", inv, inv},
		{"scheme only", "https://", inv, inv},
		{"relative", "/ok", inv, inv},
		{"userinfo with allowed host", "https://shop.example.com@evil.com/", inv, inv},
		{"userinfo on allowed host", "https://user:pass@shop.example.com/", inv, inv},
		{"encoded userinfo", "https://evil.com%2f@shop.example.com/", inv, inv},
		{"IDN homograph", "https://ѕhop.example.com/", inv, inv},
		{"ideographic full stop", "https://shop.example.com。evil.com/", inv, inv},
		{"fullwidth host", "https://ｓｈｏｐ.example.com/", inv, inv},
		{"unicode host", "https://bücher.example/", inv, inv},
		{"too long", good + "?" + strings.Repeat("a", 2100), inv, inv},
		{"very long host", "https://" + strings.Repeat("a", 2100) + ".com/", inv, inv},
		{"long host", "https://" + strings.Repeat("a.", 150) + "com/", inv, inv}, // 303 bytes: not a DNS name
		{"fragment @", "https://evil.com#@shop.example.com", frb, 0},
		{"query @", "https://evil.com?@shop.example.com", frb, 0},
		{"suffix domain", "https://shop.example.com.evil.com/", frb, 0},
		{"prefix domain", "https://evilshop.example.com/", frb, 0},
		{"allowed host in path", "https://evil.com/shop.example.com", frb, 0},
		{"punycode", "https://xn--shp-0ma.example.com/", frb, 0},
		{"trailing dot", "https://shop.example.com./ok", frb, 0},
		{"IPv6 loopback", "https://[::1]/", frb, 0},
		{"IPv4 loopback", "http://127.0.0.1/", frb, 0},
		{"metadata address", "http://169.254.169.254/latest/meta-data/", frb, 0},
		// Accepted: these are the allowed host, and the percent-encoded
		// CR/LF stays encoded (it never becomes a header line).
		{"uppercase", "HTTPS://SHOP.EXAMPLE.COM/OK", 0, 0},
		{"port", "https://shop.example.com:8443/ok", 0, 0},
		{"encoded CRLF in path", good + "%0d%0aSet-Cookie:%20a=b", 0, 0},
		{"encoded CRLF in query", good + "?next=%0d%0aLocation:%20https://evil.com", 0, 0},
	}
	for _, tt := range tests {
		for _, app := range []*appwheel.App{shop, open} {
			want := tt.shop
			if app == open {
				want = tt.open
			}
			if want < 0 {
				continue
			}
			for _, field := range []string{"successUrl", "cancelUrl"} {
				t.Run(fmt.Sprintf("%s/%s/%s", tt.name, app.Name, field), func(t *testing.T) {
					params := map[string]string{"appUserId": "u1", "type": "checkout", "successUrl": good, "cancelUrl": good}
					params[field] = tt.url
					body, err := json.Marshal(params)
					if err != nil {
						t.Fatal(err)
					}
					before := e.Stripe.TotalCalls()
					sessions := len(e.Stripe.CheckoutSessions(app.Stripe))
					r := e.do(app, req{method: "POST", target: pmPath, body: string(body)})
					switch want {
					case 0:
						r.want(t, 200, 0)
						all := e.Stripe.CheckoutSessions(app.Stripe)
						if len(all) != sessions+1 {
							t.Fatalf("%d sessions made, want 1", len(all)-sessions)
						}
						got := all[len(all)-1].Params
						if sent := map[string]string{"successUrl": got.SuccessURL, "cancelUrl": got.CancelURL}[field]; sent != tt.url {
							t.Errorf("Stripe got %s %q, want %q unchanged", field, sent, tt.url)
						}
					default:
						r.want(t, map[int]int{inv: 400, frb: 403}[want], want)
						if !strings.Contains(r.Msg, field) {
							t.Errorf("message %q does not name %s", r.Msg, field)
						}
						if n := e.Stripe.TotalCalls() - before; n != 0 {
							t.Errorf("%d Stripe calls for a refused URL", n)
						}
					}
				})
			}
		}
	}
	// The same URLs are ignored (never sent to Stripe) for a SetupIntent.
	r := e.do(shop, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent","successUrl":"javascript:alert(1)","cancelUrl":"//evil.com"}`})
	r.want(t, 200, 0)
}

// TestHostileRedirectHostNotADNSName: a redirect URL whose host cannot
// exist (a label over 63 bytes, a name over 253, a port over 65535) is a
// parameter error the API could answer itself; today, for an app without
// an allow-list, it is sent on to Stripe.
func TestHostileRedirectHostNotADNSName(t *testing.T) {
	e := newEnv(t)
	open := e.NewApp("open")
	good := "https://shop.example.com/ok"
	for name, u := range map[string]string{
		"label of 64":   "https://" + strings.Repeat("a", 64) + ".example.com/",
		"label of 2000": "https://" + strings.Repeat("a", 2000) + ".com/",
		"name of 300":   "https://" + strings.Repeat("a.", 150) + "com/",
		"port 99999999": "https://shop.example.com:99999999/ok",
		"empty label":   "https://shop..example.com/ok",
	} {
		t.Run(name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			body, _ := json.Marshal(map[string]string{"appUserId": "u1", "type": "checkout", "successUrl": u, "cancelUrl": good})
			e.do(open, req{method: "POST", target: pmPath, body: string(body)}).want(t, 400, appwheel.EINVALID)
			if n := e.Stripe.TotalCalls() - before; n != 0 {
				t.Errorf("%d Stripe calls", n)
			}
		})
	}
}
