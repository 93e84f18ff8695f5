package fakestripe

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/appwheel/appwheel"
)

type paymentMethod struct {
	id       string
	customer string // "" when not attached
	detached bool   // was detached, so may never be attached again
	created  int64
	seq      int64
	brand    string
	last4    string
}

func (pm *paymentMethod) value() *appwheel.PaymentMethod {
	return &appwheel.PaymentMethod{
		ID:         pm.id,
		CustomerID: pm.customer,
		Type:       "card",
		Created:    pm.created,
		Raw:        pm.raw(),
	}
}

// PaymentMethod returns one payment method of the account, attached or not.
func (f *Fake) PaymentMethod(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.PaymentMethod, error) {
	return call(ctx, f, "PaymentMethod", acct, func(a *account) (*appwheel.PaymentMethod, error) {
		pm := a.methods[id]
		if pm == nil {
			return nil, notFound("PaymentMethod", id)
		}
		return pm.value(), nil
	})
}

// PaymentMethods returns the payment methods attached to a customer, newest first.
func (f *Fake) PaymentMethods(ctx context.Context, acct appwheel.StripeAccount, customerID string) ([]*appwheel.PaymentMethod, error) {
	return call(ctx, f, "PaymentMethods", acct, func(a *account) ([]*appwheel.PaymentMethod, error) {
		if _, err := a.live(customerID); err != nil {
			return nil, err
		}
		pms := slices.SortedFunc(maps.Values(a.methods), func(x, y *paymentMethod) int {
			return cmpNewest(x.created, x.seq, y.created, y.seq)
		})
		out := []*appwheel.PaymentMethod{}
		for _, pm := range pms {
			if pm.customer == customerID {
				out = append(out, pm.value())
			}
		}
		return out, nil
	})
}

// DetachPaymentMethod detaches a payment method from its customer and, as
// Stripe does, clears the customer's default when it was this method.
func (f *Fake) DetachPaymentMethod(ctx context.Context, acct appwheel.StripeAccount, id, idempotencyKey string) error {
	_, err := call(ctx, f, "DetachPaymentMethod", acct, func(a *account) (struct{}, error) {
		return idempotent(a, idempotencyKey, fmt.Sprintf("DetachPaymentMethod %q", id), func() (struct{}, error) {
			pm := a.methods[id]
			if pm == nil {
				return struct{}{}, notFound("PaymentMethod", id)
			}
			if pm.customer == "" {
				return struct{}{}, stripeError(400, "invalid_request_error", "", "",
					"The payment method you provided is not attached to a customer so detachment is impossible.")
			}
			if c := a.customers[pm.customer]; c != nil && c.defaultPM == id {
				c.defaultPM = ""
			}
			pm.customer, pm.detached = "", true
			return struct{}{}, nil
		})
	})
	return err
}

func (f *Fake) addCard(a *account, customerID, brand, last4 string) *paymentMethod {
	pm := &paymentMethod{
		id:       f.newID("pm"),
		customer: customerID,
		created:  f.now(),
		brand:    brand,
		last4:    last4,
	}
	pm.seq = f.seq
	a.methods[pm.id] = pm
	return pm
}

// AttachCard seeds a card payment method attached to an existing customer,
// as a completed Checkout Session or SetupIntent leaves it. Each new payment
// method is created strictly later than the one before. It does not change
// the customer's default. It panics on an unknown or deleted customer.
func (f *Fake) AttachCard(acct appwheel.StripeAccount, customerID, brand, last4 string) *appwheel.PaymentMethod {
	var v *appwheel.PaymentMethod
	f.seed(acct, func(a *account) {
		mustCustomer(a, customerID)
		v = f.addCard(a, customerID, brand, last4).value()
	})
	return v
}

// CreateDetachedCard seeds a card payment method attached to no customer.
func (f *Fake) CreateDetachedCard(acct appwheel.StripeAccount, brand, last4 string) *appwheel.PaymentMethod {
	var v *appwheel.PaymentMethod
	f.seed(acct, func(a *account) { v = f.addCard(a, "", brand, last4).value() })
	return v
}

// AttachPaymentMethod attaches a never-attached payment method to a
// customer, with Stripe's errors: ENOTFOUND for an unknown method or
// customer, ESTRIPE when the method is attached to another customer or was
// detached before. Attaching it again to the same customer is a no-op.
// It is a seeding helper: no call is counted and no fault applies.
func (f *Fake) AttachPaymentMethod(acct appwheel.StripeAccount, methodID, customerID string) error {
	var err error
	f.seed(acct, func(a *account) {
		pm := a.methods[methodID]
		switch {
		case pm == nil:
			err = notFound("PaymentMethod", methodID)
		case pm.customer == customerID:
		case pm.customer != "":
			err = stripeError(400, "invalid_request_error", "", "",
				"The payment method you provided has already been attached to a customer.")
		case pm.detached:
			err = stripeError(400, "invalid_request_error", "", "",
				"This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.")
		default:
			if _, err = a.live(customerID); err == nil {
				pm.customer = customerID
			}
		}
	})
	return err
}
