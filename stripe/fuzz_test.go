package stripe_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

// Fuzz targets for webhook events. Seed corpora live in
// testdata/fuzz/<FuzzName>/; see FUZZING.md for longer runs, e.g.
//
//	go test ./stripe -run='^$' -fuzz='^FuzzDecodeEvent$' -fuzztime=5m

// stripeSignature is a Stripe-Signature header for payload, computed here
// from Stripe's documentation: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<payload>")).
func stripeSignature(payload []byte, secret string, at time.Time) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", at.Unix())
	m.Write(payload)
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(m.Sum(nil)))
}

// eventHead is what decides whether a payload is a Stripe event at all,
// read as encoding/json (and so stripe-go) reads it.
type eventHead struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Type   string `json:"type"`
}

// head reads a payload's id, object and type; ok is false when the payload
// is not a JSON object encoding/json can read them from.
func head(payload []byte) (h eventHead, ok bool) {
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(payload, &h) != nil {
		return eventHead{}, false
	}
	return h, true
}

// fuzzEventKinds are the event types DecodeEvent interprets, one of each
// kind, and one it does not.
var fuzzEventKinds = []string{
	"customer.updated",
	"customer.deleted",
	"customer.subscription.updated",
	"payment_method.attached",
	"payment_method.detached",
	"invoice.paid",
	"setup_intent.succeeded",
	"checkout.session.completed",
	"charge.succeeded",
}

