package fakestripe

import (
	"crypto/rand"

	"github.com/appwheel/appwheel"
)

// notFound is Stripe's resource_missing, as the provider reports it.
func notFound(kind, id string) *appwheel.Error {
	return appwheel.Errorf(appwheel.ENOTFOUND, "No such %s: '%s'", kind, id)
}

// stripeError is an ESTRIPE error carrying Stripe's details.
func stripeError(status int, typ, code, param, msg string) *appwheel.Error {
	return &appwheel.Error{
		Code:    appwheel.ESTRIPE,
		Message: msg,
		Stripe: &appwheel.StripeErrorDetail{
			Type:       typ,
			Code:       code,
			Param:      param,
			RequestID:  "req_" + rand.Text()[:14],
			HTTPStatus: status,
		},
	}
}

// unavailable is the error of a call whose deadline passed before Stripe
// answered, with the stripe/ provider's message.
func unavailable() *appwheel.Error {
	return appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable; safe to retry")
}
