package sandbox

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// This file is the billing engine: invoicing a subscription's periods and
// charging them, renewing subscriptions as the account's clock passes their
// period ends, and the other clock-driven work (expiries).

// newInvoice creates and stores the draft invoice id of sub for its current
// period (the lines' period), with the invoice-level period
// [periodStart, periodEnd]: for a renewal that is the period just ended, for
// the first invoice the creation instant, as at Stripe. A trial's invoice
// bills the trial, free.
func (t *tx) newInvoice(id string, sub *subscription, reason string, periodStart, periodEnd int64, trial bool) *invoice {
	cus, _ := t.a.Customers.get(sub.Customer)
	now := t.unix()
	in := &invoice{
		ID: id, Object: "invoice", AccountCountry: "US", AccountName: ptr("AppWheel Sandbox"),
		AutoAdvance: true, BillingReason: reason, CollectionMethod: "charge_automatically", Created: now,
		Currency: sub.Currency, Customer: sub.Customer, DefaultTaxRates: []any{}, Discounts: []any{}, Issuer: issuer{Type: "self"},
		Metadata: map[string]string{},
		Parent: invoiceParent{Type: "subscription_details", SubscriptionDetails: &subscriptionDetails{
			Metadata: copyMap(sub.Metadata), Subscription: sub.ID}},
		PeriodEnd: periodEnd, PeriodStart: periodStart, Status: invDraft,
		TotalDiscountAmounts: []any{}, TotalTaxes: []any{},
		Lines: lineList{Object: "list", URL: "/v1/invoices/" + id + "/lines"},
	}
	if cus != nil {
		in.CustomerEmail, in.CustomerName = cus.Email, cus.Name
	}
	for _, it := range sub.Items.Data {
		p := it.Price
		name := t.productName(p)
		amount, desc := p.amount()*it.Quantity, lineDescription(it.Quantity, name, p)
		if trial {
			amount, desc = 0, "Trial period for "+name
		}
		in.Lines.Data = append(in.Lines.Data, &lineItem{
			ID: t.newID("il"), Object: "line_item", Amount: amount, Currency: p.Currency,
			Description: ptr(desc), DiscountAmounts: []any{}, Discountable: true,
			Discounts: []any{}, Invoice: id, Metadata: copyMap(it.Metadata),
			Parent: lineParent{Type: "subscription_item_details", SubscriptionItemDetails: &subItemDetails{
				Subscription: sub.ID, SubscriptionItem: it.ID}},
			Period:              period{Start: it.CurrentPeriodStart, End: it.CurrentPeriodEnd},
			PretaxCreditAmounts: []any{},
			Pricing: linePricing{Type: "price_details", PriceDetails: priceDetails{Price: p.ID, Product: p.Product},
				UnitAmountDecimal: p.UnitAmountDecimal},
			Quantity: it.Quantity, Subtotal: amount, Taxes: []any{},
		})
		in.Subtotal += amount
	}
	in.Total, in.AmountDue, in.AmountRemaining = in.Subtotal, in.Subtotal, in.Subtotal
	in.SubtotalExcludingTax, in.TotalExcludingTax = ptr(in.Subtotal), ptr(in.Subtotal)
	t.a.Invoices.add(in)
	t.emit("invoice.created", in, nil)
	return in
}

// finalizeInvoice numbers the invoice (the customer's prefix and sequence)
// and opens it for payment.
func (t *tx) finalizeInvoice(in *invoice) {
	now := t.unix()
	if cus, ok := t.a.Customers.get(in.Customer); ok {
		in.Number = ptr(fmt.Sprintf("%s-%04d", cus.InvoicePrefix, cus.NextInvoiceSequence))
		cus.NextInvoiceSequence++
	}
	in.Status = invOpen
	in.StatusTransitions.FinalizedAt = &now
	in.EffectiveAt = &now
	in.StartingBalance, in.EndingBalance = 0, ptr(int64(0))
	in.WebhooksDeliveredAt = &now
	if in.AmountDue > 0 {
		in.PaymentIntent = t.newPaymentIntent(in).ID
	}
	t.emit("invoice.finalized", in, nil)
}

