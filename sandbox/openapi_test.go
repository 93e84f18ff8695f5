package sandbox_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/appwheel/appwheel/internal/stripemock"
	"github.com/appwheel/appwheel/sandbox"
)

// The sandbox's objects are held to the object schemas of Stripe's OpenAPI
// spec (the one stripe-mock ships), which Stripe's libraries in other
// languages trust: newEnv validates every answer of the API and every
// webhook delivery with checkAnswers and checkDeliveries. kin-openapi reads
// the spec as the OpenAPI 3.0 it is (nullable, anyOf of an ID or the
// expanded object, $ref).

var stripeSpec struct {
	once    sync.Once
	schemas openapi3.Schemas
	err     error
}

// specSchemas returns components.schemas of the spec, loaded once per test
// binary (it is 8 MB). Without stripe-mock's module it is nil (nothing is
// validated, and tb says so), or tb fails when APPWHEEL_REQUIRE_STRIPE_MOCK
// is set, as in CI: the sandbox's own tests still run.
func specSchemas(tb testing.TB) openapi3.Schemas {
	tb.Helper()
	path, err := stripemock.FindSpec()
	if err != nil {
		if os.Getenv(stripemock.RequireEnv) != "" {
			tb.Fatal(err)
		}
		tb.Logf("not checking objects against Stripe's OpenAPI spec: %v", err)
		return nil
	}
	stripeSpec.once.Do(func() {
		doc, err := loadSchemas(path)
		if err != nil {
			stripeSpec.err = fmt.Errorf("loading %s: %w", path, err)
			return
		}
		// The sandbox claims the spec's version: its objects are checked
		// against this spec, so the two move together.
		if doc.Info == nil || doc.Info.Version != sandbox.APIVersion {
			stripeSpec.err = fmt.Errorf("the spec at %s is of API version %v, the sandbox serves %s: update sandbox.APIVersion with the fields the new version requires", path, doc.Info, sandbox.APIVersion)
			return
		}
		// Stripe's schemas allow any other property; the sandbox's objects
		// must have no field Stripe's do not (a leaked bookkeeping field,
		// a misspelt name).
		for _, s := range doc.Components.Schemas {
			closeObjects(s.Value, map[*openapi3.Schema]bool{})
		}
		stripeSpec.schemas = doc.Components.Schemas
	})
	if stripeSpec.err != nil {
		tb.Fatal(stripeSpec.err)
	}
	return stripeSpec.schemas
}

// closeObjects forbids properties s does not name, in s and the schemas
// it holds.
func closeObjects(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if s.Type.Is("object") && len(s.Properties) > 0 && s.AdditionalProperties.Schema == nil && s.AdditionalProperties.Has == nil {
		no := false
		s.AdditionalProperties.Has = &no
	}
	for _, p := range s.Properties {
		closeObjects(p.Value, seen)
	}
	for _, group := range []openapi3.SchemaRefs{s.AnyOf, s.OneOf, s.AllOf} {
		for _, r := range group {
			closeObjects(r.Value, seen)
		}
	}
	if s.Items != nil {
		closeObjects(s.Items.Value, seen)
	}
}

// loadSchemas loads the spec without its paths, which the validator does
// not use: that makes loading it five times faster (0.2s).
func loadSchemas(path string) (*openapi3.T, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	top["paths"] = json.RawMessage(`{}`)
	if raw, err = json.Marshal(top); err != nil {
		return nil, err
	}
	var doc openapi3.T
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.Components == nil {
		return nil, errors.New("no components")
	}
	return &doc, openapi3.NewLoader().ResolveRefsIn(&doc, nil)
}

// objectProblems validates v, a decoded JSON answer or event of the
// sandbox, against components.schemas[v.object]: each element of a list or
// search result; an event, and its data.object against that object's
// schema; a deleted stub against deleted_<object>; an error (which has no
// object field) against error. It returns one line per problem, naming the
// object type, the JSON pointer from v and what is wrong.
func objectProblems(schemas openapi3.Schemas, v any) []string {
	return problemsAt(schemas, v, "")
}

