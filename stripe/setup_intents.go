package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// CreateSetupIntent creates a SetupIntent that the app's front end confirms
// with Stripe.js to save a card to the customer. usage=off_session because
// the card is saved to be charged later without the user present
// (subscriptions), which makes Stripe ask for authentication up front.
func (p *Provider) CreateSetupIntent(ctx context.Context, acct appwheel.StripeAccount, sp appwheel.CreateSetupIntentParams) (*appwheel.SetupIntent, error) {
	params := &stripego.SetupIntentCreateParams{
		Customer:           stripego.String(sp.CustomerID),
		PaymentMethodTypes: stripego.StringSlice([]string{"card"}),
		Usage:              stripego.String(string(stripego.SetupIntentUsageOffSession)),
		Metadata:           metadata(sp.AppID, sp.AppUserID),
	}
	params.IdempotencyKey = stripego.String(idempotencyKey(sp.IdempotencyKey))
	var si *stripego.SetupIntent
	err := p.call(ctx, opCreateSetupIntent, acct, func(sc *stripego.Client) (err error) {
		si, err = sc.V1SetupIntents.Create(ctx, params)
		return err
	})
	if err != nil {
		return nil, err
	}
	return setupIntent(si), nil
}

// SetupIntent returns one SetupIntent. Its client secret is not kept: only
// the front end that confirms the intent needs it.
func (p *Provider) SetupIntent(ctx context.Context, acct appwheel.StripeAccount, id string) (*appwheel.SetupIntent, error) {
	if id == "" {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such setup intent")
	}
	var si *stripego.SetupIntent
	err := p.call(ctx, opGetSetupIntent, acct, func(sc *stripego.Client) (err error) {
		si, err = sc.V1SetupIntents.Retrieve(ctx, id, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := setupIntent(si)
	out.ClientSecret = ""
	return out, nil
}

func setupIntent(si *stripego.SetupIntent) *appwheel.SetupIntent {
	out := &appwheel.SetupIntent{ID: si.ID, ClientSecret: si.ClientSecret, Status: string(si.Status)}
	if si.PaymentMethod != nil {
		out.PaymentMethodID = si.PaymentMethod.ID
	}
	return out
}
