// Package apiref is AppWheel's API reference: the OpenAPI 3.1 document of
// every route the HTTP server registers (openapi.json), and the HTML page
// rendered from it (docs.html). The http package serves them at
// GET /openapi.json and GET /docs; its tests hold the document to the
// router and to real responses.
package apiref

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// document is the OpenAPI 3.1 description of every route the HTTP server
// registers, served at GET /openapi.json and rendered at GET /docs.
//
//go:embed openapi.json
var document []byte

// Spec returns the OpenAPI document (a copy), as GET /openapi.json serves
// it.
func Spec() []byte { return bytes.Clone(document) }

// SpecHandler serves the OpenAPI document: GET /openapi.json.
func SpecHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(document)
	})
}

// The part of OpenAPI 3.1 the document uses, for rendering /docs. Objects
// whose order matters to a reader (paths, operations, properties) keep the
// document's order.

type oaDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Summary     string `json:"summary"`
		Description string `json:"description"`
	} `json:"info"`
	Tags       []oaTag                             `json:"tags"`
	Security   []ordered[[]string]                 `json:"security"`
	Paths      ordered[map[string]json.RawMessage] `json:"paths"`
	Components struct {
		Schemas         map[string]*oaSchema       `json:"schemas"`
		Parameters      map[string]*oaParameter    `json:"parameters"`
		Headers         map[string]*oaHeader       `json:"headers"`
		Responses       ordered[*oaResponse]       `json:"responses"`
		SecuritySchemes ordered[*oaSecurityScheme] `json:"securitySchemes"`
	} `json:"components"`
}

type oaTag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type oaOperation struct {
	OperationID string               `json:"operationId"`
	Tags        []string             `json:"tags"`
	Summary     string               `json:"summary"`
	Description string               `json:"description"`
	Security    []ordered[[]string]  `json:"security"`
	Parameters  []*oaParameter       `json:"parameters"`
	RequestBody *oaRequestBody       `json:"requestBody"`
	Responses   ordered[*oaResponse] `json:"responses"`
}

type oaParameter struct {
	Ref         string          `json:"$ref"`
	Name        string          `json:"name"`
	In          string          `json:"in"`
	Required    bool            `json:"required"`
	Description string          `json:"description"`
	Schema      *oaSchema       `json:"schema"`
	Example     json.RawMessage `json:"example"`
}

type oaRequestBody struct {
	Required    bool                  `json:"required"`
	Description string                `json:"description"`
	Content     ordered[*oaMediaType] `json:"content"`
}

type oaMediaType struct {
	Schema  *oaSchema       `json:"schema"`
	Example json.RawMessage `json:"example"`
}

type oaResponse struct {
	Ref         string                `json:"$ref"`
	Description string                `json:"description"`
	Headers     ordered[*oaHeader]    `json:"headers"`
	Content     ordered[*oaMediaType] `json:"content"`
}

type oaHeader struct {
	Ref         string    `json:"$ref"`
	Description string    `json:"description"`
	Required    bool      `json:"required"`
	Schema      *oaSchema `json:"schema"`
}

type oaSecurityScheme struct {
	Type        string             `json:"type"`
	Scheme      string             `json:"scheme"`
	In          string             `json:"in"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Examples    []oaSigningExample `json:"x-appwheel-examples"`
}

// oaSigningExample is a worked request signature, checked by the tests
// against the signature package.
type oaSigningExample struct {
	AppID        string `json:"appId"`
	AppSecret    string `json:"appSecret"`
	Timestamp    int64  `json:"timestamp"`
	Method       string `json:"method"`
	Target       string `json:"target"`
	Body         string `json:"body"`
	Nonce        string `json:"nonce"`
	BodySHA256   string `json:"bodySha256"`
	StringToSign string `json:"stringToSign"`
	Signature    string `json:"signature"`
}

type oaSchema struct {
	Ref                  string             `json:"$ref"`
	Type                 oaTypes            `json:"type"`
	Description          string             `json:"description"`
	Properties           ordered[*oaSchema] `json:"properties"`
	Required             []string           `json:"required"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"`
	Items                *oaSchema          `json:"items"`
	AllOf                []*oaSchema        `json:"allOf"`
	Enum                 []json.RawMessage  `json:"enum"`
	Const                json.RawMessage    `json:"const"`
	Pattern              string             `json:"pattern"`
	Format               string             `json:"format"`
	Minimum              *float64           `json:"minimum"`
	Maximum              *float64           `json:"maximum"`
	MinLength            *int               `json:"minLength"`
	MaxLength            *int               `json:"maxLength"`
	Default              json.RawMessage    `json:"default"`
	Codes                []oaErrorCode      `json:"x-appwheel-codes"`
}

