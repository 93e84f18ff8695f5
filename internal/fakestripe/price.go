package fakestripe

import (
	"context"

	"github.com/appwheel/appwheel"
)

// Price returns a price seeded with AddPrice, or one that AddSubscription
// implied by its PriceID, Interval and IntervalCount.
func (f *Fake) Price(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.Price, error) {
	return call(ctx, f, "Price", acct, func(a *account) (*appwheel.Price, error) {
		p, ok := a.prices[id]
		if !ok {
			return nil, notFound("price", id)
		}
		return &p, nil
	})
}

// AddPrice seeds a price.
func (f *Fake) AddPrice(acct appwheel.StripeAccount, p appwheel.Price) {
	f.seed(acct, func(a *account) { a.prices[p.ID] = p })
}
