package billing

import (
	"context"
	"errors"

	"github.com/appwheel/appwheel"
)

// Invoice page sizes.
const (
	DefaultInvoiceLimit = 20
	MaxInvoiceLimit     = 100
)

// ListInvoicesParams is the invoices request.
type ListInvoicesParams struct {
	AppUserID     string
	Limit         int    // 1–100; 0 means DefaultInvoiceLimit
	StartingAfter string // an invoice id from the previous page, or ""
}

// invoicePrice returns the price an invoice billed: the subscription's own
// when it is the same price (no Stripe call), else the price fetched once
// and cached, since a price's recurring terms never change. It is nil when
// the invoice has no price or Stripe does not know it.
func (s *Service) invoicePrice(ctx context.Context, app *appwheel.App, inv *appwheel.Invoice, sub *appwheel.Subscription) (*appwheel.Price, error) {
	id := inv.PriceID
	if id == "" && sub != nil {
		id = sub.PriceID
	}
	switch {
	case id == "":
		return nil, nil
	case sub != nil && sub.PriceID == id:
		return &appwheel.Price{ID: id, Interval: sub.Interval, IntervalCount: sub.IntervalCount}, nil
	}
	key := priceKey{account: app.Stripe.SecretKey, id: id}
	if p, ok := s.prices.Load(key); ok {
		return p.(*appwheel.Price), nil
	}
	p, err := s.stripe.Price(ctx, app.Stripe, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.prices.Store(key, p)
	return p, nil
}

// withPriceTerms records on inv the recurring terms of its price, looked up
// as invoicePrice does, so the mirror can serve the invoice without asking
// Stripe again.
func (s *Service) withPriceTerms(ctx context.Context, app *appwheel.App, inv *appwheel.Invoice, sub *appwheel.Subscription) error {
	if inv.PriceInterval != "" {
		return nil
	}
	p, err := s.invoicePrice(ctx, app, inv, sub)
	if err != nil || p == nil {
		return err
	}
	inv.PriceInterval, inv.PriceIntervalCount = p.Interval, p.IntervalCount
	if p.Interval == "" {
		inv.PriceInterval = "once"
	}
	return nil
}

// storedPrice returns the price terms the mirror kept with inv, or nil.
func storedPrice(inv *appwheel.Invoice) *appwheel.Price {
	switch inv.PriceInterval {
	case "":
		return nil
	case "once":
		return &appwheel.Price{ID: inv.PriceID}
	}
	return &appwheel.Price{ID: inv.PriceID, Interval: inv.PriceInterval, IntervalCount: inv.PriceIntervalCount}
}

// priceKey identifies a price in the cache: ids are unique per Stripe account.
type priceKey struct{ account, id string }

// badCursor reports Stripe refusing a starting_after: an invoice it does
// not know, or one it will not page from.
func badCursor(err error) bool {
	var e *appwheel.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == appwheel.ENOTFOUND || e.Code == appwheel.ESTRIPE && e.Stripe != nil && e.Stripe.Param == "starting_after"
}
