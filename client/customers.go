package client

import "context"

// LinkCustomerParams is linkCustomer's input: one of the app's users and a
// customer of the app's Stripe account that the app's backend created
// before AppWheel.
type LinkCustomerParams struct {
	AppUserID  string `json:"appUserId"`
	CustomerID string `json:"customerId"` // cus_…
	// IdempotencyKey, when set, makes a retry return the first result.
	IdempotencyKey string `json:"-"`
}

// CustomerLink is linkCustomer's result: the user and the Stripe customer
// it is now linked to.
type CustomerLink struct {
	AppUserID  string `json:"appUserId"`
	CustomerID string `json:"customerId"`
}

// LinkCustomer links a user to an existing customer of the app's Stripe
// account, instead of AppWheel creating one for the user: AppWheel tags
// the customer with the app and the user at Stripe and, in the mirror read
// mode, syncs the user's payment methods, default, subscriptions and
// invoices, so the next read makes no Stripe call. A customer that is not in the app's Stripe account,
// or is deleted, is IsNotFound; a customer linked to another user, or a
// user linked to another customer, is IsConflict. Linking the same pair
// again is not an error: it syncs again.
func (c *Client) LinkCustomer(ctx context.Context, p LinkCustomerParams) (*CustomerLink, error) {
	var out CustomerLink
	if err := c.do(ctx, "POST", "/v1/stripe/customer-links", p, p.IdempotencyKey, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
