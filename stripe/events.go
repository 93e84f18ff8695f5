package stripe

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v85"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/appwheel/appwheel"
)

// WebhookTolerance is how old a Stripe-Signature timestamp may be.
const WebhookTolerance = 300 * time.Second

// VerifyEvent checks a webhook delivery's Stripe-Signature against the
// app's signing secret (within WebhookTolerance) and returns the event's
// identity and payload, ready to record. The payload is not otherwise
// interpreted here: that is DecodeEvent's job, in the background.
//
// Returns EINVALID for a missing, malformed or wrong signature, a stale
// timestamp, or a payload that is not a Stripe event.
func VerifyEvent(payload []byte, header, secret string) (*appwheel.Event, error) {
	if header == "" {
		return nil, appwheel.Errorf(appwheel.EINVALID, "missing Stripe-Signature header")
	}
	// stripe-go refuses a signature older than the tolerance but not one
	// from the future; a timestamp must be within the tolerance either way.
	if t, ok := signatureTime(header); ok && time.Until(t) > WebhookTolerance {
		return nil, appwheel.Errorf(appwheel.EINVALID, "Stripe-Signature: timestamp is in the future")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{
		Tolerance: WebhookTolerance,
		// The endpoint's API version is the app's choice on Stripe's side;
		// the fields AppWheel reads are decoded leniently.
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		return nil, appwheel.Errorf(appwheel.EINVALID, "Stripe-Signature: %v", err)
	}
	if !strings.HasPrefix(ev.ID, "evt_") || ev.Type == "" {
		return nil, appwheel.Errorf(appwheel.EINVALID, "payload is not a Stripe event")
	}
	return &appwheel.Event{ID: ev.ID, Type: string(ev.Type), Created: ev.Created, Payload: payload}, nil
}

// DecodeEvent interprets a recorded event's object for the mirror.
func DecodeEvent(payload []byte) (*appwheel.StripeEvent, error) {
	var ev stripego.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("stripe: decoding event: %w", err)
	}
	out := &appwheel.StripeEvent{ID: ev.ID, Type: string(ev.Type), Created: ev.Created}
	if ev.Data == nil {
		return out, nil
	}
	raw := ev.Data.Raw
	kind, _, _ := strings.Cut(out.Type, ".")
	switch {
	case kind == "customer" && strings.HasPrefix(out.Type, "customer.subscription."):
		var s stripego.Subscription
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("stripe: event %s: %w", ev.ID, err)
		}
		out.Subscription = subscription(&s)
		if prev, ok := ev.Data.PreviousAttributes["status"].(string); ok {
			out.PreviousStatus = prev
		}
	case kind == "customer":
		var c stripego.Customer
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("stripe: event %s: %w", ev.ID, err)
		}
		out.Customer = customer(&c)
		if out.Type == "customer.deleted" {
			out.Customer.Deleted = true
		}
		// A default that changed is in previous_attributes, null when
		// there was none.
		if settings, ok := ev.Data.PreviousAttributes["invoice_settings"].(map[string]any); ok {
			if prev, ok := settings["default_payment_method"]; ok {
				out.DefaultChanged = true
				out.PreviousDefaultPaymentMethodID, _ = prev.(string)
			}
		}
	case kind == "payment_method":
		var pm stripego.PaymentMethod
		if err := json.Unmarshal(raw, &pm); err != nil {
			return nil, fmt.Errorf("stripe: event %s: %w", ev.ID, err)
		}
		// Raw is the event's own snapshot of the object.
		pm.LastResponse = &stripego.APIResponse{RawJSON: raw}
		m, err := paymentMethod(&pm)
		if err != nil {
			return nil, err
		}
		out.PaymentMethod = m
		if prev, ok := ev.Data.PreviousAttributes["customer"].(string); ok {
			out.PreviousCustomerID = prev
		}
	case kind == "invoice":
		var in stripego.Invoice
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("stripe: event %s: %w", ev.ID, err)
		}
		out.Invoice = invoice(&in)
	case kind == "setup_intent":
		var si stripego.SetupIntent
		if err := json.Unmarshal(raw, &si); err != nil {
			return nil, fmt.Errorf("stripe: event %s: %w", ev.ID, err)
		}
		out.SetupIntentID = si.ID
		if si.Customer != nil {
			out.CustomerID = si.Customer.ID
		}
		if si.PaymentMethod != nil {
			out.PaymentMethodID = si.PaymentMethod.ID
		}
	case kind == "checkout":
		var cs stripego.CheckoutSession
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, fmt.Errorf("stripe: event %s: %w", ev.ID, err)
		}
		if cs.Customer != nil {
			out.CustomerID = cs.Customer.ID
		}
		if cs.SetupIntent != nil {
			out.SetupIntentID = cs.SetupIntent.ID
			if cs.SetupIntent.PaymentMethod != nil {
				out.PaymentMethodID = cs.SetupIntent.PaymentMethod.ID
			}
		}
	}
	return out, nil
}

// signatureTime reads the t= timestamp of a Stripe-Signature header.
func signatureTime(header string) (time.Time, bool) {
	for part := range strings.SplitSeq(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			return time.Unix(sec, 0), err == nil
		}
	}
	return time.Time{}, false
}
