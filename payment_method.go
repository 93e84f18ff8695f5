package appwheel

import "encoding/json"

// Customer is the Stripe Customer that stands for one app user. AppWheel
// creates exactly one per (app, appUserId).
type Customer struct {
	ID                     string
	DefaultPaymentMethodID string // invoice_settings.default_payment_method, "" when none
	Deleted                bool
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
	MethodID           string `json:"methodId"`
	NewDefaultMethodID string `json:"newDefaultMethodId"`
}

// CheckoutSession is a Stripe Checkout Session in setup mode.
type CheckoutSession struct {
	ID  string
	URL string
}

// SetupIntent is a Stripe SetupIntent.
type SetupIntent struct {
	ID           string
	ClientSecret string
}
