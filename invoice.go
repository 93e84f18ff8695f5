package appwheel

import (
	"fmt"
	"strconv"
)

// Subscription is the part of a Stripe Subscription AppWheel reads.
type Subscription struct {
	ID                string
	CustomerID        string
	Status            string // Stripe's status: active, trialing, past_due, …
	PriceID           string // price of the first item
	PriceNickname     string // that price's name for people, "" when it has none
	Interval          string // day, week, month, year; "" when not recurring
	IntervalCount     int64
	CurrentPeriodEnd  int64 // Unix seconds, 0 when unknown
	CancelAtPeriodEnd bool
	Created           int64
	// DefaultPaymentMethodID is the subscription's own
	// default_payment_method ("" when none): when set, Stripe charges it
	// instead of the customer's default.
	DefaultPaymentMethodID string
}

// Live reports whether the subscription still expects to charge the
// customer, and so needs a payment method.
func (s *Subscription) Live() bool {
	switch s.Status {
	case "active", "trialing", "past_due", "unpaid":
		return true
	}
	return false
}

// ChargedMethod is the payment method Stripe charges the subscription's
// invoices to, in Stripe's order: the subscription's own
// default_payment_method, else the customer's
// invoice_settings.default_payment_method; a method no longer attached to
// the customer (attached reports false) cannot be charged and is passed
// over. It is "" when neither can be charged: the payment will fail.
func (s *Subscription) ChargedMethod(customerDefault string, attached func(methodID string) bool) string {
	for _, id := range []string{s.DefaultPaymentMethodID, customerDefault} {
		if id != "" && attached(id) {
			return id
		}
	}
	return ""
}

// Price is the part of a Stripe Price AppWheel reads. A price's recurring
// terms cannot change once it exists, so a Price may be cached forever.
type Price struct {
	ID            string
	Interval      string // day, week, month, year; "" when not recurring
	IntervalCount int64
}

// Invoice is the part of a Stripe Invoice AppWheel reads.
type Invoice struct {
	ID               string
	CustomerID       string
	SubscriptionID   string // parent.subscription_details.subscription; "" for one-off
	PriceID          string // price of the subscription line ("" when none)
	Number           string
	Status           string // draft, open, paid, uncollectible, void
	CustomerEmail    string
	InvoicePDF       string
	HostedInvoiceURL string
	AmountDue        int64
	AmountPaid       int64
	Currency         string
	Created          int64
	PeriodStart      int64
	PeriodEnd        int64
	PaidAt           int64 // status_transitions.paid_at, 0 when unpaid
	// ServicePeriodStart and ServicePeriodEnd bound the period the
	// subscription line bills for (the line's period; 0 when none). Stripe's
	// invoice-level period is the previous period for renewals, so
	// orderStatus is judged by this one.
	ServicePeriodStart int64
	ServicePeriodEnd   int64
	// PriceInterval and PriceIntervalCount are PriceID's recurring terms
	// ("once" for a price that does not recur; "" when not known): the
	// mirror keeps them with the invoice so that a read never has to ask
	// Stripe about an old price.
	PriceInterval      string
	PriceIntervalCount int64
}

// InvoicePage is one page of a customer's invoices, newest first.
type InvoicePage struct {
	Invoices []*Invoice
	HasMore  bool
}

// Order is an invoice in the original document's order format: the names
// and the string-typed timestamps are the contract's.
type Order struct {
	OriginOrderID      string `json:"originOrderId"` // subscription id, "" for a one-off invoice
	OrderID            string `json:"orderId"`       // invoice id
	ProductID          string `json:"productId"`     // price id
	ProductPeriod      string `json:"productPeriod"` // ISO-8601: P1D, P1W, P1M, P3M, P1Y, …
	BillingCycleAnchor string `json:"billingCycleAnchor"`
	CustomerEmail      string `json:"customerEmail"`
	InvoicePDF         string `json:"invoicePdf"`
	HostedInvoiceURL   string `json:"hostedInvoiceUrl"`
	PaidAt             string `json:"paidAt"`
	InvoiceStatus      string `json:"invoiceStatus"`
	OrderStatus        int    `json:"orderStatus"`
	AmountDue          int64  `json:"amountDue"`
	AmountPaid         int64  `json:"amountPaid"`
	Currency           string `json:"currency"`
	Created            string `json:"created"`
	PeriodStart        string `json:"periodStart"`
	PeriodEnd          string `json:"periodEnd"`
	Number             string `json:"number"`
}

// OrderList is the invoices response's data.
type OrderList struct {
	Invoices []Order `json:"invoices"`
	HasMore  bool    `json:"hasMore"`
}

// SubscriptionView is one entry of the subscriptions response.
type SubscriptionView struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	OrderStatus       int    `json:"orderStatus"`
	ProductID         string `json:"productId"`
	ProductName       string `json:"productName"` // the price's nickname, "" when it has none
	ProductPeriod     string `json:"productPeriod"`
	CurrentPeriodEnd  string `json:"currentPeriodEnd"`
	CancelAtPeriodEnd bool   `json:"cancelAtPeriodEnd"`
	// PaymentMethodID is the card the subscription's next invoice would be
	// charged to (ChargedMethod), "" when none.
	PaymentMethodID string `json:"paymentMethodId"`
}

// OrderStatus maps a Stripe subscription status to the contract's
// orderStatus: 0 none (one-off), 1 active, 2 trialing, 3 past_due, 4 unpaid,
// 5 canceled, 6 incomplete, 7 incomplete_expired, 8 paused.
func OrderStatus(subscriptionStatus string) int {
	switch subscriptionStatus {
	case "active":
		return 1
	case "trialing":
		return 2
	case "past_due":
		return 3
	case "unpaid":
		return 4
	case "canceled":
		return 5
	case "incomplete":
		return 6
	case "incomplete_expired":
		return 7
	case "paused":
		return 8
	}
	return 0
}

// ProductPeriod returns the ISO-8601 duration of a recurring price
// (interval × interval_count): P1D, P3D, P1W, P1M, P3M, P1Y, …; "" when the
// price is not recurring.
func ProductPeriod(interval string, count int64) string {
	if count < 1 {
		count = 1
	}
	var unit string
	switch interval {
	case "day":
		unit = "D"
	case "week":
		unit = "W"
	case "month":
		unit = "M"
	case "year":
		unit = "Y"
	default:
		return ""
	}
	return fmt.Sprintf("P%d%s", count, unit)
}

// UnixString formats Unix seconds the way the contract wants timestamps:
// a decimal string, "0" when there is none.
func UnixString(sec int64) string {
	if sec < 0 {
		sec = 0
	}
	return strconv.FormatInt(sec, 10)
}
