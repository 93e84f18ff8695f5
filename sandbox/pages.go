package sandbox

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

// The sandbox's HTML pages (checkout, invoices, messages) are plain HTML
// and CSS from embedded templates, with no external assets, and each one
// says in a banner that it is a sandbox for development and tests only.

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// writePage renders template name with data and status.
func (s *Sandbox) writePage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("sandbox: rendering a page failed", "template", name, "error", err)
		http.Error(w, "sandbox: rendering the page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeMessage is a page that only says something.
func (s *Sandbox) writeMessage(w http.ResponseWriter, status int, title, text string) {
	s.writePage(w, status, "message", struct{ Title, Text string }{title, text})
}

// indexPage is GET /: what this is.
func (s *Sandbox) indexPage(w http.ResponseWriter, r *http.Request) {
	s.writeMessage(w, http.StatusOK, "AppWheel Stripe sandbox",
		"A stateful emulation of the Stripe API subset AppWheel uses, for `appwheel dev` and end-to-end tests. "+
			"The API is at /v1/ (use a sk_test_… key), checkout pages at /checkout/{id}, invoices at /invoices/{id}, "+
			"and the test clock at POST /_sandbox/advance (days=N).")
}

// findAccount returns the hash of the account holding the object id of a
// page URL, which carries no key: the unguessable ID is the capability, as
// for Stripe's hosted pages.
func (s *Sandbox) findAccount(has func(a *account) bool) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, a := range s.accounts {
		if has(a) {
			return h, true
		}
	}
	return "", false
}
