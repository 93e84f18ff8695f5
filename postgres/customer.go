package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/jackc/pgx/v5"
)

// CustomerID returns the Stripe customer of (appID, appUserID), or ENOTFOUND.
func (db *DB) CustomerID(ctx context.Context, appID, appUserID string) (string, error) {
	var id string
	err := db.pool.QueryRow(ctx,
		`SELECT stripe_customer_id FROM customers WHERE app_id = $1 AND app_user_id = $2`,
		appID, appUserID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: customer of %q in app %q: %w", appUserID, appID, err)
	}
	return id, nil
}

// PutCustomer records customerID for (appID, appUserID) unless one is
// recorded already, and returns the one recorded. The primary key decides
// who was first: the INSERT does nothing when the user has a customer (after
// waiting for a concurrent insert of the same user to commit), and the
// SELECT, a statement of its own and so a fresh snapshot, then reads
// whichever write won.
//
// A customerID recorded already for another user of the app is ECONFLICT:
// one Stripe customer must never hold two users' payment methods.
func (db *DB) PutCustomer(ctx context.Context, appID, appUserID, customerID string, now time.Time) (string, error) {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO customers (app_id, app_user_id, stripe_customer_id, created_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (app_id, app_user_id) DO NOTHING`,
		appID, appUserID, customerID, now)
	if isUniqueViolation(err) {
		// ON CONFLICT arbitrates the primary key only. Two inserts of the
		// same pair at once (replicas recording the customer Stripe gave
		// them all for one idempotency key) can meet first in the
		// UNIQUE (app_id, stripe_customer_id) index instead, and the one
		// that loses there gets a violation though the customer is its own
		// user's. Only a customer another user holds is a conflict.
		if owner, oerr := db.CustomerOwner(ctx, appID, customerID); oerr == nil && owner == appUserID {
			return customerID, nil
		}
		return "", customerTaken(customerID)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: put customer of %q in app %q: %w", appUserID, appID, err)
	}
	return db.CustomerID(ctx, appID, appUserID)
}

// ReplaceCustomer records newCustomerID for the user in place of
// oldCustomerID (deleted at Stripe), and returns the one recorded: a
// compare-and-swap, so of two replicas replacing at once one wins and the
// other gets the winner's (its UPDATE waits for the winner's row lock, then
// finds the row no longer holds oldCustomerID). The mirror's state of the
// old customer is reset. A newCustomerID recorded already for another user
// is ECONFLICT.
func (db *DB) ReplaceCustomer(ctx context.Context, appID, appUserID, oldCustomerID, newCustomerID string, now time.Time) (string, error) {
	_, err := db.pool.Exec(ctx, `
		UPDATE customers SET stripe_customer_id = $1, created_at = $2,
			default_payment_method_id = '', deleted = false, version = 0, synced_at = NULL, setup_pending_until = NULL, setup_pending_intent_id = '',
			default_setup_intent_id = ''
		WHERE app_id = $3 AND app_user_id = $4 AND stripe_customer_id = $5`,
		newCustomerID, now, appID, appUserID, oldCustomerID)
	if isUniqueViolation(err) {
		return "", customerTaken(newCustomerID)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: replace customer of %q in app %q: %w", appUserID, appID, err)
	}
	return db.CustomerID(ctx, appID, appUserID)
}

// customerTaken is the error of a customer ID that the app's customers
// table holds for another user already: its UNIQUE (app_id,
// stripe_customer_id) refused it.
func customerTaken(customerID string) error {
	return appwheel.Errorf(appwheel.ECONFLICT, "customer %s belongs to another user of this app", appwheel.Quote(customerID))
}
