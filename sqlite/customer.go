package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
)

// CustomerID returns the Stripe customer of (appID, appUserID), or ENOTFOUND.
func (db *DB) CustomerID(ctx context.Context, appID, appUserID string) (string, error) {
	var id string
	err := db.queryRow(ctx,
		`SELECT stripe_customer_id FROM customers WHERE app_id = ? AND app_user_id = ?`,
		appID, appUserID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: customer of %q in app %q: %w", appUserID, appID, err)
	}
	return id, nil
}

// PutCustomer records customerID for (appID, appUserID) unless one is
// recorded already, and returns the one recorded. The primary key decides
// who was first: the INSERT does nothing when the user has a customer, and
// the SELECT then reads whichever write won.
//
// A customerID recorded already for another user of the app is ECONFLICT:
// one Stripe customer must never hold two users' payment methods.
func (db *DB) PutCustomer(ctx context.Context, appID, appUserID, customerID string, now time.Time) (string, error) {
	_, err := db.exec(ctx, `
		INSERT INTO customers (app_id, app_user_id, stripe_customer_id, created_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (app_id, app_user_id) DO NOTHING`,
		appID, appUserID, customerID, toMicros(now))
	if isUniqueViolation(err) {
		return "", customerTaken(customerID)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: put customer of %q in app %q: %w", appUserID, appID, err)
	}
	return db.CustomerID(ctx, appID, appUserID)
}

// ReplaceCustomer records newCustomerID for the user in place of
// oldCustomerID (deleted at Stripe), and returns the one recorded: a
// compare-and-swap, so of two replicas replacing at once one wins and the
// other gets the winner's. The mirror's state of the old customer is reset.
// A newCustomerID recorded already for another user is ECONFLICT.
func (db *DB) ReplaceCustomer(ctx context.Context, appID, appUserID, oldCustomerID, newCustomerID string, now time.Time) (string, error) {
	_, err := db.exec(ctx, `
		UPDATE customers SET stripe_customer_id = ?, created_at = ?,
			default_payment_method_id = '', deleted = 0, version = 0, synced_at = NULL, setup_pending_until = NULL, setup_pending_intent_id = '',
			default_setup_intent_id = ''
		WHERE app_id = ? AND app_user_id = ? AND stripe_customer_id = ?`,
		newCustomerID, toMicros(now), appID, appUserID, oldCustomerID)
	if isUniqueViolation(err) {
		return "", customerTaken(newCustomerID)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: replace customer of %q in app %q: %w", appUserID, appID, err)
	}
	return db.CustomerID(ctx, appID, appUserID)
}

// customerTaken is the error of a customer ID that the app's customers
// table holds for another user already: its UNIQUE (app_id,
// stripe_customer_id) refused it.
func customerTaken(customerID string) error {
	return appwheel.Errorf(appwheel.ECONFLICT, "customer %s belongs to another user of this app", appwheel.Quote(customerID))
}
