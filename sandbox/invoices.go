package sandbox

import (
	"fmt"
	"net/http"
)

// invoice is a Stripe Invoice. The sandbox makes one per subscription
// period (billing.go); since API 2025-03-31 its subscription is at
// parent.subscription_details.subscription and a line's price at
// pricing.price_details.price.
type invoice struct {
	ID                    string                 `json:"id"`
	Object                string                 `json:"object"`
	AccountCountry        string                 `json:"account_country"`
	AccountName           *string                `json:"account_name"`
	AmountDue             int64                  `json:"amount_due"`
	AmountOverpaid        int64                  `json:"amount_overpaid"`
	AmountPaid            int64                  `json:"amount_paid"`
	AmountPaidOffStripe   int64                  `json:"amount_paid_off_stripe"`
	AmountRemaining       int64                  `json:"amount_remaining"`
	AmountShipping        int64                  `json:"amount_shipping"`
	Application           *string                `json:"application"`
	AttemptCount          int64                  `json:"attempt_count"`
	Attempted             bool                   `json:"attempted"`
	AutoAdvance           bool                   `json:"auto_advance"`
	AutomaticTax          automaticTax           `json:"automatic_tax"`
	BillingReason         string                 `json:"billing_reason"`
	CollectionMethod      string                 `json:"collection_method"`
	Created               int64                  `json:"created"`
	Currency              string                 `json:"currency"`
	Customer              string                 `json:"customer"`
	CustomerEmail         *string                `json:"customer_email"`
	CustomerName          *string                `json:"customer_name"`
	DefaultPaymentMethod  *string                `json:"default_payment_method"`
	DefaultTaxRates       []any                  `json:"default_tax_rates"`
	Description           *string                `json:"description"`
	Discounts             []any                  `json:"discounts"`
	DueDate               *int64                 `json:"due_date"`
	EffectiveAt           *int64                 `json:"effective_at"`
	EndingBalance         *int64                 `json:"ending_balance"`
	HostedInvoiceURL      *string                `json:"hosted_invoice_url"`
	InvoicePDF            *string                `json:"invoice_pdf"`
	Issuer                issuer                 `json:"issuer"`
	LastFinalizationError *struct{}              `json:"last_finalization_error"`
	Lines                 lineList               `json:"lines"`
	Livemode              bool                   `json:"livemode"`
	Metadata              map[string]string      `json:"metadata"`
	NextPaymentAttempt    *int64                 `json:"next_payment_attempt"`
	Number                *string                `json:"number"`
	Parent                invoiceParent          `json:"parent"`
	PaymentSettings       invoicePaymentSettings `json:"payment_settings"`
	PeriodEnd             int64                  `json:"period_end"`
	PeriodStart           int64                  `json:"period_start"`
	// The sandbox issues no credit notes.
	PostPaymentCreditNotesAmount int64             `json:"post_payment_credit_notes_amount"`
	PrePaymentCreditNotesAmount  int64             `json:"pre_payment_credit_notes_amount"`
	StartingBalance              int64             `json:"starting_balance"`
	Status                       string            `json:"status"`
	StatusTransitions            statusTransitions `json:"status_transitions"`
	Subtotal                     int64             `json:"subtotal"`
	SubtotalExcludingTax         *int64            `json:"subtotal_excluding_tax"`
	TestClock                    *string           `json:"test_clock"`
	Total                        int64             `json:"total"`
	TotalDiscountAmounts         []any             `json:"total_discount_amounts"`
	TotalExcludingTax            *int64            `json:"total_excluding_tax"`
	TotalTaxes                   []any             `json:"total_taxes"`
	WebhooksDeliveredAt          *int64            `json:"webhooks_delivered_at"`

	// PaymentIntent is the payment intent made when it was finalized, if
	// anything was due: bookkeeping, left out of answers (its
	// confirmation_secret is what Stripe shows).
	PaymentIntent string `json:"payment_intent_id,omitempty"`
}

