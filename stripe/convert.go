package stripe

import (
	"bytes"
	"encoding/json"
	"fmt"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// This file turns stripe-go's types into the domain's. Fields absent from a
// response (nil pointers) become zero values, never panics.

// Metadata keys AppWheel writes on the Stripe objects it creates, so an
// object can be traced back to its app and user from the Dashboard or a
// webhook.
const (
	metaAppID     = "appwheel_app_id"
	metaAppUserID = "appwheel_app_user_id"
)

func metadata(appID, appUserID string) map[string]string {
	return map[string]string{metaAppID: appID, metaAppUserID: appUserID}
}

// customer maps a Customer. invoice_settings.default_payment_method is an
// expandable field; stripe-go fills in the ID whether or not it was expanded.
func customer(c *stripego.Customer) *appwheel.Customer {
	out := &appwheel.Customer{ID: c.ID, Deleted: c.Deleted, Metadata: c.Metadata}
	if c.InvoiceSettings != nil && c.InvoiceSettings.DefaultPaymentMethod != nil {
		out.DefaultPaymentMethodID = c.InvoiceSettings.DefaultPaymentMethod.ID
	}
	return out
}

// paymentMethod maps a PaymentMethod. Raw is Stripe's own JSON for it: the
// response body of a retrieve, and for a list item the item's JSON, which
// stripe-go's V1List keeps in each item's LastResponse.RawJSON. Only when
// there is no raw JSON (never, in practice) is the stripe-go struct
// marshalled, see marshalPaymentMethod.
func paymentMethod(pm *stripego.PaymentMethod) (*appwheel.PaymentMethod, error) {
	out := &appwheel.PaymentMethod{
		ID:      pm.ID,
		Type:    string(pm.Type),
		Created: pm.Created,
	}
	if pm.Customer != nil {
		out.CustomerID = pm.Customer.ID
	}
	var raw []byte
	if pm.LastResponse != nil {
		raw = pm.LastResponse.RawJSON
	}
	if !isObject(raw) {
		var err error
		if raw, err = marshalPaymentMethod(pm); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("stripe: payment method %s: %w", pm.ID, err)
	}
	out.Raw = buf.Bytes()
	return out, nil
}

// marshalPaymentMethod is Stripe's JSON for pm rebuilt from the struct.
// encoding/json alone gets one field wrong: stripe-go has no MarshalJSON for
// expandable fields, so "customer" (a *Customer holding only an ID) would
// come out as a whole, mostly empty customer object. Stripe sends the ID
// string, or null when detached, and so does this.
func marshalPaymentMethod(pm *stripego.PaymentMethod) ([]byte, error) {
	b, err := json.Marshal(pm)
	if err != nil {
		return nil, fmt.Errorf("stripe: marshal payment method %s: %w", pm.ID, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("stripe: marshal payment method %s: %w", pm.ID, err)
	}
	fields["customer"] = json.RawMessage("null")
	if pm.Customer != nil && pm.Customer.ID != "" {
		id, _ := json.Marshal(pm.Customer.ID)
		fields["customer"] = id
	}
	return json.Marshal(fields)
}

// isObject reports whether b holds a JSON object.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// subscription maps a Subscription. Price, interval and the current period
// end come from the first item: since API 2025-03-31 current_period_end
// lives on subscription items, not on the subscription.
func subscription(s *stripego.Subscription) *appwheel.Subscription {
	out := &appwheel.Subscription{
		ID:                s.ID,
		Status:            string(s.Status),
		CancelAtPeriodEnd: s.CancelAtPeriodEnd,
		Created:           s.Created,
	}
	if s.Customer != nil {
		out.CustomerID = s.Customer.ID
	}
	if s.DefaultPaymentMethod != nil {
		out.DefaultPaymentMethodID = s.DefaultPaymentMethod.ID
	}
	if s.Items == nil || len(s.Items.Data) == 0 || s.Items.Data[0] == nil {
		return out
	}
	item := s.Items.Data[0]
	out.CurrentPeriodEnd = item.CurrentPeriodEnd
	if item.Price != nil {
		out.PriceID, out.PriceNickname = item.Price.ID, item.Price.Nickname
		if r := item.Price.Recurring; r != nil {
			out.Interval = string(r.Interval)
			out.IntervalCount = r.IntervalCount
		}
	}
	return out
}

// invoice maps an Invoice. Since API 2025-03-31 the subscription is at
// parent.subscription_details.subscription and a line's price at
// pricing.price_details.price.
func invoice(in *stripego.Invoice) *appwheel.Invoice {
	out := &appwheel.Invoice{
		ID:               in.ID,
		Number:           in.Number,
		Status:           string(in.Status),
		CustomerEmail:    in.CustomerEmail,
		InvoicePDF:       in.InvoicePDF,
		HostedInvoiceURL: in.HostedInvoiceURL,
		AmountDue:        in.AmountDue,
		AmountPaid:       in.AmountPaid,
		Currency:         string(in.Currency),
		Created:          in.Created,
		PeriodStart:      in.PeriodStart,
		PeriodEnd:        in.PeriodEnd,
	}
	if in.Customer != nil {
		out.CustomerID = in.Customer.ID
	}
	if in.Parent != nil && in.Parent.SubscriptionDetails != nil && in.Parent.SubscriptionDetails.Subscription != nil {
		out.SubscriptionID = in.Parent.SubscriptionDetails.Subscription.ID
	}
	if in.StatusTransitions != nil {
		out.PaidAt = in.StatusTransitions.PaidAt
	}
	if li := subscriptionLine(in.Lines); li != nil {
		out.PriceID = li.Pricing.PriceDetails.Price.ID
		if li.Period != nil {
			out.ServicePeriodStart, out.ServicePeriodEnd = li.Period.Start, li.Period.End
		}
	}
	return out
}

// subscriptionLine returns the invoice's subscription line: the first line
// a subscription item generated that has a price, else the first line with
// any price, else nil. Only the lines embedded in the invoice (Stripe's
// first page of them) are looked at, which is where a subscription line is.
func subscriptionLine(lines *stripego.InvoiceLineItemList) *stripego.InvoiceLineItem {
	if lines == nil {
		return nil
	}
	hasPrice := func(li *stripego.InvoiceLineItem) bool {
		return li != nil && li.Pricing != nil && li.Pricing.PriceDetails != nil &&
			li.Pricing.PriceDetails.Price != nil && li.Pricing.PriceDetails.Price.ID != ""
	}
	for _, li := range lines.Data {
		if hasPrice(li) && li.Parent != nil && li.Parent.SubscriptionItemDetails != nil {
			return li
		}
	}
	for _, li := range lines.Data {
		if hasPrice(li) {
			return li
		}
	}
	return nil
}
