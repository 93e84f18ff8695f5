package stripe

import (
	"cmp"
	"context"
	"slices"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// Subscriptions returns all of a customer's subscriptions, whatever their
// status (status=all: Stripe's default leaves out canceled ones), newest
// first by created, then by ID descending.
func (p *Provider) Subscriptions(ctx context.Context, acct appwheel.StripeAccount, customerID string) ([]*appwheel.Subscription, error) {
	if customerID == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such customer")
	}
	subs, err := listAll(ctx, p, opListSubscriptions, acct,
		func(sc *stripego.Client, after string) *stripego.V1List[*stripego.Subscription] {
			return sc.V1Subscriptions.List(ctx, &stripego.SubscriptionListParams{
				ListParams: listParams(after),
				Customer:   stripego.String(customerID),
				Status:     stripego.String("all"),
			})
		},
		func(s *stripego.Subscription) string { return s.ID })
	if err != nil {
		return nil, err
	}
	out := make([]*appwheel.Subscription, 0, len(subs))
	for _, s := range subs {
		out = append(out, subscription(s))
	}
	slices.SortStableFunc(out, func(a, b *appwheel.Subscription) int {
		return cmp.Or(cmp.Compare(b.Created, a.Created), cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}

// SetSubscriptionPaymentMethod sets a subscription's default_payment_method,
// which Stripe charges before the customer's default.
func (p *Provider) SetSubscriptionPaymentMethod(ctx context.Context, acct appwheel.StripeAccount, subscriptionID, methodID, key string) error {
	if subscriptionID == "" {
		return appwheel.Errorf(appwheel.ENOTFOUND, "no such subscription")
	}
	params := &stripego.SubscriptionUpdateParams{DefaultPaymentMethod: stripego.String(methodID)}
	params.IdempotencyKey = stripego.String(idempotencyKey(key))
	return p.call(ctx, opSetSubscriptionPM, acct, func(sc *stripego.Client) error {
		_, err := sc.V1Subscriptions.Update(ctx, subscriptionID, params)
		return err
	})
}