type invoiceParent struct {
	QuoteDetails        *struct{}            `json:"quote_details"`
	SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
	Type                string               `json:"type"`
}

// invoicePaymentSettings is an invoice's payment_settings: none set, as
// the sandbox's subscriptions set none (Stripe then picks the payment
// method types itself).
type invoicePaymentSettings struct {
	DefaultMandate       *string   `json:"default_mandate"`
	PaymentMethodOptions *struct{} `json:"payment_method_options"`
	PaymentMethodTypes   *[]string `json:"payment_method_types"`
}

type subscriptionDetails struct {
	Metadata     map[string]string `json:"metadata"`
	Subscription string            `json:"subscription"`
}

type statusTransitions struct {
	FinalizedAt           *int64 `json:"finalized_at"`
	MarkedUncollectibleAt *int64 `json:"marked_uncollectible_at"`
	PaidAt                *int64 `json:"paid_at"`
	VoidedAt              *int64 `json:"voided_at"`
}

type lineList struct {
	Object  string      `json:"object"`
	Data    []*lineItem `json:"data"`
	HasMore bool        `json:"has_more"`
	URL     string      `json:"url"`
}

// lineItem is an invoice line: one subscription item for one period.
type lineItem struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Amount              int64             `json:"amount"`
	Currency            string            `json:"currency"`
	Description         *string           `json:"description"`
	DiscountAmounts     []any             `json:"discount_amounts"`
	Discountable        bool              `json:"discountable"`
	Discounts           []any             `json:"discounts"`
	Invoice             string            `json:"invoice"`
	Livemode            bool              `json:"livemode"`
	Metadata            map[string]string `json:"metadata"`
	Parent              lineParent        `json:"parent"`
	Period              period            `json:"period"`
	PretaxCreditAmounts []any             `json:"pretax_credit_amounts"`
	Pricing             linePricing       `json:"pricing"`
	Quantity            int64             `json:"quantity"`
	Subtotal            int64             `json:"subtotal"`
	Taxes               []any             `json:"taxes"`
}

func (l *lineItem) objectID() string { return l.ID }

type lineParent struct {
	InvoiceItemDetails      *struct{}       `json:"invoice_item_details"`
	SubscriptionItemDetails *subItemDetails `json:"subscription_item_details"`
	Type                    string          `json:"type"`
}

type subItemDetails struct {
	InvoiceItem      *string `json:"invoice_item"`
	Proration        bool    `json:"proration"`
	ProrationDetails struct {
		CreditedItems *struct{} `json:"credited_items"`
	} `json:"proration_details"`
	Subscription     string `json:"subscription"`
	SubscriptionItem string `json:"subscription_item"`
}

type period struct {
	End   int64 `json:"end"`
	Start int64 `json:"start"`
}

type linePricing struct {
	PriceDetails      priceDetails `json:"price_details"`
	Type              string       `json:"type"`
	UnitAmountDecimal *string      `json:"unit_amount_decimal"`
}

type priceDetails struct {
	Price   string `json:"price"`
	Product string `json:"product"`
}

func (in *invoice) objectID() string { return in.ID }

// view adds the hosted page and PDF URLs, served by the sandbox from
// BaseURL, once the invoice is finalized (Stripe has none for drafts).
func (in *invoice) view(base string) *invoice {
	c := *in
	c.PaymentIntent = ""
	if c.Status != invDraft {
		c.HostedInvoiceURL = ptr(base + "/invoices/" + c.ID)
		c.InvoicePDF = ptr(base + "/invoices/" + c.ID + "/pdf")
	}
	return &c
}

// Invoice statuses.
const (
	invDraft = "draft"
	invOpen  = "open"
	invPaid  = "paid"
	invVoid  = "void"
)

var (
	invoiceListSpec = listEndpoint(map[string]*spec{
		"customer":     str(),
		"subscription": str(),
		"status":       enum("draft", "open", "paid", "uncollectible", "void"),
		"created":      timeRange(),
	})
	invoicePaySpec = endpoint(map[string]*spec{
		"payment_method": str(),
		"off_session":    boolean(),
	})
)

