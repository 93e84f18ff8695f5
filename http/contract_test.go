package http_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/appwheel/appwheel"
)

// The signing contract as README.md ("Authentication") states it, checked
// with a client written from that text alone: its own HMAC code, neither
// the signature package nor an SDK, against the real server over SQLite
// and the fake Stripe.

// readmeClient signs requests the way README.md says to.
type readmeClient struct {
	t                    *testing.T
	baseURL              string
	appID, platform, key string
	now                  func() int64 // Unix seconds, the server's clock
	httpClient           *http.Client
}

// readmeRequest is one request, signed once, that can be sent again as is.
type readmeRequest struct {
	method, target, body string
	header               http.Header
}

// sign builds the request: X-AppWheel-Signature is
// v1=hex(HMAC-SHA256(AppSecret, timestamp "\n" METHOD "\n" path?query "\n"
// hex(SHA-256(body)) ["\n" nonce])), the nonce line there exactly when the
// X-AppWheel-Nonce header is.
func (c *readmeClient) sign(method, target, body, nonce string) readmeRequest {
	ts := strconv.FormatInt(c.now(), 10)
	bodyHash := sha256.Sum256([]byte(body))
	toSign := ts + "\n" + method + "\n" + target + "\n" + hex.EncodeToString(bodyHash[:])
	if nonce != "" {
		toSign += "\n" + nonce
	}
	mac := hmac.New(sha256.New, []byte(c.key))
	mac.Write([]byte(toSign))
	h := http.Header{}
	h.Set("X-AppWheel-App-Id", c.appID)
	h.Set("X-AppWheel-Platform", c.platform)
	h.Set("X-AppWheel-Timestamp", ts)
	if nonce != "" {
		h.Set("X-AppWheel-Nonce", nonce)
	}
	h.Set("X-AppWheel-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return readmeRequest{method: method, target: target, body: body, header: h}
}

// freshNonce is 1–64 printable ASCII characters, new for each request.
func freshNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *readmeClient) send(r readmeRequest) response {
	c.t.Helper()
	hr, err := http.NewRequest(r.method, c.baseURL+r.target, bytes.NewReader([]byte(r.body)))
	if err != nil {
		c.t.Fatal(err)
	}
	hr.Header = r.header.Clone()
	resp, err := c.httpClient.Do(hr)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	out := response{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(data, &out); err != nil {
		c.t.Fatalf("%s %s: not an envelope: %q", r.method, r.target, data)
	}
	return out
}

func TestContractSigningFromREADME(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("contract")
	c := &readmeClient{
		t: t, baseURL: e.Server.URL,
		appID: app.ID, platform: "stripe", key: app.Secret,
		now:        func() int64 { return e.Clock.Now().Unix() },
		httpClient: e.Server.Client(),
	}
	const user = "contract_user"

	// A user with a Stripe customer and two cards, through the API itself.
	setup := `{"appUserId":"` + user + `","type":"setupIntent"}`
	c.send(c.sign("POST", pmPath, setup, freshNonce())).want(t, 200, 0)
	cus, err := e.Store.CustomerID(context.Background(), app.ID, user)
	if err != nil {
		t.Fatal(err)
	}
	keep := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	drop := e.Stripe.AttachCard(app.Stripe, cus, "mastercard", "4444")
	rowsBefore := nonceRows(t, e)

	t.Run("reads", func(t *testing.T) {
		for _, target := range []string{
			pmPath + "?appUserId=" + user,
			"/v1/stripe/invoices?appUserId=" + user,
			"/v1/stripe/subscriptions?appUserId=" + user,
		} {
			for _, nonce := range []string{"", freshNonce()} { // optional on GET
				r := c.sign("GET", target, "", nonce)
				// The same request, the same signature, the same second: twice.
				first, again := c.send(r), c.send(r)
				for i, got := range []response{first, again} {
					if got.Status != 200 || got.Code != 0 {
						t.Errorf("GET %s (nonce %q), send %d: HTTP %d code %d (%q), want 200 code 0", target, nonce, i+1, got.Status, got.Code, got.Msg)
					}
				}
				if first.Code == 0 && again.Code == 0 && string(first.Data) != string(again.Data) {
					t.Errorf("GET %s: data %s then %s", target, first.Data, again.Data)
				}
			}
		}
		if n := nonceRows(t, e); n != rowsBefore {
			t.Errorf("nonce rows %d after the reads, were %d: a read records nothing", n, rowsBefore)
		}
	})

	writes := []struct {
		name           string
		method, target string
		body           string
		check          func(t *testing.T, r response)
	}{
		{"POST payment-methods setupIntent", "POST", pmPath, setup, func(t *testing.T, r response) {
			var si struct {
				SetupIntentID string `json:"setupIntentId"`
				ClientSecret  string `json:"clientSecret"`
			}
			r.decode(t, &si)
			if !strings.HasPrefix(si.SetupIntentID, "seti_") || si.ClientSecret == "" {
				t.Errorf("data = %s; want a SetupIntent", r.Data)
			}
		}},
		{"POST payment-methods/{id}/default", "POST", pmPath + "/" + keep.ID + "/default", `{"appUserId":"` + user + `"}`, func(t *testing.T, r response) {
			var d struct {
				DefaultMethodID string `json:"defaultMethodId"`
			}
			r.decode(t, &d)
			if d.DefaultMethodID != keep.ID {
				t.Errorf("defaultMethodId = %q, want %s", d.DefaultMethodID, keep.ID)
			}
		}},
		{"DELETE payment-methods/{id}", "DELETE", pmPath + "/" + drop.ID + "?appUserId=" + user, "", func(t *testing.T, r response) {
			var removed struct {
				MethodID string `json:"methodId"`
			}
			r.decode(t, &removed)
			if removed.MethodID != drop.ID {
				t.Errorf("methodId = %q, want %s", removed.MethodID, drop.ID)
			}
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			calls := e.Stripe.TotalCalls()
			bare := c.send(c.sign(w.method, w.target, w.body, "")).want(t, 401, appwheel.EUNAUTHENTICATED)
			if !strings.Contains(bare.Msg, "X-AppWheel-Nonce") {
				t.Errorf("message = %q; want it to name X-AppWheel-Nonce", bare.Msg)
			}
			if n := e.Stripe.TotalCalls() - calls; n != 0 {
				t.Errorf("a write without a nonce made %d Stripe calls", n)
			}

			signed := c.sign(w.method, w.target, w.body, freshNonce())
			w.check(t, c.send(signed).want(t, 200, 0))

			replay := c.send(signed).want(t, 401, appwheel.EUNAUTHENTICATED)
			if !strings.Contains(replay.Msg, "replayed") {
				t.Errorf("replay message = %q; want it to say replayed", replay.Msg)
			}
		})
	}

	// The writes took effect once each: keep is the default, drop is gone.
	var list struct {
		Methods         []json.RawMessage `json:"methods"`
		DefaultMethodID string            `json:"defaultMethodId"`
	}
	c.send(c.sign("GET", pmPath+"?appUserId="+user, "", "")).want(t, 200, 0).decode(t, &list)
	if list.DefaultMethodID != keep.ID || len(list.Methods) != 1 || !strings.Contains(string(list.Methods[0]), keep.ID) {
		t.Errorf("after the writes: default %q, %d methods; want default %s, only it left", list.DefaultMethodID, len(list.Methods), keep.ID)
	}

	// curl's way, as README.md shows it: HTTP Basic, no nonce, on a write too.
	basic := readmeRequest{method: "POST", target: pmPath, body: setup, header: http.Header{}}
	basic.header.Set("Authorization", basicAuth(app.ID, app.Secret))
	basic.header.Set("X-AppWheel-Platform", "stripe")
	basic.header.Set("Content-Type", "application/json")
	c.send(basic).want(t, 200, 0)
}