type oaErrorCode struct {
	Code    int    `json:"code"`
	Name    string `json:"name"`
	Status  int    `json:"status"`
	Meaning string `json:"meaning"`
}

// oaTypes is a schema's type: one name or a list of names.
type oaTypes []string

func (t *oaTypes) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*t = oaTypes{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("type must be a string or an array of strings: %w", err)
	}
	*t = many
	return nil
}

// ordered is a JSON object that keeps its keys' order.
type ordered[T any] struct {
	Keys   []string
	Values map[string]T
}

func (o *ordered[T]) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("want a JSON object")
	}
	o.Keys, o.Values = nil, map[string]T{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var v T
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if _, dup := o.Values[key]; dup {
			return fmt.Errorf("duplicate key %q", key)
		}
		o.Keys = append(o.Keys, key)
		o.Values[key] = v
	}
	_, err := dec.Token()
	return err
}

// first returns the first key and its value; ok is false for an empty
// object.
func (o *ordered[T]) first() (key string, v T, ok bool) {
	if len(o.Keys) == 0 {
		return "", v, false
	}
	return o.Keys[0], o.Values[o.Keys[0]], true
}

// operationMethods are the path item keys that are operations, in the
// order the reference lists them.
var operationMethods = []string{"get", "post", "put", "patch", "delete", "head", "options", "trace"}

// parseOpenAPI reads the document, refusing what /docs could not render.
func parseOpenAPI(b []byte) (*oaDoc, error) {
	var doc oaDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		return nil, fmt.Errorf("openapi.json: openapi is %q, want 3.1.x", doc.OpenAPI)
	}
	return &doc, nil
}

// operation returns the operation at method (lower case) on path, or nil.
func (d *oaDoc) operation(path, method string) (*oaOperation, error) {
	raw, ok := d.Paths.Values[path][method]
	if !ok {
		return nil, nil
	}
	var op oaOperation
	if err := json.Unmarshal(raw, &op); err != nil {
		return nil, fmt.Errorf("openapi.json: %s %s: %w", strings.ToUpper(method), path, err)
	}
	return &op, nil
}

// refName returns the last segment of a local reference
// ("#/components/schemas/Order" → "Order"), checking its kind.
func refName(ref, kind string) (string, error) {
	name, ok := strings.CutPrefix(ref, "#/components/"+kind+"/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("openapi.json: unsupported reference %q (want #/components/%s/NAME)", ref, kind)
	}
	return name, nil
}

func (d *oaDoc) schema(s *oaSchema) (*oaSchema, string, error) {
	if s == nil || s.Ref == "" {
		return s, "", nil
	}
	name, err := refName(s.Ref, "schemas")
	if err != nil {
		return nil, "", err
	}
	target, ok := d.Components.Schemas[name]
	if !ok {
		return nil, "", fmt.Errorf("openapi.json: no schema %q", name)
	}
	if s.Description != "" {
		// A reference's own description overrides the target's (3.1).
		cp := *target
		cp.Description = s.Description
		target = &cp
	}
	return target, name, nil
}

func (d *oaDoc) parameter(p *oaParameter) (*oaParameter, error) {
	if p.Ref == "" {
		return p, nil
	}
	name, err := refName(p.Ref, "parameters")
	if err != nil {
		return nil, err
	}
	target, ok := d.Components.Parameters[name]
	if !ok {
		return nil, fmt.Errorf("openapi.json: no parameter %q", name)
	}
	return target, nil
}

func (d *oaDoc) header(h *oaHeader) (*oaHeader, error) {
	if h.Ref == "" {
		return h, nil
	}
	name, err := refName(h.Ref, "headers")
	if err != nil {
		return nil, err
	}
	target, ok := d.Components.Headers[name]
	if !ok {
		return nil, fmt.Errorf("openapi.json: no header %q", name)
	}
	return target, nil
}

// response resolves a response reference; the reference's own description,
// when given, overrides the target's.
func (d *oaDoc) response(r *oaResponse) (*oaResponse, string, error) {
	if r.Ref == "" {
		return r, "", nil
	}
	name, err := refName(r.Ref, "responses")
	if err != nil {
		return nil, "", err
	}
	target, ok := d.Components.Responses.Values[name]
	if !ok {
		return nil, "", fmt.Errorf("openapi.json: no response %q", name)
	}
	if r.Description != "" {
		cp := *target
		cp.Description = r.Description
		target = &cp
	}
	return target, name, nil
}
