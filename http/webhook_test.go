package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
)

const webhookPath = "/v1/stripe/webhooks/"

// mirrorUser makes user's customer through the API, as a first
// createPaymentMethod in a mirror app does, and lets the setup window lapse
// so that reads of the user's methods come from the mirror alone.
func (e *env) mirrorUser(app *appwheel.App, user string) string {
	e.t.Helper()
	e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"` + user + `","type":"setupIntent"}`}).want(e.t, 200, 0)
	e.Clock.Advance(billing.SetupPendingWindow)
	return e.Customer(app, user)
}

// methods lists user's payment methods through the API.
func (e *env) methods(app *appwheel.App, user string) appwheel.PaymentMethodList {
	e.t.Helper()
	var list appwheel.PaymentMethodList
	e.do(app, req{method: "GET", target: pmPath + "?appUserId=" + user}).want(e.t, 200, 0).decode(e.t, &list)
	return list
}

// wantNotRecorded fails when the event is recorded for the app.
func (e *env) wantNotRecorded(t *testing.T, appID, eventID string) {
	t.Helper()
	if ev, err := e.Store.Event(context.Background(), appID, eventID); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("Event(%s, %s) = %+v, %v; want ENOTFOUND: nothing may be recorded", appID, eventID, ev, err)
	}
}

// recorded returns a recorded event, failing when it is not.
func (e *env) recorded(t *testing.T, appID, eventID string) *appwheel.Event {
	t.Helper()
	ev, err := e.Store.Event(context.Background(), appID, eventID)
	if err != nil {
		t.Fatalf("Event(%s, %s): %v", appID, eventID, err)
	}
	return ev
}

func rawIDs(t *testing.T, raws []json.RawMessage) []string {
	t.Helper()
	ids := []string{}
	for _, raw := range raws {
		var pm struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &pm); err != nil {
			t.Fatalf("payment method %s: %v", raw, err)
		}
		ids = append(ids, pm.ID)
	}
	return ids
}

func TestWebhookSignedDelivery(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	app := e.NewMirrorApp("m")
	cus := e.mirrorUser(app, "u1")
	pm := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	created := e.Clock.Now().Unix()
	payload := apitest.StripeEvent(t, "evt_1SignedA", "payment_method.attached", created,
		cardObject(pm.ID, cus, pm.Created, "visa", "4242"), nil)
	e.Stripe.ResetCalls()

	var got received
	e.webhook(app.ID, payload, signNow(payload, app.Stripe.WebhookSecret)).want(t, 200, 0).decode(t, &got)
	if want := (received{EventID: "evt_1SignedA", Duplicate: false}); got != want {
		t.Errorf("data = %+v, want %+v", got, want)
	}
	ev := e.recorded(t, app.ID, "evt_1SignedA")
	if ev.AppID != app.ID || ev.Type != "payment_method.attached" || ev.Created != created {
		t.Errorf("recorded %s %s created %d, want %s payment_method.attached created %d", ev.AppID, ev.Type, ev.Created, app.ID, created)
	}
	if !bytes.Equal(ev.Payload, payload) {
		t.Errorf("recorded payload is not the bytes Stripe signed:\n got %s\nwant %s", ev.Payload, payload)
	}
	if now := e.Clock.Now().Truncate(time.Microsecond); !ev.ReceivedAt.Equal(now) {
		t.Errorf("ReceivedAt = %v, want the server's now %v", ev.ReceivedAt, now)
	}
	if ev.ProcessedAt.IsZero() {
		t.Error("ProcessedAt is zero: the event was not applied")
	}
	// A snapshot newer than the mirror is applied as is.
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("applying the event made %d Stripe calls, want 0", n)
	}

	// The mirror reflects it: the API lists the card, from the mirror.
	list := e.methods(app, "u1")
	if got, want := rawIDs(t, list.Methods), []string{pm.ID}; !cmp.Equal(got, want) {
		t.Errorf("methods = %v, want %v", got, want)
	}
	var card struct {
		Card struct {
			Last4 string `json:"last4"`
		} `json:"card"`
	}
	if len(list.Methods) == 1 {
		if err := json.Unmarshal(list.Methods[0], &card); err != nil || card.Card.Last4 != "4242" {
			t.Errorf("method = %s, want Stripe's JSON of the card (last4 4242)", list.Methods[0])
		}
	}

	// The customer's new default arrives the same way.
	if err := e.Stripe.SetDefaultPaymentMethod(ctx, app.Stripe, cus, pm.ID, ""); err != nil {
		t.Fatal(err)
	}
	payload = apitest.StripeEvent(t, "evt_1SignedB", "customer.updated", created+1, apitest.StripeCustomer(cus, pm.ID, created-100, nil),
		map[string]any{"invoice_settings": map[string]any{"default_payment_method": nil}})
	e.Stripe.ResetCalls()
	e.webhook(app.ID, payload, signNow(payload, app.Stripe.WebhookSecret)).want(t, 200, 0).decode(t, &got)
	if want := (received{EventID: "evt_1SignedB"}); got != want {
		t.Errorf("data = %+v, want %+v", got, want)
	}
	if list := e.methods(app, "u1"); list.DefaultMethodID != pm.ID {
		t.Errorf("default = %q, want %q", list.DefaultMethodID, pm.ID)
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0 (event applied from its snapshot, read from the mirror)", n)
	}
}

func TestWebhookRejectedDeliveryRecordsNothing(t *testing.T) {
	e := newEnv(t)
	app := e.NewMirrorApp("m")
	other := e.NewMirrorApp("other")
	live := e.NewApp("live") // no webhook signing secret
	cus := e.mirrorUser(app, "u1")
	pm := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	event := func(id string) []byte {
		return apitest.StripeEvent(t, id, "payment_method.attached", e.Clock.Now().Unix(), cardObject(pm.ID, cus, pm.Created, "visa", "4242"), nil)
	}
	secret := app.Stripe.WebhookSecret
	e.Stripe.ResetCalls()

	tests := []struct {
		name    string
		appID   string
		payload func(id string) []byte // the body sent
		sig     func(body []byte) string
		status  int
		code    int
		msg     string
	}{
		{
			name: "unsigned", appID: app.ID, payload: event,
			sig:    func([]byte) string { return "" },
			status: 400, code: appwheel.EINVALID, msg: "Stripe-Signature",
		},
		{
			name: "wrong secret", appID: app.ID, payload: event,
			sig:    func(b []byte) string { return signNow(b, "whsec_not_the_secret") },
			status: 400, code: appwheel.EINVALID, msg: "Stripe-Signature",
		},
		{
			name: "another app's secret", appID: app.ID, payload: event,
			sig:    func(b []byte) string { return signNow(b, other.Stripe.WebhookSecret) },
			status: 400, code: appwheel.EINVALID, msg: "Stripe-Signature",
		},
		{
			name: "tampered body", appID: app.ID,
			payload: func(id string) []byte {
				return bytes.Replace(event(id), []byte(`"last4":"4242"`), []byte(`"last4":"0000"`), 1)
			},
			sig: func(b []byte) string {
				return signNow(bytes.Replace(b, []byte(`"last4":"0000"`), []byte(`"last4":"4242"`), 1), secret)
			},
			status: 400, code: appwheel.EINVALID, msg: "Stripe-Signature",
		},
		{
			name: "stale timestamp", appID: app.ID, payload: event,
			sig: func(b []byte) string {
				return apitest.SignStripe(b, secret, time.Now().Add(-301*time.Second))
			},
			status: 400, code: appwheel.EINVALID, msg: "Stripe-Signature",
		},
		{
			name: "malformed header", appID: app.ID, payload: event,
			sig:    func([]byte) string { return "t=yesterday,v1=zz" },
			status: 400, code: appwheel.EINVALID, msg: "Stripe-Signature",
		},
		{
			name: "signed, not an event", appID: app.ID,
			payload: func(id string) []byte {
				b, _ := json.Marshal(cardObject(pm.ID, cus, pm.Created, "visa", "4242"))
				return b
			},
			sig:    func(b []byte) string { return signNow(b, secret) },
			status: 400, code: appwheel.EINVALID,
		},
		{
			name: "unknown app", appID: "app_000000000000000000000000", payload: event,
			sig:    func(b []byte) string { return signNow(b, secret) },
			status: 404, code: appwheel.ENOTFOUND, msg: "no such app",
		},
		{
			name: "app without a signing secret", appID: live.ID, payload: event,
			sig:    func(b []byte) string { return signNow(b, secret) },
			status: 400, code: appwheel.EINVALID, msg: "signing secret",
		},
		{
			name: "body over 1 MiB", appID: app.ID,
			payload: func(id string) []byte {
				obj := cardObject(pm.ID, cus, pm.Created, "visa", "4242")
				obj["metadata"] = map[string]string{"padding": strings.Repeat("x", 1<<20)}
				return apitest.StripeEvent(t, id, "payment_method.attached", e.Clock.Now().Unix(), obj, nil)
			},
			sig:    func(b []byte) string { return signNow(b, secret) },
			status: 413, code: appwheel.EINVALID, msg: "1 MiB",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "evt_1Rejected" + string(rune('A'+i))
			body := tt.payload(id)
			r := e.webhook(tt.appID, body, tt.sig(body)).want(t, tt.status, tt.code)
			if !strings.Contains(r.Msg, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", r.Msg, tt.msg)
			}
			for _, a := range []string{app.ID, other.ID, live.ID, tt.appID} {
				e.wantNotRecorded(t, a, id)
			}
		})
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0", n)
	}
	if _, err := e.Store.MirroredPaymentMethod(context.Background(), app.ID, pm.ID); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("MirroredPaymentMethod(%s) error = %v, want ENOTFOUND: no rejected delivery may reach the mirror", pm.ID, err)
	}
	if list := e.methods(app, "u1"); len(list.Methods) != 0 {
		t.Errorf("methods = %v, want none", rawIDs(t, list.Methods))
	}
}

// onceQueue stands for the server's applier, which applies each recorded
// event once however often deliveries wake it (it claims the event): here
// the first delivery applies it inline. It counts the deliveries it is
// told of (EventRecorded), duplicates included.
//
// (apitest's own inline applier applies the event on every delivery, one
// at a time, so that its second run finds the event processed.)
type onceQueue struct {
	billing  *billing.Service
	mu       sync.Mutex
	enqueued map[string]int
}

func (q *onceQueue) EventRecorded(ctx context.Context, appID, eventID string) error {
	key := appID + "/" + eventID
	q.mu.Lock()
	q.enqueued[key]++
	first := q.enqueued[key] == 1
	q.mu.Unlock()
	if !first {
		return nil // the job exists already
	}
	return q.billing.ApplyRecordedEvent(ctx, appID, eventID)
}

// withQueue returns e's API served with another event queue.
func (e *env) withQueue(q billing.EventApplier) *env {
	srv := httptest.NewServer(appwheelhttp.NewServer(appwheelhttp.Config{
		Apps: e.Apps, Billing: e.Billing, Store: e.Store, Now: e.Clock.Now, Webhooks: e.Intake(q),
	}))
	e.t.Cleanup(srv.Close)
	cp := *e.Env
	cp.Server = srv
	return &env{Env: &cp, t: e.t}
}

func TestWebhookDuplicateDelivery(t *testing.T) {
	e := newEnv(t)
	app := e.NewMirrorApp("m")
	cus := e.mirrorUser(app, "u1")
	pm := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	payload := apitest.StripeEvent(t, "evt_1Dup", "payment_method.attached", e.Clock.Now().Unix(),
		cardObject(pm.ID, cus, pm.Created, "visa", "4242"), nil)
	sig := signNow(payload, app.Stripe.WebhookSecret)
	q := &onceQueue{billing: e.Billing, enqueued: map[string]int{}}
	w := e.withQueue(q)
	e.Stripe.ResetCalls()

	// Stripe delivers the event several times at once (to two replicas,
	// say, or a retry racing a slow first attempt).
	const n = 3
	results := make([]received, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			w.webhook(app.ID, payload, sig).want(t, 200, 0).decode(t, &results[i])
		})
	}
	close(start)
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if r.EventID != "evt_1Dup" {
			t.Errorf("eventId = %q, want evt_1Dup", r.EventID)
		}
		if !r.Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d deliveries answered duplicate:false, want exactly 1 (%+v)", fresh, results)
	}
	if got := q.enqueued[app.ID+"/evt_1Dup"]; got != n {
		t.Errorf("enqueued %d times, want %d: every delivery is queued, duplicates too", got, n)
	}
	first := e.recorded(t, app.ID, "evt_1Dup")
	if first.ProcessedAt.IsZero() {
		t.Fatal("the event was not applied")
	}
	// Applied once: the first application writes the snapshot without a
	// Stripe call; a second would find its version stored and re-fetch.
	if got := e.Stripe.TotalCalls(); got != 0 {
		t.Errorf("Stripe calls = %d (PaymentMethod %d), want 0: the event was applied more than once",
			got, e.Stripe.Calls("PaymentMethod"))
	}
	if list := e.methods(app, "u1"); !cmp.Equal(rawIDs(t, list.Methods), []string{pm.ID}) {
		t.Errorf("methods = %v, want [%s]", rawIDs(t, list.Methods), pm.ID)
	}

	// Stripe retries an hour later, signing anew; this server applies on
	// every enqueue, and the applied event is skipped.
	e.Clock.Advance(time.Hour)
	e.Stripe.ResetCalls()
	var again received
	e.webhook(app.ID, payload, signNow(payload, app.Stripe.WebhookSecret)).want(t, 200, 0).decode(t, &again)
	if want := (received{EventID: "evt_1Dup", Duplicate: true}); again != want {
		t.Errorf("redelivery data = %+v, want %+v", again, want)
	}
	later := e.recorded(t, app.ID, "evt_1Dup")
	if !later.ProcessedAt.Equal(first.ProcessedAt) || !later.ReceivedAt.Equal(first.ReceivedAt) || !bytes.Equal(later.Payload, payload) {
		t.Errorf("redelivery changed the record: received %v processed %v, want %v and %v",
			later.ReceivedAt, later.ProcessedAt, first.ReceivedAt, first.ProcessedAt)
	}
	if got := e.Stripe.TotalCalls(); got != 0 {
		t.Errorf("redelivery made %d Stripe calls, want 0: an applied event is skipped", got)
	}
}

// Events of a customer AppWheel did not make for this app (one made in the
// Dashboard, or another app's user) are recorded and acknowledged, and
// change no mirror.
func TestWebhookForeignCustomer(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	app := e.NewMirrorApp("m")
	other := e.NewMirrorApp("other")
	mine := e.mirrorUser(app, "u1")
	theirs := e.mirrorUser(other, "u1") // the same appUserId, in another app
	dashboard := e.Stripe.AddCustomer(app.Stripe, "", "").ID
	now := e.Clock.Now().Unix()

	tests := []struct {
		name     string
		customer string
		event    func(id string) []byte
	}{
		{"payment_method.attached", dashboard, func(id string) []byte {
			pm := e.Stripe.AttachCard(app.Stripe, dashboard, "visa", "4242")
			return apitest.StripeEvent(t, id, "payment_method.attached", now, cardObject(pm.ID, dashboard, pm.Created, "visa", "4242"), nil)
		}},
		{"payment_method.detached", dashboard, func(id string) []byte {
			return apitest.StripeEvent(t, id, "payment_method.detached", now, cardObject("pm_1Foreign", "", now-50, "visa", "4242"),
				map[string]any{"customer": dashboard})
		}},
		{"customer.updated", dashboard, func(id string) []byte {
			return apitest.StripeEvent(t, id, "customer.updated", now, apitest.StripeCustomer(dashboard, "pm_1Foreign", now-100, nil), nil)
		}},
		{"customer.subscription.created", dashboard, func(id string) []byte {
			return apitest.StripeEvent(t, id, "customer.subscription.created", now, subscriptionObject("sub_1Foreign", dashboard, "active", now), nil)
		}},
		{"another app's user", theirs, func(id string) []byte {
			pm := e.Stripe.AttachCard(other.Stripe, theirs, "visa", "4242")
			return apitest.StripeEvent(t, id, "payment_method.attached", now, cardObject(pm.ID, theirs, pm.Created, "visa", "4242"), nil)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "evt_1Foreign" + string(rune('A'+i))
			payload := tt.event(id)
			e.Stripe.ResetCalls()
			var got received
			e.webhook(app.ID, payload, signNow(payload, app.Stripe.WebhookSecret)).want(t, 200, 0).decode(t, &got)
			if want := (received{EventID: id}); got != want {
				t.Errorf("data = %+v, want %+v", got, want)
			}
			if ev := e.recorded(t, app.ID, id); ev.ProcessedAt.IsZero() {
				t.Error("the event is not marked processed")
			}
			if n := e.Stripe.TotalCalls(); n != 0 {
				t.Errorf("Stripe calls = %d, want 0", n)
			}
		})
	}
	for _, a := range []*appwheel.App{app, other} {
		if list := e.methods(a, "u1"); len(list.Methods) != 0 || list.DefaultMethodID != "" {
			t.Errorf("%s: methods = %v default %q, want none", a.Name, rawIDs(t, list.Methods), list.DefaultMethodID)
		}
		for _, cus := range []string{dashboard, mine, theirs} {
			if pms, err := e.Store.PaymentMethodsOf(ctx, a.ID, cus); err != nil || len(pms) != 0 {
				t.Errorf("%s: mirrored methods of %s = %d, %v; want none", a.Name, cus, len(pms), err)
			}
			if subs, err := e.Store.SubscriptionsOf(ctx, a.ID, cus); err != nil || len(subs) != 0 {
				t.Errorf("%s: mirrored subscriptions of %s = %d, %v; want none", a.Name, cus, len(subs), err)
			}
		}
	}
}
