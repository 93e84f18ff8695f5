package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/signature"
)

// receiver is an app's server receiving AppWheel's events on loopback.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
}

type delivery struct {
	header http.Header
	body   []byte
	event  client.WebhookEvent
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev client.WebhookEvent
		json.Unmarshal(body, &ev)
		r.mu.Lock()
		r.got = append(r.got, delivery{header: req.Header.Clone(), body: body, event: ev})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait returns the first delivery of an event of type typ whose data
// satisfies match, failing the test after a while.
func (r *receiver) wait(typ string, match func(data map[string]any) bool) delivery {
	r.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r.mu.Lock()
		for _, d := range r.got {
			var data map[string]any
			if d.event.Type == typ && json.Unmarshal(d.event.Data, &data) == nil && match(data) {
				r.mu.Unlock()
				return d
			}
		}
		var types []string
		for _, d := range r.got {
			types = append(types, d.event.Type)
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			r.t.Fatalf("no %s event came that matches; received: %v", typ, types)
		}
	}
}

// TestEventsToTheAppsServer runs the flows of a subscription app through
// the sandbox, with `appwheel dev --notify-url` pointing the demo app's
// events at a receiver, and checks that each fact arrives as the documented
// event, signed so that client.VerifyWebhook accepts it.
func TestEventsToTheAppsServer(t *testing.T) {
	rcv := newReceiver(t)
	url := rcv.srv.URL + "/appwheel-events"
	d := startDevWith(t, []string{"--addr", freeAddr(t), "--sandbox-addr", freeAddr(t), "--data-dir", t.TempDir(), "--notify-url", url})
	if !strings.HasPrefix(d.facts.NotifySecret, "awhsec_") || !strings.Contains(d.logs.String(), "events go to "+url) {
		t.Fatalf("dev did not say where events go, or dev.json has no notifySecret:\n%s", d.logs.String())
	}
	const user = "notified-user"
	id := func(field string) func(map[string]any) bool {
		return func(data map[string]any) bool {
			pm, _ := data["paymentMethod"].(map[string]any)
			return pm != nil && pm["id"] == field
		}
	}

	pm1 := d.mustAddCard(user, "pm_card_visa")
	added := rcv.wait("payment_method.added", id(pm1))
	rcv.wait("payment_method.default_changed", id(pm1)) // the first card becomes the default

	pm2 := d.mustAddCard(user, "pm_card_mastercard")
	rcv.wait("payment_method.added", id(pm2))
	if _, err := d.client.SetDefaultPaymentMethod(ctx(t), user, pm2); err != nil {
		t.Fatal(err)
	}
	changed := rcv.wait("payment_method.default_changed", id(pm2))
	var dc struct {
		PreviousDefaultMethodID string `json:"previousDefaultMethodId"`
	}
	json.Unmarshal(changed.event.Data, &dc)
	if dc.PreviousDefaultMethodID != pm1 {
		t.Errorf("default_changed to %s: previousDefaultMethodId %q, want %s", pm2, dc.PreviousDefaultMethodID, pm1)
	}

	d.cli("sandbox", "subscribe", "--user", user, "--price", "monthly")
	sub := d.subscription(user)
	isSub := func(data map[string]any) bool {
		s, _ := data["subscription"].(map[string]any)
		return s != nil && s["id"] == sub.ID
	}
	isInvoiceOf := func(data map[string]any) bool {
		inv, _ := data["invoice"].(map[string]any)
		return inv != nil && inv["originOrderId"] == sub.ID
	}
	created := rcv.wait("subscription.updated", isSub)
	rcv.wait("invoice.created", isInvoiceOf)
	paid := rcv.wait("invoice.paid", isInvoiceOf)
	var inv struct {
		Invoice client.Invoice `json:"invoice"`
	}
	json.Unmarshal(paid.event.Data, &inv)
	if inv.Invoice.InvoiceStatus != "paid" || inv.Invoice.ProductID != d.facts.Prices["monthly"] || inv.Invoice.ProductPeriod != "P1M" ||
		!strings.Contains(inv.Invoice.InvoicePDF, "/invoice-links/") || inv.Invoice.AmountPaid != 999 {
		t.Errorf("invoice.paid's invoice, in the order format: %+v", inv.Invoice)
	}

	if _, err := d.client.RemovePaymentMethod(ctx(t), client.RemovePaymentMethodParams{AppUserID: user, MethodID: pm1}); err != nil {
		t.Fatal(err)
	}
	removed := rcv.wait("payment_method.removed", id(pm1))

	// A card whose renewal fails: the next invoice's payment fails, and the
	// subscription goes past due.
	failing := d.mustAddCard(user, "pm_card_chargeCustomerFail")
	if _, err := d.client.SetDefaultPaymentMethod(ctx(t), user, failing); err != nil {
		t.Fatal(err)
	}
	d.cli("sandbox", "advance", "--days", "31")
	rcv.wait("invoice.payment_failed", isInvoiceOf)
	pastDue := rcv.wait("subscription.updated", func(data map[string]any) bool {
		s, _ := data["subscription"].(map[string]any)
		return isSub(data) && s["status"] == "past_due"
	})
	var su struct {
		Subscription   client.Subscription `json:"subscription"`
		PreviousStatus string              `json:"previousStatus"`
	}
	json.Unmarshal(pastDue.event.Data, &su)
	if su.PreviousStatus != "active" || su.Subscription.OrderStatus != 3 {
		t.Errorf("the subscription gone past due: previousStatus %q, orderStatus %d", su.PreviousStatus, su.Subscription.OrderStatus)
	}

	// Every delivery: signed for VerifyWebhook, for this user, its id in
	// the header; each fact one id.
	rcv.mu.Lock()
	got := append([]delivery(nil), rcv.got...)
	rcv.mu.Unlock()
	ids := map[string]string{}
	for _, dl := range got {
		ev, err := client.VerifyWebhook(dl.body, dl.header, d.facts.NotifySecret)
		if err != nil {
			t.Errorf("%s %s: VerifyWebhook: %v", dl.event.Type, dl.event.ID, err)
			continue
		}
		if !strings.HasPrefix(ev.ID, "evt_") || ev.AppUserID != user || ev.Created == 0 || dl.header.Get(signature.HeaderEventID) != ev.ID ||
			dl.header.Get(signature.HeaderAppID) != d.facts.AppID || dl.header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery %s: event %+v, headers %v", ev.Type, ev, dl.header)
		}
		if prev, ok := ids[ev.ID]; ok && prev != string(dl.body) {
			t.Errorf("event id %s was given to two different events", ev.ID)
		}
		ids[ev.ID] = string(dl.body)
	}
	for _, dl := range []delivery{added, created, removed} {
		tampered := bytes.Replace(dl.body, []byte(user), []byte("someone-else"), 1)
		if _, err := client.VerifyWebhook(tampered, dl.header, d.facts.NotifySecret); err == nil {
			t.Errorf("a tampered %s verified", dl.event.Type)
		}
	}
	if _, err := client.VerifyWebhook(added.body, added.header, "awhsec_not_the_secret"); err == nil {
		t.Error("a delivery verified with another secret")
	}

	// The operator sees the attempts.
	var attempts []struct {
		EventID    string `json:"eventId"`
		StatusCode int    `json:"statusCode"`
		Outcome    string `json:"outcome"`
	}
	if err := json.Unmarshal([]byte(d.cli("apps", "webhooks", "deliveries", d.facts.AppID, "--json")), &attempts); err != nil {
		t.Fatal(err)
	}
	if len(attempts) < len(ids) {
		t.Errorf("deliveries lists %d attempts for %d events delivered", len(attempts), len(ids))
	}
	for _, a := range attempts {
		if a.StatusCode != 204 || a.Outcome != "delivered" {
			t.Errorf("attempt %+v, want delivered with 204", a)
		}
	}
	resp, err := http.Get(d.facts.BaseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte(`appwheel_webhook_deliveries_total{outcome="delivered"} `)) ||
		bytes.Contains(metrics, []byte(`appwheel_webhook_deliveries_total{outcome="delivered"} 0`)) ||
		!bytes.Contains(metrics, []byte("appwheel_webhook_delivery_duration_seconds_count")) {
		t.Error("/metrics does not count the deliveries")
	}

	// The operator sends an event again: the same id, once more.
	d.cli("apps", "webhooks", "redeliver", added.event.ID)
	for deadline := time.Now().Add(20 * time.Second); rcv.count(added.event.ID) < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the redelivered event %s did not come again", added.event.ID)
		}
	}
}

