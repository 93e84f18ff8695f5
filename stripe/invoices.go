package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// Invoice returns one invoice.
func (p *Provider) Invoice(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.Invoice, error) {
	if id == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such invoice")
	}
	var in *stripego.Invoice
	err := p.call(ctx, opGetInvoice, acct, func(sc *stripego.Client) (err error) {
		in, err = sc.V1Invoices.Retrieve(ctx, id, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return invoice(in), nil
}

// Invoices returns one page of a customer's invoices in Stripe's order,
// newest first. It makes exactly one list call of ip.Limit invoices: the
// page is not re-sorted, since StartingAfter cursors follow Stripe's order.
// A Limit outside 1–100 is clamped to it.
func (p *Provider) Invoices(ctx context.Context, acct appwheel.StripeAccount, ip appwheel.ListInvoicesParams) (*appwheel.InvoicePage, error) {
	if ip.CustomerID == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such customer")
	}
	params := &stripego.InvoiceListParams{
		ListParams: stripego.ListParams{Limit: stripego.Int64(int64(min(max(ip.Limit, 1), 100)))},
		Customer:   stripego.String(ip.CustomerID),
	}
	if ip.StartingAfter != "" {
		params.StartingAfter = stripego.String(ip.StartingAfter)
	}
	pg, err := fetchPage(ctx, p, opListInvoices, acct, func(sc *stripego.Client) *stripego.V1List[*stripego.Invoice] {
		return sc.V1Invoices.List(ctx, params)
	})
	if err != nil {
		return nil, err
	}
	out := &appwheel.InvoicePage{Invoices: make([]*appwheel.Invoice, 0, len(pg.data)), HasMore: pg.hasMore}
	for _, in := range pg.data {
		out.Invoices = append(out.Invoices, invoice(in))
	}
	return out, nil
}
