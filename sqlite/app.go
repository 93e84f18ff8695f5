package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
)

// appColumns is the column list every app query reads, in scanApp's order.
const appColumns = `id, name, platform,
	sealed_secret, sealed_previous_secret, previous_secret_expires_at,
	sealed_stripe_secret_key, sealed_stripe_webhook_secret, stripe_api_base,
	redirect_hosts, disabled, created_at, updated_at, read_mode, branding`

// CreateApp inserts a new app. An app with the same ID is ECONFLICT.
func (db *DB) CreateApp(ctx context.Context, app *appwheel.AppRecord) error {
	hosts, err := encodeHosts(app.RedirectHosts)
	if err != nil {
		return err
	}
	branding, err := storerow.EncodeBranding(app.Branding)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, `INSERT INTO apps (`+appColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		app.ID, app.Name, app.Platform,
		app.SealedSecret, app.SealedPreviousSecret, toNullMicros(app.PreviousSecretExpiresAt),
		app.SealedStripeSecretKey, app.SealedStripeWebhookSecret, app.StripeAPIBase,
		hosts, app.Disabled, toMicros(app.CreatedAt), toMicros(app.UpdatedAt), app.ReadMode, branding)
	if isUniqueViolation(err) {
		return appwheel.Errorf(appwheel.ECONFLICT, "app %s exists already", appwheel.Quote(app.ID))
	}
	if err != nil {
		return fmt.Errorf("sqlite: create app %q: %w", app.ID, err)
	}
	return nil
}

// App returns the app with the given ID, or ENOTFOUND.
func (db *DB) App(ctx context.Context, id string) (*appwheel.AppRecord, error) {
	row := db.queryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE id = ?`, id)
	app, err := scanApp(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "app %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: app %q: %w", id, err)
	}
	return app, nil
}

// Apps returns every app, oldest first; apps created in the same
// microsecond come in ID order, so the order is stable.
func (db *DB) Apps(ctx context.Context) ([]*appwheel.AppRecord, error) {
	rows, err := db.query(ctx, `SELECT `+appColumns+` FROM apps ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: apps: %w", err)
	}
	defer rows.Close()
	var apps []*appwheel.AppRecord
	for rows.Next() {
		app, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: apps: %w", err)
		}
		apps = append(apps, app)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: apps: %w", err)
	}
	return apps, nil
}

// UpdateApp replaces every column of the stored app with the same ID, or
// returns ENOTFOUND.
func (db *DB) UpdateApp(ctx context.Context, app *appwheel.AppRecord) error {
	hosts, err := encodeHosts(app.RedirectHosts)
	if err != nil {
		return err
	}
	branding, err := storerow.EncodeBranding(app.Branding)
	if err != nil {
		return err
	}
	res, err := db.exec(ctx, `UPDATE apps SET
		name = ?, platform = ?,
		sealed_secret = ?, sealed_previous_secret = ?, previous_secret_expires_at = ?,
		sealed_stripe_secret_key = ?, sealed_stripe_webhook_secret = ?, stripe_api_base = ?,
		redirect_hosts = ?, disabled = ?, created_at = ?, updated_at = ?, read_mode = ?, branding = ?
		WHERE id = ?`,
		app.Name, app.Platform,
		app.SealedSecret, app.SealedPreviousSecret, toNullMicros(app.PreviousSecretExpiresAt),
		app.SealedStripeSecretKey, app.SealedStripeWebhookSecret, app.StripeAPIBase,
		hosts, app.Disabled, toMicros(app.CreatedAt), toMicros(app.UpdatedAt), app.ReadMode, branding,
		app.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update app %q: %w", app.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: update app %q: %w", app.ID, err)
	}
	if n == 0 {
		return appwheel.Errorf(appwheel.ENOTFOUND, "app %q not found", app.ID)
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common: storerow.Row,
// which the mirror's scans take too.
type scanner = storerow.Row

func scanApp(s scanner) (*appwheel.AppRecord, error) {
	var (
		app                  appwheel.AppRecord
		previousExpires      sql.NullInt64
		hosts, branding      string
		createdAt, updatedAt int64
	)
	if err := s.Scan(&app.ID, &app.Name, &app.Platform,
		&app.SealedSecret, &app.SealedPreviousSecret, &previousExpires,
		&app.SealedStripeSecretKey, &app.SealedStripeWebhookSecret, &app.StripeAPIBase,
		&hosts, &app.Disabled, &createdAt, &updatedAt, &app.ReadMode, &branding); err != nil {
		return nil, err
	}
	if err := storerow.DecodeBranding([]byte(branding), &app.Branding); err != nil {
		return nil, fmt.Errorf("branding of app %q: %w", app.ID, err)
	}
	if err := json.Unmarshal([]byte(hosts), &app.RedirectHosts); err != nil {
		return nil, fmt.Errorf("redirect_hosts of app %q: %w", app.ID, err)
	}
	if len(app.RedirectHosts) == 0 {
		app.RedirectHosts = nil
	}
	app.PreviousSecretExpiresAt = fromNullMicros(previousExpires)
	app.CreatedAt = fromMicros(createdAt)
	app.UpdatedAt = fromMicros(updatedAt)
	return &app, nil
}

// encodeHosts stores no hosts as "[]" rather than JSON null, so the column
// always holds an array.
func encodeHosts(hosts []string) (string, error) {
	if len(hosts) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(hosts)
	if err != nil {
		return "", fmt.Errorf("sqlite: redirect hosts: %w", err)
	}
	return string(b), nil
}
