package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// CreateCustomer creates the Customer of one app user, with metadata naming
// the app and the user. p.IdempotencyKey, derived from the pair, makes
// concurrent first calls for one user yield one customer.
func (p *Provider) CreateCustomer(ctx context.Context, acct appwheel.StripeAccount, cp appwheel.CreateCustomerParams) (*appwheel.Customer, error) {
	params := &stripego.CustomerCreateParams{Metadata: metadata(cp.AppID, cp.AppUserID)}
	params.IdempotencyKey = stripego.String(idempotencyKey(cp.IdempotencyKey))
	var c *stripego.Customer
	err := p.call(ctx, opCreateCustomer, acct, func(sc *stripego.Client) (err error) {
		c, err = sc.V1Customers.Create(ctx, params)
		return err
	})
	if err != nil {
		return nil, err
	}
	return customer(c), nil
}

// Customer returns a customer. A deleted customer is not an error: Stripe
// answers with a stub, returned with Deleted set.
func (p *Provider) Customer(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.Customer, error) {
	if id == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such customer")
	}
	var c *stripego.Customer
	err := p.call(ctx, opGetCustomer, acct, func(sc *stripego.Client) (err error) {
		c, err = sc.V1Customers.Retrieve(ctx, id, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return customer(c), nil
}

// TagCustomer adds AppWheel's metadata to an existing customer: Stripe
// merges metadata keys on update, so the app's own keys stay.
func (p *Provider) TagCustomer(ctx context.Context, acct appwheel.StripeAccount, customerID, appID, appUserID, key string) error {
	if customerID == "" {
		return appwheel.Errorf(appwheel.ENOTFOUND, "no such customer")
	}
	params := &stripego.CustomerUpdateParams{Metadata: metadata(appID, appUserID)}
	params.IdempotencyKey = stripego.String(idempotencyKey(key))
	return p.call(ctx, opTagCustomer, acct, func(sc *stripego.Client) error {
		_, err := sc.V1Customers.Update(ctx, customerID, params)
		return err
	})
}

// ListCustomers returns one page of the account's customers, in Stripe's list
// order (newest first), the page after startingAfter's customer.
func (p *Provider) ListCustomers(ctx context.Context, acct appwheel.StripeAccount, startingAfter string) (*appwheel.CustomerPage, error) {
	params := &stripego.CustomerListParams{ListParams: listParams(startingAfter)}
	pg, err := fetchPage(ctx, p, opListCustomers, acct, func(sc *stripego.Client) *stripego.V1List[*stripego.Customer] {
		return sc.V1Customers.List(ctx, params)
	})
	if err != nil {
		return nil, err
	}
	out := &appwheel.CustomerPage{Customers: make([]*appwheel.Customer, 0, len(pg.data)), HasMore: pg.hasMore}
	for _, c := range pg.data {
		out.Customers = append(out.Customers, customer(c))
	}
	return out, nil
}

// SetDefaultPaymentMethod sets the customer's
// invoice_settings.default_payment_method, which subscriptions and invoices
// charge. An empty methodID clears it. A method Stripe does not know is
// ENOTFOUND.
func (p *Provider) SetDefaultPaymentMethod(ctx context.Context, acct appwheel.StripeAccount, customerID, methodID, key string) error {
	if customerID == "" {
		return appwheel.Errorf(appwheel.ENOTFOUND, "no such customer")
	}
	params := &stripego.CustomerUpdateParams{
		InvoiceSettings: &stripego.CustomerUpdateInvoiceSettingsParams{
			DefaultPaymentMethod: stripego.String(methodID),
		},
	}
	params.IdempotencyKey = stripego.String(idempotencyKey(key))
	return p.call(ctx, opSetDefaultPaymentMethod, acct, func(sc *stripego.Client) error {
		_, err := sc.V1Customers.Update(ctx, customerID, params)
		return err
	})
}
