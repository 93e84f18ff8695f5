package stripe

import (
	"cmp"
	"context"
	"slices"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// PaymentMethod returns one payment method, attached or not. Its Raw is the
// response body: Stripe's JSON exactly, new fields included.
func (p *Provider) PaymentMethod(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.PaymentMethod, error) {
	if id == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such payment method")
	}
	var pm *stripego.PaymentMethod
	err := p.call(ctx, opGetPaymentMethod, acct, func(sc *stripego.Client) (err error) {
		pm, err = sc.V1PaymentMethods.Retrieve(ctx, id, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return paymentMethod(pm)
}

// PaymentMethods returns all of a customer's payment methods, of every type,
// newest first (by created, then by ID descending so that methods created in
// the same second keep one order). It lists
// /v1/customers/{id}/payment_methods, which unlike /v1/payment_methods
// answers 404 for a customer that does not exist.
func (p *Provider) PaymentMethods(ctx context.Context, acct appwheel.StripeAccount, customerID string) ([]*appwheel.PaymentMethod, error) {
	if customerID == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such customer")
	}
	pms, err := listAll(ctx, p, opListPaymentMethods, acct,
		func(sc *stripego.Client, after string) *stripego.V1List[*stripego.PaymentMethod] {
			return sc.V1Customers.ListPaymentMethods(ctx, &stripego.CustomerListPaymentMethodsParams{
				ListParams: listParams(after),
				Customer:   stripego.String(customerID),
			})
		},
		func(pm *stripego.PaymentMethod) string { return pm.ID })
	if err != nil {
		return nil, err
	}
	out := make([]*appwheel.PaymentMethod, 0, len(pms))
	for _, pm := range pms {
		m, err := paymentMethod(pm)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b *appwheel.PaymentMethod) int {
		return cmp.Or(cmp.Compare(b.Created, a.Created), cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}

// DetachPaymentMethod detaches a payment method from its customer; Stripe
// cannot attach it again. Detaching one that is not attached is an ESTRIPE
// (Stripe's invalid_request_error), one Stripe does not know ENOTFOUND.
func (p *Provider) DetachPaymentMethod(ctx context.Context, acct appwheel.StripeAccount, id, key string) error {
	if id == "" {
		return appwheel.Errorf(appwheel.ENOTFOUND, "no such payment method")
	}
	params := &stripego.PaymentMethodDetachParams{}
	params.IdempotencyKey = stripego.String(idempotencyKey(key))
	return p.call(ctx, opDetachPaymentMethod, acct, func(sc *stripego.Client) error {
		_, err := sc.V1PaymentMethods.Detach(ctx, id, params)
		return err
	})
}
