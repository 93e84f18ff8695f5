package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// Messages of the errors this package makes itself.
const (
	msgUnavailable = "Stripe is unavailable; safe to retry"
	msgRateLimited = "Stripe is rate limiting this app's account; safe to retry"
	msgBadKey      = "Stripe rejected the app's Stripe secret key (HTTP 401); check the key configured for this app"
)

// mapError turns what stripe-go returned into the error AppWheel's layers
// speak, in this one place:
//
//   - the caller's context canceled: the context error, wrapped (internal);
//   - 404, or resource_missing on any status: ENOTFOUND, "no such …"; but a
//     404 for a URL Stripe does not serve (a wrong APIBase) is ESTRIPE;
//   - 401: ESTRIPE saying the app's key was rejected;
//   - 409, 429, 5xx, once the retries are spent: ESTRIPEUNAVAILABLE;
//   - any other Stripe error (400, 402 card errors, 403, …): ESTRIPE with
//     Stripe's message;
//   - anything else (connection refused, timeouts, the caller's deadline, a
//     response that is not Stripe's JSON): ESTRIPEUNAVAILABLE.
//
// ESTRIPE and ESTRIPEUNAVAILABLE from a Stripe response carry Stripe's
// details. No message ever contains secretKey. The cause is logged, since
// *appwheel.Error does not wrap it.
func (p *Provider) mapError(ctx context.Context, op, secretKey string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("stripe %s: %w", op, ctx.Err())
	}

	var se *stripego.Error
	if !errors.As(err, &se) {
		p.log.WarnContext(ctx, "stripe request failed",
			"operation", op, "error", redact(err.Error(), secretKey))
		return appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, msgUnavailable)
	}

	detail := &appwheel.StripeErrorDetail{
		Type:        string(se.Type),
		Code:        string(se.Code),
		DeclineCode: string(se.DeclineCode),
		Param:       se.Param,
		RequestID:   se.RequestID,
		HTTPStatus:  se.HTTPStatusCode,
	}
	p.log.WarnContext(ctx, "stripe refused the request",
		"operation", op, "status", se.HTTPStatusCode, "type", detail.Type, "code", detail.Code,
		"param", detail.Param, "requestId", detail.RequestID, "message", redact(se.Msg, secretKey))

	status := se.HTTPStatusCode
	switch {
	case status == http.StatusNotFound && strings.HasPrefix(se.Msg, "Unrecognized request URL"):
		// Falls through to ESTRIPE with Stripe's message, which names the URL.
	case status == http.StatusNotFound || se.Code == stripego.ErrorCodeResourceMissing:
		return appwheel.Errorf(appwheel.ENOTFOUND, "no such %s", missingObject(op, se.Param))
	case status == http.StatusUnauthorized:
		return &appwheel.Error{Code: appwheel.ESTRIPE, Message: msgBadKey, Stripe: detail}
	case status == http.StatusTooManyRequests:
		return &appwheel.Error{Code: appwheel.ESTRIPEUNAVAILABLE, Message: msgRateLimited, Stripe: detail}
	case status == http.StatusConflict || status >= 500:
		return &appwheel.Error{Code: appwheel.ESTRIPEUNAVAILABLE, Message: msgUnavailable, Stripe: detail}
	}
	msg := redact(se.Msg, secretKey)
	if msg == "" {
		msg = fmt.Sprintf("Stripe refused the request (HTTP %d)", status)
	}
	return &appwheel.Error{Code: appwheel.ESTRIPE, Message: msg, Stripe: detail}
}

// missingObject names what Stripe could not find: the object a parameter
// refers to when Stripe names the parameter (a default_payment_method that
// does not exist is a 400 on the customer), else the operation's object.
func missingObject(op, param string) string {
	switch {
	case strings.Contains(param, "payment_method"):
		return "payment method"
	case strings.Contains(param, "customer"):
		return "customer"
	case param == "starting_after":
		return "invoice"
	}
	switch op {
	case opGetPaymentMethod, opDetachPaymentMethod:
		return "payment method"
	case opGetSetupIntent:
		return "setup intent"
	case opSetSubscriptionPM:
		return "subscription"
	case opCreateCustomer:
		return "object"
	}
	return "customer" // every other operation is addressed to a customer
}

// redact removes the secret key from s. Stripe masks keys in its own
// messages, but a message or a transport error is not a place to trust that.
func redact(s, secretKey string) string {
	if secretKey == "" {
		return s
	}
	return strings.ReplaceAll(s, secretKey, "[redacted]")
}

// httpStatus returns the HTTP status of err, 0 when Stripe did not answer.
func httpStatus(err error) int {
	var se *stripego.Error
	if errors.As(err, &se) {
		return se.HTTPStatusCode
	}
	return 0
}

// requestID returns the Stripe request id of err, "" when there is none.
func requestID(err error) string {
	var se *stripego.Error
	if errors.As(err, &se) {
		return se.RequestID
	}
	return ""
}