// getInvoice is GET /v1/invoices/{id}.
func getInvoice(t *tx, r *request) (any, *apiError) {
	in, ok := t.a.Invoices.get(r.id)
	if !ok {
		return nil, notFound("invoice", r.id)
	}
	return in, nil
}

// listInvoices is GET /v1/invoices, newest first.
func listInvoices(t *tx, r *request) (any, *apiError) {
	cid, sid, status := r.p.str("customer"), r.p.str("subscription"), r.p.str("status")
	ins := t.a.Invoices.newestFirst(func(in *invoice) bool {
		return (cid == "" || in.Customer == cid) && (status == "" || in.Status == status) && r.p.inRange(in.Created, "created") &&
			(sid == "" || in.Parent.SubscriptionDetails != nil && in.Parent.SubscriptionDetails.Subscription == sid)
	})
	return paginate(ins, r.p, "/v1/invoices", "invoice")
}

// listInvoiceLines is GET /v1/invoices/{id}/lines.
func listInvoiceLines(t *tx, r *request) (any, *apiError) {
	in, ok := t.a.Invoices.get(r.id)
	if !ok {
		return nil, notFound("invoice", r.id)
	}
	return paginate(in.Lines.Data, r.p, "/v1/invoices/"+in.ID+"/lines", "line_item")
}

// payInvoice is POST /v1/invoices/{id}/pay: another attempt at an open
// invoice, with payment_method or the subscription's usual one. A decline
// answers 402, as Stripe does.
func payInvoice(t *tx, r *request) (any, *apiError) {
	in, ok := t.a.Invoices.get(r.id)
	if !ok {
		return nil, notFound("invoice", r.id)
	}
	if in.Status != invOpen {
		return nil, invalidCode("invoice_not_open", "", "Invoice is %s; only open invoices can be paid.", in.Status)
	}
	var pm *paymentMethod
	if id := r.p.str("payment_method"); id != "" {
		p, ok := t.a.PaymentMethods.get(id)
		if !ok || p.customerID() != in.Customer {
			return nil, noSuchParam("PaymentMethod", "payment_method", id)
		}
		pm = p
	} else if sub := t.invoiceSubscription(in); sub != nil {
		pm = t.chargeMethod(sub)
	} else if cus, ok := t.a.Customers.get(in.Customer); ok {
		pm, _ = t.a.PaymentMethods.get(deref(cus.InvoiceSettings.DefaultPaymentMethod))
	}
	if aerr := t.attemptPayment(in, pm); aerr != nil {
		return nil, aerr
	}
	return in, nil
}

// invoiceSubscription is the subscription that generated in, or nil.
func (t *tx) invoiceSubscription(in *invoice) *subscription {
	if in.Parent.SubscriptionDetails == nil {
		return nil
	}
	s, _ := t.a.Subscriptions.get(in.Parent.SubscriptionDetails.Subscription)
	return s
}

// lineDescription is how Stripe describes a subscription line:
// "1 × Pro (at $9.99 / month)".
func lineDescription(qty int64, productName string, p *price) string {
	every := p.Recurring.Interval
	if n := p.Recurring.IntervalCount; n > 1 {
		every = fmt.Sprintf("every %d %ss", n, every)
	}
	return fmt.Sprintf("%d × %s (at %s / %s)", qty, productName, formatAmount(p.amount(), p.Currency), every)
}

func invoiceRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/v1/invoices", spec: invoiceListSpec, kind: "invoice", list: true, h: listInvoices},
		{method: http.MethodGet, path: "/v1/invoices/{id}", spec: endpoint(nil), kind: "invoice", h: getInvoice},
		{method: http.MethodGet, path: "/v1/invoices/{id}/lines", spec: listEndpoint(nil), h: listInvoiceLines},
		{method: http.MethodPost, path: "/v1/invoices/{id}/pay", spec: invoicePaySpec, kind: "invoice", h: payInvoice},
	}
}
