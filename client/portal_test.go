package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/portal"
	"github.com/appwheel/appwheel/signature"
)

func TestCreatePortalSession(t *testing.T) {
	c, seen := recordingServer(t, http.StatusOK,
		`{"code":0,"data":{"url":"https://appwheel.example.com/portal/AbCdEf0123456789","expiresAt":"1700000300"},"message":"success"}`)
	ctx := context.Background()

	s, err := c.CreatePortalSession(ctx, client.PortalSessionParams{
		AppUserID: "u1", ReturnURL: "https://shop.example.com/account", Locale: client.LocaleSimplifiedChinese, IdempotencyKey: "portal-u1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if *s != (client.PortalSession{URL: "https://appwheel.example.com/portal/AbCdEf0123456789", ExpiresAt: "1700000300"}) {
		t.Errorf("session = %+v", s)
	}
	// Without a locale and a key.
	if _, err := c.CreatePortalSession(ctx, client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/account"}); err != nil {
		t.Fatal(err)
	}

	if len(*seen) != 2 {
		t.Fatalf("%d requests, want 2", len(*seen))
	}
	// Only the fields given: the idempotency key is a header, never in the body.
	for i, want := range []string{
		`{"appUserId":"u1","returnUrl":"https://shop.example.com/account","locale":"zh-CN"}`,
		`{"appUserId":"u1","returnUrl":"https://shop.example.com/account"}`,
	} {
		r := (*seen)[i]
		if r.method != http.MethodPost || r.target != "/v1/stripe/portal-sessions" {
			t.Errorf("#%d: %s %s, want POST /v1/stripe/portal-sessions", i, r.method, r.target)
		}
		if string(r.body) != want {
			t.Errorf("#%d: body %s, want %s", i, r.body, want)
		}
		if r.contentType != "application/json" {
			t.Errorf("#%d: Content-Type %q", i, r.contentType)
		}
		// A write: the nonce is required, and signed.
		if r.nonce == "" || !signature.ValidNonce(r.nonce) {
			t.Errorf("#%d: %s = %q, want 1–64 printable ASCII characters", i, signature.HeaderNonce, r.nonce)
		}
		if !r.signed {
			t.Errorf("#%d: the signature does not verify", i)
		}
	}
	if (*seen)[0].nonce == (*seen)[1].nonce {
		t.Error("two writes sent the same nonce")
	}
	if k0, k1 := (*seen)[0].idempotencyKey, (*seen)[1].idempotencyKey; k0 != "portal-u1" || k1 != "" {
		t.Errorf("Idempotency-Key = %q, %q; want portal-u1, none", k0, k1)
	}
}

func TestCreatePortalSessionErrors(t *testing.T) {
	for _, tc := range []struct {
		status, code               int
		invalid, forbidden, absent bool
	}{
		{http.StatusBadRequest, client.CodeInvalid, true, false, false},
		{http.StatusForbidden, client.CodeForbidden, false, true, false},
		{http.StatusNotFound, client.CodeNotFound, false, false, true},
		{http.StatusConflict, client.CodeIdempotency, false, false, false},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			c, _ := recordingServer(t, tc.status, fmt.Sprintf(`{"code":%d,"data":null,"message":"refused"}`, tc.code))
			s, err := c.CreatePortalSession(context.Background(), client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/account"})
			var ce *client.Error
			if s != nil || !errors.As(err, &ce) || ce.Code != tc.code || ce.HTTPStatus != tc.status || ce.RequestID != "req_recorded" {
				t.Fatalf("session, err = %v, %v; want a %d *client.Error, HTTP %d, with the request id", s, err, tc.code, tc.status)
			}
			if client.IsInvalid(err) != tc.invalid || client.IsForbidden(err) != tc.forbidden || client.IsNotFound(err) != tc.absent {
				t.Errorf("IsInvalid = %v, IsForbidden = %v, IsNotFound = %v; want %v, %v, %v",
					client.IsInvalid(err), client.IsForbidden(err), client.IsNotFound(err), tc.invalid, tc.forbidden, tc.absent)
			}
			if client.IsRetryable(err) {
				t.Error("retryable, want not")
			}
		})
	}
}

// TestCreatePortalSessionServer runs the call against the real API, over
// SQLite and the fake Stripe, with the hosted billing page.
func TestCreatePortalSessionServer(t *testing.T) {
	const base = "https://billing.example.test"
	e := apitest.New(t, func(cfg *appwheelhttp.Config) {
		p, err := portal.New(portal.Config{Billing: cfg.Billing, Apps: cfg.Apps, Key: bytes.Repeat([]byte{9}, 32), BaseURL: base, Now: cfg.Now})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Portal = p
	})
	app := e.NewApp("a", "shop.example.com")
	c := clientFor(e, app, app.Secret)
	ctx := context.Background()

	s, err := c.CreatePortalSession(ctx, client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/account", Locale: client.LocaleEnglish})
	if err != nil {
		t.Fatal(err)
	}
	if token, ok := strings.CutPrefix(s.URL, base+"/portal/"); !ok || token == "" {
		t.Errorf("url = %q, want %s/portal/{token}", s.URL, base)
	}
	exp, err := strconv.ParseInt(s.ExpiresAt, 10, 64)
	if ahead := time.Unix(exp, 0).Sub(e.Clock.Now()); err != nil || ahead < 5*time.Minute-2*time.Second || ahead > 5*time.Minute {
		t.Errorf("expiresAt = %q, want about 5 minutes from the server's now", s.ExpiresAt)
	}
	if _, err := c.CreatePortalSession(ctx, client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/account", Locale: "fr"}); !client.IsInvalid(err) {
		t.Errorf("locale fr: err = %v, want 1001", err)
	}
	if _, err := c.CreatePortalSession(ctx, client.PortalSessionParams{AppUserID: "", ReturnURL: "https://shop.example.com/account"}); !client.IsInvalid(err) {
		t.Errorf("empty appUserId: err = %v, want 1001", err)
	}
	if _, err := c.CreatePortalSession(ctx, client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://evil.example.net/account"}); !client.IsForbidden(err) {
		t.Errorf("returnUrl on another host: err = %v, want 1003", err)
	}
	if _, err := clientFor(e, app, "wrong").CreatePortalSession(ctx, client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/account"}); !client.IsUnauthenticated(err) {
		t.Errorf("wrong secret: err = %v, want 1002", err)
	}

	// A server without the billing page has no such route.
	_, _, plain := newClient(t)
	if _, err := plain.CreatePortalSession(ctx, client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/account"}); !client.IsNotFound(err) {
		t.Errorf("without the billing page: err = %v, want 1004", err)
	}
}