// count is how many deliveries of the event id came.
func (r *receiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, d := range r.got {
		if d.event.ID == id {
			n++
		}
	}
	return n
}

// TestEventsSurviveAKill: deliveries in flight and queued when the server
// is killed (SIGKILL) are all delivered after it restarts.
func TestEventsSurviveAKill(t *testing.T) {
	var (
		mu       sync.Mutex
		hold     = true
		held     int
		answered = map[string]string{} // event id → type, of the deliveries answered 204
		bodies   = map[string][]byte{}
		headers  = map[string]http.Header{}
	)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		holding := hold
		if holding {
			held++
		}
		mu.Unlock()
		if holding { // the server is killed while this delivery waits
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		var ev client.WebhookEvent
		json.Unmarshal(body, &ev)
		mu.Lock()
		answered[ev.ID], bodies[ev.ID], headers[ev.ID] = ev.Type, body, r.Header.Clone()
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // first: the held requests end

	args := []string{"--addr", freeAddr(t), "--sandbox-addr", freeAddr(t), "--data-dir", t.TempDir(),
		"--notify-url", srv.URL + "/events", "--job-timeout", "2s"}
	d := startDevWith(t, args)
	const user = "killed-user"
	for _, card := range []string{"pm_card_visa", "pm_card_mastercard", "pm_card_amex"} {
		d.mustAddCard(user, card)
	}
	d.cli("sandbox", "subscribe", "--user", user, "--price", "monthly")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := held
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery reached the receiver before the kill")
		}
	}
	d.kill()
	mu.Lock()
	hold = false
	mu.Unlock()

	restarted := startDevWith(t, args)
	want := map[string]int{"payment_method.added": 3, "payment_method.default_changed": 1, "invoice.created": 1, "invoice.paid": 1, "subscription.updated": 1}
	var got map[string]int
	// River rescues the deliveries the killed process was running once they
	// have run for twice --job-timeout, at its rescuer's next pass (every
	// 30 s).
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		mu.Lock()
		got = map[string]int{}
		for _, typ := range answered {
			got[typ]++
		}
		mu.Unlock()
		done := true
		for typ, n := range want {
			done = done && got[typ] >= n
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the receiver got %v, want at least %v", got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for id, body := range bodies {
		if _, err := client.VerifyWebhook(body, headers[id], restarted.facts.NotifySecret); err != nil {
			t.Errorf("delivery of %s after the restart: %v", id, err)
		}
	}
}
