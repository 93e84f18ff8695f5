package apiref_test

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/appwheel/appwheel/apiref/apireftest"
)

// The contract (docs/api.md) and the reference (openapi.json) say the same:
// the same routes, the same error codes with the same statuses, and the
// same fields in each answer. A change to one that the other does not
// follow fails here.

// contract is docs/api.md, cut into the sections of its operations.
type contract struct {
	text     string
	sections map[string]string // "METHOD /path" → the section's text
}

// routeRef is a route as the contract writes it: `GET /v1/…?query…`.
var routeRef = regexp.MustCompile("`(GET|POST|PUT|PATCH|DELETE) (/[^`?\\s\\[]*)")

func readContract(t *testing.T) *contract {
	t.Helper()
	b, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{text: string(b), sections: map[string]string{}}
	for _, sec := range strings.Split(c.text, "\n### ")[1:] {
		heading, _, _ := strings.Cut(sec, "\n")
		if m := routeRef.FindStringSubmatch(heading); m != nil {
			c.sections[m[1]+" "+m[2]] = sec
		}
	}
	return c
}

func (c *contract) routes() []string {
	var out []string
	for _, m := range routeRef.FindAllStringSubmatch(c.text, -1) {
		if r := m[1] + " " + m[2]; !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

func TestContractDocMatchesOpenAPI(t *testing.T) {
	c := readContract(t)
	s := apireftest.Load(t)

	t.Run("routes", func(t *testing.T) {
		doc, spec := c.routes(), s.Operations()
		for _, r := range spec {
			if !slices.Contains(doc, r) {
				t.Errorf("%s is in openapi.json, not in docs/api.md", r)
			}
		}
		for _, r := range doc {
			if !slices.Contains(spec, r) {
				t.Errorf("%s is in docs/api.md, not in openapi.json", r)
			}
		}
	})

	t.Run("error codes", func(t *testing.T) {
		doc := map[int]int{}
		for _, m := range regexp.MustCompile(`(?m)^\| ([0-9]{4}) \| ([0-9]{3})`).FindAllStringSubmatch(c.text, -1) {
			code, _ := strconv.Atoi(m[1])
			doc[code], _ = strconv.Atoi(m[2])
		}
		spec := map[int]int{}
		for _, row := range s.Get("/components/schemas/ErrorCode/x-appwheel-codes").([]any) {
			r := row.(map[string]any)
			spec[int(r["code"].(float64))] = int(r["status"].(float64))
		}
		for code, status := range spec {
			if doc[code] != status {
				t.Errorf("code %d: HTTP %d in openapi.json, %d in docs/api.md", code, status, doc[code])
			}
		}
		for code := range doc {
			if _, ok := spec[code]; !ok {
				t.Errorf("code %d is in docs/api.md, not in openapi.json", code)
			}
		}
	})

	t.Run("fields", func(t *testing.T) {
		for route, sec := range c.sections {
			method, path, _ := strings.Cut(route, " ")
			op := apireftest.Ptr("paths", path, strings.ToLower(method))
			if s.Obj(op) == nil {
				continue // reported by "routes"
			}
			fields := map[string]bool{} // every field the operation's schemas name
			var top []string            // the ones the contract must name
			for _, schema := range []string{
				op + apireftest.Ptr("responses", "200", "content", "application/json", "schema", "properties", "data"),
				op + apireftest.Ptr("requestBody", "content", "application/json", "schema"),
			} {
				if s.Get(schema) != nil {
					top = append(top, properties(t, s, schema, fields)...)
				}
			}
			for _, f := range top {
				if !strings.Contains(sec, `"`+f+`"`) && !strings.Contains(sec, "`"+f+"`") && !strings.Contains(sec, "| "+f+" |") {
					t.Errorf("%s: field %s is in openapi.json, not in docs/api.md", route, f)
				}
			}
			// The keys the contract shows in an answer or a body exist.
			for _, line := range strings.Split(sec, "\n") {
				if !strings.HasPrefix(line, "`data`") && !strings.HasPrefix(line, "Body") && !strings.HasPrefix(line, "{ \"") && !strings.HasPrefix(line, "| ") {
					continue
				}
				keys := regexp.MustCompile(`"([a-zA-Z]+)"`).FindAllStringSubmatch(line, -1)
				if strings.HasPrefix(line, "| ") { // a table of fields: its first column
					keys = regexp.MustCompile(`^\| ([a-z][a-zA-Z]+) \|`).FindAllStringSubmatch(line, -1)
				}
				for _, k := range keys {
					if k[1] != "field" && !fields[k[1]] {
						t.Errorf("%s: docs/api.md names %q, which openapi.json does not have", route, k[1])
					}
				}
			}
		}
	})
}

// properties returns the property names of the object schema at pointer,
// and those of the objects its array properties hold (an invoice of the
// invoices list), adding them to all. Stripe's own objects (schemas named
// Stripe…) are Stripe's to describe.
func properties(t *testing.T, s *apireftest.Spec, pointer string, all map[string]bool) []string {
	t.Helper()
	pointer = s.Resolve(t, pointer)
	if strings.HasPrefix(pointer, "/components/schemas/Stripe") {
		return nil
	}
	var names []string
	for name := range s.Obj(pointer + "/properties") {
		names = append(names, name)
		all[name] = true
		prop := s.Resolve(t, pointer+apireftest.Ptr("properties", name))
		if s.Get(prop+"/items") != nil {
			names = append(names, properties(t, s, prop+"/items", all)...)
		}
	}
	slices.Sort(names)
	return names
}
