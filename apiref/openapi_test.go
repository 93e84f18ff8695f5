package apiref_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/appwheel/appwheel/apiref/apireftest"
	"github.com/appwheel/appwheel/signature"
)

// The document's own consistency: its schemas compile, its error codes are
// the contract's, every operation is described and secured as the server
// answers it, and its worked signatures are right. The http tests hold it to
// the router and to real responses.

func TestOpenAPIDocument(t *testing.T) {
	s := apireftest.Load(t)
	if v, _ := s.Doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	// Every schema, parameter and header schema compiles.
	for name := range s.Obj("/components/schemas") {
		s.Schema(t, apireftest.Ptr("components", "schemas", name))
	}
	for name := range s.Obj("/components/parameters") {
		s.Schema(t, apireftest.Ptr("components", "parameters", name, "schema"))
	}
	for name := range s.Obj("/components/headers") {
		s.Schema(t, apireftest.Ptr("components", "headers", name, "schema"))
	}

	// The error codes are the contract's, with their statuses.
	wantCodes := map[int]int{1001: 400, 1002: 401, 1003: 403, 1004: 404, 1005: 409, 1006: 429, 1007: 409, 1008: 409, 2001: 402, 2002: 502, 5000: 500}
	var codes []int
	for _, c := range s.Get("/components/schemas/ErrorCode/enum").([]any) {
		codes = append(codes, int(c.(float64)))
	}
	if want := slices.Sorted(func(yield func(int) bool) {
		for c := range wantCodes {
			yield(c)
		}
	}); !slices.Equal(codes, want) {
		t.Errorf("ErrorCode enum = %v, want %v", codes, want)
	}
	for _, row := range s.Get("/components/schemas/ErrorCode/x-appwheel-codes").([]any) {
		r := row.(map[string]any)
		code, status := int(r["code"].(float64)), int(r["status"].(float64))
		if wantCodes[code] != status {
			t.Errorf("x-appwheel-codes: %d → HTTP %d, want %d", code, status, wantCodes[code])
		}
	}

	signed := s.Get("/security")
	// Writes must carry a nonce: of the signed requirements, only the one
	// with the nonce, and HTTP Basic, apply to them.
	var signedWrites []any
	for _, req := range signed.([]any) {
		if _, basic := req.(map[string]any)["basicAuth"]; basic {
			signedWrites = append(signedWrites, req)
		} else if _, nonce := req.(map[string]any)["nonce"]; nonce {
			signedWrites = append(signedWrites, req)
		}
	}
	seen := map[string]bool{}
	for _, op := range s.Operations() {
		method, path, _ := strings.Cut(op, " ")
		o := apireftest.Ptr("paths", path, strings.ToLower(method))
		id, _ := s.Obj(o)["operationId"].(string)
		if id == "" || seen[id] {
			t.Errorf("%s: operationId %q missing or not unique", op, id)
		}
		seen[id] = true
		if sum, _ := s.Obj(o)["summary"].(string); sum == "" {
			t.Errorf("%s: no summary", op)
		}
		security, hasSecurity := s.Obj(o)["security"]
		responses := s.Obj(o + "/responses")
		params := map[string]bool{}
		declared, _ := s.Get(o + "/parameters").([]any)
		for i := range declared {
			p := s.Obj(s.Resolve(t, fmt.Sprintf("%s/parameters/%d", o, i)))
			params[p["in"].(string)+":"+p["name"].(string)] = true
			if p["in"] == "path" && !strings.Contains(path, "{"+p["name"].(string)+"}") {
				t.Errorf("%s: path parameter %s is not in the path", op, p["name"])
			}
		}
		for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
			if !params["path:"+m[1]] {
				t.Errorf("%s: path parameter %s is not described", op, m[1])
			}
		}
		if strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/v1/stripe/webhooks/") {
			want := signed
			if method == "POST" || method == "DELETE" {
				want = signedWrites
			}
			if !hasSecurity || fmt.Sprint(security) != fmt.Sprint(want) {
				t.Errorf("%s: security = %v, want the signed requirements %v", op, security, want)
			}
			for _, st := range []string{"200", "400", "401", "402", "403", "413", "429", "500", "502"} {
				if _, ok := responses[st]; !ok {
					t.Errorf("%s: HTTP %s not documented", op, st)
				}
			}
			if method == "POST" || method == "DELETE" {
				if !params["header:Idempotency-Key"] {
					t.Errorf("%s: Idempotency-Key not documented", op)
				}
				if _, ok := responses["409"]; !ok {
					t.Errorf("%s: 409 (1007) not documented", op)
				}
			}
			if _, ok := s.Obj(o)["requestBody"]; ok {
				rb := s.Resolve(t, o+apireftest.Ptr("requestBody", "content", "application/json", "schema"))
				if ap, ok := s.Obj(rb)["additionalProperties"].(bool); !ok || ap {
					t.Errorf("%s: request body schema %s allows unknown fields; the server refuses them", op, rb)
				}
			}
		} else if !hasSecurity || len(security.([]any)) != 0 {
			t.Errorf("%s: security = %v, want [] (no credentials)", op, security)
		}
		for st := range responses {
			if _, ok := s.Obj(s.Resolve(t, o+apireftest.Ptr("responses", st)) + "/headers")["X-Request-Id"]; !ok {
				t.Errorf("%s: HTTP %s does not document X-Request-Id", op, st)
			}
		}
	}
}

// TestOpenAPISigningExamples checks the worked signatures against the
// signature package, so the reference never teaches a wrong one.
func TestOpenAPISigningExamples(t *testing.T) {
	s := apireftest.Load(t)
	examples, _ := s.Get("/components/securitySchemes/signature/x-appwheel-examples").([]any)
	if len(examples) == 0 {
		t.Fatal("no signing examples")
	}
	for _, x := range examples {
		ex := x.(map[string]any)
		str := func(k string) string { v, _ := ex[k].(string); return v }
		ts := int64(ex["timestamp"].(float64))
		sum := sha256.Sum256([]byte(str("body")))
		if got := hex.EncodeToString(sum[:]); got != str("bodySha256") {
			t.Errorf("%s %s: bodySha256 = %s, want %s", str("method"), str("target"), str("bodySha256"), got)
		}
		toSign := fmt.Sprintf("%d\n%s\n%s\n%s", ts, str("method"), str("target"), str("bodySha256"))
		if str("nonce") != "" {
			toSign += "\n" + str("nonce")
		}
		if str("stringToSign") != toSign {
			t.Errorf("%s %s: stringToSign = %q, want %q", str("method"), str("target"), str("stringToSign"), toSign)
		}
		if got := signature.Sign(str("appSecret"), ts, str("method"), str("target"), []byte(str("body")), str("nonce")); got != str("signature") {
			t.Errorf("%s %s: signature = %s, signature.Sign gives %s", str("method"), str("target"), str("signature"), got)
		}
	}
}