// fuzzEvent is Stripe's JSON for an event of type typ about an object with
// id objID (the other ids are fixed: cus_fz, pm_fz, seti_fz, sub_fz,
// price_fz, cus_prev).
func fuzzEvent(t *testing.T, typ, objID string, created int64) []byte {
	t.Helper()
	var object map[string]any
	var previous map[string]any
	switch typ {
	case "customer.updated", "customer.deleted":
		object = map[string]any{
			"id": objID, "object": "customer", "created": created, "email": nil, "livemode": false,
			"invoice_settings": map[string]any{"default_payment_method": "pm_fz", "custom_fields": nil, "footer": nil},
			"metadata":         map[string]string{"appwheel_app_id": "app_x"},
		}
	case "customer.subscription.updated":
		object = map[string]any{
			"id": objID, "object": "subscription", "status": "active", "customer": "cus_fz", "created": created,
			"cancel_at_period_end": true,
			"items": map[string]any{"object": "list", "has_more": false, "data": []any{map[string]any{
				"id": "si_fz", "object": "subscription_item", "current_period_end": created + 86400,
				"price": map[string]any{"id": "price_fz", "object": "price", "recurring": map[string]any{"interval": "month", "interval_count": 3}},
			}}},
		}
	case "payment_method.attached", "payment_method.detached":
		object = map[string]any{
			"id": objID, "object": "payment_method", "type": "card", "created": created, "customer": "cus_fz",
			"card":     map[string]any{"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
			"metadata": map[string]string{},
		}
		if typ == "payment_method.detached" {
			object["customer"] = nil
			previous = map[string]any{"customer": "cus_prev"}
		}
	case "invoice.paid":
		object = map[string]any{
			"id": objID, "object": "invoice", "customer": "cus_fz", "status": "paid", "created": created,
			"amount_due": 999, "amount_paid": 999, "currency": "usd",
			"parent": map[string]any{"type": "subscription_details", "subscription_details": map[string]any{"subscription": "sub_fz"}},
		}
	case "setup_intent.succeeded":
		object = map[string]any{"id": objID, "object": "setup_intent", "status": "succeeded", "customer": "cus_fz", "payment_method": "pm_fz"}
	case "checkout.session.completed":
		object = map[string]any{
			"id": objID, "object": "checkout.session", "mode": "setup", "customer": "cus_fz",
			"setup_intent": map[string]any{"id": "seti_fz", "object": "setup_intent", "payment_method": "pm_fz"},
		}
	default:
		object = map[string]any{"id": objID, "object": "charge", "amount": 100}
	}
	data := map[string]any{"object": object}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	b, err := json.Marshal(map[string]any{
		"id": "evt_fz", "object": "event", "api_version": "2026-03-25.dahlia", "created": created,
		"livemode": false, "pending_webhooks": 1, "type": typ, "data": data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkDecoded checks DecodeEvent's reading of fuzzEvent(typ, objID, created).
func checkDecoded(t *testing.T, typ, objID string, created int64, ev *appwheel.StripeEvent) {
	t.Helper()
	if ev.ID != "evt_fz" || ev.Type != typ || ev.Created != created {
		t.Fatalf("event = %s %s %d, want evt_fz %s %d", ev.ID, ev.Type, ev.Created, typ, created)
	}
	objects := 0
	for _, set := range []bool{ev.Customer != nil, ev.PaymentMethod != nil, ev.Subscription != nil, ev.Invoice != nil} {
		if set {
			objects++
		}
	}
	want := 1
	switch typ {
	case "setup_intent.succeeded", "checkout.session.completed", "charge.succeeded":
		want = 0 // they name ids only
	}
	if objects != want {
		t.Fatalf("%s: %d objects decoded, want %d: %+v", typ, objects, want, ev)
	}
	switch typ {
	case "customer.updated", "customer.deleted":
		c := ev.Customer
		if c.ID != objID || c.DefaultPaymentMethodID != "pm_fz" || c.Deleted != (typ == "customer.deleted") {
			t.Fatalf("customer = %+v, want %q with default pm_fz, deleted %v", c, objID, typ == "customer.deleted")
		}
	case "customer.subscription.updated":
		s := ev.Subscription
		if s.ID != objID || s.CustomerID != "cus_fz" || s.Status != "active" || s.PriceID != "price_fz" ||
			s.Interval != "month" || s.IntervalCount != 3 || s.CurrentPeriodEnd != created+86400 || !s.CancelAtPeriodEnd {
			t.Fatalf("subscription = %+v", s)
		}
	case "payment_method.attached", "payment_method.detached":
		pm := ev.PaymentMethod
		wantCus := "cus_fz"
		if typ == "payment_method.detached" {
			wantCus = ""
			if ev.PreviousCustomerID != "cus_prev" {
				t.Fatalf("previous customer = %q, want cus_prev", ev.PreviousCustomerID)
			}
		}
		if pm.ID != objID || pm.CustomerID != wantCus || pm.Type != "card" || pm.Created != created {
			t.Fatalf("payment method = %+v, want %q of %q", pm, objID, wantCus)
		}
		var raw struct {
			ID   string `json:"id"`
			Card struct {
				Last4 string `json:"last4"`
			} `json:"card"`
		}
		if err := json.Unmarshal(pm.Raw, &raw); err != nil || raw.ID != objID || raw.Card.Last4 != "4242" {
			t.Fatalf("raw = %s (%v), want Stripe's JSON of %q", pm.Raw, err, objID)
		}
	case "invoice.paid":
		in := ev.Invoice
		if in.ID != objID || in.CustomerID != "cus_fz" || in.SubscriptionID != "sub_fz" || in.Status != "paid" || in.AmountPaid != 999 {
			t.Fatalf("invoice = %+v", in)
		}
	case "setup_intent.succeeded":
		if ev.SetupIntentID != objID || ev.CustomerID != "cus_fz" || ev.PaymentMethodID != "pm_fz" {
			t.Fatalf("setup intent = %q %q %q, want %q cus_fz pm_fz", ev.SetupIntentID, ev.CustomerID, ev.PaymentMethodID, objID)
		}
	case "checkout.session.completed":
		if ev.SetupIntentID != "seti_fz" || ev.CustomerID != "cus_fz" || ev.PaymentMethodID != "pm_fz" {
			t.Fatalf("checkout = %q %q %q, want seti_fz cus_fz pm_fz", ev.SetupIntentID, ev.CustomerID, ev.PaymentMethodID)
		}
	default:
		if ev.CustomerID != "" || ev.PaymentMethodID != "" || ev.SetupIntentID != "" {
			t.Fatalf("%s decoded ids: %+v", typ, ev)
		}
	}
}

// FuzzDecodeEvent: DecodeEvent never panics on arbitrary bytes, and what it
// returns without an error carries the payload's own id and type. An
// event of each kind, built around a fuzzed object id and creation time,
// is decoded into that object.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","object":"event","type":"customer.updated","data":{"object":{"id":"cus_1"}}}`), uint8(0), "cus_1", int64(1700000000))
	f.Fuzz(func(t *testing.T, payload []byte, kind uint8, objID string, created int64) {
		ev, err := stripe.DecodeEvent(payload)
		if err == nil {
			if ev == nil {
				t.Fatal("DecodeEvent returned neither an event nor an error")
			}
			h, _ := head(payload)
			if ev.ID != h.ID || ev.Type != h.Type {
				t.Fatalf("DecodeEvent = %q %q, but the payload says %q %q", ev.ID, ev.Type, h.ID, h.Type)
			}
		} else if ev != nil {
			t.Fatalf("DecodeEvent returned an event with error %v", err)
		}

		typ := fuzzEventKinds[int(kind)%len(fuzzEventKinds)]
		objID = strings.ToValidUTF8(objID, "\uFFFD") // JSON strings are UTF-8
		valid := fuzzEvent(t, typ, objID, created)
		ev, err = stripe.DecodeEvent(valid)
		if err != nil {
			t.Fatalf("DecodeEvent(%s) = %v", valid, err)
		}
		checkDecoded(t, typ, objID, created, ev)
	})
}

// isStripeEvent is the reference for what VerifyEvent must accept once the
// signature is right: a JSON object with "object":"event", an evt_ id and a
// type. decodable tells whether stripe-go can read the rest (a Stripe event
// has typed fields: "created" is a number, data.object an object…); a
// payload it cannot read is refused too.
func isStripeEvent(payload []byte) (h eventHead, ok, decodable bool) {
	h, isObject := head(payload)
	ok = isObject && h.Object == "event" && strings.HasPrefix(h.ID, "evt_") && h.Type != ""
	var ev stripego.Event
	decodable = json.Unmarshal(payload, &ev) == nil
	return h, ok, decodable
}

// FuzzVerifyEvent: VerifyEvent never panics on an arbitrary payload, header
// and secret, and fails only with EINVALID. A payload signed correctly
// (Stripe-Signature computed here) with a fresh timestamp verifies iff it
// is a Stripe event (a JSON object, "object":"event", an evt_ id, a type,
// readable by stripe-go); and then never under another secret, nor with a
// timestamp older than 300 s.
func FuzzVerifyEvent(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","object":"event","type":"ping"}`), "t=1,v1=00", "whsec_x")
	f.Fuzz(func(t *testing.T, payload []byte, header, secret string) {
		// Arbitrary header.
		ev, err := stripe.VerifyEvent(payload, header, secret)
		checkVerified(t, payload, ev, err)

		// Signed as Stripe signs, now.
		now := time.Now()
		h, want, decodable := isStripeEvent(payload)
		ev, err = stripe.VerifyEvent(payload, stripeSignature(payload, secret, now), secret)
		checkVerified(t, payload, ev, err)
		switch {
		case err == nil && !want:
			t.Fatalf("verified a payload that is not a Stripe event: %q", payload)
		case err != nil && want && decodable:
			t.Fatalf("refused a correctly signed Stripe event: %v: %q", err, payload)
		case err == nil:
			if ev.ID != h.ID || ev.Type != h.Type {
				t.Fatalf("event = %q %q, want %q %q", ev.ID, ev.Type, h.ID, h.Type)
			}
		}
		if err != nil {
			return
		}
		// The same delivery under another secret, or stale, is refused.
		if ev, err := stripe.VerifyEvent(payload, stripeSignature(payload, secret+"x", now), secret); err == nil {
			t.Fatalf("verified under another secret: %+v", ev)
		}
		if ev, err := stripe.VerifyEvent(payload, stripeSignature(payload, secret, now.Add(-stripe.WebhookTolerance-2*time.Second)), secret); err == nil {
			t.Fatalf("verified with a timestamp %v old: %+v", stripe.WebhookTolerance+2*time.Second, ev)
		}
		// So is a payload with one byte changed.
		changed := append([]byte(nil), payload...)
		changed[len(changed)/2] ^= 0x20
		if ev, err := stripe.VerifyEvent(changed, stripeSignature(payload, secret, now), secret); err == nil {
			t.Fatalf("verified a payload changed after signing: %+v", ev)
		}
	})
}

func checkVerified(t *testing.T, payload []byte, ev *appwheel.Event, err error) {
	t.Helper()
	if err != nil {
		if code := appwheel.ErrorCode(err); code != appwheel.EINVALID {
			t.Fatalf("VerifyEvent error %v has code %d, want EINVALID", err, code)
		}
		if ev != nil {
			t.Fatalf("VerifyEvent returned an event with error %v", err)
		}
		return
	}
	if ev == nil || !strings.HasPrefix(ev.ID, "evt_") || ev.Type == "" {
		t.Fatalf("VerifyEvent accepted %+v", ev)
	}
	if !bytes.Equal(ev.Payload, payload) {
		t.Fatalf("event payload %q is not the payload signed %q", ev.Payload, payload)
	}
}

// TestVerifyEventFutureTimestamp: the README promises a 300 s tolerance on
// Stripe-Signature; AppWheel's own signature refuses timestamps more than
// 300 s away in either direction. stripe-go only checks the age, so a
// delivery stamped in the future verifies however far ahead it is.
func TestVerifyEventFutureTimestamp(t *testing.T) {
	payload := []byte(`{"id":"evt_future","object":"event","type":"customer.updated","created":1}`)
	for _, ahead := range []time.Duration{stripe.WebhookTolerance + 10*time.Second, 24 * time.Hour, 10 * 365 * 24 * time.Hour} {
		if _, err := stripe.VerifyEvent(payload, stripeSignature(payload, "whsec_x", time.Now().Add(ahead)), "whsec_x"); err == nil {
			t.Errorf("a delivery stamped %v ahead verified; want EINVALID beyond %v", ahead, stripe.WebhookTolerance)
		}
	}
}
