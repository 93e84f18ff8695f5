package apitest

import (
	"encoding/json"
	"strings"
	"testing"
)

// Stripe objects and events as Stripe sends them, for tests that deliver
// webhooks: the JSON of API version StripeAPIVersion.

// StripeAPIVersion is the API version of the events StripeEvent builds.
const StripeAPIVersion = "2026-03-25.dahlia"

// StripeEvent returns Stripe's JSON for an event whose data.object is
// object; previous is data.previous_attributes (nil for none).
func StripeEvent(tb testing.TB, id, typ string, created int64, object any, previous map[string]any) []byte {
	tb.Helper()
	data := map[string]any{"object": object}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	b, err := json.Marshal(map[string]any{
		"id":               id,
		"object":           "event",
		"account":          nil,
		"api_version":      StripeAPIVersion,
		"context":          nil,
		"created":          created,
		"data":             data,
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": "req_" + strings.TrimPrefix(id, "evt_"), "idempotency_key": nil},
		"type":             typ,
	})
	if err != nil {
		tb.Fatalf("marshal event %s: %v", id, err)
	}
	return b
}

// Nullable is s, or JSON null when s is empty, as Stripe writes unset
// strings.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// StripeCustomer is Stripe's Customer with its default payment method
// ("" is none) and metadata (nil is none: {}).
func StripeCustomer(id, defaultMethod string, created int64, metadata map[string]string) map[string]any {
	if metadata == nil {
		metadata = map[string]string{}
	}
	return map[string]any{
		"id":                id,
		"object":            "customer",
		"address":           nil,
		"balance":           0,
		"created":           created,
		"currency":          nil,
		"default_source":    nil,
		"delinquent":        false,
		"description":       nil,
		"email":             nil,
		"invoice_settings":  map[string]any{"custom_fields": nil, "default_payment_method": Nullable(defaultMethod), "footer": nil, "rendering_options": nil},
		"livemode":          false,
		"metadata":          metadata,
		"name":              nil,
		"phone":             nil,
		"preferred_locales": []string{},
		"shipping":          nil,
		"tax_exempt":        "none",
		"test_clock":        nil,
	}
}
