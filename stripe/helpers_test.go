package stripe_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

// testKey is the secret key of the fake Stripe's account; no error message
// or log line may contain it.
const testKey = "sk_test_51SuperSecretKeyThatMustNeverLeak"

// reply is one answer of the fake Stripe.
type reply struct {
	status int
	body   string
	header map[string]string
}

// request is one request the fake Stripe received.
type request struct {
	Method, Path string
	Query        url.Values
	Form         url.Values
	Header       http.Header
}

// fakeStripe is an httptest.Server posing as Stripe. It answers with its
// replies in turn, repeating the last, and records every request.
type fakeStripe struct {
	*httptest.Server
	mu       sync.Mutex
	replies  []reply
	requests []request
}

// newFakeStripe starts a fake Stripe answering with replies in turn.
func newFakeStripe(t *testing.T, replies ...reply) *fakeStripe {
	t.Helper()
	f := &fakeStripe{replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeStripe) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Form: form, Header: r.Header.Clone(),
	})
	rep := f.replies[min(n, len(f.replies)-1)]
	f.mu.Unlock()

	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Request-Id", "req_test123")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

// received returns the requests received so far.
func (f *fakeStripe) received() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// harness is a Provider wired for tests: its own registry, a log buffer,
// and a Sleep that records instead of waiting.
type harness struct {
	p      *stripe.Provider
	reg    *prometheus.Registry
	logs   *bytes.Buffer
	mu     sync.Mutex
	sleeps []time.Duration
}

// newHarness returns a Provider talking to base. edit, when given, adjusts
// the Options first; by default stripe-go does not retry (it sleeps at least
// 0.5s between attempts) so that tests that are not about retries stay fast.
func newHarness(t *testing.T, base string, edit ...func(*stripe.Options)) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}}
	opts := stripe.Options{
		APIBase:           base,
		MaxNetworkRetries: -1,
		Registerer:        h.reg,
		Logger:            slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.sleeps = append(h.sleeps, d)
			h.mu.Unlock()
			return ctx.Err()
		},
	}
	for _, e := range edit {
		e(&opts)
	}
	h.p = stripe.New(opts)
	return h
}

func (h *harness) slept() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

// acct is the test account; APIBase is left to Options.
var acct = appwheel.StripeAccount{SecretKey: testKey}

// lockedWriter serialises writes to a buffer shared with the test.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stripeError is the JSON body of a Stripe error.
func stripeError(typ, code, message string) string {
	return `{"error":{"type":"` + typ + `","code":"` + code + `","message":"` + message + `"}}`
}
