package apiref

import (
	"bytes"
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// docsTemplate renders the reference page at GET /docs from the OpenAPI
// document: inline CSS, no scripts, no external assets.
//
//go:embed docs.html
var docsTemplate string

// renderedDocs parses the document and renders the page once per process,
// when first asked; the embedded document and template never change after.
var renderedDocs = sync.OnceValues(func() ([]byte, error) { return renderDocs(document) })

// DocsPage returns the reference page (a copy), as GET /docs serves it.
func DocsPage() ([]byte, error) {
	page, err := renderedDocs()
	return bytes.Clone(page), err
}

// DocsHandler serves the reference page: GET /docs. It renders the page
// now, so a document the page cannot render stops the server at start-up
// (the tests render it first).
func DocsHandler() http.Handler {
	page, err := renderedDocs()
	if err != nil {
		panic("apiref: rendering /docs: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		// The page needs nothing but its own inline styles.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(page)
	})
}

// renderDocs renders the reference page from an OpenAPI document.
func renderDocs(spec []byte) ([]byte, error) {
	doc, err := parseOpenAPI(spec)
	if err != nil {
		return nil, err
	}
	page, err := newDocsPage(doc)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("docs").Parse(docsTemplate)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// The page's view of the document.

type docsPage struct {
	Title, Version, Summary string
	Description             template.HTML
	Schemes                 []docsScheme
	Requirements            []string // the accepted ways to authenticate a /v1 request
	Examples                []docsExample
	Codes                   []oaErrorCode
	Common                  []docsResponse
	Groups                  []docsGroup
}

type docsScheme struct {
	Key, Header, Kind string
	Description       template.HTML
}

type docsExample struct {
	oaSigningExample
	Headers []docsHeaderValue
	Curl    string
}

type docsHeaderValue struct{ Name, Value string }

type docsGroup struct {
	Name, Anchor string
	Description  template.HTML
	Operations   []docsOperation
}

type docsOperation struct {
	ID, Method, Path, Summary string
	Description               template.HTML
	Auth                      []string // empty: no credentials
	AuthDefault               bool     // Auth is the document's default: a signed request or HTTP Basic
	Parameters                []docsField
	Body                      *docsBody
	Responses                 []docsResponse // 2xx and 3xx
	Errors                    []docsResponse // 4xx and 5xx
}

type docsBody struct {
	ContentType, Schema, Example string
	Description                  template.HTML
	Fields                       []docsField
}

type docsResponse struct {
	Status, Name, ContentType, Schema, Codes string
	Description                              template.HTML
	Headers                                  []docsField
	Fields                                   []docsField
}

type docsField struct {
	Name, In, Type, Constraints string
	Required                    bool
	Description                 template.HTML
}

func newDocsPage(doc *oaDoc) (*docsPage, error) {
	p := &docsPage{
		Title:       doc.Info.Title,
		Version:     doc.Info.Version,
		Summary:     doc.Info.Summary,
		Description: prose(doc.Info.Description),
	}
	schemes := doc.Components.SecuritySchemes
	for _, key := range schemes.Keys {
		sc := schemes.Values[key]
		ds := docsScheme{Key: key, Header: sc.Name, Kind: sc.Type, Description: prose(sc.Description)}
		if sc.Type == "http" {
			ds.Header, ds.Kind = "Authorization", "http "+sc.Scheme
		}
		p.Schemes = append(p.Schemes, ds)
		for _, ex := range sc.Examples {
			p.Examples = append(p.Examples, newDocsExample(ex))
		}
	}
	code, ok := doc.Components.Schemas["ErrorCode"]
	if !ok || len(code.Codes) == 0 {
		return nil, fmt.Errorf("openapi.json: components.schemas.ErrorCode lacks x-appwheel-codes")
	}
	p.Codes = code.Codes

	for _, name := range doc.Components.Responses.Keys {
		r, err := newDocsResponse(doc, "", doc.Components.Responses.Values[name])
		if err != nil {
			return nil, fmt.Errorf("components.responses.%s: %w", name, err)
		}
		r.Name = name
		p.Common = append(p.Common, r)
	}

	for _, req := range doc.Security {
		p.Requirements = append(p.Requirements, requirementText(doc, req.Keys))
	}

	groups := map[string]*docsGroup{}
	var order []string
	for _, t := range doc.Tags {
		groups[t.Name] = &docsGroup{Name: t.Name, Anchor: "tag-" + slug(t.Name), Description: prose(t.Description)}
		order = append(order, t.Name)
	}
	for _, path := range doc.Paths.Keys {
		for _, method := range operationMethods {
			op, err := doc.operation(path, method)
			if err != nil {
				return nil, err
			}
			if op == nil {
				continue
			}
			dop, err := newDocsOperation(doc, path, method, op)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(method), path, err)
			}
			dop.AuthDefault = len(dop.Auth) > 0 && slices.Equal(dop.Auth, p.Requirements)
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g, ok := groups[tag]
			if !ok {
				g = &docsGroup{Name: tag, Anchor: "tag-" + slug(tag)}
				groups[tag] = g
				order = append(order, tag)
			}
			g.Operations = append(g.Operations, dop)
		}
		for key := range doc.Paths.Values[path] {
			if !slices.Contains(operationMethods, key) {
				return nil, fmt.Errorf("openapi.json: %s: path item key %q is not rendered", path, key)
			}
		}
	}
	for _, name := range order {
		if g := groups[name]; len(g.Operations) > 0 {
			p.Groups = append(p.Groups, *g)
		}
	}
	return p, nil
}

