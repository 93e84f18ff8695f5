package appwheel

import "context"

// Stripe is the Stripe API as AppWheel uses it, for one app's account at a
// time. The stripe/ package implements it over stripe-go; tests use a fake.
//
// Errors are *Error: ENOTFOUND when Stripe has no such object, ESTRIPE when
// Stripe declined or rejected the request (with Stripe's details),
// ESTRIPEUNAVAILABLE when Stripe could not be reached or kept failing after
// retries. Writes take an idempotency key, sent to Stripe and reused on
// every retry, so a retried write never happens twice.
type Stripe interface {
	CreateCustomer(ctx context.Context, acct StripeAccount, p CreateCustomerParams) (*Customer, error)
	Customer(ctx context.Context, acct StripeAccount, id string) (*Customer, error)
	// ListCustomers returns one page of the account's customers (at most 100),
	// those created after startingAfter's when it is not "".
	ListCustomers(ctx context.Context, acct StripeAccount, startingAfter string) (*CustomerPage, error)
	SetDefaultPaymentMethod(ctx context.Context, acct StripeAccount, customerID, methodID, idempotencyKey string) error
	// TagCustomer adds AppWheel's metadata, naming the app and the user, to
	// an existing customer (one the app created before AppWheel), keeping
	// the customer's other metadata.
	TagCustomer(ctx context.Context, acct StripeAccount, customerID, appID, appUserID, idempotencyKey string) error

	CreateCheckoutSession(ctx context.Context, acct StripeAccount, p CreateCheckoutSessionParams) (*CheckoutSession, error)
	CreateSetupIntent(ctx context.Context, acct StripeAccount, p CreateSetupIntentParams) (*SetupIntent, error)
	// SetupIntent returns one SetupIntent, with its status and the payment
	// method it set up.
	SetupIntent(ctx context.Context, acct StripeAccount, id string) (*SetupIntent, error)

	// PaymentMethod returns one payment method, attached or not.
	PaymentMethod(ctx context.Context, acct StripeAccount, id string) (*PaymentMethod, error)
	// PaymentMethods returns all of a customer's payment methods, newest first.
	PaymentMethods(ctx context.Context, acct StripeAccount, customerID string) ([]*PaymentMethod, error)
	DetachPaymentMethod(ctx context.Context, acct StripeAccount, id, idempotencyKey string) error

	// Subscriptions returns all of a customer's subscriptions, whatever
	// their status, newest first.
	Subscriptions(ctx context.Context, acct StripeAccount, customerID string) ([]*Subscription, error)
	// SetSubscriptionPaymentMethod sets a subscription's own
	// default_payment_method, the card its invoices are charged to; the
	// method must be attached to the subscription's customer.
	SetSubscriptionPaymentMethod(ctx context.Context, acct StripeAccount, subscriptionID, methodID, idempotencyKey string) error
	// Invoice returns one invoice.
	Invoice(ctx context.Context, acct StripeAccount, id string) (*Invoice, error)
	// Invoices returns one page of a customer's invoices, newest first.
	Invoices(ctx context.Context, acct StripeAccount, p ListInvoicesParams) (*InvoicePage, error)
	// Price returns a price.
	Price(ctx context.Context, acct StripeAccount, id string) (*Price, error)
}

// CreateCustomerParams creates the Customer of one app user.
type CreateCustomerParams struct {
	AppID     string
	AppUserID string
	// IdempotencyKey is derived from (AppID, AppUserID), so concurrent first
	// calls for one user get one customer from Stripe.
	IdempotencyKey string
}

// CreateCheckoutSessionParams creates a Checkout Session in setup mode.
type CreateCheckoutSessionParams struct {
	CustomerID     string
	SuccessURL     string
	CancelURL      string
	AppID          string // recorded in metadata
	AppUserID      string // recorded in metadata
	IdempotencyKey string
}

// CreateSetupIntentParams creates a SetupIntent for card payment methods
// that may be charged off-session later.
type CreateSetupIntentParams struct {
	CustomerID     string
	AppID          string // recorded in metadata
	AppUserID      string // recorded in metadata
	IdempotencyKey string
}

// ListInvoicesParams selects one page of a customer's invoices.
type ListInvoicesParams struct {
	CustomerID    string
	Limit         int    // 1–100
	StartingAfter string // invoice ID, "" for the first page
}
