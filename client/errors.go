package client

import (
	"errors"
	"fmt"
)

// Envelope codes (docs/api.md).
const (
	CodeInvalid           = 1001
	CodeUnauthenticated   = 1002
	CodeForbidden         = 1003
	CodeNotFound          = 1004
	CodeLastMethod        = 1005
	CodeRateLimited       = 1006
	CodeIdempotency       = 1007
	CodeConflict          = 1008
	CodeStripe            = 2001
	CodeStripeUnavailable = 2002
	CodeInternal          = 5000
)

// Error is a failed call: the envelope's code and message, the HTTP status
// and the request id to quote when asking for help.
type Error struct {
	HTTPStatus int
	Code       int
	Message    string
	RequestID  string
	// Stripe is Stripe's own account of a 2001 or 2002 failure.
	Stripe *StripeError
}

// StripeError is what Stripe said about a failed request.
type StripeError struct {
	Type        string `json:"type"`
	Code        string `json:"code"`
	DeclineCode string `json:"declineCode"`
	Param       string `json:"param"`
	RequestID   string `json:"requestId"`
	HTTPStatus  int    `json:"httpStatus"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("appwheel: %s (code %d, HTTP %d, request %s)", e.Message, e.Code, e.HTTPStatus, e.RequestID)
}

// ErrorCode returns err's envelope code, or 0 when err is not an *Error.
func ErrorCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsInvalid reports a parameter AppWheel refused (1001).
func IsInvalid(err error) bool { return ErrorCode(err) == CodeInvalid }

// IsUnauthenticated reports a request AppWheel could not authenticate (1002).
func IsUnauthenticated(err error) bool { return ErrorCode(err) == CodeUnauthenticated }

// IsForbidden reports a request the app may not make (1003).
func IsForbidden(err error) bool { return ErrorCode(err) == CodeForbidden }

// IsNotFound reports a payment method, user or route that does not exist
// for this app (1004).
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// IsLastMethod reports a removal refused because a live subscription needs
// the method (1005); retry with Force to remove it anyway.
func IsLastMethod(err error) bool { return ErrorCode(err) == CodeLastMethod }

// IsConflict reports a request refused because what it would record is
// another's (1008): on LinkCustomer, the customer is linked to another user
// of the app, or the user to another customer.
func IsConflict(err error) bool { return ErrorCode(err) == CodeConflict }

// IsStripeDeclined reports a request Stripe declined or rejected (2001).
func IsStripeDeclined(err error) bool { return ErrorCode(err) == CodeStripe }

// IsRetryable reports a failure that is safe to retry, with the same
// Idempotency-Key for writes: Stripe unavailable, rate limited, internal.
func IsRetryable(err error) bool {
	switch ErrorCode(err) {
	case CodeStripeUnavailable, CodeRateLimited, CodeInternal:
		return true
	}
	return false
}
