package fakestripe

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/appwheel/appwheel"
)

type subscription struct {
	v   appwheel.Subscription
	seq int64
}

// Subscriptions returns all of a customer's subscriptions, whatever their
// status, newest first.
func (f *Fake) Subscriptions(ctx context.Context, acct appwheel.StripeAccount, customerID string) ([]*appwheel.Subscription, error) {
	return call(ctx, f, "Subscriptions", acct, func(a *account) ([]*appwheel.Subscription, error) {
		if _, err := a.live(customerID); err != nil {
			return nil, err
		}
		subs := slices.SortedFunc(maps.Values(a.subs), func(x, y *subscription) int {
			return cmpNewest(x.v.Created, x.seq, y.v.Created, y.seq)
		})
		out := []*appwheel.Subscription{}
		for _, s := range subs {
			if s.v.CustomerID == customerID {
				v := s.v
				out = append(out, &v)
			}
		}
		return out, nil
	})
}

// SetSubscriptionPaymentMethod sets a subscription's own default payment
// method; "" clears it. The method must be attached to the subscription's
// customer.
func (f *Fake) SetSubscriptionPaymentMethod(ctx context.Context, acct appwheel.StripeAccount, subscriptionID, methodID, idempotencyKey string) error {
	_, err := call(ctx, f, "SetSubscriptionPaymentMethod", acct, func(a *account) (struct{}, error) {
		req := fmt.Sprintf("SetSubscriptionPaymentMethod %q %q", subscriptionID, methodID)
		return idempotent(a, idempotencyKey, req, func() (struct{}, error) {
			s := a.subs[subscriptionID]
			if s == nil {
				return struct{}{}, notFound("subscription", subscriptionID)
			}
			if methodID != "" {
				if err := attachedTo(a, methodID, s.v.CustomerID, "default_payment_method"); err != nil {
					return struct{}{}, err
				}
			}
			s.v.DefaultPaymentMethodID = methodID
			return struct{}{}, nil
		})
	})
	return err
}

// Subscription returns a copy of a subscription, for tests to inspect. It
// panics on an unknown subscription.
func (f *Fake) Subscription(acct appwheel.StripeAccount, subID string) appwheel.Subscription {
	var v appwheel.Subscription
	f.seed(acct, func(a *account) {
		s := a.subs[subID]
		if s == nil {
			panic("fakestripe: " + notFound("subscription", subID).Message)
		}
		v = s.v
	})
	return v
}

// AddSubscription seeds a subscription of an existing customer. CustomerID
// is set to customerID; an empty ID, Created or Status becomes a new sub_
// ID, a Created later than any before, and "active". It panics on an
// unknown or deleted customer or a duplicate ID.
func (f *Fake) AddSubscription(acct appwheel.StripeAccount, customerID string, s appwheel.Subscription) *appwheel.Subscription {
	f.seed(acct, func(a *account) {
		mustCustomer(a, customerID)
		s.CustomerID = customerID
		if s.ID == "" {
			s.ID = f.newID("sub")
		} else if a.subs[s.ID] != nil {
			panic("fakestripe: duplicate subscription " + s.ID)
		}
		if s.Created == 0 {
			s.Created = f.now()
		}
		if s.Status == "" {
			s.Status = "active"
		}
		f.seq++
		a.subs[s.ID] = &subscription{v: s, seq: f.seq}
		if _, ok := a.prices[s.PriceID]; s.PriceID != "" && !ok {
			a.prices[s.PriceID] = appwheel.Price{ID: s.PriceID, Interval: s.Interval, IntervalCount: s.IntervalCount}
		}
	})
	return &s
}

// SetSubscriptionStatus changes a subscription's status, as Stripe does
// when it renews, fails to charge or cancels one. It panics on an unknown
// subscription.
func (f *Fake) SetSubscriptionStatus(acct appwheel.StripeAccount, subID, status string) {
	f.seed(acct, func(a *account) {
		s := a.subs[subID]
		if s == nil {
			panic("fakestripe: " + notFound("subscription", subID).Message)
		}
		s.v.Status = status
	})
}
