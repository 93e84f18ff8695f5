package billing_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/apitest"
)

// This file builds Stripe webhook events as Stripe sends them (API version
// 2026-03-25.dahlia; the envelope by apitest.StripeEvent), from the domain
// values the fake Stripe holds, so that stripe.DecodeEvent decodes real
// Stripe JSON and a decoded snapshot can be compared field for field with
// the fake's truth.

// event is one Stripe event to deliver.
type event struct {
	ID      string
	Type    string
	Created int64
	Payload []byte
}

// stripeEventJSON returns the event whose data.object is object; previous
// is data.previous_attributes (nil for none).
func stripeEventJSON(tb testing.TB, id, typ string, created int64, object any, previous map[string]any) event {
	tb.Helper()
	return event{ID: id, Type: typ, Created: created, Payload: apitest.StripeEvent(tb, id, typ, created, object, previous)}
}

// nullableInt is n, or JSON null when n is 0, as apitest.Nullable for
// strings.
func nullableInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// customerObject is Stripe's Customer.
func customerObject(c appwheel.Customer, created int64, appID, appUserID string) map[string]any {
	obj := apitest.StripeCustomer(c.ID, c.DefaultPaymentMethodID, created, map[string]string{"app_id": appID, "app_user_id": appUserID})
	obj["invoice_prefix"] = "ABC" + strings.ToUpper(c.ID[len(c.ID)-4:])
	return obj
}

// paymentMethodObject is Stripe's PaymentMethod as the fake Stripe returns
// it now: the very JSON a payment_method.* event carries, so that a
// snapshot from an event and one re-fetched are the same bytes.
func paymentMethodObject(pm *appwheel.PaymentMethod) json.RawMessage {
	return pm.Raw
}

// subscriptionObject is Stripe's Subscription. Since API 2025-03-31 the
// current period lives on the items; periodStart is the item's
// current_period_start.
func subscriptionObject(s appwheel.Subscription, periodStart int64) map[string]any {
	item := map[string]any{
		"id":                   "si_" + strings.TrimPrefix(s.ID, "sub_"),
		"object":               "subscription_item",
		"created":              s.Created,
		"current_period_end":   s.CurrentPeriodEnd,
		"current_period_start": periodStart,
		"discounts":            []string{},
		"metadata":             map[string]string{},
		"price": map[string]any{
			"id":             s.PriceID,
			"object":         "price",
			"active":         true,
			"billing_scheme": "per_unit",
			"created":        s.Created - 86400,
			"currency":       "usd",
			"livemode":       false,
			"lookup_key":     nil,
			"metadata":       map[string]string{},
			"nickname":       nil,
			"product":        "prod_" + strings.TrimPrefix(s.PriceID, "price_"),
			"recurring": map[string]any{
				"interval": s.Interval, "interval_count": s.IntervalCount, "meter": nil, "usage_type": "licensed",
			},
			"tax_behavior": "unspecified",
			"type":         "recurring",
			"unit_amount":  999,
		},
		"quantity":     1,
		"subscription": s.ID,
		"tax_rates":    []string{},
	}
	obj := map[string]any{
		"id":                     s.ID,
		"object":                 "subscription",
		"application":            nil,
		"billing_cycle_anchor":   s.Created,
		"cancel_at":              nil,
		"cancel_at_period_end":   s.CancelAtPeriodEnd,
		"canceled_at":            nil,
		"collection_method":      "charge_automatically",
		"created":                s.Created,
		"currency":               "usd",
		"customer":               s.CustomerID,
		"default_payment_method": apitest.Nullable(s.DefaultPaymentMethodID),
		"ended_at":               nil,
		"items": map[string]any{
			"object": "list", "data": []any{item}, "has_more": false, "total_count": 1,
			"url": "/v1/subscription_items?subscription=" + s.ID,
		},
		"latest_invoice": nil,
		"livemode":       false,
		"metadata":       map[string]string{},
		"start_date":     s.Created,
		"status":         s.Status,
		"test_clock":     nil,
		"trial_end":      nil,
		"trial_start":    nil,
	}
	if s.CancelAtPeriodEnd {
		obj["cancel_at"] = s.CurrentPeriodEnd
	}
	return obj
}

