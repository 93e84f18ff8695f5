package portal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// visit is one request of a visit: the app and user its token names, and
// the page's language.
type visit struct {
	claims
	app    *appwheel.App
	locale *locale
	token  string // the renewed visit token the page's URLs carry
}

// handleOpen opens a session link: it starts a visit and sends the browser
// to the page, whose URL carries the visit's token instead of the link's.
func (s *Service) handleOpen(w http.ResponseWriter, r *http.Request) {
	c, ok := s.open(openToken, r.PathValue("token"))
	v, ok := s.start(w, r, c, ok)
	if !ok {
		return
	}
	c = s.newVisit(v.claims)
	http.Redirect(w, r, s.pageURL(s.renew(c), nil), http.StatusSeeOther)
}

// visitOf checks the request's visit token and loads its app; on failure
// it has answered with the error page.
func (s *Service) visitOf(w http.ResponseWriter, r *http.Request) (*visit, bool) {
	c, ok := s.open(visitToken, r.PathValue("token"))
	v, ok := s.start(w, r, c, ok)
	if !ok {
		return nil, false
	}
	v.token = s.renew(c)
	return v, true
}

// start loads the app a valid token names; an invalid token, or an app
// gone or disabled, is the friendly "link no longer valid" page.
func (s *Service) start(w http.ResponseWriter, r *http.Request, c claims, valid bool) (*visit, bool) {
	v := &visit{claims: c, locale: pickLocale(c.Locale, r.Header.Get("Accept-Language"))}
	if !valid {
		s.writeError(w, r, v, http.StatusNotFound, "error.link")
		return nil, false
	}
	app, err := s.apps.App(r.Context(), c.App)
	if err == nil && app.Disabled {
		err = appwheel.Errorf(appwheel.ENOTFOUND, "app disabled")
	}
	switch {
	case appwheel.ErrorCode(err) == appwheel.ENOTFOUND:
		s.writeError(w, r, v, http.StatusNotFound, "error.link")
		return nil, false
	case err != nil:
		s.log.ErrorContext(r.Context(), "portal: loading the app failed", "app_id", c.App, "error", err)
		s.writeError(w, r, v, http.StatusInternalServerError, "error.internal")
		return nil, false
	}
	v.app = app
	return v, true
}

// pageURL is the page's URL for a visit token, with query q.
func (s *Service) pageURL(token string, q url.Values) string {
	u := s.baseURL + "/portal/v/" + token
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// handlePage is the page: the user's cards, subscriptions and invoices.
func (s *Service) handlePage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.visitOf(w, r)
	if !ok {
		return
	}
	p, err := s.loadPage(r.Context(), v, r.URL.Query().Get("after"))
	if err != nil {
		s.failed(w, r, v, err)
		return
	}
	p.Notice = p.notice(r.URL.Query())
	s.writePage(w, r, v, http.StatusOK, "page", p)
}

// handleConfirm asks the user to confirm an action on one of their cards.
func (s *Service) handleConfirm(w http.ResponseWriter, r *http.Request) {
	v, ok := s.visitOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	action, methodID := q.Get("action"), q.Get("pm")
	if action != "remove" && action != "default" {
		s.writeError(w, r, v, http.StatusNotFound, "error.notFound")
		return
	}
	p, err := s.loadPage(r.Context(), v, "")
	if err != nil {
		s.failed(w, r, v, err)
		return
	}
	c := p.card(methodID)
	if c == nil {
		s.writeError(w, r, v, http.StatusNotFound, "error.noSuchCard")
		return
	}
	s.writePage(w, r, v, http.StatusOK, "confirm", p.confirmation(action, c))
}

// handleAction carries out a confirmed form: add, remove or default.
func (s *Service) handleAction(w http.ResponseWriter, r *http.Request) {
	v, ok := s.visitOf(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.writeError(w, r, v, http.StatusBadRequest, "error.badForm")
		return
	}
	if !s.sameSite(r, v) {
		s.writeError(w, r, v, http.StatusForbidden, "error.forgery")
		return
	}
	ctx := r.Context()
	methodID := r.PostForm.Get("pm")
	done := url.Values{}
	switch r.PathValue("action") {
	case "add":
		setup, err := s.billing.CreatePaymentMethod(ctx, s.withOwnHost(v.app), billing.CreatePaymentMethodParams{
			AppUserID:  v.User,
			Type:       appwheel.AddByCheckout,
			SuccessURL: s.pageURL(v.token, url.Values{"done": {"added"}}),
			CancelURL:  s.pageURL(v.token, url.Values{"done": {"addCanceled"}}),
		})
		if err != nil {
			s.failed(w, r, v, err)
			return
		}
		http.Redirect(w, r, setup.CheckoutURL, http.StatusSeeOther)
		return
	case "remove":
		removed, err := s.billing.RemovePaymentMethod(ctx, v.app, billing.RemovePaymentMethodParams{AppUserID: v.User, MethodID: methodID})
		if err != nil {
			s.failed(w, r, v, err)
			return
		}
		done.Set("done", "removed")
		if n := len(removed.MovedSubscriptionIDs); n > 0 {
			done.Set("moved", removed.MovedSubscriptionIDs[0])
		}
	case "default":
		set, err := s.billing.SetDefaultPaymentMethod(ctx, v.app, v.User, methodID, "")
		if err != nil {
			s.failed(w, r, v, err)
			return
		}
		done.Set("done", "default")
		if len(set.MovedSubscriptionIDs) > 0 {
			done.Set("moved", set.MovedSubscriptionIDs[0])
		}
	default:
		s.writeError(w, r, v, http.StatusNotFound, "error.notFound")
		return
	}
	http.Redirect(w, r, s.pageURL(v.token, done), http.StatusSeeOther)
}

