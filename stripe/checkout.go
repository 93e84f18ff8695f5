package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// CreateCheckoutSession creates a Checkout Session in setup mode, in which
// the user saves a card to the customer on Stripe's hosted page. Setup mode
// needs either a currency or payment_method_types; AppWheel saves cards, so
// it names them. The app and user go in the session's metadata and in the
// SetupIntent's it creates, so webhooks for either can be traced back.
func (p *Provider) CreateCheckoutSession(ctx context.Context, acct appwheel.StripeAccount, cp appwheel.CreateCheckoutSessionParams) (*appwheel.CheckoutSession, error) {
	params := &stripego.CheckoutSessionCreateParams{
		Mode:               stripego.String(string(stripego.CheckoutSessionModeSetup)),
		Customer:           stripego.String(cp.CustomerID),
		SuccessURL:         stripego.String(cp.SuccessURL),
		CancelURL:          stripego.String(cp.CancelURL),
		PaymentMethodTypes: stripego.StringSlice([]string{"card"}),
		Metadata:           metadata(cp.AppID, cp.AppUserID),
		SetupIntentData: &stripego.CheckoutSessionCreateSetupIntentDataParams{
			Metadata: metadata(cp.AppID, cp.AppUserID),
		},
	}
	params.IdempotencyKey = stripego.String(idempotencyKey(cp.IdempotencyKey))
	var s *stripego.CheckoutSession
	err := p.call(ctx, opCreateCheckoutSession, acct, func(sc *stripego.Client) (err error) {
		s, err = sc.V1CheckoutSessions.Create(ctx, params)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &appwheel.CheckoutSession{ID: s.ID, URL: s.URL}
	if s.SetupIntent != nil {
		out.SetupIntentID = s.SetupIntent.ID
	}
	return out, nil
}
