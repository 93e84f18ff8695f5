package appwheel

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Error codes of the HTTP contract (docs/api.md). The HTTP layer maps each to a
// status in one place; everything below it speaks only in these codes.
const (
	EINVALID           = 1001 // invalid parameter; the message names it
	EUNAUTHENTICATED   = 1002 // unknown app, bad or expired signature, replay
	EFORBIDDEN         = 1003 // platform mismatch, app disabled, redirect host not allowed
	ENOTFOUND          = 1004 // no such payment method / user / route for this app
	ELASTMETHOD        = 1005 // would remove the last method a live subscription needs
	ERATELIMITED       = 1006 // too many requests
	EIDEMPOTENCY       = 1007 // Idempotency-Key reused with another request, or still in flight
	ECONFLICT          = 1008 // conflict: the object is taken by another (uniqueness)
	ESTRIPE            = 2001 // Stripe declined or rejected the request
	ESTRIPEUNAVAILABLE = 2002 // Stripe unreachable, timed out or failing; safe to retry
	EINTERNAL          = 5000 // internal error; details only in the log
)

// Error is an error a client may see: a contract code and a message a
// developer can act on. Any other error is internal and shown as
// "internal error" only.
type Error struct {
	Code    int
	Message string

	// Stripe carries Stripe's own error details for ESTRIPE and
	// ESTRIPEUNAVAILABLE, so callers can tell a decline from a bad request.
	Stripe *StripeErrorDetail
}

// StripeErrorDetail is what Stripe said about a failed request.
type StripeErrorDetail struct {
	Type        string `json:"type,omitempty"`
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"declineCode,omitempty"`
	Param       string `json:"param,omitempty"`
	RequestID   string `json:"requestId,omitempty"`
	HTTPStatus  int    `json:"httpStatus,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("appwheel error: code=%d message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the contract code of err: its *Error's code, 0 for nil,
// EINTERNAL for anything else.
func ErrorCode(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message a client may see for err: its *Error's
// message, or "internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// maxQuoted bounds how much of a caller's input an error message repeats.
const maxQuoted = 64

// Quote returns s quoted for an error message, shortened to its first 64
// bytes (marked with …) so that a message never repeats a huge input.
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
