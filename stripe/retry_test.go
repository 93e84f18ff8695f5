package stripe_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

// Replies the retry tests string together.
var (
	rateLimited = reply{status: 429, body: stripeError("invalid_request_error", "rate_limit", "Too many requests hit the API too quickly.")}
	lockTimeout = reply{status: 429, body: stripeError("invalid_request_error", "lock_timeout",
		"This object cannot be accessed right now because another API request or Stripe process is currently accessing it.")}
	serverError = reply{status: 500, body: stripeError("api_error", "", "Something went wrong on Stripe's end.")}
)

// writes are the Provider's writes, each called with key as its idempotency
// key. The fake Stripe answers them all with one body: an object with the
// fields every write reads.
var writes = []struct {
	name string
	call func(p *stripe.Provider, key string) error
}{
	{"CreateCustomer", func(p *stripe.Provider, key string) error {
		_, err := p.CreateCustomer(context.Background(), acct, appwheel.CreateCustomerParams{AppID: "app_1", AppUserID: "u1", IdempotencyKey: key})
		return err
	}},
	{"SetDefaultPaymentMethod", func(p *stripe.Provider, key string) error {
		return p.SetDefaultPaymentMethod(context.Background(), acct, "cus_123", "pm_123", key)
	}},
	{"CreateCheckoutSession", func(p *stripe.Provider, key string) error {
		_, err := p.CreateCheckoutSession(context.Background(), acct, appwheel.CreateCheckoutSessionParams{
			CustomerID: "cus_123", SuccessURL: "https://a.example/ok", CancelURL: "https://a.example/no", IdempotencyKey: key})
		return err
	}},
	{"CreateSetupIntent", func(p *stripe.Provider, key string) error {
		_, err := p.CreateSetupIntent(context.Background(), acct, appwheel.CreateSetupIntentParams{CustomerID: "cus_123", IdempotencyKey: key})
		return err
	}},
	{"DetachPaymentMethod", func(p *stripe.Provider, key string) error {
		return p.DetachPaymentMethod(context.Background(), acct, "pm_123", key)
	}},
}

const okBody = `{"id":"obj_123","object":"whatever","url":"https://checkout.stripe.com/c/pay/cs_test","client_secret":"seti_123_secret_abc"}`

// TestRetriesReuseIdempotencyKey checks every write through rate limits and
// server errors: retried until success, each attempt with the same
// Idempotency-Key, the caller's, or one made up once when the caller gave "".
func TestRetriesReuseIdempotencyKey(t *testing.T) {
	failures := []struct {
		name    string
		replies []reply
	}{
		{"429 rate_limit twice", []reply{rateLimited, rateLimited}},
		{"500 then 429", []reply{serverError, rateLimited}},
	}
	for _, w := range writes {
		for _, fl := range failures {
			for _, key := range []string{"caller-key-1", ""} {
				t.Run(w.name+"/"+fl.name+"/key "+key, func(t *testing.T) {
					f := newFakeStripe(t, append(fl.replies, reply{status: 200, body: okBody})...)
					h := newHarness(t, f.URL, func(o *stripe.Options) { o.MaxNetworkRetries = 2 })
					if err := w.call(h.p, key); err != nil {
						t.Fatalf("got error %v, want success after retries", err)
					}
					reqs := f.received()
					if got, want := len(reqs), len(fl.replies)+1; got != want {
						t.Fatalf("got %d requests, want %d", got, want)
					}
					first := reqs[0].Header.Get("Idempotency-Key")
					if key != "" && first != key {
						t.Errorf("got Idempotency-Key %q, want the caller's %q", first, key)
					}
					if first == "" {
						t.Errorf("got no Idempotency-Key, want one on every write")
					}
					for i, r := range reqs {
						if got := r.Header.Get("Idempotency-Key"); got != first {
							t.Errorf("request %d: got Idempotency-Key %q, want %q as on the first", i, got, first)
						}
					}
					if got := len(h.slept()); got != len(fl.replies) {
						t.Errorf("got %d backoff sleeps, want %d", got, len(fl.replies))
					}
				})
			}
		}
	}
}

// TestGeneratedKeysDiffer checks that two writes without a caller key do not
// share the key made up for them: they are two writes, not one retried.
func TestGeneratedKeysDiffer(t *testing.T) {
	f := newFakeStripe(t, reply{status: 200, body: okBody})
	h := newHarness(t, f.URL)
	for range 2 {
		if err := writes[0].call(h.p, ""); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.received()
	if a, b := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); a == b {
		t.Errorf("got the same generated key %q twice, want a new one per call", a)
	}
}

