package http

import (
	"context"
	"net/http"

	"github.com/appwheel/appwheel/billing"
)

// handleLinkCustomer is linkCustomer: POST /v1/stripe/customer-links
// {"appUserId","customerId"}: an existing Stripe customer of the app's
// account becomes the user's.
func (s *Server) handleLinkCustomer(ctx context.Context, r *http.Request, c *call) (any, error) {
	var req struct {
		AppUserID  string `json:"appUserId"`
		CustomerID string `json:"customerId"`
	}
	if _, err := query(r); err != nil {
		return nil, err
	}
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	return s.billing.LinkCustomer(ctx, c.app, billing.LinkCustomerParams{
		AppUserID:      req.AppUserID,
		CustomerID:     req.CustomerID,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
}
