package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
)

// The customer state reads, built once from storerow's column list.
var (
	customerStateQuery = `SELECT ` + storerow.CustomerStates.List() + ` FROM customers
		WHERE app_id = ? AND app_user_id = ?`
	syncedBeforeQuery = `SELECT ` + storerow.CustomerStates.List() + ` FROM customers
		WHERE app_id = ? AND synced_at < ?
		ORDER BY synced_at, app_user_id
		LIMIT ?`
)

// CustomerState returns the user's mirrored customer, or ENOTFOUND when the
// user has no customer. A customer the mirror has not seen yet has its
// fields empty.
func (db *DB) CustomerState(ctx context.Context, appID, appUserID string) (*appwheel.CustomerState, error) {
	row := db.queryRow(ctx, customerStateQuery, appID, appUserID)
	cs, err := codec.ScanCustomerState(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: customer state of %q in app %q: %w", appUserID, appID, err)
	}
	return cs, nil
}

// CustomerOwner returns the user a Stripe customer stands for, or ENOTFOUND
// when AppWheel did not create it for this app.
func (db *DB) CustomerOwner(ctx context.Context, appID, customerID string) (string, error) {
	var appUserID string
	err := db.queryRow(ctx,
		`SELECT app_user_id FROM customers WHERE app_id = ? AND stripe_customer_id = ?`,
		appID, customerID).Scan(&appUserID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", appwheel.Errorf(appwheel.ENOTFOUND, "customer %q not found", customerID)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: owner of customer %q in app %q: %w", customerID, appID, err)
	}
	return appUserID, nil
}

// SaveCustomer updates the mirrored fields of the app's customer c.ID when
// version is newer than the stored one. The customer row is PutCustomer's:
// one UPDATE both finds it and checks the version, so an unknown customer
// and a stale snapshot alike change nothing and report false.
func (db *DB) SaveCustomer(ctx context.Context, appID string, c *appwheel.Customer, version int64) (bool, error) {
	res, err := db.exec(ctx, `
		UPDATE customers SET default_payment_method_id = ?, deleted = ?, version = ?
		WHERE app_id = ? AND stripe_customer_id = ? AND version < ?`,
		c.DefaultPaymentMethodID, c.Deleted, version, appID, c.ID, version)
	if err != nil {
		return false, fmt.Errorf("sqlite: save customer %q of app %q: %w", c.ID, appID, err)
	}
	return wrote(res, "save customer %q of app %q", c.ID, appID)
}

// MarkSynced records that the user's mirror was filled from Stripe at at,
// or ENOTFOUND when the user has no customer. The time only moves forward:
// of two syncs finishing out of order, the later one's time stays.
func (db *DB) MarkSynced(ctx context.Context, appID, appUserID string, at time.Time) error {
	res, err := db.exec(ctx, `
		UPDATE customers SET synced_at = max(coalesce(synced_at, ?1), ?1)
		WHERE app_id = ?2 AND app_user_id = ?3`,
		toMicros(at), appID, appUserID)
	if err != nil {
		return fmt.Errorf("sqlite: mark %q of app %q synced: %w", appUserID, appID, err)
	}
	ok, err := wrote(res, "mark %q of app %q synced", appUserID, appID)
	if err != nil {
		return err
	}
	if !ok {
		return appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	return nil
}

// SyncedBefore returns up to limit of the app's synced users whose last sync
// was before t, least recently synced first (then by user ID). Users never
// synced are not returned: reads of theirs go to Stripe until a backfill.
func (db *DB) SyncedBefore(ctx context.Context, appID string, t time.Time, limit int) ([]*appwheel.CustomerState, error) {
	if limit < 1 {
		return nil, nil // SQLite reads LIMIT -1 as no limit at all
	}
	rows, err := db.query(ctx, syncedBeforeQuery, appID, toMicros(t), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: customers of app %q synced before %v: %w", appID, t, err)
	}
	states, err := scanAll(rows, codec.ScanCustomerState)
	if err != nil {
		return nil, fmt.Errorf("sqlite: customers of app %q synced before %v: %w", appID, t, err)
	}
	return states, nil
}

// SetSetupPending opens the user's pending setup window for setupIntentID.
func (db *DB) SetSetupPending(ctx context.Context, appID, appUserID string, until time.Time, setupIntentID string) error {
	res, err := db.exec(ctx, `UPDATE customers SET setup_pending_until = ?, setup_pending_intent_id = ?
		WHERE app_id = ? AND app_user_id = ?`,
		toNullMicros(until), setupIntentID, appID, appUserID)
	if err != nil {
		return fmt.Errorf("sqlite: set setup pending of %q in app %q: %w", appUserID, appID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: set setup pending of %q in app %q: %w", appUserID, appID, err)
	} else if n == 0 {
		return appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	return nil
}

// ClearSetupPending closes the user's pending setup window if it is still
// setupIntentID's: a compare-and-swap in one UPDATE, as ClearDefaultSetup.
func (db *DB) ClearSetupPending(ctx context.Context, appID, appUserID, setupIntentID string) error {
	if _, err := db.exec(ctx, `UPDATE customers SET setup_pending_until = NULL, setup_pending_intent_id = ''
		WHERE app_id = ? AND app_user_id = ? AND setup_pending_intent_id = ?`,
		appID, appUserID, setupIntentID); err != nil {
		return fmt.Errorf("sqlite: clear setup pending of %q in app %q: %w", appUserID, appID, err)
	}
	return nil
}

// SetDefaultSetup records setupIntentID as the user's default setup intent,
// replacing any.
func (db *DB) SetDefaultSetup(ctx context.Context, appID, appUserID, setupIntentID string) error {
	res, err := db.exec(ctx, `UPDATE customers SET default_setup_intent_id = ? WHERE app_id = ? AND app_user_id = ?`,
		setupIntentID, appID, appUserID)
	if err != nil {
		return fmt.Errorf("sqlite: set default setup of %q in app %q: %w", appUserID, appID, err)
	}
	ok, err := wrote(res, "set default setup of %q in app %q", appUserID, appID)
	if err != nil {
		return err
	}
	if !ok {
		return appwheel.Errorf(appwheel.ENOTFOUND, "user %q has no customer", appUserID)
	}
	return nil
}

// ClearDefaultSetup clears the user's default setup intent if it is still
// setupIntentID: a compare-and-swap in one UPDATE, so the end of an older
// setup never clears a newer one recorded meanwhile. An unknown user, like
// a newer intent, matches no row and is no error.
func (db *DB) ClearDefaultSetup(ctx context.Context, appID, appUserID, setupIntentID string) error {
	if _, err := db.exec(ctx, `UPDATE customers SET default_setup_intent_id = ''
		WHERE app_id = ? AND app_user_id = ? AND default_setup_intent_id = ?`,
		appID, appUserID, setupIntentID); err != nil {
		return fmt.Errorf("sqlite: clear default setup of %q in app %q: %w", appUserID, appID, err)
	}
	return nil
}