// TestLongIdempotencyKey checks that a caller key longer than Stripe's 255
// characters is replaced by a stable, shorter one instead of failing.
func TestLongIdempotencyKey(t *testing.T) {
	f := newFakeStripe(t, rateLimited, reply{status: 200, body: okBody})
	h := newHarness(t, f.URL)
	if err := writes[0].call(h.p, strings.Repeat("k", 300)); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	reqs := f.received()
	a, b := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key")
	if a == "" || len(a) > 255 || a != b {
		t.Errorf("got keys %q and %q, want one stable key of at most 255 characters", a, b)
	}
}

// TestLockTimeoutRetried checks that a 429 lock_timeout, which stripe-go
// retries itself, succeeds on a later attempt with the same key.
func TestLockTimeoutRetried(t *testing.T) {
	f := newFakeStripe(t, lockTimeout, reply{status: 200, body: okBody})
	h := newHarness(t, f.URL, func(o *stripe.Options) { o.MaxNetworkRetries = 1 })
	if err := writes[1].call(h.p, "lock-key"); err != nil {
		t.Fatalf("got error %v, want success after stripe-go's retry", err)
	}
	reqs := f.received()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("Idempotency-Key"); got != "lock-key" {
			t.Errorf("request %d: got Idempotency-Key %q, want lock-key", i, got)
		}
	}
	if got := len(h.slept()); got != 0 {
		t.Errorf("got %d sleeps of ours, want 0: stripe-go retries lock timeouts", got)
	}
}

// TestRetryLimits checks what is not retried, and how often the rest is.
func TestRetryLimits(t *testing.T) {
	tests := []struct {
		name         string
		reply        reply
		edit         func(*stripe.Options)
		wantAttempts int
	}{
		{"Stripe-Should-Retry false stops a 500", reply{status: 500, body: serverError.body, header: map[string]string{"Stripe-Should-Retry": "false"}},
			func(o *stripe.Options) { o.MaxNetworkRetries = 2 }, 1},
		{"409 is retried", reply{status: 409, body: stripeError("idempotency_error", "idempotency_key_in_use", "in use")},
			func(o *stripe.Options) { o.MaxNetworkRetries = 2 }, 3},
		{"400 is not retried", reply{status: 400, body: stripeError("invalid_request_error", "", "bad")},
			func(o *stripe.Options) { o.MaxNetworkRetries = 2 }, 1},
		{"RateLimitRetries bounds rate-limit retries", rateLimited,
			func(o *stripe.Options) { o.RateLimitRetries = 4 }, 5},
		{"negative RateLimitRetries means none", rateLimited,
			func(o *stripe.Options) { o.RateLimitRetries = -1 }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t, tt.reply)
			h := newHarness(t, f.URL, tt.edit)
			if err := writes[3].call(h.p, "k"); err == nil {
				t.Fatal("got no error, want one")
			}
			if got := len(f.received()); got != tt.wantAttempts {
				t.Errorf("got %d requests, want %d", got, tt.wantAttempts)
			}
		})
	}
}

// TestBackoff checks that retry n waits between half and all of
// RetryBackoff×2ⁿ.
func TestBackoff(t *testing.T) {
	f := newFakeStripe(t, rateLimited)
	h := newHarness(t, f.URL, func(o *stripe.Options) {
		o.RateLimitRetries = 3
		o.RetryBackoff = 100 * time.Millisecond
	})
	_ = writes[3].call(h.p, "k")
	sleeps := h.slept()
	if len(sleeps) != 3 {
		t.Fatalf("got %d sleeps, want 3", len(sleeps))
	}
	for n, d := range sleeps {
		hi := 100 * time.Millisecond << n
		if d < hi/2 || d > hi {
			t.Errorf("retry %d: got wait %v, want between %v and %v", n, d, hi/2, hi)
		}
	}
}

// TestRetryRespectsContext checks that a caller canceling during the backoff
// stops the retries at once.
func TestRetryRespectsContext(t *testing.T) {
	f := newFakeStripe(t, rateLimited)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, f.URL, func(o *stripe.Options) {
		o.RateLimitRetries = 5
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}
	})
	_, err := h.p.CreateSetupIntent(ctx, acct, appwheel.CreateSetupIntentParams{CustomerID: "cus_123", IdempotencyKey: "k"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
	if got := len(f.received()); got != 1 {
		t.Errorf("got %d requests, want 1", got)
	}
}

// TestDefaultSleepRespectsContext checks the default Sleep: a real wait
// that a canceled context cuts short.
func TestDefaultSleepRespectsContext(t *testing.T) {
	f := newFakeStripe(t, rateLimited)
	p := stripe.New(stripe.Options{APIBase: f.URL, RetryBackoff: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.CreateSetupIntent(ctx, acct, appwheel.CreateSetupIntentParams{CustomerID: "cus_123", IdempotencyKey: "k"})
	if err == nil {
		t.Fatal("got no error, want one")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v, want the wait cut short by the context", took)
	}
}
