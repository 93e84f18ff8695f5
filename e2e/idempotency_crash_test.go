package e2e_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/internal/stripemock"
)

// holdProxy stands between `appwheel serve` and stripe-mock. While armed it
// holds the first POST /v1/customers without answering, so that the server
// can be killed with that Stripe call in flight; it counts what it sees and
// keeps the Idempotency-Key of every customer creation.
type holdProxy struct {
	mu           sync.Mutex
	armed        bool
	calls        map[string]int // "METHOD /path" → requests seen
	customerKeys []string       // Idempotency-Key of each POST /v1/customers
	arrived      chan struct{}  // closed when the held request has come
	release      chan struct{}  // closed to let the held request go
}

func newHoldProxy(t *testing.T, target string) (*holdProxy, *httptest.Server) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{armed: true, calls: map[string]int{}, arrived: make(chan struct{}), release: make(chan struct{})}
	forward := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.calls[r.Method+" "+r.URL.Path]++
		hold := false
		if r.Method == http.MethodPost && r.URL.Path == "/v1/customers" {
			p.customerKeys = append(p.customerKeys, r.Header.Get("Idempotency-Key"))
			hold, p.armed = p.armed, false
		}
		p.mu.Unlock()
		if hold {
			close(p.arrived)
			// Never answered: the caller dies waiting (its connection
			// closes), or the test ends.
			select {
			case <-r.Context().Done():
			case <-p.release:
			}
			return
		}
		forward.ServeHTTP(w, r)
	}))
	// Closed before srv.Close, which waits for the held handler.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.release) })
	return p, srv
}

func (p *holdProxy) count(call string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[call]
}

func (p *holdProxy) keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.customerKeys...)
}

// lastResponse keeps the body and replay header of the latest response a
// client got, so the test can compare answers byte for byte.
type lastResponse struct {
	mu       sync.Mutex
	body     []byte
	replayed string
}

func (l *lastResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	l.mu.Lock()
	l.body, l.replayed = body, resp.Header.Get("Idempotent-Replayed")
	l.mu.Unlock()
	return resp, nil
}

func (l *lastResponse) get() ([]byte, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.body, l.replayed
}

