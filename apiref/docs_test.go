package apiref_test

import (
	"bytes"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/appwheel/appwheel/apiref"
	"github.com/appwheel/appwheel/apiref/apireftest"
)

// TestDocsPage renders the reference: every operation, error code, header
// and promised field is on the page, and the page loads nothing.
func TestDocsPage(t *testing.T) {
	s := apireftest.Load(t)
	r := httptest.NewRecorder()
	apiref.DocsHandler().ServeHTTP(r, httptest.NewRequest("GET", "/docs", nil))
	if r.Code != 200 {
		t.Fatalf("GET /docs: HTTP %d", r.Code)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header().Get("Content-Type")); mt != "text/html" {
		t.Errorf("Content-Type = %q, want text/html", r.Header().Get("Content-Type"))
	}
	page := r.Body.String()
	if want, err := apiref.DocsPage(); err != nil || page != string(want) {
		t.Errorf("GET /docs is not DocsPage() (%v)", err)
	}
	for _, op := range s.Operations() {
		method, path, _ := strings.Cut(op, " ")
		if !strings.Contains(page, path) {
			t.Errorf("/docs lacks the path %s", path)
		}
		id := s.Obj(apireftest.Ptr("paths", path, strings.ToLower(method)))["operationId"].(string)
		if !strings.Contains(page, `id="op-`+id+`"`) {
			t.Errorf("/docs lacks a section for %s (%s)", op, id)
		}
	}
	for _, c := range s.Get("/components/schemas/ErrorCode/enum").([]any) {
		if code := strconv.Itoa(int(c.(float64))); !strings.Contains(page, ">"+code+"<") {
			t.Errorf("/docs lacks error code %s", code)
		}
	}
	for _, want := range []string{"X-AppWheel-App-Id", "X-AppWheel-Platform", "X-AppWheel-Timestamp", "X-AppWheel-Signature", "X-AppWheel-Nonce",
		"Idempotency-Key", "X-Request-Id", "Retry-After", "HTTP Basic", "Worked example"} {
		if !strings.Contains(page, want) {
			t.Errorf("/docs lacks %q", want)
		}
	}
	// Every schema field the responses promise is named.
	for _, field := range []string{"checkoutUrl", "clientSecret", "defaultMethodId", "newDefaultMethodId", "originOrderId", "billingCycleAnchor",
		"orderStatus", "productPeriod", "hasMore", "cancelAtPeriodEnd", "eventId", "duplicate"} {
		if !strings.Contains(page, field) {
			t.Errorf("/docs lacks the field %s", field)
		}
	}
	// Self-contained: no scripts, no external assets.
	for _, bad := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("/docs contains %q", bad)
		}
	}
	if strings.ContainsFunc(page, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) {
		t.Error("/docs contains control characters")
	}
}

// TestHandlers checks what the two routes answer besides their bodies: the
// content types, no caching without revalidation, and a page that may load
// nothing but its own inline styles.
func TestHandlers(t *testing.T) {
	page, err := apiref.DocsPage()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		handler http.Handler
		body    []byte
		headers map[string]string
	}{
		{"/openapi.json", apiref.SpecHandler(), apiref.Spec(), map[string]string{
			"Content-Type":  "application/json",
			"Cache-Control": "no-cache",
		}},
		{"/docs", apiref.DocsHandler(), page, map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Cache-Control":           "no-cache",
			"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
			"X-Content-Type-Options":  "nosniff",
		}},
	} {
		r := httptest.NewRecorder()
		c.handler.ServeHTTP(r, httptest.NewRequest("GET", c.name, nil))
		if r.Code != 200 || !bytes.Equal(r.Body.Bytes(), c.body) {
			t.Errorf("GET %s: HTTP %d, %d bytes; want 200 and %d bytes", c.name, r.Code, r.Body.Len(), len(c.body))
		}
		for k, v := range c.headers {
			if got := r.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", c.name, k, got, v)
			}
		}
	}
	// Callers get copies: changing one changes nothing served.
	apiref.Spec()[0] = 'x'
	if apiref.Spec()[0] != '{' {
		t.Error("Spec() shares its bytes")
	}
	page[0] = 'x'
	if again, _ := apiref.DocsPage(); again[0] == 'x' {
		t.Error("DocsPage() shares its bytes")
	}
}
