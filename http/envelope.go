package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/appwheel/appwheel"
)

// envelope is every response body, success or failure (docs/api.md, "Envelope").
type envelope struct {
	Code    int    `json:"code"`
	Data    any    `json:"data"`
	Message string `json:"message"`
	// Stripe carries Stripe's error details on 2001 and 2002 responses.
	Stripe *appwheel.StripeErrorDetail `json:"stripe,omitempty"`
}

// statusOf is the one map from contract codes to HTTP statuses.
var statusOf = map[int]int{
	0:                           http.StatusOK,
	appwheel.EINVALID:           http.StatusBadRequest,
	appwheel.EUNAUTHENTICATED:   http.StatusUnauthorized,
	appwheel.EFORBIDDEN:         http.StatusForbidden,
	appwheel.ENOTFOUND:          http.StatusNotFound,
	appwheel.ELASTMETHOD:        http.StatusConflict,
	appwheel.ERATELIMITED:       http.StatusTooManyRequests,
	appwheel.EIDEMPOTENCY:       http.StatusConflict,
	appwheel.ECONFLICT:          http.StatusConflict,
	appwheel.ESTRIPE:            http.StatusPaymentRequired,
	appwheel.ESTRIPEUNAVAILABLE: http.StatusBadGateway,
	appwheel.EINTERNAL:          http.StatusInternalServerError,
}

// httpError is an error the HTTP layer itself answers with a status other
// than its code's usual one (413 for a body too large, 405 for a method not
// allowed).
type httpError struct {
	status int
	err    *appwheel.Error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

// reply is a response ready to write: its status, its envelope code and
// the envelope's bytes.
type reply struct {
	status int
	code   int
	body   []byte
}

// reply turns a handler's result into a response. Internal errors are
// logged with the request id and shown as "internal error".
func (s *Server) reply(r *http.Request, data any, err error) reply {
	env := envelope{Code: 0, Data: data, Message: "success"}
	status := http.StatusOK
	if err != nil {
		env = envelope{Code: appwheel.ErrorCode(err), Message: appwheel.ErrorMessage(err)}
		var e *appwheel.Error
		if errors.As(err, &e) {
			env.Stripe = e.Stripe
		}
		switch {
		case env.Code == appwheel.EINTERNAL && errors.Is(err, context.Canceled):
			s.logger.InfoContext(r.Context(), "request canceled by the client")
		case env.Code == appwheel.EINTERNAL:
			s.logger.ErrorContext(r.Context(), "internal error", slog.String("error", err.Error()))
		}
		var ok bool
		if status, ok = statusOf[env.Code]; !ok {
			status = http.StatusInternalServerError
		}
		var he *httpError
		if errors.As(err, &he) {
			status = he.status
		}
	}
	if raw, ok := data.(json.RawMessage); ok && err == nil {
		// Already encoded (a rendered page, billing/pages.go): spliced in as
		// json.Marshal would write it, without checking its bytes again.
		return reply{status: status, code: 0, body: successBody(raw)}
	}
	body, merr := json.Marshal(env)
	if merr != nil {
		s.logger.ErrorContext(r.Context(), "encoding response", slog.String("error", merr.Error()))
		return reply{status: http.StatusInternalServerError, code: appwheel.EINTERNAL,
			body: []byte(`{"code":5000,"data":null,"message":"internal error"}`)}
	}
	return reply{status: status, code: env.Code, body: body}
}

// successBody is the envelope of a success whose data is already encoded,
// byte for byte what json.Marshal makes of envelope{Data: data, Message:
// "success"}.
func successBody(data json.RawMessage) []byte {
	const head, tail = `{"code":0,"data":`, `,"message":"success"}`
	body := make([]byte, 0, len(head)+len(data)+len(tail))
	return append(append(append(body, head...), data...), tail...)
}

// writeReply writes rep and notes its code for the access log and metrics.
func writeReply(w http.ResponseWriter, r *http.Request, rep reply) {
	if info := infoFrom(r.Context()); info != nil {
		info.code = rep.code
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case rep.code == appwheel.ERATELIMITED && w.Header().Get("Retry-After") == "":
		w.Header().Set("Retry-After", "1")
	case rep.status == http.StatusRequestEntityTooLarge:
		// The rest of the body is not read: the connection cannot be reused.
		w.Header().Set("Connection", "close")
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
	w.Write([]byte{'\n'})
}

// decodeJSON decodes a request body into v (a pointer to a struct),
// refusing unknown fields, wrong types, trailing data and anything that is
// not one JSON object, with a message that names the problem.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return appwheel.Errorf(appwheel.EINVALID, "request body must be a JSON object")
	}
	// encoding/json reads invalid UTF-8 as U+FFFD and lets the last of
	// duplicate keys win: either would have AppWheel act on something other
	// than what was signed and logged.
	if !utf8.Valid(body) {
		return appwheel.Errorf(appwheel.EINVALID, "request body is not valid UTF-8")
	}
	if err := noDuplicateKeys(body); err != nil {
		return err
	}
	// encoding/json matches field names case-insensitively, so "appUserID"
	// would pass for "appUserId": check the names exactly first.
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil {
		known := jsonNames(reflect.TypeOf(v).Elem())
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			if !known[name] {
				return appwheel.Errorf(appwheel.EINVALID, "unknown parameter %s", appwheel.Quote(name))
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return appwheel.Errorf(appwheel.EINVALID, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return appwheel.Errorf(appwheel.EINVALID, "parameter %s must be a %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &typ):
		return appwheel.Errorf(appwheel.EINVALID, "request body must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return appwheel.Errorf(appwheel.EINVALID, "malformed JSON: unexpected end of body")
	}
	return appwheel.Errorf(appwheel.EINVALID, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// noDuplicateKeys refuses a JSON text in which an object names a key twice,
// at any depth. Malformed JSON passes: decoding reports it.
func noDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		keys   map[string]bool // nil for an array
		expect bool            // an object's next token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].keys != nil && stack[top].expect {
			if key, ok := tok.(string); ok {
				if stack[top].keys[key] {
					return appwheel.Errorf(appwheel.EINVALID, "parameter %s is given twice", appwheel.Quote(key))
				}
				stack[top].keys[key] = true
				stack[top].expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		}
		// A value ended: the enclosing object's next token is a key.
		if top = len(stack) - 1; top >= 0 && stack[top].keys != nil {
			stack[top].expect = true
		}
	}
}

// jsonNames returns the JSON names of a struct type's fields.
func jsonNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	return names
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "float64":
		return "number"
	}
	return fmt.Sprint(goKind)
}