// TestIdempotencyKeyAfterKill kills `appwheel serve` with SIGKILL while a
// createPaymentMethod holding an Idempotency-Key waits on Stripe, restarts
// it on the same SQLite data and port, and retries with the same key: the
// key is refused as in progress (1007) until its dead owner's heartbeat is
// stale (10 s), then the retry runs, within 15 s of the restart, answers a
// setup intent like a fresh request does, is replayed after, and sends
// Stripe the same customer-creation Idempotency-Key as the killed attempt,
// so Stripe makes one customer.
func TestIdempotencyKeyAfterKill(t *testing.T) {
	proxy, proxySrv := newHoldProxy(t, stripemock.ForTest(t))
	dir, addr := t.TempDir(), freeAddr(t)
	key := make([]byte, 32)
	rand.Read(key)
	env := append(os.Environ(),
		"APPWHEEL_DATA_DIR="+dir,
		"APPWHEEL_MASTER_KEY="+hex.EncodeToString(key),
		"APPWHEEL_LOG_LEVEL=warn",
	)
	create := exec.Command(binary, "apps", "create", "--json", "--name", "killed",
		"--stripe-secret-key", "sk_test_idempotency", "--stripe-webhook-secret", "whsec_idempotency",
		"--stripe-api-base", proxySrv.URL)
	create.Env = env
	var stderr bytes.Buffer
	create.Stderr = &stderr
	out, err := create.Output()
	if err != nil {
		t.Fatalf("apps create: %v\n%s", err, stderr.String())
	}
	var app struct{ AppID, Platform, AppSecret string }
	if err := json.Unmarshal(out, &app); err != nil || app.AppID == "" {
		t.Fatalf("apps create printed %q: %v", out, err)
	}
	params := client.CreatePaymentMethodParams{AppUserID: "u-killed", Type: client.TypeSetupIntent, IdempotencyKey: "add-card-u-killed"}
	c := ctx(t)

	first := startProc(t, "appwheel serve", addr, env, "serve", "--addr", addr)
	inFlight := make(chan error, 1)
	go func() {
		_, err := client.New(app.AppID, app.Platform, app.AppSecret, client.WithBaseURL("http://"+addr)).CreatePaymentMethod(c, params)
		inFlight <- err
	}()
	select {
	case <-proxy.arrived:
	case err := <-inFlight:
		t.Fatalf("createPaymentMethod answered before its Stripe call was held: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("createPaymentMethod made no customer creation at Stripe")
	}
	// The key is claimed and its owner is waiting on Stripe: die now.
	first.kill()
	if err := <-inFlight; err == nil || client.ErrorCode(err) != 0 {
		t.Fatalf("the killed request answered %v; want a broken connection", err)
	}

	restart := time.Now()
	startProc(t, "appwheel serve", addr, env, "serve", "--addr", addr)
	ready := time.Since(restart)
	rec := &lastResponse{}
	retry := client.New(app.AppID, app.Platform, app.AppSecret, client.WithBaseURL("http://"+addr),
		client.WithHTTPClient(&http.Client{Transport: rec, Timeout: 10 * time.Second}))
	var (
		setup      *client.PaymentMethodSetup
		inProgress int
	)
	for {
		setup, err = retry.CreatePaymentMethod(c, params)
		if err == nil {
			break
		}
		// Before the dead owner is stale, the only acceptable answer is
		// the documented "in progress" refusal, not "different request"
		// or any other error.
		var e *client.Error
		if !errors.As(err, &e) || e.Code != client.CodeIdempotency || e.HTTPStatus != http.StatusConflict ||
			!strings.Contains(e.Message, "in progress") {
			t.Fatalf("retry after %.1fs: %v; want success or 1007 in progress", time.Since(restart).Seconds(), err)
		}
		inProgress++
		if time.Since(restart) > 15*time.Second {
			t.Fatalf("the key was still in progress %.1fs after the restart (%d retries): the dead owner never became stale",
				time.Since(restart).Seconds(), inProgress)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(restart)
	t.Logf("retry with the same Idempotency-Key succeeded %.1fs after the restart (ready after %.2fs; %d in-progress answers before)",
		took.Seconds(), ready.Seconds(), inProgress)
	if took > 15*time.Second {
		t.Errorf("retry succeeded %.1fs after the restart; want under 15s", took.Seconds())
	}
	// Had the retry run at once, the kill would not have left the key held:
	// the test would prove nothing about staleness.
	if inProgress == 0 {
		t.Error("the first retry after the restart succeeded; want the key still held (1007) until its owner is stale")
	}
	body, _ := rec.get()

	// The answer is what a fresh request for another user gets: a setup
	// intent to confirm with Stripe.js, nothing of checkout.
	fresh, err := retry.CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: "u-fresh", Type: client.TypeSetupIntent, IdempotencyKey: "add-card-u-fresh"})
	if err != nil {
		t.Fatal(err)
	}
	freshBody, _ := rec.get()
	for _, s := range []*client.PaymentMethodSetup{setup, fresh} {
		if !strings.HasPrefix(s.SetupIntentID, "seti_") || !strings.Contains(s.ClientSecret, "_secret_") || s.CheckoutURL != "" || s.CheckoutID != "" {
			t.Errorf("createPaymentMethod answered %+v; want a setup intent and its client secret", s)
		}
	}
	if a, b := envelopeShape(t, body), envelopeShape(t, freshBody); a != b {
		t.Errorf("the retry's answer has the fields %s, a fresh request's %s", a, b)
	}

	// The key is now finished: a further retry is the stored answer again.
	stripeCalls := func() int {
		return proxy.count("POST /v1/customers") + proxy.count("POST /v1/setup_intents")
	}
	before := stripeCalls()
	again, err := retry.CreatePaymentMethod(c, params)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	replayBody, replayed := rec.get()
	if replayed != "true" || !bytes.Equal(replayBody, body) || *again != *setup {
		t.Errorf("replay answered %s (Idempotent-Replayed %q); want %s again, replayed", replayBody, replayed, body)
	}
	if n := stripeCalls() - before; n != 0 {
		t.Errorf("the replay made %d Stripe writes; want none", n)
	}

	// One customer at Stripe: the killed attempt and the retry asked for
	// it with one Idempotency-Key (stripe-mock keeps nothing, so the key
	// is what the test can check), and u-fresh's customer is the
	// only other creation.
	keys := proxy.keys()
	if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || keys[2] == keys[0] {
		t.Errorf("customer creations' Idempotency-Keys = %q; want the killed attempt's sent again by the retry, then u-fresh's own", keys)
	}
	if n := proxy.count("POST /v1/setup_intents"); n != 2 {
		t.Errorf("%d setup intents created; want 2 (the retry's, u-fresh's)", n)
	}
}

// envelopeShape is an answer's envelope code and the names of its fields
// and of its data's, which a setup intent answer has whatever Stripe's ids.
func envelopeShape(t *testing.T, body []byte) string {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	var data map[string]any
	json.Unmarshal(env["data"], &data)
	return fmt.Sprintf("code %s, %v, data %v", env["code"], slices.Sorted(maps.Keys(env)), slices.Sorted(maps.Keys(data)))
}
