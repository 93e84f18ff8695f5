package notify

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/signature"
	"github.com/appwheel/appwheel/sqlite"
)

const app = "app_n"

// env is a Service over a real SQLite store, with its enqueued deliveries
// recorded, and a clock the test moves.
type env struct {
	t        *testing.T
	store    *sqlite.DB
	svc      *Service
	reg      *prometheus.Registry
	mu       sync.Mutex
	enqueued []Delivery
	now      time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store := sqlite.NewDB(filepath.Join(t.TempDir(), "db"))
	if err := store.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, store: store, reg: prometheus.NewRegistry(), now: time.Unix(1_790_000_000, 0)}
	for _, id := range []string{app, "app_other"} {
		if err := store.CreateApp(t.Context(), &appwheel.AppRecord{ID: id, Name: id, Platform: appwheel.PlatformStripe,
			SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"), ReadMode: appwheel.ReadMirror, CreatedAt: e.now, UpdatedAt: e.now}); err != nil {
			t.Fatal(err)
		}
	}
	box, err := crypt.NewBox(make([]byte, crypt.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = New(Config{
		Store: store, Box: box, Policy: URLPolicy{AllowPrivate: true, AllowHTTP: true}, Timeout: time.Second,
		FailingLimit: time.Hour, Registerer: e.reg,
		Now: func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now },
		Enqueue: func(_ context.Context, ds []Delivery, again bool) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.enqueued = append(e.enqueued, ds...)
			return nil
		},
	})
	return e
}

func (e *env) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

func (e *env) add(url string, events ...string) (*appwheel.WebhookEndpoint, string) {
	e.t.Helper()
	ep, secret, err := e.svc.AddEndpoint(e.t.Context(), app, url, events)
	if err != nil {
		e.t.Fatalf("AddEndpoint(%s): %v", url, err)
	}
	return ep, secret
}

func event(id, typ string) *appwheel.Notification {
	return &appwheel.Notification{AppID: app, ID: id, Type: typ, AppUserID: "u1", Created: 1,
		Body: []byte(`{"id":"` + id + `","type":"` + typ + `","created":1,"appUserId":"u1","data":{}}`)}
}

func TestEndpoints(t *testing.T) {
	e := newEnv(t)
	ep, secret := e.add("http://127.0.0.1:9/all")
	if !strings.HasPrefix(ep.ID, "we_") || !strings.HasPrefix(secret, SecretPrefix) || len(secret) < 40 {
		t.Fatalf("endpoint %+v, secret %q", ep, secret)
	}
	stored, err := e.store.Endpoint(t.Context(), app, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.SealedSecret, []byte(secret[len(SecretPrefix):])) {
		t.Error("the secret is stored in the clear")
	}
	if got, err := e.svc.secret(stored); err != nil || got != secret {
		t.Errorf("the stored secret opens to %q, %v", got, err)
	}

	for _, bad := range []struct{ url, events, want string }{
		{"ftp://example.com/x", "", "https"},
		{"http://127.0.0.1:9/x", "invoice.nope", "unknown event type"},
	} {
		_, _, err := e.svc.AddEndpoint(t.Context(), app, bad.url, strings.Fields(bad.events))
		if appwheel.ErrorCode(err) != appwheel.EINVALID || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("AddEndpoint(%s, %s): %v, want EINVALID mentioning %q", bad.url, bad.events, err, bad.want)
		}
	}
	e.advance(time.Second) // listed oldest first
	paidOnly, _ := e.add("http://127.0.0.1:9/paid", appwheel.NotifyInvoicePaid, appwheel.NotifyInvoicePaid)
	if len(paidOnly.Events) != 1 {
		t.Errorf("events %v, want invoice.paid once", paidOnly.Events)
	}

	// Notify enqueues one delivery per endpoint that wants the type.
	if err := e.svc.Notify(t.Context(), event("evt_a", appwheel.NotifyPaymentMethodAdded)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Notify(t.Context(), event("evt_b", appwheel.NotifyInvoicePaid)); err != nil {
		t.Fatal(err)
	}
	want := []Delivery{{app, "evt_a", ep.ID}, {app, "evt_b", ep.ID}, {app, "evt_b", paidOnly.ID}}
	if len(e.enqueued) != len(want) {
		t.Fatalf("enqueued %v, want %v", e.enqueued, want)
	}
	for i := range want {
		if e.enqueued[i] != want[i] {
			t.Errorf("enqueued %v, want %v", e.enqueued, want)
		}
	}
	if ok, _ := e.svc.Wants(t.Context(), "app_other", appwheel.NotifyInvoicePaid); ok {
		t.Error("another app wants events it has no endpoint for")
	}

	// Another app cannot touch this app's endpoints.
	if err := e.svc.RemoveEndpoint(t.Context(), "app_other", ep.ID); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("another app removed the endpoint: %v", err)
	}
	if _, err := e.svc.RotateSecret(t.Context(), "app_other", ep.ID); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("another app rotated the endpoint's secret: %v", err)
	}
	rotated, err := e.svc.RotateSecret(t.Context(), app, ep.ID)
	if err != nil || rotated == secret {
		t.Fatalf("RotateSecret: %q, %v", rotated, err)
	}
	disabled, err := e.svc.SetDisabled(t.Context(), app, ep.ID, true)
	if err != nil || !disabled.Disabled || disabled.DisabledReason != appwheel.DisabledByOperator {
		t.Fatalf("SetDisabled: %+v, %v", disabled, err)
	}
	if ok, _ := e.svc.Wants(t.Context(), app, appwheel.NotifyPaymentMethodAdded); ok {
		t.Error("a disabled endpoint is still sent events")
	}
}

