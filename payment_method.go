package appwheel

import "encoding/json"

// Customer is the Stripe Customer that stands for one app user. AppWheel
// creates exactly one per (app, appUserId).
type Customer struct {
	ID                     string
	DefaultPaymentMethodID string // invoice_settings.default_payment_method, "" when none
	Deleted                bool
	// Metadata is the customer's metadata at Stripe, where an app that
	// created its customers before AppWheel may name its user (apps import).
	Metadata map[string]string
}

// CustomerPage is one page of an account's customers, oldest first.
type CustomerPage struct {
	Customers []*Customer
	HasMore   bool
}

// PaymentMethod is a Stripe PaymentMethod. Raw is Stripe's JSON for it and is
// what clients receive, so new Stripe fields reach them without a release.
type PaymentMethod struct {
	ID         string
	CustomerID string // "" when detached
	Type       string
	Created    int64 // Unix seconds
	Raw        json.RawMessage
}

// PaymentMethodList is the paymentMethod response's data.
type PaymentMethodList struct {
	Methods         []json.RawMessage `json:"methods"`
	DefaultMethodID string            `json:"defaultMethodId"`
}

// AddPaymentMethodType says how a user adds a payment method.
type AddPaymentMethodType string

const (
	AddByCheckout    AddPaymentMethodType = "checkout"    // Stripe Checkout Session in setup mode
	AddBySetupIntent AddPaymentMethodType = "setupIntent" // SetupIntent confirmed with Stripe.js
)

// PaymentMethodSetup is the createPaymentMethod response's data: all four
// keys always present, "" where they do not apply.
type PaymentMethodSetup struct {
	CheckoutURL   string `json:"checkoutUrl"`
	CheckoutID    string `json:"checkoutId"`
	SetupIntentID string `json:"setupIntentId"`
	ClientSecret  string `json:"clientSecret"`
}

// RemovedPaymentMethod is the removePaymentMethod response's data.
type RemovedPaymentMethod struct {
	MethodID string `json:"methodId"`
	// NewDefaultMethodID is the customer's new default when the removed
	// method was the default, "" otherwise (or when none remains).
	NewDefaultMethodID string `json:"newDefaultMethodId"`
	// MovedSubscriptionIDs are the live subscriptions that charged the
	// removed method and now charge another one.
	MovedSubscriptionIDs []string `json:"movedSubscriptionIds"`
}

// DefaultPaymentMethod is the setDefault response's data.
type DefaultPaymentMethod struct {
	DefaultMethodID string `json:"defaultMethodId"`
	// MovedSubscriptionIDs are the live subscriptions that named another
	// card of their own and now charge this one.
	MovedSubscriptionIDs []string `json:"movedSubscriptionIds"`
}

// CheckoutSession is a Stripe Checkout Session in setup mode.
type CheckoutSession struct {
	ID  string
	URL string
	// SetupIntentID is the SetupIntent the session confirms.
	SetupIntentID string
}

// SetupIntent is a Stripe SetupIntent.
type SetupIntent struct {
	ID           string
	ClientSecret string
	// Status is Stripe's: requires_payment_method, …, succeeded, canceled.
	Status string
	// PaymentMethodID is the method the intent set up ("" until it has).
	PaymentMethodID string
}
