package billing

import (
	"context"

	"github.com/appwheel/appwheel"
)

// LinkCustomerParams is the linkCustomer request.
type LinkCustomerParams struct {
	AppUserID  string
	CustomerID string // an existing Stripe customer of the app's account
	// IdempotencyKey is the client's, optional.
	IdempotencyKey string
}

// CustomerLink is the linkCustomer response's data.
type CustomerLink struct {
	AppUserID  string `json:"appUserId"`
	CustomerID string `json:"customerId"`
}

// LinkCustomer makes an existing Stripe customer of the app's account (one
// the app's own backend created before AppWheel) the user's customer: it
// adds AppWheel's metadata to it at Stripe, records the mapping, and fills
// the user's mirror (methods, default, subscriptions, invoices), so the next
// read makes no Stripe call and the rules of which card pays apply to the
// user from then on. Linking the same pair again re-syncs it.
//
// Returns EINVALID for bad parameters, ENOTFOUND when the app's Stripe
// account has no such customer (or it was deleted), ECONFLICT when the
// customer is another user's of the app or the user has another customer,
// ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) LinkCustomer(ctx context.Context, app *appwheel.App, p LinkCustomerParams) (*CustomerLink, error) {
	if err := s.checkLink(ctx, app, ImportPair{AppUserID: p.AppUserID, CustomerID: p.CustomerID}); err != nil {
		return nil, err
	}
	noCustomer := appwheel.Errorf(appwheel.ENOTFOUND, "no customer %s in this app's Stripe account", p.CustomerID)
	cus, err := s.stripe.Customer(ctx, app.Stripe, p.CustomerID)
	if isNotFound(err) {
		return nil, noCustomer
	}
	if err != nil {
		return nil, err
	}
	if cus.Deleted {
		return nil, noCustomer
	}
	if err := s.stripe.TagCustomer(ctx, app.Stripe, p.CustomerID, app.ID, p.AppUserID,
		stripeIdempotencyKey("tag_customer", app.ID, p.IdempotencyKey, p.AppUserID, p.CustomerID)); err != nil {
		return nil, err
	}
	// Of two links racing for the user or the customer, the store keeps
	// the first and refuses the other (ECONFLICT).
	if _, err := s.store.PutCustomer(ctx, app.ID, p.AppUserID, p.CustomerID, s.now()); err != nil {
		return nil, err
	}
	if mirrored(app) {
		st, err := s.store.CustomerState(ctx, app.ID, p.AppUserID)
		if err != nil {
			return nil, err
		}
		// The first sync settles the default too (settleDefault); in live
		// mode every read does.
		if err := s.backfill(ctx, app, st); err != nil {
			return nil, err
		}
	}
	return &CustomerLink{AppUserID: p.AppUserID, CustomerID: p.CustomerID}, nil
}

// checkLink reports why p cannot be linked, as far as AppWheel's own
// records tell (no Stripe call): EINVALID for bad ids, ECONFLICT when the
// user has another customer or the customer is another user's.
func (s *Service) checkLink(ctx context.Context, app *appwheel.App, p ImportPair) error {
	if err := validateAppUserID(p.AppUserID); err != nil {
		return err
	}
	if err := validateObjectID("customerId", []string{"cus_"}, p.CustomerID); err != nil {
		return err
	}
	current, err := s.customerID(ctx, app, p.AppUserID)
	if err != nil {
		return err
	}
	if current != "" && current != p.CustomerID {
		return appwheel.Errorf(appwheel.ECONFLICT, "user %s is linked to another customer already", appwheel.Quote(p.AppUserID))
	}
	owner, err := s.store.CustomerOwner(ctx, app.ID, p.CustomerID)
	switch {
	case err == nil && owner != p.AppUserID:
		return appwheel.Errorf(appwheel.ECONFLICT, "customer %s is linked to another user of this app", p.CustomerID)
	case err != nil && !isNotFound(err):
		return err
	}
	return nil
}