// receiver answers with status and records the deliveries.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	status int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies, r.heads = append(r.bodies, body), append(r.heads, req.Header.Clone())
	status := r.status
	r.mu.Unlock()
	w.WriteHeader(status)
}

func TestDeliver(t *testing.T) {
	e := newEnv(t)
	rcv := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	ep, secret := e.add(srv.URL + "/events?src=appwheel")
	ev := event("evt_d", appwheel.NotifyInvoicePaid)
	if err := e.svc.Notify(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	d := Delivery{AppID: app, EventID: ev.ID, EndpointID: ep.ID}
	if err := e.svc.Deliver(t.Context(), d, Attempt{Number: 1, Next: e.now.Add(time.Minute)}); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if len(rcv.bodies) != 1 || !bytes.Equal(rcv.bodies[0], ev.Body) {
		t.Fatalf("the endpoint got %q, want the event's body", rcv.bodies)
	}
	// Signed at the service's clock (2026-09 here), with the endpoint's
	// secret, as a request to AppWheel is.
	h := rcv.heads[0]
	sum, err := signature.Parse(h.Get(signature.HeaderSignature))
	if err != nil || h.Get(signature.HeaderTimestamp) != strconv.FormatInt(e.now.Unix(), 10) || h.Get(signature.HeaderEventID) != ev.ID ||
		!signature.Valid(sum, secret, e.now.Unix(), signature.WebhookMethod, signature.WebhookTarget, ev.Body, h.Get(signature.HeaderNonce)) {
		t.Errorf("the delivery's signature does not verify: headers %v", h)
	}
	if got := testutil.ToFloat64(e.svc.metrics.deliveries.WithLabelValues(appwheel.DeliveryDelivered)); got != 1 {
		t.Errorf("deliveries_total{outcome=delivered} = %v, want 1", got)
	}

	// A failure is returned (to retry), recorded with its next retry, and
	// the endpoint is failing from then on.
	rcv.status = http.StatusBadGateway
	next := e.now.Add(time.Minute)
	if err := e.svc.Deliver(t.Context(), d, Attempt{Number: 2, Next: next}); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("Deliver to a 502: %v, want an error naming it", err)
	}
	attempts, _ := e.svc.Attempts(t.Context(), app, true, 10)
	if len(attempts) != 1 || attempts[0].StatusCode != 502 || attempts[0].Outcome != appwheel.DeliveryRetrying || !attempts[0].NextRetryAt.Equal(next) {
		t.Fatalf("failed attempts %+v", attempts)
	}

	// Failing for the failing limit disables the endpoint, counted.
	e.advance(time.Hour)
	if err := e.svc.Deliver(t.Context(), d, Attempt{Number: 3}); err == nil {
		t.Fatal("the last attempt to a 502 succeeded")
	}
	stored, _ := e.store.Endpoint(t.Context(), app, ep.ID)
	if !stored.Disabled || stored.DisabledReason != appwheel.DisabledFailing {
		t.Errorf("after an hour of failures (the limit) the endpoint is %+v, want disabled as failing", stored)
	}
	if got := testutil.ToFloat64(e.svc.metrics.disabled); got != 1 {
		t.Errorf("endpoints_disabled_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.svc.metrics.deliveries.WithLabelValues(appwheel.DeliveryFailed)); got != 1 {
		t.Errorf("deliveries_total{outcome=failed} = %v, want 1", got)
	}
	// A disabled endpoint is sent nothing more.
	sent := len(rcv.bodies)
	if err := e.svc.Deliver(t.Context(), d, Attempt{Number: 4}); err != nil || len(rcv.bodies) != sent {
		t.Errorf("Deliver to a disabled endpoint: %v, %d more sent", err, len(rcv.bodies)-sent)
	}
	// Another app's delivery of this event names the wrong app: nothing sent.
	if err := e.svc.Deliver(t.Context(), Delivery{AppID: "app_other", EventID: ev.ID, EndpointID: ep.ID}, Attempt{Number: 1}); err != nil || len(rcv.bodies) != sent {
		t.Errorf("a delivery under another app: %v, %d sent", err, len(rcv.bodies)-sent)
	}
}

func TestDeliverRefusesPrivateAddresses(t *testing.T) {
	e := newEnv(t)
	rcv := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	ep, _ := e.add(srv.URL)
	// The same endpoint, delivered to by a server that allows no private
	// address (an endpoint whose name now resolves to loopback).
	strict := New(Config{Store: e.store, Box: e.svc.box, Policy: URLPolicy{}, Timeout: time.Second})
	ev := event("evt_p", appwheel.NotifyInvoicePaid)
	if _, err := e.store.RecordNotification(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	err := strict.Deliver(t.Context(), Delivery{AppID: app, EventID: ev.ID, EndpointID: ep.ID}, Attempt{Number: 1, Next: time.Now().Add(time.Minute)})
	if err == nil || !strings.Contains(err.Error(), "not allowed") || len(rcv.bodies) != 0 {
		t.Errorf("delivery to loopback from a strict server: %v, %d sent", err, len(rcv.bodies))
	}
}

func TestEndpointConcurrency(t *testing.T) {
	e := newEnv(t)
	ep, _ := e.add("http://127.0.0.1:9/x")
	var releases []func()
	for range DefaultEndpointConcurrency {
		release, ok := e.svc.acquire(t.Context(), ep)
		if !ok {
			t.Fatal("a slot under the limit was refused")
		}
		releases = append(releases, release)
	}
	if _, ok := e.svc.acquire(t.Context(), ep); ok {
		t.Fatal("a slot over the limit was given")
	}
	other, _ := e.add("http://127.0.0.1:9/y")
	if _, ok := e.svc.acquire(t.Context(), other); !ok {
		t.Error("another endpoint is held up by a busy one")
	}
	releases[0]()
	if _, ok := e.svc.acquire(t.Context(), ep); !ok {
		t.Error("a released slot was not given again")
	}
}

// TestGivenUpDisables: the last attempt of a delivery given up disables
// its endpoint when the endpoint has failed every attempt since the
// delivery began, not when it has delivered since.
func TestGivenUpDisables(t *testing.T) {
	for _, tt := range []struct {
		name        string
		successLate bool // another delivery succeeded after this one began
		disabled    bool
	}{{"failing since the delivery began", false, true}, {"delivered since", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rcv := &receiver{status: http.StatusBadGateway}
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			ep, _ := e.add(srv.URL)
			ev := event("evt_g", appwheel.NotifyInvoicePaid)
			if _, err := e.store.RecordNotification(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			d := Delivery{AppID: app, EventID: ev.ID, EndpointID: ep.ID}
			began := e.now
			e.svc.Deliver(t.Context(), d, Attempt{Number: 1, Since: began, Next: e.now.Add(time.Minute)})
			e.advance(10 * time.Minute)
			if tt.successLate {
				rcv.status = http.StatusOK
				e.svc.Deliver(t.Context(), d, Attempt{Number: 1, Since: e.now, Next: e.now.Add(time.Minute)})
				rcv.status = http.StatusBadGateway
			}
			e.advance(10 * time.Minute) // well short of the hour's limit
			e.svc.Deliver(t.Context(), d, Attempt{Number: 2, Since: began})
			stored, _ := e.store.Endpoint(t.Context(), app, ep.ID)
			if stored.Disabled != tt.disabled {
				t.Errorf("endpoint disabled: %v, want %v", stored.Disabled, tt.disabled)
			}
		})
	}
}
