package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// Invoice is an invoice in AppWheel's order format. Timestamps are strings
// of Unix seconds, "0" when there is none, as the original document has them.
type Invoice struct {
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

// InvoicesParams selects a page of a user's invoices.
type InvoicesParams struct {
	AppUserID     string
	Limit         int    // 1–100; 0 means the server's default (20)
	StartingAfter string // the last invoice id of the previous page
}

// InvoicePage is one page of invoices, newest first.
type InvoicePage struct {
	Invoices []Invoice `json:"invoices"`
	HasMore  bool      `json:"hasMore"`
}

// Invoices returns one page of a user's invoices.
func (c *Client) Invoices(ctx context.Context, p InvoicesParams) (*InvoicePage, error) {
	q := url.Values{"appUserId": {p.AppUserID}}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("startingAfter", p.StartingAfter)
	}
	var out InvoicePage
	if err := c.do(ctx, "GET", "/v1/stripe/invoices?"+q.Encode(), nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllInvoices iterates over all of a user's invoices, newest first,
// fetching pages of pageSize (0 means the server's default) as it goes. It
// stops at the first error, which it yields.
func (c *Client) AllInvoices(ctx context.Context, appUserID string, pageSize int) iter.Seq2[Invoice, error] {
	return func(yield func(Invoice, error) bool) {
		p := InvoicesParams{AppUserID: appUserID, Limit: pageSize}
		for {
			page, err := c.Invoices(ctx, p)
			if err != nil {
				yield(Invoice{}, err)
				return
			}
			for _, inv := range page.Invoices {
				if !yield(inv, nil) {
					return
				}
			}
			if !page.HasMore || len(page.Invoices) == 0 {
				return
			}
			p.StartingAfter = page.Invoices[len(page.Invoices)-1].OrderID
		}
	}
}

// Subscription is one of a user's subscriptions.
type Subscription struct {
	ID                string `json:"id"`
	Status            string `json:"status"`
	OrderStatus       int    `json:"orderStatus"`
	ProductID         string `json:"productId"`
	ProductPeriod     string `json:"productPeriod"`
	CurrentPeriodEnd  string `json:"currentPeriodEnd"`
	CancelAtPeriodEnd bool   `json:"cancelAtPeriodEnd"`
}

// Subscriptions lists a user's subscriptions, newest first.
func (c *Client) Subscriptions(ctx context.Context, appUserID string) ([]Subscription, error) {
	var out struct {
		Subscriptions []Subscription `json:"subscriptions"`
	}
	q := url.Values{"appUserId": {appUserID}}
	if err := c.do(ctx, "GET", "/v1/stripe/subscriptions?"+q.Encode(), nil, "", &out); err != nil {
		return nil, err
	}
	return out.Subscriptions, nil
}
