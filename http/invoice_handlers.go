package http

import (
	"context"
	"net/http"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// handleListInvoices is invoices:
// GET /v1/stripe/invoices?appUserId=…[&limit=20&startingAfter=in_…].
func (s *Server) handleListInvoices(ctx context.Context, r *http.Request, c *call) (any, error) {
	q, err := query(r, "appUserId", "limit", "startingAfter")
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(q, "limit")
	if err != nil {
		return nil, err
	}
	if q.Has("limit") && limit == 0 {
		limit = -1 // an explicit 0 is out of range, not "default"
	}
	return s.billing.InvoicesJSON(ctx, c.app, billing.ListInvoicesParams{
		AppUserID:     q.Get("appUserId"),
		Limit:         limit,
		StartingAfter: q.Get("startingAfter"),
	})
}

// handleListSubscriptions lists the user's subscriptions:
// GET /v1/stripe/subscriptions?appUserId=….
func (s *Server) handleListSubscriptions(ctx context.Context, r *http.Request, c *call) (any, error) {
	q, err := query(r, "appUserId")
	if err != nil {
		return nil, err
	}
	subs, err := s.billing.Subscriptions(ctx, c.app, q.Get("appUserId"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"subscriptions": subs}, nil
}

// linkLimits bound the invoice links followed: per client address 10 a
// second (bursts of 50, a page's worth of PDFs opened at once), per link 1
// a second (bursts of 5).
type linkLimits struct{ byAddress, byLink *keyedBuckets }

func newLinkLimits() linkLimits {
	return linkLimits{byAddress: newKeyedBuckets(10, 50), byLink: newKeyedBuckets(1, 5)}
}

// handleInvoiceLink follows an invoice link handed out with a mirrored
// invoice: GET /invoice-links/{token}, no app credentials (the token is
// signed), redirecting to the URL Stripe gives now.
//
// The links need no credentials, so they are rate-limited per client
// address and per link (linkLimits); the URLs Stripe gives are reused for
// billing.LinkURLTTL, so that a flood costs the app's Stripe budget at most
// one call per invoice per minute.
func (s *Server) handleInvoiceLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	now := s.now()
	ok, wait := s.linkLimits.byAddress.allow(clientAddress(r), now)
	if ok {
		ok, wait = s.linkLimits.byLink.allow(token, now)
	}
	if !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		writeReply(w, r, s.reply(r, nil, appwheel.Errorf(appwheel.ERATELIMITED, "too many requests for invoice links; retry after %s s", retryAfterSeconds(wait))))
		return
	}
	url, err := s.billing.FollowInvoiceLink(r.Context(), token)
	if err != nil {
		writeReply(w, r, s.reply(r, nil, err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, url, http.StatusFound)
}
