package portal

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// The page is server-rendered HTML and one stylesheet, with no script and
// no external asset but the app's logo. Its Content-Security-Policy allows
// exactly that: styles from the page's own stylesheet and one nonce'd
// style element (the app's accent colour), images from itself and the
// logo's origin, forms posted to itself (and, for adding a card, to
// Checkout, where the post is redirected), and frames of the page only in
// the origins the app allows.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/portal.css
var css []byte

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// stripeCheckoutOrigin is where Stripe's Checkout pages are.
const stripeCheckoutOrigin = "https://checkout.stripe.com"

// rendered is a template's data with the nonce of its style element.
type rendered struct {
	Nonce string
	Page  any
}

// writePage renders template name for v's app with data.
func (s *Service) writePage(w http.ResponseWriter, r *http.Request, v *visit, status int, name string, data any) {
	var nonce [16]byte
	rand.Read(nonce[:])
	n := base64.RawURLEncoding.EncodeToString(nonce[:]) // no + or /, which HTML would escape
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, rendered{Nonce: n, Page: data}); err != nil {
		s.log.ErrorContext(r.Context(), "portal: rendering a page failed", "template", name, "error", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.policy(v, n))
	if v == nil || v.app == nil || len(v.app.Branding.FrameAncestors) == 0 {
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Cache-Control", "no-store")
	// The page's URL carries the visit's token: it is never sent on.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// policy is the Content-Security-Policy of a page of v with style nonce n.
func (s *Service) policy(v *visit, n string) string {
	img, forms, frames := []string{"'self'"}, []string{"'self'", stripeCheckoutOrigin}, []string{"'none'"}
	if v != nil && v.app != nil {
		if o := origin(v.app.Branding.LogoURL); o != "" {
			img = append(img, o)
		}
		if o := origin(v.app.Stripe.APIBase); o != "" { // the sandbox, which hosts its Checkout
			forms = append(forms, o)
		}
		if fa := v.app.Branding.FrameAncestors; len(fa) > 0 {
			frames = fa
		}
	}
	return "default-src 'none'; style-src 'self' 'nonce-" + n + "'; img-src " + strings.Join(img, " ") +
		"; form-action " + strings.Join(forms, " ") + "; frame-ancestors " + strings.Join(frames, " ") +
		"; base-uri 'none'"
}

// origin is an absolute URL's scheme://host[:port], or "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// errorPage is a friendly error: a heading and a sentence, and the way
// back to the app when the visit is known.
type errorPage struct {
	basePage
	Heading, Text string
}

// writeError answers the error page of catalog key (its heading; key.text
// says more) with status.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, v *visit, status int, key string) {
	p := &errorPage{basePage: basePage{Lang: v.locale.name, Title: "AppWheel", loc: v.locale}}
	if v.app != nil {
		p.basePage = s.basePage(v).basePage
	}
	p.Heading, p.Text = p.T(key), p.T(key+".text")
	s.writePage(w, r, v, status, "error", p)
}

// serveCSS serves the page's stylesheet.
func serveCSS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(css)
}