func requirementText(doc *oaDoc, schemes []string) string {
	var parts []string
	for _, key := range schemes {
		sc, ok := doc.Components.SecuritySchemes.Values[key]
		switch {
		case !ok:
			parts = append(parts, key)
		case sc.Type == "http" && sc.Scheme != "":
			parts = append(parts, "HTTP "+strings.ToUpper(sc.Scheme[:1])+sc.Scheme[1:]+" (Authorization)")
		default:
			parts = append(parts, sc.Name)
		}
	}
	return strings.Join(parts, " + ")
}

func newDocsExample(ex oaSigningExample) docsExample {
	d := docsExample{oaSigningExample: ex}
	d.Headers = []docsHeaderValue{
		{"X-AppWheel-App-Id", ex.AppID},
		{"X-AppWheel-Platform", "stripe"},
		{"X-AppWheel-Timestamp", strconv.FormatInt(ex.Timestamp, 10)},
	}
	if ex.Nonce != "" {
		d.Headers = append(d.Headers, docsHeaderValue{"X-AppWheel-Nonce", ex.Nonce})
	}
	d.Headers = append(d.Headers, docsHeaderValue{"X-AppWheel-Signature", ex.Signature})
	var curl strings.Builder
	fmt.Fprintf(&curl, "curl -s -X %s", ex.Method)
	for _, h := range d.Headers {
		fmt.Fprintf(&curl, " \\\n  -H '%s: %s'", h.Name, h.Value)
	}
	if ex.Body != "" {
		fmt.Fprintf(&curl, " \\\n  -H 'Content-Type: application/json' \\\n  --data-raw '%s'", ex.Body)
	}
	fmt.Fprintf(&curl, " \\\n  'http://127.0.0.1:8080%s'", ex.Target)
	d.Curl = curl.String()
	return d
}