// chargeMethod is the payment method a subscription's invoices are charged
// to, in Stripe's order: the subscription's default_payment_method, else
// the customer's invoice_settings.default_payment_method. Nil when neither
// is set (or attached).
func (t *tx) chargeMethod(sub *subscription) *paymentMethod {
	if pm, ok := t.a.PaymentMethods.get(deref(sub.DefaultPaymentMethod)); ok && pm.customerID() == sub.Customer {
		return pm
	}
	if cus, ok := t.a.Customers.get(sub.Customer); ok {
		if pm, ok := t.a.PaymentMethods.get(deref(cus.InvoiceSettings.DefaultPaymentMethod)); ok && pm.customerID() == cus.ID {
			return pm
		}
	}
	return nil
}

// chargeFailure is why charging amount to pm fails, or nil if it succeeds.
func chargeFailure(pm *paymentMethod, amount int64) *apiError {
	if amount == 0 {
		return nil
	}
	if pm == nil {
		return invalid("", "This customer has no attached payment source or default payment method.")
	}
	if c := pm.testCard(); c != nil {
		if d := c.chargeDecline(); d != nil {
			return cardError(d.Code, d.DeclineCode, d.Message, "")
		}
	}
	return nil
}

// attemptPayment charges an open invoice to pm. Paid: invoice.paid and
// invoice.payment_succeeded, and the subscription, if it was waiting on
// this invoice, becomes active. Declined: invoice.payment_failed, the
// invoice stays open and an active subscription becomes past_due. It
// returns the decline.
func (t *tx) attemptPayment(in *invoice, pm *paymentMethod) *apiError {
	in.AttemptCount++
	in.Attempted = true
	failure := chargeFailure(pm, in.AmountDue)
	sub := t.invoiceSubscription(in)
	cus, _ := t.a.Customers.get(in.Customer)
	t.paymentOutcome(in, pm, failure)
	if failure != nil {
		t.emit("invoice.payment_failed", in, nil)
		if cus != nil {
			cus.Delinquent = true
		}
		if sub != nil && sub.Status == subActive && deref(sub.LatestInvoice) == in.ID {
			before := t.renderMap(sub)
			sub.Status = subPastDue
			t.emitUpdate("customer.subscription.updated", sub, before)
		}
		return failure
	}
	now := t.unix()
	in.Status = invPaid
	in.AmountPaid, in.AmountRemaining = in.AmountDue, 0
	in.StatusTransitions.PaidAt = &now
	if pm != nil {
		in.DefaultPaymentMethod = &pm.ID
	}
	t.emit("invoice.paid", in, nil)
	t.emit("invoice.payment_succeeded", in, nil)
	if cus != nil {
		cus.Delinquent = false
	}
	if sub != nil && (sub.Status == subPastDue || sub.Status == subIncomplete) && deref(sub.LatestInvoice) == in.ID {
		before := t.renderMap(sub)
		sub.Status = subActive
		t.emitUpdate("customer.subscription.updated", sub, before)
	}
	return nil
}

// trialWillEndNotice is how long before a trial ends Stripe sends
// customer.subscription.trial_will_end (at once for a shorter trial).
const trialWillEndNotice = 3 * 86400

// incompleteLifetime is how long a subscription may wait for its first
// payment before it expires, as at Stripe.
const incompleteLifetime = 23 * time.Hour

// catchUp does the clock-driven work that became due by t.now, each piece
// at the time it became due (objects and events are stamped then):
// subscription renewals, period by period, cancellations at period end,
// incomplete subscriptions expiring, checkout sessions expiring.
func (t *tx) catchUp() {
	now := t.now
	defer func() { t.now = now }()
	// The work due is done in the order it fell due, across objects, so
	// that its events are created (and sent) in time order, as Stripe's.
	for {
		at, do := t.nextDue(now.Unix())
		if do == nil {
			return
		}
		t.now = time.Unix(at, 0)
		do()
	}
}

// nextDue returns the earliest work due at or before limit (Unix seconds)
// and when it fell due; nil when none is. Ties go to the object made first.
// Each piece of work moves its object on (a session expired, a period
// renewed), so catchUp ends.
func (t *tx) nextDue(limit int64) (int64, func()) {
	best := int64(math.MaxInt64)
	var do func()
	consider := func(at int64, work func()) {
		if at <= limit && at < best {
			best, do = at, work
		}
	}
	for _, cs := range t.a.CheckoutSessions.items {
		if cs.Status == csOpen {
			consider(cs.ExpiresAt, func() { t.expireSession(cs) })
		}
	}
	for _, sub := range t.a.Subscriptions.items {
		switch {
		case sub.Status == subIncomplete:
			consider(sub.Created+int64(incompleteLifetime/time.Second), func() { t.expireIncomplete(sub) })
		case !sub.ended():
			consider(sub.periodEnd(), func() { t.renew(sub) })
		}
		if sub.Status == subTrialing && !sub.Internal.TrialWillEndSent {
			consider(max(sub.Created, *sub.TrialEnd-trialWillEndNotice), func() {
				sub.Internal.TrialWillEndSent = true
				t.emit("customer.subscription.trial_will_end", sub, nil)
			})
		}
	}
	return best, do
}