// invoiceObject is Stripe's Invoice. Since API 2025-03-31 the subscription
// is at parent.subscription_details.subscription and a line's price at
// pricing.price_details.price; the subscription line's period is the one
// it bills for (inv.ServicePeriodStart/End), while the invoice's own
// period_start/period_end are inv.PeriodStart/End.
func invoiceObject(inv appwheel.Invoice) map[string]any {
	var parent any
	if inv.SubscriptionID != "" {
		parent = map[string]any{
			"type":          "subscription_details",
			"quote_details": nil,
			"subscription_details": map[string]any{
				"metadata": map[string]string{}, "subscription": inv.SubscriptionID,
			},
		}
	}
	lines := []any{}
	if inv.PriceID != "" {
		line := map[string]any{
			"id":           "il_" + strings.TrimPrefix(inv.ID, "in_"),
			"object":       "line_item",
			"amount":       inv.AmountDue,
			"currency":     inv.Currency,
			"description":  "1 × Plan",
			"discountable": true,
			"invoice":      inv.ID,
			"livemode":     false,
			"metadata":     map[string]string{},
			"period":       map[string]any{"start": inv.ServicePeriodStart, "end": inv.ServicePeriodEnd},
			"pricing": map[string]any{
				"type":                "price_details",
				"price_details":       map[string]any{"price": inv.PriceID, "product": "prod_" + strings.TrimPrefix(inv.PriceID, "price_")},
				"unit_amount_decimal": "999",
			},
			"quantity": 1,
		}
		if inv.SubscriptionID != "" {
			line["parent"] = map[string]any{
				"type":                 "subscription_item_details",
				"invoice_item_details": nil,
				"subscription_item_details": map[string]any{
					"invoice_item":      nil,
					"proration":         false,
					"proration_details": map[string]any{"credited_items": nil},
					"subscription":      inv.SubscriptionID,
					"subscription_item": "si_" + strings.TrimPrefix(inv.SubscriptionID, "sub_"),
				},
			}
		}
		lines = append(lines, line)
	}
	return map[string]any{
		"id":                 inv.ID,
		"object":             "invoice",
		"account_country":    "US",
		"amount_due":         inv.AmountDue,
		"amount_paid":        inv.AmountPaid,
		"amount_remaining":   inv.AmountDue - inv.AmountPaid,
		"attempt_count":      0,
		"billing_reason":     "subscription_cycle",
		"collection_method":  "charge_automatically",
		"created":            inv.Created,
		"currency":           inv.Currency,
		"customer":           inv.CustomerID,
		"customer_email":     apitest.Nullable(inv.CustomerEmail),
		"hosted_invoice_url": apitest.Nullable(inv.HostedInvoiceURL),
		"invoice_pdf":        apitest.Nullable(inv.InvoicePDF),
		"lines": map[string]any{
			"object": "list", "data": lines, "has_more": false, "total_count": len(lines),
			"url": "/v1/invoices/" + inv.ID + "/lines",
		},
		"livemode":     false,
		"metadata":     map[string]string{},
		"number":       apitest.Nullable(inv.Number),
		"parent":       parent,
		"period_end":   inv.PeriodEnd,
		"period_start": inv.PeriodStart,
		"status":       inv.Status,
		"status_transitions": map[string]any{
			"finalized_at": nullableInt(inv.Created), "marked_uncollectible_at": nil,
			"paid_at": nullableInt(inv.PaidAt), "voided_at": nil,
		},
		"subtotal": inv.AmountDue,
		"total":    inv.AmountDue,
	}
}

// Event constructors, one per event type the tests send.

func pmAttached(tb testing.TB, id string, created int64, pm *appwheel.PaymentMethod) event {
	return stripeEventJSON(tb, id, "payment_method.attached", created, paymentMethodObject(pm), nil)
}

// pmDetached is payment_method.detached: the method's customer is null and
// previous_attributes names the customer it was detached from.
func pmDetached(tb testing.TB, id string, created int64, pm *appwheel.PaymentMethod, from string) event {
	return stripeEventJSON(tb, id, "payment_method.detached", created, paymentMethodObject(pm),
		map[string]any{"customer": from})
}

func customerUpdated(tb testing.TB, id string, created int64, c appwheel.Customer, customerCreated int64, previousDefault string) event {
	return stripeEventJSON(tb, id, "customer.updated", created, customerObject(c, customerCreated, "app", "user"),
		map[string]any{"invoice_settings": map[string]any{"default_payment_method": apitest.Nullable(previousDefault)}})
}

// subscriptionEvent is a customer.subscription.* event; for .updated,
// previousStatus goes in previous_attributes.
func subscriptionEvent(tb testing.TB, id, typ string, created int64, s appwheel.Subscription, periodStart int64, previousStatus string) event {
	var previous map[string]any
	if typ == "customer.subscription.updated" && previousStatus != "" {
		previous = map[string]any{"status": previousStatus}
	}
	return stripeEventJSON(tb, id, typ, created, subscriptionObject(s, periodStart), previous)
}

func invoiceEvent(tb testing.TB, id, typ string, created int64, inv appwheel.Invoice) event {
	return stripeEventJSON(tb, id, typ, created, invoiceObject(inv), nil)
}

// setupIntentSucceeded is setup_intent.succeeded for a SetupIntent that
// saved methodID for customerID.
func setupIntentSucceeded(tb testing.TB, id string, created int64, setupIntentID, customerID, methodID string) event {
	return stripeEventJSON(tb, id, "setup_intent.succeeded", created, map[string]any{
		"id":                        setupIntentID,
		"object":                    "setup_intent",
		"application":               nil,
		"automatic_payment_methods": map[string]any{"allow_redirects": "always", "enabled": true},
		"cancellation_reason":       nil,
		"client_secret":             setupIntentID + "_secret_x",
		"created":                   created - 30,
		"customer":                  customerID,
		"description":               nil,
		"last_setup_error":          nil,
		"latest_attempt":            "setatt_" + strings.TrimPrefix(setupIntentID, "seti_"),
		"livemode":                  false,
		"mandate":                   nil,
		"metadata":                  map[string]string{},
		"next_action":               nil,
		"on_behalf_of":              nil,
		"payment_method":            methodID,
		"payment_method_types":      []string{"card"},
		"single_use_mandate":        nil,
		"status":                    "succeeded",
		"usage":                     "off_session",
	}, nil)
}
