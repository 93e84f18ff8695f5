package fakestripe

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/appwheel/appwheel"
)

type invoice struct {
	v   appwheel.Invoice
	seq int64
}

// Invoices returns one page of a customer's invoices, newest first, as
// Stripe's list API does: Limit 0 means Stripe's default of 10, and
// StartingAfter must be the ID of an invoice in that list.
func (f *Fake) Invoices(ctx context.Context, acct appwheel.StripeAccount, p appwheel.ListInvoicesParams) (*appwheel.InvoicePage, error) {
	return call(ctx, f, "Invoices", acct, func(a *account) (*appwheel.InvoicePage, error) {
		limit := p.Limit
		switch {
		case limit == 0:
			limit = 10
		case limit < 1:
			return nil, stripeError(400, "invalid_request_error", "parameter_invalid_integer", "limit",
				"This value must be greater than or equal to 1.")
		case limit > 100:
			return nil, stripeError(400, "invalid_request_error", "parameter_invalid_integer", "limit",
				"This value must be less than or equal to 100.")
		}
		if _, err := a.live(p.CustomerID); err != nil {
			return nil, err
		}
		all := slices.SortedFunc(maps.Values(a.invoices), func(x, y *invoice) int {
			return cmpNewest(x.v.Created, x.seq, y.v.Created, y.seq)
		})
		all = slices.DeleteFunc(all, func(inv *invoice) bool { return inv.v.CustomerID != p.CustomerID })
		start := 0
		if p.StartingAfter != "" {
			i := slices.IndexFunc(all, func(inv *invoice) bool { return inv.v.ID == p.StartingAfter })
			if i < 0 {
				return nil, stripeError(400, "invalid_request_error", "", "starting_after", fmt.Sprintf(
					"Invalid starting_after: No such invoice: '%s'", p.StartingAfter))
			}
			start = i + 1
		}
		end := min(start+limit, len(all))
		page := &appwheel.InvoicePage{Invoices: []*appwheel.Invoice{}, HasMore: end < len(all)}
		for _, inv := range all[start:end] {
			v := inv.v
			page.Invoices = append(page.Invoices, &v)
		}
		return page, nil
	})
}

// AddInvoice seeds an invoice of an existing customer (inv.CustomerID). An
// empty ID or Created becomes a new in_ ID and a Created later than any
// before; other fields are kept as given. It panics on an unknown or
// deleted customer or a duplicate ID.
func (f *Fake) AddInvoice(acct appwheel.StripeAccount, inv appwheel.Invoice) *appwheel.Invoice {
	f.seed(acct, func(a *account) {
		mustCustomer(a, inv.CustomerID)
		if inv.ID == "" {
			inv.ID = f.newID("in")
		} else if a.invoices[inv.ID] != nil {
			panic("fakestripe: duplicate invoice " + inv.ID)
		}
		if inv.Created == 0 {
			inv.Created = f.now()
		}
		f.seq++
		a.invoices[inv.ID] = &invoice{v: inv, seq: f.seq}
	})
	return &inv
}

// Invoice returns one invoice, or ENOTFOUND.
func (f *Fake) Invoice(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.Invoice, error) {
	return call(ctx, f, "Invoice", acct, func(a *account) (*appwheel.Invoice, error) {
		inv, ok := a.invoices[id]
		if !ok {
			return nil, notFound("invoice", id)
		}
		v := inv.v
		return &v, nil
	})
}

// SetInvoice replaces a seeded invoice's fields (keeping its ID), as Stripe
// does when it finalizes, pays or voids one. It panics on an unknown invoice.
func (f *Fake) SetInvoice(acct appwheel.StripeAccount, inv appwheel.Invoice) {
	f.seed(acct, func(a *account) {
		old := a.invoices[inv.ID]
		if old == nil {
			panic("fakestripe: " + notFound("invoice", inv.ID).Message)
		}
		old.v = inv
	})
}

// DeleteDraft deletes a draft invoice, as Stripe does (only drafts can be
// deleted): it is gone from lists and Invoice. It panics on an unknown
// invoice or one that is not a draft.
func (f *Fake) DeleteDraft(acct appwheel.StripeAccount, id string) {
	f.seed(acct, func(a *account) {
		inv := a.invoices[id]
		if inv == nil || inv.v.Status != "draft" {
			panic("fakestripe: no draft invoice " + id)
		}
		delete(a.invoices, id)
	})
}
