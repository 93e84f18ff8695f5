package http

import (
	"context"
	"net/http"

	"github.com/appwheel/appwheel/portal"
)

// handleCreatePortalSession is createPortalSession:
// POST /v1/stripe/portal-sessions {"appUserId","returnUrl","locale"?}: a
// link that opens the hosted billing page for one user of the app. The
// link is a credential for that user; the access log never sees it (it is
// in the response body, and the page's routes are logged by pattern).
func (s *Server) handleCreatePortalSession(ctx context.Context, r *http.Request, c *call) (any, error) {
	var req struct {
		AppUserID string `json:"appUserId"`
		ReturnURL string `json:"returnUrl"`
		Locale    string `json:"locale"`
	}
	if _, err := query(r); err != nil {
		return nil, err
	}
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	return s.portal.CreateSession(ctx, c.app, portal.SessionParams{
		AppUserID: req.AppUserID,
		ReturnURL: req.ReturnURL,
		Locale:    req.Locale,
	})
}

// pageRoutes puts the billing page's routes on the server's mux, each
// request's work bounded like an API request's (its actions call Stripe).
type pageRoutes struct{ s *Server }

func (p pageRoutes) Handle(pattern string, h http.Handler) {
	p.s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), p.s.timeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
}
