package http

import (
	"context"
	"net/http"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// handleCreatePaymentMethod is createPaymentMethod:
// POST /v1/stripe/payment-methods {"appUserId","type","successUrl","cancelUrl","makeDefault"?}.
func (s *Server) handleCreatePaymentMethod(ctx context.Context, r *http.Request, c *call) (any, error) {
	var req struct {
		AppUserID   string `json:"appUserId"`
		Type        string `json:"type"`
		SuccessURL  string `json:"successUrl"`
		CancelURL   string `json:"cancelUrl"`
		MakeDefault bool   `json:"makeDefault"`
	}
	if _, err := query(r); err != nil {
		return nil, err
	}
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	return s.billing.CreatePaymentMethod(ctx, c.app, billing.CreatePaymentMethodParams{
		AppUserID:      req.AppUserID,
		Type:           appwheel.AddPaymentMethodType(req.Type),
		SuccessURL:     req.SuccessURL,
		CancelURL:      req.CancelURL,
		MakeDefault:    req.MakeDefault,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
}

// handleListPaymentMethods is paymentMethod:
// GET /v1/stripe/payment-methods?appUserId=….
func (s *Server) handleListPaymentMethods(ctx context.Context, r *http.Request, c *call) (any, error) {
	q, err := query(r, "appUserId")
	if err != nil {
		return nil, err
	}
	return s.billing.PaymentMethodsJSON(ctx, c.app, q.Get("appUserId"))
}

// handleRemovePaymentMethod is removePaymentMethod:
// DELETE /v1/stripe/payment-methods/{methodId}?appUserId=…[&force=true].
func (s *Server) handleRemovePaymentMethod(ctx context.Context, r *http.Request, c *call) (any, error) {
	q, err := query(r, "appUserId", "force")
	if err != nil {
		return nil, err
	}
	force, err := queryBool(q, "force")
	if err != nil {
		return nil, err
	}
	return s.billing.RemovePaymentMethod(ctx, c.app, billing.RemovePaymentMethodParams{
		AppUserID:      q.Get("appUserId"),
		MethodID:       r.PathValue("methodId"),
		Force:          force,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
}

// handleSetDefaultPaymentMethod makes a method the card that pays (the
// default, and the card of live subscriptions that name their own):
// POST /v1/stripe/payment-methods/{methodId}/default {"appUserId"}.
func (s *Server) handleSetDefaultPaymentMethod(ctx context.Context, r *http.Request, c *call) (any, error) {
	var req struct {
		AppUserID string `json:"appUserId"`
	}
	if _, err := query(r); err != nil {
		return nil, err
	}
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	return s.billing.SetDefaultPaymentMethod(ctx, c.app, req.AppUserID, r.PathValue("methodId"), r.Header.Get("Idempotency-Key"))
}
