package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/jobs"
	"github.com/appwheel/appwheel/notify"
)

// hits records what an endpoint was sent, answering with answer(n) the
// n-th delivery (from 1).
type hits struct {
	mu     sync.Mutex
	ids    []string
	answer func(n int) int
	hang   chan struct{} // when set, each request waits on it
}

func (h *hits) handler(t *testing.T, secret *string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.hang != nil {
			select {
			case <-h.hang:
			case <-r.Context().Done():
			}
			return
		}
		body := make([]byte, r.ContentLength)
		r.Body.Read(body)
		ev, err := client.VerifyWebhook(body, r.Header, *secret)
		if err != nil {
			t.Errorf("delivery does not verify: %v", err)
		}
		h.mu.Lock()
		h.ids = append(h.ids, ev.ID)
		n := len(h.ids)
		h.mu.Unlock()
		w.WriteHeader(h.answer(n))
	})
}

func (h *hits) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

// newNotifier is the endpoints' service on db, enqueueing on *queue.
func newNotifier(t *testing.T, db *testDB, queue **jobs.Jobs, timeout time.Duration) *notify.Service {
	return newNotifierFailingFor(t, db, queue, timeout, 0)
}

// newNotifierFailingFor is newNotifier with a FailingLimit (0: the default).
func newNotifierFailingFor(t *testing.T, db *testDB, queue **jobs.Jobs, timeout, failingLimit time.Duration) *notify.Service {
	box, err := crypt.NewBox(make([]byte, crypt.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return notify.New(notify.Config{
		Store: db.store, Box: box, Timeout: timeout, FailingLimit: failingLimit,
		Policy: notify.URLPolicy{AllowPrivate: true, AllowHTTP: true}, // the receivers are on loopback
		Enqueue: func(ctx context.Context, ds []notify.Delivery, again bool) error {
			return (*queue).EnqueueDeliveries(ctx, ds, again)
		},
	})
}

func notification(app, id string) *appwheel.Notification {
	return &appwheel.Notification{AppID: app, ID: id, Type: appwheel.NotifyInvoicePaid, AppUserID: "u1", Created: 1,
		Body: []byte(`{"id":"` + id + `","type":"invoice.paid","created":1,"appUserId":"u1","data":{}}`)}
}

// TestDeliveryRetried: an endpoint that answers 500 is sent the event again,
// with the same id, until it answers 2xx; then never again, and each
// attempt is recorded.
func TestDeliveryRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		var queue *jobs.Jobs
		n := newNotifier(t, db, &queue, 2*time.Second)
		h := &hits{answer: func(n int) int {
			if n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}}
		var secret string
		srv := httptest.NewServer(h.handler(t, &secret))
		t.Cleanup(srv.Close)
		cfg := config(t, db, newFakeHandlers())
		cfg.Deliverer, cfg.RetryDelay = n, func(int) time.Duration { return 100 * time.Millisecond }
		queue = start(t, cfg)
		ep, s, err := n.AddEndpoint(t.Context(), appID, srv.URL+"/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		secret = s

		ev := notification(appID, "evt_retried")
		if err := n.Notify(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		if err := n.Notify(t.Context(), ev); err != nil { // the Stripe event applied again
			t.Fatal(err)
		}
		waitFor(t, "the second attempt", func() bool { return len(h.got()) >= 2 })
		settle()
		if got := h.got(); len(got) != 2 || got[0] != "evt_retried" || got[1] != "evt_retried" {
			t.Fatalf("the endpoint was sent %v, want evt_retried twice (a 500, then a 200)", got)
		}
		attempts, err := n.Attempts(t.Context(), appID, false, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(attempts) != 2 || attempts[1].StatusCode != 500 || attempts[1].Outcome != appwheel.DeliveryRetrying ||
			attempts[1].NextRetryAt.IsZero() || attempts[0].StatusCode != 200 || attempts[0].Outcome != appwheel.DeliveryDelivered {
			t.Errorf("attempts recorded: %+v", attempts)
		}
		if eps, _ := n.Endpoints(t.Context(), appID); len(eps) != 1 || !eps[0].FailingSince.IsZero() || eps[0].ID != ep.ID {
			t.Errorf("after the success the endpoint is %+v, want not failing", eps)
		}
	})
}

// TestHungEndpointDelaysNoOne: an endpoint that never answers keeps its
// deliveries waiting (each attempt ends at the timeout) while another
// app's endpoint still gets its events at once.
func TestHungEndpointDelaysNoOne(t *testing.T) {
	db := openSQLite(t)
	const other = "app_other"
	now := time.Now()
	if err := db.store.CreateApp(t.Context(), &appwheel.AppRecord{ID: other, Name: "Other", Platform: appwheel.PlatformStripe,
		SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"), ReadMode: appwheel.ReadMirror, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var queue *jobs.Jobs
	n := newNotifier(t, db, &queue, 2*time.Second)
	hung := &hits{hang: make(chan struct{})}
	ok := &hits{answer: func(int) int { return http.StatusNoContent }}
	var hungSecret, okSecret string
	hungSrv, okSrv := httptest.NewServer(hung.handler(t, &hungSecret)), httptest.NewServer(ok.handler(t, &okSecret))
	t.Cleanup(okSrv.Close)
	t.Cleanup(hungSrv.Close)
	cfg := config(t, db, newFakeHandlers())
	cfg.Deliverer, cfg.RetryDelay = n, func(int) time.Duration { return 100 * time.Millisecond }
	queue = start(t, cfg)
	t.Cleanup(func() { close(hung.hang) }) // first: the hung requests end, then the jobs stop and the servers close
	var err error
	if _, hungSecret, err = n.AddEndpoint(t.Context(), appID, hungSrv.URL, nil); err != nil {
		t.Fatal(err)
	}
	if _, okSecret, err = n.AddEndpoint(t.Context(), other, okSrv.URL, nil); err != nil {
		t.Fatal(err)
	}
	// Many events for the hung endpoint first, more than the workers.
	for i := range 100 {
		if err := n.Notify(t.Context(), notification(appID, "evt_hung_"+string(rune('a'+i%26))+string(rune('a'+i/26)))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the hung ones are being worked
	start := time.Now()
	if err := n.Notify(t.Context(), notification(other, "evt_other")); err != nil {
		t.Fatal(err)
	}
	// A generous bound: well under the hung endpoint's 2 s timeout times
	// the 100 events queued before it.
	waitForWithin(t, 5*time.Second, "the other app's event", func() bool { return len(ok.got()) == 1 })
	t.Logf("the other app's event arrived %v after it was enqueued, with 100 deliveries to a hung endpoint queued before it",
		time.Since(start).Round(time.Millisecond))
}

// TestDeliveriesAcrossReplicas: two processes on one PostgreSQL database
// share the deliveries: each event reaches the endpoint once, whichever
// process recorded it.
func TestDeliveriesAcrossReplicas(t *testing.T) {
	db := openPostgres(t)
	other := db.replica(t)
	var q1, q2 *jobs.Jobs
	n1, n2 := newNotifier(t, db, &q1, 2*time.Second), newNotifier(t, other, &q2, 2*time.Second)
	h := &hits{answer: func(int) int { return http.StatusNoContent }}
	var secret string
	srv := httptest.NewServer(h.handler(t, &secret))
	t.Cleanup(srv.Close)
	cfg1, cfg2 := config(t, db, newFakeHandlers()), config(t, other, newFakeHandlers())
	cfg1.Deliverer, cfg2.Deliverer = n1, n2
	q1, q2 = start(t, cfg1), start(t, cfg2)
	_, s, err := n1.AddEndpoint(t.Context(), appID, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret = s

	const events = 200
	for i := range events {
		ev := notification(appID, "evt_r"+strconv.Itoa(i))
		// Each event is recorded by both replicas, as when both applied
		// the same Stripe event (a claim that ran out), half of them first
		// on the other.
		first, second := n1, n2
		if i%2 == 1 {
			first, second = n2, n1
		}
		if err := first.Notify(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		if err := second.Notify(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every event delivered", func() bool { return len(h.got()) >= events })
	settle()
	count := map[string]int{}
	for _, id := range h.got() {
		count[id]++
	}
	if len(count) != events || len(h.got()) != events {
		t.Errorf("the endpoint got %d deliveries of %d events, want each of the %d once", len(h.got()), len(count), events)
	}
}

// TestBatchHandsOnAFailure: events enqueued together are delivered in one
// job, in order; one that fails is retried alone, and the events after it
// are still delivered, each once.
func TestBatchHandsOnAFailure(t *testing.T) {
	db := openSQLite(t)
	var queue *jobs.Jobs
	n := newNotifier(t, db, &queue, 2*time.Second)
	var mu sync.Mutex
	failed := false
	h := &hits{}
	h.answer = func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if ids := h.got(); ids[len(ids)-1] == "evt_2" && !failed {
			failed = true
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	var secret string
	srv := httptest.NewServer(h.handler(t, &secret))
	t.Cleanup(srv.Close)
	cfg := config(t, db, newFakeHandlers())
	cfg.Deliverer, cfg.RetryDelay = n, func(int) time.Duration { return 300 * time.Millisecond }
	queue = start(t, cfg)
	_, s, err := n.AddEndpoint(t.Context(), appID, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret = s
	if err := n.Notify(t.Context(), notification(appID, "evt_1"), notification(appID, "evt_2"), notification(appID, "evt_3"), notification(appID, "evt_4")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "five deliveries", func() bool { return len(h.got()) >= 5 })
	settle()
	got := h.got()
	want := []string{"evt_1", "evt_2", "evt_3", "evt_4", "evt_2"} // after the failure, the rest waits for the retry time too
	if len(got) != len(want) {
		t.Fatalf("the endpoint was sent %v, want %v", got, want)
	}
	count := map[string]int{}
	for _, id := range got {
		count[id]++
	}
	if got[0] != "evt_1" || got[1] != "evt_2" || count["evt_1"] != 1 || count["evt_2"] != 2 || count["evt_3"] != 1 || count["evt_4"] != 1 {
		t.Errorf("the endpoint was sent %v, want evt_1 and evt_2 first, evt_2 again, the others once", got)
	}
	attempts, err := n.Attempts(t.Context(), appID, true, 10)
	if err != nil || len(attempts) != 1 || attempts[0].EventID != "evt_2" || attempts[0].Attempt != 1 || attempts[0].StatusCode != 503 {
		t.Errorf("failed attempts: %+v, %v; want evt_2's first", attempts, err)
	}
	all, _ := n.Attempts(t.Context(), appID, false, 10)
	for _, a := range all {
		if a.EventID == "evt_2" && a.Outcome == appwheel.DeliveryDelivered && a.Attempt != 2 {
			t.Errorf("evt_2's retry is recorded as attempt %d, want 2", a.Attempt)
		}
	}
}

// TestDeliveryGivenUp: a delivery failing for the failing limit is given
// up, its last attempt recorded as failed and no attempt after it, and the
// endpoint is disabled.
func TestDeliveryGivenUp(t *testing.T) {
	db := openSQLite(t)
	var queue *jobs.Jobs
	n := newNotifierFailingFor(t, db, &queue, 2*time.Second, 700*time.Millisecond)
	h := &hits{answer: func(int) int { return http.StatusInternalServerError }}
	var secret string
	srv := httptest.NewServer(h.handler(t, &secret))
	t.Cleanup(srv.Close)
	cfg := config(t, db, newFakeHandlers())
	cfg.Deliverer, cfg.RetryDelay = n, func(int) time.Duration { return 200 * time.Millisecond }
	queue = start(t, cfg)
	ep, s, err := n.AddEndpoint(t.Context(), appID, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret = s
	if err := n.Notify(t.Context(), notification(appID, "evt_doomed")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delivery given up", func() bool {
		attempts, _ := n.Attempts(t.Context(), appID, true, 100)
		return len(attempts) > 0 && attempts[0].Outcome == appwheel.DeliveryFailed
	})
	sent := len(h.got())
	settle()
	if len(h.got()) != sent {
		t.Errorf("%d more attempts after the delivery was given up", len(h.got())-sent)
	}
	attempts, _ := n.Attempts(t.Context(), appID, true, 100)
	for _, a := range attempts[1:] {
		if a.Outcome != appwheel.DeliveryRetrying || a.NextRetryAt.IsZero() {
			t.Errorf("an attempt before the last: %+v, want retrying with its next retry", a)
		}
	}
	if attempts[0].Attempt != len(attempts) || !attempts[0].NextRetryAt.IsZero() {
		t.Errorf("the last attempt: %+v of %d", attempts[0], len(attempts))
	}
	eps, err := n.Endpoints(t.Context(), appID)
	if err != nil || len(eps) != 1 || eps[0].ID != ep.ID || !eps[0].Disabled || eps[0].DisabledReason != appwheel.DisabledFailing {
		t.Errorf("the endpoint after failing for the limit: %+v, %v; want disabled as failing", eps, err)
	}
}
