// Package client is the Go SDK of AppWheel: typed calls over its HTTP API,
// signed with the app's AppSecret.
//
//	c := client.New(appID, "stripe", appSecret, client.WithBaseURL("https://appwheel.example.com"))
//	setup, err := c.CreatePaymentMethod(ctx, client.CreatePaymentMethodParams{
//		AppUserID: "u1", Type: client.TypeSetupIntent,
//	})
//	if client.IsNotFound(err) { … }
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/appwheel/appwheel/signature"
)

// DefaultBaseURL is where New points a Client unless WithBaseURL says otherwise:
// a local `appwheel dev` or `appwheel serve`.
const DefaultBaseURL = "http://127.0.0.1:8080"

// Client calls AppWheel for one app. It is safe for concurrent use.
type Client struct {
	appID    string
	platform string
	secret   string
	baseURL  string
	http     *http.Client
	now      func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets AppWheel's URL (scheme, host and optional path prefix).
// Defaults to DefaultBaseURL.
func WithBaseURL(u string) Option {
	return func(c *Client) { c.baseURL = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the HTTP client. Defaults to one with a 30 s timeout.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) { c.http = h }
}

// WithClock sets the clock used for request timestamps. Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// New returns a Client for the app with the given AppID, platform and AppSecret.
func New(appID, platform, secret string, opts ...Option) *Client {
	c := &Client{
		appID:    appID,
		platform: platform,
		secret:   secret,
		baseURL:  DefaultBaseURL,
		http:     &http.Client{Timeout: 30 * time.Second},
		now:      time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// envelope is every AppWheel response.
type envelope struct {
	Code    int             `json:"code"`
	Data    json.RawMessage `json:"data"`
	Message string          `json:"message"`
	Stripe  *StripeError    `json:"stripe"`
}

// do sends one signed request and decodes the envelope's data into out.
// target is the path with its query, as signed.
func (c *Client) do(ctx context.Context, method, target string, body any, idempotencyKey string, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+target, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	// The server verifies the target as sent, path prefix included.
	signedTarget := req.URL.RequestURI()
	ts := c.now().Unix()
	// A nonce on every request: required on writes (POST, DELETE), whose
	// signature the server accepts once, so identical writes in one second
	// must differ; optional on reads, sent anyway.
	nonce := rand.Text()
	req.Header.Set(signature.HeaderAppID, c.appID)
	req.Header.Set(signature.HeaderPlatform, c.platform)
	req.Header.Set(signature.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(signature.HeaderNonce, nonce)
	req.Header.Set(signature.HeaderSignature, signature.Sign(c.secret, ts, method, signedTarget, payload, nonce))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return &Error{HTTPStatus: resp.StatusCode, Code: CodeInternal, RequestID: resp.Header.Get("X-Request-Id"),
			Message: fmt.Sprintf("response is not an AppWheel envelope (HTTP %d)", resp.StatusCode)}
	}
	if env.Code != 0 {
		return &Error{HTTPStatus: resp.StatusCode, Code: env.Code, Message: env.Message,
			RequestID: resp.Header.Get("X-Request-Id"), Stripe: env.Stripe}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(env.Data, out)
}
