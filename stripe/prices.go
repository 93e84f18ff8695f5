package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// Price returns a price's recurring terms.
func (p *Provider) Price(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.Price, error) {
	if id == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such price")
	}
	var pr *stripego.Price
	err := p.call(ctx, opGetPrice, acct, func(sc *stripego.Client) (err error) {
		pr, err = sc.V1Prices.Retrieve(ctx, id, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &appwheel.Price{ID: pr.ID}
	if r := pr.Recurring; r != nil {
		out.Interval, out.IntervalCount = string(r.Interval), r.IntervalCount
	}
	return out, nil
}