// maxFormBytes bounds a form's body: a token and an id.
const maxFormBytes = 16 << 10

// withOwnHost is app as the page's card setups see it: the page's own
// URLs, where Checkout sends the user back, are allowed redirects besides
// the app's.
func (s *Service) withOwnHost(app *appwheel.App) *appwheel.App {
	if len(app.RedirectHosts) == 0 {
		return app
	}
	c := *app
	c.RedirectHosts = append(slices.Clone(app.RedirectHosts), s.ownHost)
	return &c
}

// sameSite reports whether a form post comes from the page itself: it
// carries the visit's anti-forgery token, and the browser does not call it
// cross-site.
func (s *Service) sameSite(r *http.Request, v *visit) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(r.PostForm.Get("csrf"))
	return err == nil && hmac.Equal(got, s.csrfMAC(v.Visit))
}

// csrfToken is the anti-forgery token of a visit's forms.
func (s *Service) csrfToken(visitID string) string {
	return base64.RawURLEncoding.EncodeToString(s.csrfMAC(visitID))
}

func (s *Service) csrfMAC(visitID string) []byte {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("portal form " + visitID))
	return m.Sum(nil)
}

// failed answers an error of the billing service: the refusals a user can
// meet are said in plain words, the rest is "try again later".
func (s *Service) failed(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	switch appwheel.ErrorCode(err) {
	case appwheel.ELASTMETHOD:
		s.writePage(w, r, v, http.StatusConflict, "lastcard", s.basePage(v))
	case appwheel.ENOTFOUND:
		s.writeError(w, r, v, http.StatusNotFound, "error.noSuchCard")
	case appwheel.EINVALID:
		s.writeError(w, r, v, http.StatusBadRequest, "error.badForm")
	case appwheel.ERATELIMITED:
		s.writeError(w, r, v, http.StatusTooManyRequests, "error.busy")
	default:
		var e *appwheel.Error
		if !errors.As(err, &e) || e.Code == appwheel.EINTERNAL {
			s.log.ErrorContext(r.Context(), "portal: request failed", "app_id", v.App, "error", err)
		}
		s.writeError(w, r, v, http.StatusServiceUnavailable, "error.unavailable")
	}
}

// loadPage reads what the page shows, from the billing service (the
// mirror, for a synced user: no Stripe call).
func (s *Service) loadPage(ctx context.Context, v *visit, after string) (*pageData, error) {
	methods, err := s.billing.PaymentMethods(ctx, v.app, v.User)
	if err != nil {
		return nil, err
	}
	subs, err := s.billing.Subscriptions(ctx, v.app, v.User)
	if err != nil {
		return nil, err
	}
	invoices, err := s.billing.Invoices(ctx, v.app, billing.ListInvoicesParams{AppUserID: v.User, Limit: invoicePageSize, StartingAfter: after})
	if appwheel.ErrorCode(err) == appwheel.EINVALID && after != "" {
		// A stale or edited cursor: the newest page instead.
		after = ""
		invoices, err = s.billing.Invoices(ctx, v.app, billing.ListInvoicesParams{AppUserID: v.User, Limit: invoicePageSize})
	}
	if err != nil {
		return nil, err
	}
	latest := invoices
	if after != "" { // the next charges' amounts come from the newest invoices
		if latest, err = s.billing.Invoices(ctx, v.app, billing.ListInvoicesParams{AppUserID: v.User, Limit: invoicePageSize}); err != nil {
			return nil, err
		}
	}
	p := s.basePage(v)
	p.fill(methods, subs, invoices, latest, after != "", s.now())
	return p, nil
}

// invoicePageSize is how many invoices a page lists.
const invoicePageSize = 10