// renew ends the current period of sub: canceled if it was to cancel at
// period end; otherwise the next period starts, is invoiced and charged.
func (t *tx) renew(sub *subscription) {
	end := sub.periodEnd()
	if sub.CancelAtPeriodEnd || (sub.CancelAt != nil && *sub.CancelAt <= end) {
		sub.Status = subCanceled
		sub.EndedAt = &end
		if sub.CanceledAt == nil {
			sub.CanceledAt = &end
		}
		sub.CancellationDetails.Reason = ptr("cancellation_requested")
		t.emit("customer.subscription.deleted", sub, nil)
		return
	}
	before := t.renderMap(sub)
	if sub.Status == subTrialing {
		if sub.Internal.CancelIfNoCard && t.chargeMethod(sub) == nil {
			t.cancelSubscription(sub, "cancellation_requested")
			return
		}
		// The trial is over: the subscription is active, and past_due if
		// the first charge fails, as at Stripe.
		sub.Status = subActive
	}
	oldStart := sub.Items.Data[0].CurrentPeriodStart
	sub.Internal.Period++
	start, next := sub.periodBounds(sub.Internal.Period)
	for _, it := range sub.Items.Data {
		it.CurrentPeriodStart, it.CurrentPeriodEnd = start, next
	}
	id := t.newID("in")
	sub.LatestInvoice = &id
	t.emitUpdate("customer.subscription.updated", sub, before)
	in := t.newInvoice(id, sub, "subscription_cycle", oldStart, end, false)
	t.finalizeInvoice(in)
	t.attemptPayment(in, t.chargeMethod(sub))
}

// expireIncomplete ends a subscription whose first invoice went unpaid for
// 23 hours: incomplete_expired, its invoice voided.
func (t *tx) expireIncomplete(sub *subscription) {
	now := t.unix()
	if in, ok := t.a.Invoices.get(deref(sub.LatestInvoice)); ok && in.Status == invOpen {
		in.Status = invVoid
		in.AmountRemaining = 0
		in.StatusTransitions.VoidedAt = &now
		t.emit("invoice.voided", in, nil)
		t.cancelPaymentIntent(in, "void_invoice")
	}
	sub.Status = subIncompleteExpired
	sub.EndedAt = &now
	t.emit("customer.subscription.deleted", sub, nil)
}

// addInterval returns anchor plus n intervals. Months and years keep the
// anchor's day of month, clamped to the month's last day (Jan 31 + 1 month
// = Feb 28), as Stripe bills.
func addInterval(anchor time.Time, interval string, n int64) time.Time {
	anchor = anchor.UTC()
	switch interval {
	case "day":
		return anchor.AddDate(0, 0, int(n))
	case "week":
		return anchor.AddDate(0, 0, 7*int(n))
	case "year":
		n *= 12
	}
	first := time.Date(anchor.Year(), anchor.Month()+time.Month(n), 1, anchor.Hour(), anchor.Minute(), anchor.Second(), 0, time.UTC)
	lastDay := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(anchor.Day(), lastDay)-1)
}

// zeroDecimal are the currencies without minor units.
var zeroDecimal = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true,
	"krw": true, "mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true}

var currencySymbols = map[string]string{"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cny": "CN¥", "cad": "CA$", "aud": "A$"}

// formatAmount formats minor units for people: $9.99, ¥500, 12.00 CHF.
func formatAmount(amount int64, currency string) string {
	var num string
	if zeroDecimal[currency] {
		num = strconv.FormatInt(amount, 10)
	} else {
		sign := ""
		if amount < 0 {
			sign, amount = "-", -amount
		}
		num = fmt.Sprintf("%s%d.%02d", sign, amount/100, amount%100)
	}
	if sym, ok := currencySymbols[currency]; ok {
		return sym + num
	}
	return num + " " + upper(currency)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
