package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/jackc/pgx/v5"
)

// The customer state reads, built once from storerow's column list.
var (
	customerStateQuery = `SELECT ` + storerow.CustomerStates.List() + ` FROM customers
		WHERE app_id = $1 AND app_user_id = $2`
	syncedBeforeQuery = `SELECT ` + storerow.CustomerStates.List() + ` FROM customers
		WHERE app_id = $1 AND synced_at < $2
		ORDER BY synced_at, app_user_id
		LIMIT $3`
)

// CustomerState returns the user's mirrored customer, or ENOTFOUND when the
// user has no customer. A customer the mirror has not seen yet has its
// fields empty.
func (db *DB) CustomerState(ctx context.Context, appID, appUserID string) (*appwheel.CustomerState, error) {
	cs, err := codec.ScanCustomerState(db.pool.QueryRow(ctx, customerStateQuery, appID, appUserID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: customer state of %q in app %q: %w", appUserID, appID, err)
	}
	return cs, nil
}

// CustomerOwner returns the user a Stripe customer stands for, or ENOTFOUND
// when AppWheel did not create it for this app.
func (db *DB) CustomerOwner(ctx context.Context, appID, customerID string) (string, error) {
	var appUserID string
	err := db.pool.QueryRow(ctx,
		`SELECT app_user_id FROM customers WHERE app_id = $1 AND stripe_customer_id = $2`,
		appID, customerID).Scan(&appUserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", appwheel.Errorf(appwheel.ENOTFOUND, "customer %q not found", customerID)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: owner of customer %q in app %q: %w", customerID, appID, err)
	}
	return appUserID, nil
}

// SaveCustomer updates the mirrored fields of the app's customer c.ID when
// version is newer than the stored one. The customer row is PutCustomer's:
// one UPDATE both finds it and checks the version, so an unknown customer
// and a stale snapshot alike change nothing and report false. (Two racing
// UPDATEs are serialized by the row lock; the second re-checks the version
// against the row the first committed.)
func (db *DB) SaveCustomer(ctx context.Context, appID string, c *appwheel.Customer, version int64) (bool, error) {
	tag, err := db.pool.Exec(ctx, `
		UPDATE customers SET default_payment_method_id = $1, deleted = $2, version = $3
		WHERE app_id = $4 AND stripe_customer_id = $5 AND version < $3`,
		c.DefaultPaymentMethodID, c.Deleted, version, appID, c.ID)
	if err != nil {
		return false, fmt.Errorf("postgres: save customer %q of app %q: %w", c.ID, appID, err)
	}
	return wrote(tag), nil
}

// MarkSynced records that the user's mirror was filled from Stripe at at,
// or ENOTFOUND when the user has no customer. The time only moves forward:
// of two syncs finishing out of order, the later one's time stays
// (greatest ignores the NULL of a user never synced).
func (db *DB) MarkSynced(ctx context.Context, appID, appUserID string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `
		UPDATE customers SET synced_at = greatest(synced_at, $1)
		WHERE app_id = $2 AND app_user_id = $3`,
		at, appID, appUserID)
	if err != nil {
		return fmt.Errorf("postgres: mark %q of app %q synced: %w", appUserID, appID, err)
	}
	if !wrote(tag) {
		return appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	return nil
}

// SetSetupPending opens the user's pending setup window for setupIntentID.
func (db *DB) SetSetupPending(ctx context.Context, appID, appUserID string, until time.Time, setupIntentID string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE customers SET setup_pending_until = $1, setup_pending_intent_id = $2
		WHERE app_id = $3 AND app_user_id = $4`,
		nullTime(until), setupIntentID, appID, appUserID)
	if err != nil {
		return fmt.Errorf("postgres: set setup pending of %q in app %q: %w", appUserID, appID, err)
	}
	if !wrote(tag) {
		return appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	return nil
}

// ClearSetupPending closes the user's pending setup window if it is still
// setupIntentID's: a compare-and-swap in one UPDATE, as ClearDefaultSetup.
func (db *DB) ClearSetupPending(ctx context.Context, appID, appUserID, setupIntentID string) error {
	if _, err := db.pool.Exec(ctx, `UPDATE customers SET setup_pending_until = NULL, setup_pending_intent_id = ''
		WHERE app_id = $1 AND app_user_id = $2 AND setup_pending_intent_id = $3`,
		appID, appUserID, setupIntentID); err != nil {
		return fmt.Errorf("postgres: clear setup pending of %q in app %q: %w", appUserID, appID, err)
	}
	return nil
}

// SyncedBefore returns up to limit of the app's synced users whose last sync
// was before t, least recently synced first (then by user ID): one range
// scan of customers_synced_at. Users never synced are not returned: reads
// of theirs go to Stripe until a backfill.
func (db *DB) SyncedBefore(ctx context.Context, appID string, t time.Time, limit int) ([]*appwheel.CustomerState, error) {
	if limit < 1 {
		return nil, nil // PostgreSQL refuses a negative LIMIT
	}
	rows, err := db.pool.Query(ctx, syncedBeforeQuery, appID, t, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: customers of app %q synced before %v: %w", appID, t, err)
	}
	states, err := collect(rows, codec.ScanCustomerState)
	if err != nil {
		return nil, fmt.Errorf("postgres: customers of app %q synced before %v: %w", appID, t, err)
	}
	return states, nil
}

// SetDefaultSetup records setupIntentID as the user's default setup intent,
// replacing any.
func (db *DB) SetDefaultSetup(ctx context.Context, appID, appUserID, setupIntentID string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE customers SET default_setup_intent_id = $1 WHERE app_id = $2 AND app_user_id = $3`,
		setupIntentID, appID, appUserID)
	if err != nil {
		return fmt.Errorf("postgres: set default setup of %q in app %q: %w", appUserID, appID, err)
	}
	if !wrote(tag) {
		return appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	return nil
}

// ClearDefaultSetup clears the user's default setup intent if it is still
// setupIntentID: a compare-and-swap in one UPDATE (a racing
// SetDefaultSetup holds the row lock; the UPDATE then re-checks the value
// it committed), so the end of an older setup never clears a newer one. An
// unknown user, like a newer intent, matches no row and is no error.
func (db *DB) ClearDefaultSetup(ctx context.Context, appID, appUserID, setupIntentID string) error {
	if _, err := db.pool.Exec(ctx, `UPDATE customers SET default_setup_intent_id = ''
		WHERE app_id = $1 AND app_user_id = $2 AND default_setup_intent_id = $3`,
		appID, appUserID, setupIntentID); err != nil {
		return fmt.Errorf("postgres: clear default setup of %q in app %q: %w", appUserID, appID, err)
	}
	return nil
}
