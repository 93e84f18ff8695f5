// Package billing is AppWheel's service: the rules for one app's users and
// their Stripe payment methods and invoices, written once. Every method
// takes the authenticated app, and every Stripe object it touches is
// checked to belong to that app's user.
package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
)

// Store is the part of the database the service uses.
type Store interface {
	appwheel.CustomerStore
	appwheel.LockStore
}

// Service applies the billing rules over the store and Stripe.
type Service struct {
	store  Store
	stripe appwheel.Stripe
	now    func() time.Time
	prices sync.Map // priceKey → *appwheel.Price
}

// NewService returns a Service. now is the clock; nil means time.Now.
func NewService(store Store, stripe appwheel.Stripe, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, stripe: stripe, now: now}
}

// customerID returns the user's Stripe customer, or "" when the user has
// none yet. Reads never create one.
func (s *Service) customerID(ctx context.Context, app *appwheel.App, appUserID string) (string, error) {
	id, err := s.store.CustomerID(ctx, app.ID, appUserID)
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND {
		return "", nil
	}
	return id, err
}

// ensureCustomer returns the user's Stripe customer, creating it on first
// need. Concurrent first calls (on any replica) send Stripe the same
// idempotency key, so Stripe creates one customer, and the store keeps the
// first mapping written.
func (s *Service) ensureCustomer(ctx context.Context, app *appwheel.App, appUserID string) (string, error) {
	id, err := s.customerID(ctx, app, appUserID)
	if err != nil || id != "" {
		return id, err
	}
	cus, err := s.stripe.CreateCustomer(ctx, app.Stripe, appwheel.CreateCustomerParams{
		AppID:          app.ID,
		AppUserID:      appUserID,
		IdempotencyKey: customerIdempotencyKey(app.ID, appUserID),
	})
	if err != nil {
		return "", err
	}
	return s.store.PutCustomer(ctx, app.ID, appUserID, cus.ID, s.now())
}

// customerIdempotencyKey is the same for every call about one user, so
// Stripe dedupes concurrent customer creation (for 24 h, by when the store
// holds the mapping).
func customerIdempotencyKey(appID, appUserID string) string {
	return derivedKey("customer", appID, appUserID)
}

// stripeIdempotencyKey derives the Stripe idempotency key of one operation
// from the client's Idempotency-Key and the operation's parameters, so that
// a client retrying after a crash gets Stripe's first result instead of a
// second write, and a key reused for another request makes another Stripe
// key. Without a client key it returns "" and the provider makes one key
// per call.
func stripeIdempotencyKey(op, appID, clientKey string, params ...string) string {
	if clientKey == "" {
		return ""
	}
	return derivedKey(append([]string{op, appID, clientKey}, params...)...)
}

func derivedKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "appwheel-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// notFound is the answer for a method that is not this user's, whoever it
// belongs to: the caller learns nothing about other users' methods.
func notFound(methodID string) error {
	return appwheel.Errorf(appwheel.ENOTFOUND, "no payment method %s for this user", methodID)
}

func isNotFound(err error) bool {
	var e *appwheel.Error
	return errors.As(err, &e) && e.Code == appwheel.ENOTFOUND
}
