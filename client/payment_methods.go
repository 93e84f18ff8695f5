package client

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/appwheel/appwheel"
)

// How a user adds a payment method.
const (
	TypeCheckout    = "checkout"    // a Stripe Checkout page to send the user to
	TypeSetupIntent = "setupIntent" // a client secret to confirm with Stripe.js
)

// CreatePaymentMethodParams is createPaymentMethod's input.
type CreatePaymentMethodParams struct {
	AppUserID  string `json:"appUserId"`
	Type       string `json:"type"`
	SuccessURL string `json:"successUrl,omitempty"`
	CancelURL  string `json:"cancelUrl,omitempty"`
	// MakeDefault makes the new card the user's default once it is added,
	// even when the user has one; the first card becomes the default anyway.
	MakeDefault bool `json:"makeDefault,omitempty"`
	// IdempotencyKey, when set, makes a retry return the first result.
	IdempotencyKey string `json:"-"`
}

// PaymentMethodSetup is createPaymentMethod's result; the fields of the
// other type are "".
type PaymentMethodSetup = appwheel.PaymentMethodSetup

// CreatePaymentMethod starts adding a payment method for a user.
func (c *Client) CreatePaymentMethod(ctx context.Context, p CreatePaymentMethodParams) (*PaymentMethodSetup, error) {
	var out PaymentMethodSetup
	if err := c.do(ctx, "POST", "/v1/stripe/payment-methods", p, p.IdempotencyKey, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PaymentMethod is a Stripe PaymentMethod: the fields apps use most, typed,
// and Raw, Stripe's whole JSON object.
type PaymentMethod struct {
	ID             string          `json:"id"`
	Type           string          `json:"type"`
	Created        int64           `json:"created"`
	Card           *Card           `json:"card"`
	BillingDetails BillingDetails  `json:"billing_details"`
	Raw            json.RawMessage `json:"-"`
}

// Card is a card payment method's details.
type Card struct {
	Brand       string `json:"brand"`
	Last4       string `json:"last4"`
	ExpMonth    int    `json:"exp_month"`
	ExpYear     int    `json:"exp_year"`
	Funding     string `json:"funding"`
	Country     string `json:"country"`
	Fingerprint string `json:"fingerprint"`
}

// BillingDetails is the billing information on a payment method.
type BillingDetails struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// UnmarshalJSON keeps the raw object beside the typed fields.
func (pm *PaymentMethod) UnmarshalJSON(b []byte) error {
	type plain PaymentMethod
	if err := json.Unmarshal(b, (*plain)(pm)); err != nil {
		return err
	}
	pm.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// PaymentMethodList is a user's payment methods, newest first.
type PaymentMethodList struct {
	Methods         []PaymentMethod `json:"methods"`
	DefaultMethodID string          `json:"defaultMethodId"`
}

// PaymentMethods lists a user's payment methods.
func (c *Client) PaymentMethods(ctx context.Context, appUserID string) (*PaymentMethodList, error) {
	var out PaymentMethodList
	q := url.Values{"appUserId": {appUserID}}
	if err := c.do(ctx, "GET", "/v1/stripe/payment-methods?"+q.Encode(), nil, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemovePaymentMethodParams is removePaymentMethod's input.
type RemovePaymentMethodParams struct {
	AppUserID string
	MethodID  string
	// Force removes the user's last method even while a subscription needs it.
	Force          bool
	IdempotencyKey string
}

// RemovedPaymentMethod is removePaymentMethod's result; NewDefaultMethodID
// is the method promoted to default when the removed one was the default,
// MovedSubscriptionIDs the live subscriptions that now charge another card.
type RemovedPaymentMethod = appwheel.RemovedPaymentMethod

// RemovePaymentMethod detaches one of a user's payment methods. A live
// subscription that charged it moves to another of the user's cards first;
// removing the last card of a user with a live subscription is refused
// (IsLastMethod) unless Force.
func (c *Client) RemovePaymentMethod(ctx context.Context, p RemovePaymentMethodParams) (*RemovedPaymentMethod, error) {
	q := url.Values{"appUserId": {p.AppUserID}}
	if p.Force {
		q.Set("force", "true")
	}
	var out RemovedPaymentMethod
	target := "/v1/stripe/payment-methods/" + url.PathEscape(p.MethodID) + "?" + q.Encode()
	if err := c.do(ctx, "DELETE", target, nil, p.IdempotencyKey, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DefaultPaymentMethod is SetDefaultPaymentMethod's result.
type DefaultPaymentMethod = appwheel.DefaultPaymentMethod

// SetDefaultPaymentMethod makes one of a user's methods the card that pays:
// the default, and the card of the user's live subscriptions that named
// another one of their own (MovedSubscriptionIDs).
func (c *Client) SetDefaultPaymentMethod(ctx context.Context, appUserID, methodID string) (*DefaultPaymentMethod, error) {
	body := map[string]string{"appUserId": appUserID}
	var out DefaultPaymentMethod
	if err := c.do(ctx, "POST", "/v1/stripe/payment-methods/"+url.PathEscape(methodID)+"/default", body, "", &out); err != nil {
		return nil, err
	}
	return &out, nil
}
