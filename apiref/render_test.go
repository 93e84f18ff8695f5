package apiref

import (
	"strings"
	"testing"
)

// A request body or response with several content types is described by
// its first, in the document's order; the others are not read.
func TestFirstContentTypeDescribes(t *testing.T) {
	const spec = `{
  "openapi": "3.1.0",
  "info": {"title": "T", "version": "1"},
  "paths": {
    "/x": {
      "post": {
        "operationId": "makeX",
        "requestBody": {"content": {
          "application/json": {"schema": {"type": "object", "properties": {"first": {"type": "string"}}, "additionalProperties": false}, "example": {"first": "a"}},
          "text/plain": {"schema": {"type": "object", "properties": {"second": {"type": "string"}}}, "example": "b"}
        }},
        "responses": {
          "200": {"description": "ok", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
              "code": {"const": 0}, "message": {"type": "string"},
              "data": {"type": "object", "properties": {"one": {"type": "string"}}, "additionalProperties": false}}}},
            "text/plain": {"schema": {"type": "object", "properties": {
              "code": {"const": 0}, "message": {"type": "string"},
              "data": {"type": "object", "properties": {"two": {"type": "string"}}}}}}
          }},
          "400": {"description": "bad", "content": {
            "application/json": {"schema": {"allOf": [{"properties": {"code": {"const": 1001}}}]}},
            "text/plain": {"schema": {"allOf": [{"properties": {"code": {"const": 5000}}}]}}
          }},
          "204": {"description": "nothing"}
        }
      }
    }
  },
  "components": {"schemas": {"ErrorCode": {"x-appwheel-codes": [{"code": 1001, "name": "EINVALID", "status": 400, "meaning": "m"}]}}}
}`
	doc, err := parseOpenAPI([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newDocsPage(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) != 1 || len(p.Groups[0].Operations) != 1 {
		t.Fatalf("groups = %+v", p.Groups)
	}
	op := p.Groups[0].Operations[0]
	if b := op.Body; b == nil || b.ContentType != "application/json" || b.Example != `{"first": "a"}` || names(b.Fields) != "first" {
		t.Errorf("body = %+v, want the application/json one", b)
	}
	if len(op.Responses) != 2 {
		t.Fatalf("responses = %+v", op.Responses)
	}
	if r := op.Responses[0]; r.Status != "200" || r.ContentType != "application/json" || names(r.Fields) != "data.one" {
		t.Errorf("200 = %+v, want the application/json one", r)
	}
	if r := op.Responses[1]; r.Status != "204" || r.ContentType != "" || r.Fields != nil || r.Codes != "" {
		t.Errorf("204 = %+v, want no content", r)
	}
	if len(op.Errors) != 1 || op.Errors[0].ContentType != "application/json" || op.Errors[0].Codes != "1001" {
		t.Errorf("errors = %+v, want 400 with the application/json one's code", op.Errors)
	}
	if _, err := renderDocs([]byte(spec)); err != nil {
		t.Fatal(err)
	}
}

func names(fields []docsField) string {
	var n []string
	for _, f := range fields {
		n = append(n, f.Name)
	}
	return strings.Join(n, ",")
}