func problemsAt(schemas openapi3.Schemas, v any, at string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: not a JSON object", pointer(at))}
	}
	typ, _ := m["object"].(string)
	var probs []string
	switch {
	case typ == "" && m["error"] != nil:
		typ = "error"
	case typ == "":
		return []string{fmt.Sprintf("%s: no object field, so no schema to check it against", pointer(at))}
	case typ == "list" || typ == "search_result":
		data, ok := m["data"].([]any)
		if !ok {
			return []string{fmt.Sprintf("%s at %s: data is not an array", typ, pointer(at))}
		}
		for i, el := range data {
			probs = append(probs, problemsAt(schemas, el, fmt.Sprintf("%s/data/%d", at, i))...)
		}
		return probs
	case typ == "event":
		data, _ := m["data"].(map[string]any)
		probs = problemsAt(schemas, data["object"], at+"/data/object")
	case m["deleted"] == true && schemas["deleted_"+typ] != nil:
		typ = "deleted_" + typ
	}
	ref := schemas[typ]
	if ref == nil || ref.Value == nil {
		return append(probs, fmt.Sprintf("%s: the spec has no schema %q", pointer(at), typ))
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		probs = append(probs, schemaProblems(schemas, typ, at, err)...)
	}
	return probs
}

// schemaProblems turns kin-openapi's errors into problem lines.
func schemaProblems(schemas openapi3.Schemas, typ, at string, err error) []string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []string
		for _, e := range me {
			out = append(out, schemaProblems(schemas, typ, at, e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return []string{fmt.Sprintf("%s at %s: %v", typ, pointer(at), err)}
	}
	path := at
	for _, tok := range se.JSONPointer() {
		path += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
	}
	// An object that breaks its schema under an anyOf (of an ID or the
	// expanded object; or of the one schema of a nullable field) only fails
	// the anyOf: say what is wrong with it, against the schema its object
	// field names or the anyOf's only object schema.
	if sub, ok := se.Value.(map[string]any); ok && se.SchemaField == "anyOf" {
		var objects []*openapi3.Schema
		for _, alt := range se.Schema.AnyOf {
			if alt.Value != nil && alt.Value.Type.Is("object") {
				objects = append(objects, alt.Value)
			}
		}
		var probs []string
		switch {
		case sub["object"] != nil:
			probs = problemsAt(schemas, sub, path)
		case len(objects) == 1:
			if err := objects[0].VisitJSON(sub, openapi3.MultiErrors()); err != nil {
				probs = schemaProblems(schemas, typ, path, err)
			}
		}
		if len(probs) > 0 {
			return probs
		}
	}
	return []string{fmt.Sprintf("%s at %s: %s", typ, pointer(path), se.Reason)}
}

func pointer(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// checkJSON validates body, JSON of the sandbox, failing t with what for
// each problem. It may run on any goroutine.
func checkJSON(t *testing.T, schemas openapi3.Schemas, what string, body []byte) {
	if schemas == nil { // no spec here: see specSchemas
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: not JSON: %v: %s", what, err, body)
		return
	}
	for _, p := range objectProblems(schemas, v) {
		t.Errorf("%s: does not match Stripe's OpenAPI spec: %s", what, p)
	}
}

// checkAnswers serves h, validating each JSON answer of the API (/v1/…)
// before it goes out, whoever asked: the env's helpers, stripe-go, the
// adapter.
func checkAnswers(t *testing.T, schemas openapi3.Schemas, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); mt == "application/json" {
			checkJSON(t, schemas, fmt.Sprintf("%s %s → %d", r.Method, r.URL.Path, rec.Code), rec.Body.Bytes())
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// checkedServers holds the URLs of newEnv's servers, which checkAnswers
// validates.
var checkedServers sync.Map

// checkOtherAnswer validates, for do, the answer of a sandbox that a test
// serves itself rather than through newEnv. stripe-mock's answers are not
// the sandbox's: they are left alone.
func checkOtherAnswer(t *testing.T, base string, res *http.Response, body []byte) {
	t.Helper()
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if _, ok := checkedServers.Load(base); ok || res.Header.Get("Stripe-Mock-Version") != "" || mt != "application/json" {
		return
	}
	checkJSON(t, specSchemas(t), fmt.Sprintf("%s %s → %d", res.Request.Method, res.Request.URL.Path, res.StatusCode), body)
}

// checkDeliveries returns a copy of c (nil: the sandbox's default) that
// validates each webhook delivery's event before sending it.
func checkDeliveries(t *testing.T, schemas openapi3.Schemas, c *http.Client) *http.Client {
	cc := http.Client{Timeout: 10 * time.Second}
	if c != nil {
		cc = *c
	}
	next := cc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc.Transport = roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.GetBody == nil {
			t.Errorf("webhook delivery to %s: no GetBody, so its event cannot be validated", r.URL)
		} else if body, err := r.GetBody(); err != nil {
			t.Errorf("webhook delivery to %s: %v", r.URL, err)
		} else {
			b, _ := io.ReadAll(body)
			checkJSON(t, schemas, "webhook delivery to "+r.URL.String(), b)
		}
		return next.RoundTrip(r)
	})
	return &cc
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestObjectProblems proves the validator refuses what breaks the spec.
func TestObjectProblems(t *testing.T) {
	schemas := specSchemas(t)
	if schemas == nil {
		t.Skip("no spec to check against")
	}
	e := newEnv(t)
	const key = "sk_test_openapi"
	cid, _ := e.customerWithCard(t, key, "pm_card_visa")
	sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", e.price(t, key, "pro"),
		"expand[0]", "latest_invoice"))
	in := sub["latest_invoice"].(map[string]any)
	events := e.mustCall(t, 200, key, "GET", "/v1/events", nil)

	// clone deep-copies v, applies edit to the copy and returns it.
	clone := func(v any, edit func(m map[string]any)) any {
		var c map[string]any
		if err := json.Unmarshal(mustMarshal(t, v), &c); err != nil {
			t.Fatal(err)
		}
		edit(c)
		return c
	}
	tests := []struct {
		name string
		v    any
		want string // a problem contains it; "" = valid
	}{
		{"invoice", in, ""},
		{"subscription, invoice expanded", sub, ""},
		{"events", events, ""},
		{"required field missing", clone(in, func(m map[string]any) { delete(m, "payment_settings") }),
			`invoice at /payment_settings: property "payment_settings" is missing`},
		{"wrong type", clone(in, func(m map[string]any) { m["amount_due"] = "999" }), "invoice at /amount_due: value must be an integer"},
		{"null where not nullable", clone(in, func(m map[string]any) { m["currency"] = nil }), "invoice at /currency: Value is not nullable"},
		{"not an enum value", clone(in, func(m map[string]any) { m["status"] = "pending" }), "invoice at /status: value is not one of the allowed values"},
		{"in a nested object", clone(in, func(m map[string]any) { delete(m["automatic_tax"].(map[string]any), "enabled") }),
			`invoice at /automatic_tax/enabled: property "enabled" is missing`},
		{"in a nullable nested object", clone(in, func(m map[string]any) { m["parent"].(map[string]any)["type"] = "quote" }),
			"invoice at /parent/type: value is not one of the allowed values"},
		{"in an expanded object", clone(sub, func(m map[string]any) { delete(m["latest_invoice"].(map[string]any), "issuer") }),
			`invoice at /latest_invoice/issuer: property "issuer" is missing`},
		{"in a list", clone(events, func(m map[string]any) { m["data"].([]any)[0].(map[string]any)["livemode"] = "no" }),
			"event at /data/0/livemode: value must be a boolean"},
		{"in an event's object", clone(events, func(m map[string]any) {
			delete(get(m, "data.0.data.object").(map[string]any), "created")
		}), `at /data/0/data/object/created: property "created" is missing`},
		{"unknown object type", map[string]any{"object": "sandbox_thing"}, `the spec has no schema "sandbox_thing"`},
		{"error", map[string]any{"error": map[string]any{"message": "x"}}, `error at /error/type: property "type" is missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs := objectProblems(schemas, tt.v)
			switch {
			case tt.want == "" && len(probs) > 0:
				t.Errorf("got problems %q, want none", probs)
			case tt.want != "" && !strings.Contains(strings.Join(probs, "\n"), tt.want):
				t.Errorf("got problems %q, want one with %q", probs, tt.want)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
