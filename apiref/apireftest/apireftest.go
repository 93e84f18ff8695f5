// Package apireftest loads the API reference's OpenAPI document for tests,
// with a JSON Schema 2020-12 compiler (OpenAPI 3.1's schema dialect) over
// it: the apiref tests check the document itself, the http tests hold it
// to the router and to real responses.
package apireftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/appwheel/appwheel/apiref"
)

// specURL is the document's base URI for the compiler.
const specURL = "https://appwheel.invalid/openapi.json"

// Methods are the path item keys that are operations.
var Methods = []string{"get", "post", "put", "patch", "delete", "head", "options", "trace"}

// Spec is the document under test.
type Spec struct {
	Raw []byte         // the document as apiref.Spec returns it
	Doc map[string]any // Raw decoded

	c        *jsonschema.Compiler
	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema
}

// Load reads apiref's document.
func Load(t testing.TB) *Spec {
	t.Helper()
	raw := apiref.Spec()
	s := &Spec{Raw: raw, compiled: map[string]*jsonschema.Schema{}}
	if err := json.Unmarshal(raw, &s.Doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	s.c = jsonschema.NewCompiler()
	s.c.DefaultDraft(jsonschema.Draft2020)
	s.c.AssertFormat()
	if err := s.c.AddResource(specURL, inst); err != nil {
		t.Fatal(err)
	}
	return s
}

// Schema compiles the schema at a JSON pointer into the document.
func (s *Spec) Schema(t testing.TB, pointer string) *jsonschema.Schema {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.compiled[pointer]; ok {
		return sch
	}
	sch, err := s.c.Compile(specURL + "#" + fragment(pointer))
	if err != nil {
		t.Fatalf("compiling %s: %v", pointer, err)
	}
	s.compiled[pointer] = sch
	return sch
}

// fragment percent-encodes a JSON pointer for a URI fragment.
func fragment(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || c == '~' || c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Ptr joins JSON pointer tokens, escaping each.
func Ptr(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

// Get walks the decoded document along a JSON pointer.
func (s *Spec) Get(pointer string) any {
	var v any = s.Doc
	for _, tok := range strings.Split(pointer, "/")[1:] {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// Obj is the object at a JSON pointer, or nil.
func (s *Spec) Obj(pointer string) map[string]any {
	m, _ := s.Get(pointer).(map[string]any)
	return m
}

// Resolve follows a local $ref: it returns the pointer of the object the
// object at pointer stands for.
func (s *Spec) Resolve(t testing.TB, pointer string) string {
	t.Helper()
	for range 8 {
		ref, ok := s.Obj(pointer)["$ref"].(string)
		if !ok {
			return pointer
		}
		if !strings.HasPrefix(ref, "#/") {
			t.Fatalf("%s: non-local $ref %q", pointer, ref)
		}
		pointer = ref[1:]
	}
	t.Fatalf("%s: $ref loop", pointer)
	return ""
}

// Operations returns the document's operations as "METHOD /path", sorted.
func (s *Spec) Operations() []string {
	var ops []string
	for path, item := range s.Obj("/paths") {
		for method := range item.(map[string]any) {
			if slices.Contains(Methods, method) {
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}
