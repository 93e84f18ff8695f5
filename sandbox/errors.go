package sandbox

import (
	"fmt"
	"net/http"
)

// apiError is an error answered in Stripe's shape:
// {"error":{"type":…,"code":…,"param":…,"message":…}}. Handlers return it;
// the server adds request_log_url and writes it with Status.
type apiError struct {
	Status      int    `json:"-"`
	Type        string `json:"type"`
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Param       string `json:"param,omitempty"`
	Message     string `json:"message"`
	DocURL      string `json:"doc_url,omitempty"`
	// PaymentMethod and SetupIntent are set on card errors of a setup
	// intent, as Stripe does, so a client can show what failed.
	PaymentMethod any    `json:"payment_method,omitempty"`
	SetupIntent   any    `json:"setup_intent,omitempty"`
	PaymentIntent any    `json:"payment_intent,omitempty"`
	RequestLogURL string `json:"request_log_url,omitempty"`
}

func (e *apiError) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s, param %s): %s", e.Type, e.Code, e.Param, e.Message)
	}
	return fmt.Sprintf("%s (%s): %s", e.Type, e.Code, e.Message)
}

// Stripe's error types.
const (
	errInvalidRequest = "invalid_request_error"
	errCard           = "card_error"
	errIdempotency    = "idempotency_error"
	errAPI            = "api_error"
)

func docURL(code string) string {
	if code == "" {
		return ""
	}
	return "https://stripe.com/docs/error-codes/" + kebab(code)
}

func kebab(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

// invalid is a 400 invalid_request_error about param.
func invalid(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: errInvalidRequest, Param: param, Message: fmt.Sprintf(format, args...)}
}

// invalidCode is invalid with a Stripe error code.
func invalidCode(code, param, format string, args ...any) *apiError {
	e := invalid(param, format, args...)
	e.Code, e.DocURL = code, docURL(code)
	return e
}

func unknownParam(param string) *apiError {
	return invalidCode("parameter_unknown", param, "Received unknown parameter: %s", param)
}

func missingParam(param string) *apiError {
	return invalidCode("parameter_missing", param, "Missing required param: %s.", param)
}

// notFound is Stripe's 404 for an object addressed by the URL: param "id".
func notFound(kind, id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: errInvalidRequest, Code: "resource_missing",
		DocURL: docURL("resource_missing"), Param: "id", Message: fmt.Sprintf("No such %s: '%s'", kind, id)}
}

// noSuchParam is Stripe's answer to a parameter naming an object that does
// not exist: resource_missing on that param, with status 400 as Stripe
// answers for references in parameters (404 is for the URL's own object).
func noSuchParam(kind, param, id string) *apiError {
	return invalidCode("resource_missing", param, "No such %s: '%s'", kind, id)
}

// cardError is a 402 card_error, as Stripe answers a declined card.
func cardError(code, declineCode, message, param string) *apiError {
	return &apiError{Status: http.StatusPaymentRequired, Type: errCard, Code: code, DeclineCode: declineCode,
		Param: param, Message: message, DocURL: docURL(code)}
}