func newDocsOperation(doc *oaDoc, path, method string, op *oaOperation) (docsOperation, error) {
	d := docsOperation{
		ID:          op.OperationID,
		Method:      strings.ToUpper(method),
		Path:        path,
		Summary:     op.Summary,
		Description: prose(op.Description),
	}
	if d.ID == "" {
		d.ID = slug(d.Method + " " + path)
	}
	for _, req := range op.Security {
		for _, key := range req.Keys {
			if _, ok := doc.Components.SecuritySchemes.Values[key]; !ok {
				return d, fmt.Errorf("security names an unknown scheme %q", key)
			}
		}
		d.Auth = append(d.Auth, requirementText(doc, req.Keys))
	}
	for _, pr := range op.Parameters {
		param, err := doc.parameter(pr)
		if err != nil {
			return d, err
		}
		s, _, err := doc.schema(param.Schema)
		if err != nil {
			return d, err
		}
		t, err := typeText(doc, param.Schema)
		if err != nil {
			return d, err
		}
		d.Parameters = append(d.Parameters, docsField{
			Name: param.Name, In: param.In, Type: t, Constraints: constraints(s),
			Required: param.Required, Description: prose(param.Description),
		})
	}
	if rb := op.RequestBody; rb != nil {
		// The page describes a body by its first content type.
		if ct, mt, ok := rb.Content.first(); ok {
			b := &docsBody{ContentType: ct, Description: prose(rb.Description)}
			s, name, err := doc.schema(mt.Schema)
			if err != nil {
				return d, err
			}
			b.Schema = name
			if b.Fields, err = fieldsOf(doc, "", s, 0); err != nil {
				return d, err
			}
			if len(mt.Example) > 0 {
				b.Example = string(mt.Example)
			}
			d.Body = b
		}
	}
	for _, status := range op.Responses.Keys {
		r, err := newDocsResponse(doc, status, op.Responses.Values[status])
		if err != nil {
			return d, fmt.Errorf("response %s: %w", status, err)
		}
		if status >= "400" {
			d.Errors = append(d.Errors, r)
		} else {
			d.Responses = append(d.Responses, r)
		}
	}
	return d, nil
}

// newDocsResponse describes a response: its headers, and for an envelope
// its data's fields or its error codes.
func newDocsResponse(doc *oaDoc, status string, ref *oaResponse) (docsResponse, error) {
	r, name, err := doc.response(ref)
	if err != nil {
		return docsResponse{}, err
	}
	d := docsResponse{Status: status, Name: name, Description: prose(r.Description)}
	for _, hname := range r.Headers.Keys {
		h, err := doc.header(r.Headers.Values[hname])
		if err != nil {
			return d, err
		}
		s, _, err := doc.schema(h.Schema)
		if err != nil {
			return d, err
		}
		t, err := typeText(doc, h.Schema)
		if err != nil {
			return d, err
		}
		d.Headers = append(d.Headers, docsField{Name: hname, Type: t, Constraints: constraints(s), Required: h.Required, Description: prose(h.Description)})
	}
	// The page describes a response by its first content type.
	ct, mt, ok := r.Content.first()
	if !ok {
		return d, nil
	}
	d.ContentType = ct
	s := mt.Schema
	if status == "" || status >= "400" || len(s.AllOf) > 0 {
		codes, err := errorCodes(doc, s)
		if err != nil {
			return d, err
		}
		d.Codes = codes
		return d, nil
	}
	if data, ok := s.Properties.Values["data"]; ok && len(s.Properties.Values) == 3 {
		ds, dname, err := doc.schema(data)
		if err != nil {
			return d, err
		}
		d.Schema = dname
		if d.Fields, err = fieldsOf(doc, "data.", ds, 0); err != nil {
			return d, err
		}
	}
	return d, nil
}

// errorCodes reads the codes an error response's schema allows: allOf
// [ErrorEnvelope, {properties: {code: const|enum}}].
func errorCodes(doc *oaDoc, s *oaSchema) (string, error) {
	for _, part := range s.AllOf {
		c, ok := part.Properties.Values["code"]
		if !ok {
			continue
		}
		if len(c.Const) > 0 {
			return string(c.Const), nil
		}
		var codes []string
		for _, e := range c.Enum {
			codes = append(codes, string(e))
		}
		return strings.Join(codes, ", "), nil
	}
	return "", fmt.Errorf("error response schema does not narrow code")
}

