package sandbox_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/appwheel/appwheel/sandbox"
)

// receiver is a webhook endpoint that verifies each delivery with
// stripe-go's webhook.ConstructEvent, as AppWheel does, and records it.
type receiver struct {
	*httptest.Server
	secret string
	mu     sync.Mutex
	fail   int            // deliveries still to fail with 500
	seen   map[string]int // attempts by event id
	events []stripe.Event
	errs   []error
	gate   chan struct{} // when set, each delivery waits for it
}

func newReceiver(t *testing.T, secret string, fail int) *receiver {
	r := &receiver{secret: secret, fail: fail, seen: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.gate != nil {
		<-r.gate
	}
	payload, _ := io.ReadAll(req.Body)
	ev, err := webhook.ConstructEvent(payload, req.Header.Get("Stripe-Signature"), r.secret)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.seen[ev.ID]++
	if r.fail > 0 {
		r.fail--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.events = append(r.events, ev)
}

// waitFor waits until the receiver holds n events.
func (r *receiver) waitFor(t *testing.T, n int) []stripe.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		got := append([]stripe.Event(nil), r.events...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("got %d events (errors %v), want %d", len(r.events), r.errs, n)
	return nil
}

func TestWebhooks(t *testing.T) {
	e := newEnv(t)
	const key, secret = "sk_test_hooks", "whsec_test_secret"
	rcv := newReceiver(t, secret, 1)
	e.sb.SetWebhookEndpoint(key, rcv.URL, secret)

	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", vals("email", "a@example.com"), "Idempotency-Key", "hook-cus"), "id")
	e.mustCall(t, 200, key, "POST", "/v1/customers/"+cid, vals("name", "Jenny"))
	evs := rcv.waitFor(t, 2)

	rcv.mu.Lock()
	if len(rcv.errs) > 0 {
		t.Errorf("got signature errors %v, want none", rcv.errs)
	}
	retried := 0
	for _, n := range rcv.seen {
		if n > 1 {
			retried++
		}
	}
	rcv.mu.Unlock()
	if retried != 1 {
		t.Errorf("got %d events delivered more than once, want the one whose first attempt failed", retried)
	}
	byType := map[string]stripe.Event{}
	for _, ev := range evs {
		byType[string(ev.Type)] = ev
	}
	created, updated := byType["customer.created"], byType["customer.updated"]
	if created.ID == "" || updated.ID == "" {
		t.Fatalf("got %v, want customer.created and customer.updated", byType)
	}
	if created.Data.Object["id"] != cid || created.APIVersion != sandbox.APIVersion || created.Livemode || created.Request == nil ||
		created.Request.IdempotencyKey != "hook-cus" || created.Request.ID == "" || created.PendingWebhooks != 1 {
		t.Errorf("got %+v, want the customer with Stripe's event fields", created)
	}
	if prev := updated.Data.PreviousAttributes; len(prev) != 1 || prev["name"] != nil {
		t.Errorf("got previous_attributes %v, want {name: null}", prev)
	}
	if updated.Data.Object["name"] != "Jenny" {
		t.Errorf("got name %v, want Jenny", updated.Data.Object["name"])
	}

	t.Run("every event arrives; renewals have no request", func(t *testing.T) {
		price := e.price(t, key, "pro")
		cid, _ := e.customerWithCard(t, key, "pm_card_visa")
		e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price))
		if _, err := e.sb.Advance(key, 40*day); err != nil {
			t.Fatal(err)
		}
		all := e.mustCall(t, 200, key, "GET", "/v1/events", vals("limit", "100"))["data"].([]any)
		evs := rcv.waitFor(t, len(all))
		renewals := 0
		for _, ev := range evs {
			if ev.Type == "invoice.paid" && ev.Data.Object["billing_reason"] == "subscription_cycle" {
				renewals++
				if ev.Request == nil || ev.Request.ID != "" || ev.Request.IdempotencyKey != "" {
					t.Errorf("got renewal event request %+v, want null id and key", ev.Request)
				}
			}
		}
		if renewals != 1 {
			t.Errorf("got %d renewal invoice.paid events, want 1", renewals)
		}
	})
}

// TestWebhooksDoNotHoldTheLock blocks a delivery and uses the API
// meanwhile; Close then stops the blocked worker.
func TestWebhooksDoNotHoldTheLock(t *testing.T) {
	e := newEnv(t)
	const key, secret = "sk_test_lock", "whsec_lock"
	rcv := newReceiver(t, secret, 0)
	rcv.gate = make(chan struct{})
	e.sb.SetWebhookEndpoint(key, rcv.URL, secret)
	for range 6 { // more events than workers: every worker blocks
		e.mustCall(t, 200, key, "POST", "/v1/customers", nil)
	}
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.mustCall(t, 200, key, "GET", "/v1/customers", nil)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the API blocked while webhook deliveries were blocked")
	}
	closed := make(chan error)
	go func() { closed <- e.sb.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the blocked deliveries")
	}
	close(rcv.gate)
}

// TestWebhookDeliveriesSurviveRestart keeps failing deliveries in the
// snapshot, and delivers them after the next Open.
func TestWebhookDeliveriesSurviveRestart(t *testing.T) {
	path := t.TempDir() + "/state.json"
	const key, secret = "sk_test_restart_hooks", "whsec_r"
	down := newReceiver(t, secret, 1<<30) // fails everything
	e := newEnv(t, func(c *sandbox.Config) { c.StatePath = path; c.WebhookRetryBase = time.Hour })
	e.sb.SetWebhookEndpoint(key, down.URL, secret)
	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")
	time.Sleep(50 * time.Millisecond)
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	down.mu.Lock()
	down.fail = 0
	down.mu.Unlock()

	sb := sandbox.New(sandbox.Config{StatePath: path, WebhookRetryBase: time.Millisecond, HTTPClient: checkDeliveries(t, specSchemas(t), nil)})
	if err := sb.Open(); err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	// The retry was an hour away; the reopened sandbox retries at once.
	evs := down.waitFor(t, 1)
	if evs[0].Type != "customer.created" || evs[0].Data.Object["id"] != cid {
		t.Errorf("got %s of %v, want customer.created of %s", evs[0].Type, evs[0].Data.Object["id"], cid)
	}
}
