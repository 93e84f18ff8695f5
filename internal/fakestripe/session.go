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
	ID      string
	URL     string
	Created int64
	Params  appwheel.CreateCheckoutSessionParams
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
			r := CheckoutSessionRecord{ID: id, URL: "https://checkout.stripe.test/c/pay/" + id, Created: f.now(), Params: p}
			a.sessions = append(a.sessions, r)
			return appwheel.CheckoutSession{ID: r.ID, URL: r.URL}, nil
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
			id := f.newID("seti")
			r := SetupIntentRecord{ID: id, ClientSecret: id + "_secret_" + rand.Text()[:24], Created: f.now(), Params: p}
			a.intents = append(a.intents, r)
			return appwheel.SetupIntent{ID: r.ID, ClientSecret: r.ClientSecret}, nil
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
