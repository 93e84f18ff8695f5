// Package stripe is AppWheel's Stripe provider: the only implementation of
// appwheel.Stripe, over stripe-go (the pinned major, v85). It is the one place
// where stripe-go types exist; everything it returns is a domain type or an
// *appwheel.Error.
//
// Each app brings its own Stripe account, so every call takes the app's
// appwheel.StripeAccount. One *stripe.Client is built per (secret key, API
// base) on first use and cached; nothing here touches stripe-go's package
// globals (no stripe.Key, no global backends).
//
// Retries happen in two layers, both reusing the request's idempotency key so
// a retried write never happens twice:
//   - stripe-go retries network errors, timeouts, unreadable responses and
//     429 lock_timeout (Options.MaxNetworkRetries);
//   - this package retries 429 rate-limit errors, which stripe-go by design
//     does not (Options.RateLimitRetries), and 409 and 5xx answers with a
//     Stripe error body, which stripe-go v85 does not either, despite its
//     documentation (Options.MaxNetworkRetries again). It backs off between
//     attempts and stops when ctx is done.
package stripe

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

var _ appwheel.Stripe = (*Provider)(nil)

// Defaults of Options.
const (
	DefaultTimeout           = 20 * time.Second
	DefaultMaxNetworkRetries = 2
	DefaultRateLimitRetries  = 2
	DefaultRetryBackoff      = time.Second
)

// Options configures a Provider. The zero value is ready for production.
type Options struct {
	// HTTPClient sends every request to Stripe. Its Timeout bounds each
	// attempt, not the whole call with its retries.
	// Defaults to an *http.Client with a Timeout of 20s (DefaultTimeout).
	HTTPClient *http.Client

	// MaxNetworkRetries bounds the retries of transient failures. It is
	// handed to stripe-go, which retries network errors, timeouts, unreadable
	// responses and 429 lock_timeout, sleeping 0.5s–5s between attempts; and
	// it bounds our own retries of 409 and 5xx answers, which stripe-go
	// leaves alone when they carry a Stripe error body.
	// Defaults to 2 (DefaultMaxNetworkRetries) when zero; negative means none.
	MaxNetworkRetries int64

	// RateLimitRetries bounds our own retries of 429 rate-limit errors, which
	// stripe-go never retries: Stripe's per-account limit (25/s in test mode,
	// 100/s live) is usually a burst that passes within a second or two.
	// Defaults to 2 (DefaultRateLimitRetries) when zero; negative means none.
	RateLimitRetries int

	// RetryBackoff is the base of the exponential backoff between our own
	// retries (rate limits, 409, 5xx): retry n waits between half and all of
	// RetryBackoff×2ⁿ. Defaults to 1s (DefaultRetryBackoff).
	RetryBackoff time.Duration

	// Sleep waits between our own retries; it must return ctx.Err() early
	// when ctx is done. Tests replace it to run fast. It does not apply to
	// stripe-go's retries, which sleep on their own.
	// Defaults to a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error

	// APIBase overrides Stripe's API URL (https://api.stripe.com) for every
	// app, e.g. a stripe-mock in tests. It is the scheme and host, without
	// /v1. An app's own StripeAccount.APIBase, when set, wins over it.
	// Defaults to "" (Stripe itself).
	APIBase string

	// Registerer receives the appwheel_stripe_requests_total counter. Several
	// Providers may share one; New panics only if another kind of collector
	// already holds that name, a wiring bug.
	// Defaults to a private registry (the counter is kept but not exported).
	Registerer prometheus.Registerer

	// Logger receives warnings about retries and failed Stripe calls. Secret
	// keys and client secrets are never logged.
	// Defaults to a logger that discards everything.
	Logger *slog.Logger
}

// Provider implements appwheel.Stripe over stripe-go. It is safe for
// concurrent use. Create it with New.
type Provider struct {
	httpClient        *http.Client
	maxNetworkRetries int64
	rateLimitRetries  int
	retryBackoff      time.Duration
	sleep             func(context.Context, time.Duration) error
	apiBase           string
	log               *slog.Logger
	metrics           *metrics

	clients sync.Map // clientKey → *stripego.Client
}

// clientKey identifies one cached stripe-go client.
type clientKey struct {
	secretKey string
	apiBase   string // "" means Stripe itself
}

// New returns a Provider configured by opts, filling in the documented
// defaults. It does no I/O.
func New(opts Options) *Provider {
	p := &Provider{
		httpClient:        opts.HTTPClient,
		maxNetworkRetries: opts.MaxNetworkRetries,
		rateLimitRetries:  opts.RateLimitRetries,
		retryBackoff:      opts.RetryBackoff,
		sleep:             opts.Sleep,
		apiBase:           opts.APIBase,
		log:               opts.Logger,
		metrics:           newMetrics(opts.Registerer),
	}
	if p.httpClient == nil {
		p.httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	switch {
	case p.maxNetworkRetries == 0:
		p.maxNetworkRetries = DefaultMaxNetworkRetries
	case p.maxNetworkRetries < 0:
		p.maxNetworkRetries = 0
	}
	switch {
	case p.rateLimitRetries == 0:
		p.rateLimitRetries = DefaultRateLimitRetries
	case p.rateLimitRetries < 0:
		p.rateLimitRetries = 0
	}
	if p.retryBackoff <= 0 {
		p.retryBackoff = DefaultRetryBackoff
	}
	if p.sleep == nil {
		p.sleep = sleepCtx
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// client returns the stripe-go client for acct, building it on first use.
// The API base is acct.APIBase, else Options.APIBase, else Stripe's.
func (p *Provider) client(acct appwheel.StripeAccount) *stripego.Client {
	k := clientKey{secretKey: acct.SecretKey, apiBase: acct.APIBase}
	if k.apiBase == "" {
		k.apiBase = p.apiBase
	}
	if c, ok := p.clients.Load(k); ok {
		return c.(*stripego.Client)
	}
	cfg := &stripego.BackendConfig{
		HTTPClient:        p.httpClient,
		MaxNetworkRetries: stripego.Int64(p.maxNetworkRetries),
		// stripe-go's own logging would print response bodies (client
		// secrets among them) at debug level; we log what matters ourselves.
		LeveledLogger: &stripego.LeveledLogger{Level: stripego.LevelNull},
	}
	if k.apiBase != "" {
		cfg.URL = stripego.String(k.apiBase)
	}
	c := stripego.NewClient(k.secretKey, stripego.WithBackends(stripego.NewBackendsWithConfig(cfg)))
	actual, _ := p.clients.LoadOrStore(k, c)
	return actual.(*stripego.Client)
}

// sleepCtx waits for d, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
