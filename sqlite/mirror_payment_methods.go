package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
)

// The statements of the payment methods, built once from storerow's column
// list.
var (
	savePaymentMethodQuery = `INSERT INTO payment_methods (app_id, ` + storerow.PaymentMethods.List() + `, version)
		VALUES (` + params(len(storerow.PaymentMethods.Columns)+2) + `)
		ON CONFLICT (app_id, id) DO UPDATE SET ` + storerow.PaymentMethods.Excluded() + `, version = excluded.version
		WHERE excluded.version > payment_methods.version`
	paymentMethodQuery = `SELECT ` + storerow.PaymentMethods.List() + ` FROM payment_methods
		WHERE app_id = ? AND id = ?`
	// A customer's methods in payment_methods_by_customer order.
	paymentMethodsOfQuery = `SELECT ` + storerow.PaymentMethods.List() + ` FROM payment_methods
		WHERE app_id = ? AND customer_id = ?
		ORDER BY created DESC, id DESC`
)

// SavePaymentMethod writes pm when version is newer than the stored one and
// reports whether it wrote. One upsert decides: it inserts a method not
// mirrored yet, or overwrites it only under the version guard, so of two
// racing snapshots the newer stays whatever order they commit in.
// CustomerID "" means detached.
func (db *DB) SavePaymentMethod(ctx context.Context, appID string, pm *appwheel.PaymentMethod, version int64) (bool, error) {
	res, err := db.exec(ctx, savePaymentMethodQuery, storerow.Versioned(appID, codec.PaymentMethodValues(pm), version)...)
	if err != nil {
		return false, fmt.Errorf("sqlite: save payment method %q of app %q: %w", pm.ID, appID, err)
	}
	return wrote(res, "save payment method %q of app %q", pm.ID, appID)
}

// MirroredPaymentMethod returns one payment method, attached or not, or
// ENOTFOUND.
func (db *DB) MirroredPaymentMethod(ctx context.Context, appID, id string) (*appwheel.PaymentMethod, error) {
	pm, err := codec.ScanPaymentMethod(db.queryRow(ctx, paymentMethodQuery, appID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "payment method %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: payment method %q of app %q: %w", id, appID, err)
	}
	return pm, nil
}

// PaymentMethodsOf returns a customer's attached payment methods, newest
// first (created, then id, descending): one scan of
// payment_methods_by_customer. Detached methods belong to no customer, so
// customerID "" has none.
func (db *DB) PaymentMethodsOf(ctx context.Context, appID, customerID string) ([]*appwheel.PaymentMethod, error) {
	if customerID == "" {
		return nil, nil
	}
	rows, err := db.query(ctx, paymentMethodsOfQuery, appID, customerID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: payment methods of %q in app %q: %w", customerID, appID, err)
	}
	pms, err := scanAll(rows, codec.ScanPaymentMethod)
	if err != nil {
		return nil, fmt.Errorf("sqlite: payment methods of %q in app %q: %w", customerID, appID, err)
	}
	return pms, nil
}
