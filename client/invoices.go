package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"

	"github.com/appwheel/appwheel"
)

// Invoice is an invoice in AppWheel's order format, the server's own type:
// timestamps are strings of Unix seconds, "0" when there is none, as the
// original document has them.
type Invoice = appwheel.Order

// InvoicesParams selects a page of a user's invoices.
type InvoicesParams struct {
	AppUserID     string
	Limit         int    // 1–100; 0 means the server's default (20)
	StartingAfter string // the last invoice id of the previous page
}

// InvoicePage is one page of invoices, newest first.
type InvoicePage = appwheel.OrderList

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
type Subscription = appwheel.SubscriptionView

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