// fieldsOf lists an object schema's fields, nested objects and arrays of
// objects as dotted names, three levels deep.
func fieldsOf(doc *oaDoc, prefix string, s *oaSchema, depth int) ([]docsField, error) {
	if s == nil || depth > 3 {
		return nil, nil
	}
	var out []docsField
	for _, name := range s.Properties.Keys {
		prop := s.Properties.Values[name]
		rs, _, err := doc.schema(prop)
		if err != nil {
			return nil, err
		}
		t, err := typeText(doc, prop)
		if err != nil {
			return nil, err
		}
		desc := prop.Description
		if desc == "" {
			desc = rs.Description
		}
		out = append(out, docsField{
			Name: prefix + name, Type: t, Constraints: constraints(rs),
			Required: slices.Contains(s.Required, name), Description: prose(desc),
		})
		nested, nestedPrefix := rs, prefix+name+"."
		if rs.Items != nil {
			if nested, _, err = doc.schema(rs.Items); err != nil {
				return nil, err
			}
			nestedPrefix = prefix + name + "[]."
		}
		if len(nested.Properties.Keys) > 0 {
			more, err := fieldsOf(doc, nestedPrefix, nested, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	if len(s.Properties.Keys) > 0 && string(s.AdditionalProperties) != "false" {
		out = append(out, docsField{Name: prefix + "…", Type: "any", Description: "Other fields, passed on as Stripe sends them."})
	}
	return out, nil
}

// typeText names a schema's type for a reader.
func typeText(doc *oaDoc, s *oaSchema) (string, error) {
	if s == nil {
		return "", nil
	}
	rs, name, err := doc.schema(s)
	if err != nil {
		return "", err
	}
	switch {
	case len(rs.Const) > 0:
		return "const " + string(rs.Const), nil
	case rs.Items != nil:
		it, err := typeText(doc, rs.Items)
		if err != nil {
			return "", err
		}
		return "array of " + it, nil
	case name != "" && slices.Contains(rs.Type, "object"):
		return name, nil
	case len(rs.Type) > 0:
		return strings.Join(rs.Type, " | "), nil
	}
	return "any", nil
}

// constraints summarizes a schema's validation keywords.
func constraints(s *oaSchema) string {
	if s == nil {
		return ""
	}
	var c []string
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = string(e)
		}
		c = append(c, "one of "+strings.Join(vals, ", "))
	}
	switch {
	case s.MinLength != nil && s.MaxLength != nil:
		c = append(c, fmt.Sprintf("%d–%d characters", *s.MinLength, *s.MaxLength))
	case s.MinLength != nil:
		c = append(c, fmt.Sprintf("at least %d characters", *s.MinLength))
	case s.MaxLength != nil:
		c = append(c, fmt.Sprintf("at most %d characters", *s.MaxLength))
	}
	switch {
	case s.Minimum != nil && s.Maximum != nil:
		c = append(c, fmt.Sprintf("%g–%g", *s.Minimum, *s.Maximum))
	case s.Minimum != nil:
		c = append(c, fmt.Sprintf("≥ %g", *s.Minimum))
	case s.Maximum != nil:
		c = append(c, fmt.Sprintf("≤ %g", *s.Maximum))
	}
	if s.Pattern != "" {
		c = append(c, "pattern "+visible(s.Pattern))
	}
	if s.Format != "" {
		c = append(c, "format "+s.Format)
	}
	if len(s.Default) > 0 {
		c = append(c, "default "+string(s.Default))
	}
	return strings.Join(c, "; ")
}

// visible writes control characters as \uXXXX.
func visible(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// prose renders a description: paragraphs at blank lines, `code` spans,
// everything else escaped.
func prose(s string) template.HTML {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if para = strings.TrimSpace(para); para == "" {
			continue
		}
		esc := html.EscapeString(para)
		esc = codeSpan.ReplaceAllString(esc, "<code>$1</code>")
		esc = strings.ReplaceAll(esc, "\n", "<br>")
		b.WriteString("<p>" + esc + "</p>")
	}
	return template.HTML(b.String())
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
