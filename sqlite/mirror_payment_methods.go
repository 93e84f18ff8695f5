package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/appwheel/appwheel"
)

// paymentMethodColumns is the column list every payment method query reads,
// in scanPaymentMethod's order.
const paymentMethodColumns = `id, customer_id, type, created, raw`

// SavePaymentMethod writes pm when version is newer than the stored one and
// reports whether it wrote. One upsert decides: it inserts a method not
// mirrored yet, or overwrites it only under the version guard, so of two
// racing snapshots the newer stays whatever order they commit in.
// CustomerID "" means detached.
func (db *DB) SavePaymentMethod(ctx context.Context, appID string, pm *appwheel.PaymentMethod, version int64) (bool, error) {
	res, err := db.exec(ctx, `
		INSERT INTO payment_methods (app_id, `+paymentMethodColumns+`, version)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, id) DO UPDATE SET
			customer_id = excluded.customer_id,
			type = excluded.type,
			created = excluded.created,
			raw = excluded.raw,
			version = excluded.version
		WHERE excluded.version > payment_methods.version`,
		appID, pm.ID, pm.CustomerID, pm.Type, pm.Created, blob(pm.Raw), version)
	if err != nil {
		return false, fmt.Errorf("sqlite: save payment method %q of app %q: %w", pm.ID, appID, err)
	}
	return wrote(res, "save payment method %q of app %q", pm.ID, appID)
}

// MirroredPaymentMethod returns one payment method, attached or not, or
// ENOTFOUND.
func (db *DB) MirroredPaymentMethod(ctx context.Context, appID, id string) (*appwheel.PaymentMethod, error) {
	row := db.queryRow(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
		WHERE app_id = ? AND id = ?`, appID, id)
	pm, err := scanPaymentMethod(row)
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
	rows, err := db.query(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
		WHERE app_id = ? AND customer_id = ?
		ORDER BY created DESC, id DESC`,
		appID, customerID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: payment methods of %q in app %q: %w", customerID, appID, err)
	}
	pms, err := scanAll(rows, scanPaymentMethod)
	if err != nil {
		return nil, fmt.Errorf("sqlite: payment methods of %q in app %q: %w", customerID, appID, err)
	}
	return pms, nil
}

func scanPaymentMethod(s scanner) (*appwheel.PaymentMethod, error) {
	var (
		pm  appwheel.PaymentMethod
		raw []byte
	)
	if err := s.Scan(&pm.ID, &pm.CustomerID, &pm.Type, &pm.Created, &raw); err != nil {
		return nil, err
	}
	pm.Raw = raw
	return &pm, nil
}
