package http_test

import (
	"strings"
	"time"

	"github.com/appwheel/appwheel/internal/apitest"
)

// Stripe webhook deliveries as Stripe makes them: the event's JSON (API
// version 2026-03-25.dahlia, built by apitest.StripeEvent around the
// objects below or apitest.StripeCustomer) and its Stripe-Signature.

// cardObject is Stripe's card PaymentMethod; customer "" is null (detached).
func cardObject(id, customer string, created int64, brand, last4 string) map[string]any {
	return map[string]any{
		"id":              id,
		"object":          "payment_method",
		"allow_redisplay": "unspecified",
		"billing_details": map[string]any{
			"address": map[string]any{"city": nil, "country": nil, "line1": nil, "line2": nil, "postal_code": nil, "state": nil},
			"email":   nil, "name": nil, "phone": nil,
		},
		"card": map[string]any{
			"brand": brand, "checks": map[string]any{"address_line1_check": nil, "address_postal_code_check": nil, "cvc_check": "pass"},
			"country": "US", "display_brand": brand, "exp_month": 12, "exp_year": 2030,
			"fingerprint": "Xt5EWLLDS7FJjR1c", "funding": "credit", "generated_from": nil, "last4": last4,
			"networks":             map[string]any{"available": []string{brand}, "preferred": nil},
			"three_d_secure_usage": map[string]any{"supported": true}, "wallet": nil,
		},
		"created":  created,
		"customer": apitest.Nullable(customer),
		"livemode": false,
		"metadata": map[string]string{},
		"type":     "card",
	}
}

// subscriptionObject is Stripe's Subscription with one monthly item.
func subscriptionObject(id, customer, status string, created int64) map[string]any {
	return map[string]any{
		"id":                   id,
		"object":               "subscription",
		"cancel_at_period_end": false,
		"created":              created,
		"currency":             "usd",
		"customer":             customer,
		"items": map[string]any{
			"object": "list", "has_more": false, "total_count": 1, "url": "/v1/subscription_items?subscription=" + id,
			"data": []any{map[string]any{
				"id": "si_" + strings.TrimPrefix(id, "sub_"), "object": "subscription_item", "created": created,
				"current_period_start": created, "current_period_end": created + 30*86400, "quantity": 1, "subscription": id,
				"price": map[string]any{
					"id": "price_pro", "object": "price", "active": true, "currency": "usd", "type": "recurring", "unit_amount": 999,
					"recurring": map[string]any{"interval": "month", "interval_count": 1, "usage_type": "licensed", "meter": nil},
				},
			}},
		},
		"livemode": false,
		"metadata": map[string]string{},
		"status":   status,
	}
}

// signNow signs a delivery as Stripe does at the moment it sends it.
// stripe-go checks the signature's age against the real clock.
func signNow(payload []byte, secret string) string {
	return apitest.SignStripe(payload, secret, time.Now())
}

// webhook delivers payload to appID's endpoint with the given
// Stripe-Signature ("" sends none).
func (e *env) webhook(appID string, payload []byte, sig string) response {
	e.t.Helper()
	return e.raw("POST", "/v1/stripe/webhooks/"+appID, string(payload), map[string]string{
		"Content-Type":     "application/json; charset=utf-8",
		"Stripe-Signature": sig,
	})
}

// received is the webhook endpoint's data.
type received struct {
	EventID   string `json:"eventId"`
	Duplicate bool   `json:"duplicate"`
}
