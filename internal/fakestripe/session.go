package fakestripe

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/appwheel/appwheel"
)

// CheckoutSessionRecord is a Checkout Session the fake created, with the
// parameters it was created with (IdempotencyKey included).
type CheckoutSessionRecord struct {
	ID            string
	URL           string
	SetupIntentID string // the SetupIntent the session confirms
	Created       int64
	Params        appwheel.CreateCheckoutSessionParams
}

// setup is the state of one SetupIntent: whose it is, and what it set up.
type setup struct {
	customer      string
	status        string
	paymentMethod string
}

// SetupIntentRecord is a SetupIntent the fake created, with the parameters
// it was created with (IdempotencyKey included).
type SetupIntentRecord struct {
	ID           string
	ClientSecret string
	Created      int64
	Params       appwheel.CreateSetupIntentParams
}

// CreateCheckoutSession creates a setup-mode Checkout Session for an
// existing customer; its URL is https://checkout.stripe.test/c/pay/<id>.
func (f *Fake) CreateCheckoutSession(ctx context.Context, acct appwheel.StripeAccount, p appwheel.CreateCheckoutSessionParams) (*appwheel.CheckoutSession, error) {
	return call(ctx, f, "CreateCheckoutSession", acct, func(a *account) (*appwheel.CheckoutSession, error) {
		req := p
		req.IdempotencyKey = ""
		v, err := idempotent(a, p.IdempotencyKey, fmt.Sprintf("CreateCheckoutSession %#v", req), func() (appwheel.CheckoutSession, error) {
			if _, err := a.live(p.CustomerID); err != nil {
				return appwheel.CheckoutSession{}, err
			}
			id := f.newID("cs")
			r := CheckoutSessionRecord{ID: id, URL: "https://checkout.stripe.test/c/pay/" + id,
				SetupIntentID: f.newSetup(a, p.CustomerID), Created: f.now(), Params: p}
			a.sessions = append(a.sessions, r)
			return appwheel.CheckoutSession{ID: r.ID, URL: r.URL, SetupIntentID: r.SetupIntentID}, nil
		})
		if err != nil {
			return nil, err
		}
		return &v, nil
	})
}

// CreateSetupIntent creates a SetupIntent for an existing customer; its
// client secret is <id>_secret_<random>.
func (f *Fake) CreateSetupIntent(ctx context.Context, acct appwheel.StripeAccount, p appwheel.CreateSetupIntentParams) (*appwheel.SetupIntent, error) {
	return call(ctx, f, "CreateSetupIntent", acct, func(a *account) (*appwheel.SetupIntent, error) {
		req := p
		req.IdempotencyKey = ""
		v, err := idempotent(a, p.IdempotencyKey, fmt.Sprintf("CreateSetupIntent %#v", req), func() (appwheel.SetupIntent, error) {
			if _, err := a.live(p.CustomerID); err != nil {
				return appwheel.SetupIntent{}, err
			}
			id := f.newSetup(a, p.CustomerID)
			r := SetupIntentRecord{ID: id, ClientSecret: id + "_secret_" + rand.Text()[:24], Created: f.now(), Params: p}
			a.intents = append(a.intents, r)
			return appwheel.SetupIntent{ID: r.ID, ClientSecret: r.ClientSecret, Status: setupRequiresPaymentMethod}, nil
		})
		if err != nil {
			return nil, err
		}
		return &v, nil
	})
}

// CheckoutSessions returns the account's Checkout Sessions, oldest first.
func (f *Fake) CheckoutSessions(acct appwheel.StripeAccount) []CheckoutSessionRecord {
	var out []CheckoutSessionRecord
	f.seed(acct, func(a *account) { out = slices.Clone(a.sessions) })
	return out
}

// SetupIntents returns the account's SetupIntents, oldest first.
func (f *Fake) SetupIntents(acct appwheel.StripeAccount) []SetupIntentRecord {
	var out []SetupIntentRecord
	f.seed(acct, func(a *account) { out = slices.Clone(a.intents) })
	return out
}

const (
	setupRequiresPaymentMethod = "requires_payment_method"
	setupSucceeded             = "succeeded"
)

// newSetup creates the state of a new SetupIntent and returns its ID.
// Callers hold mu.
func (f *Fake) newSetup(a *account, customerID string) string {
	id := f.newID("seti")
	a.setups[id] = &setup{customer: customerID, status: setupRequiresPaymentMethod}
	return id
}

// SetupIntent returns a SetupIntent (one of a Checkout Session's too),
// without its client secret, as Stripe's retrieve does for a secret key.
func (f *Fake) SetupIntent(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.SetupIntent, error) {
	return call(ctx, f, "SetupIntent", acct, func(a *account) (*appwheel.SetupIntent, error) {
		st := a.setups[id]
		if st == nil {
			return nil, notFound("setup_intent", id)
		}
		return &appwheel.SetupIntent{ID: id, Status: st.status, PaymentMethodID: st.paymentMethod}, nil
	})
}

// CompleteSetup does what the user does on Stripe's page or with
// Stripe.js: it saves a new card to the customer of a SetupIntent (or of a
// Checkout Session's, given the session's ID) and marks the intent
// succeeded with it. It returns the card and panics on an unknown or
// already succeeded intent.
func (f *Fake) CompleteSetup(acct appwheel.StripeAccount, id, brand, last4 string) *appwheel.PaymentMethod {
	var v *appwheel.PaymentMethod
	f.seed(acct, func(a *account) {
		for _, cs := range a.sessions {
			if cs.ID == id {
				id = cs.SetupIntentID
			}
		}
		st := a.setups[id]
		if st == nil || st.status == setupSucceeded {
			panic("fakestripe: no setup intent to complete: " + id)
		}
		mustCustomer(a, st.customer)
		pm := f.addCard(a, st.customer, brand, last4)
		st.status, st.paymentMethod = setupSucceeded, pm.id
		v = pm.value()
	})
	return v
}
