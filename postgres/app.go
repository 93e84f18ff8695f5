package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// appColumns is the column list every app query reads, in scanApp's order.
const appColumns = `id, name, platform,
	sealed_secret, sealed_previous_secret, previous_secret_expires_at,
	sealed_stripe_secret_key, sealed_stripe_webhook_secret, stripe_api_base,
	redirect_hosts, disabled, created_at, updated_at, read_mode, branding`

// CreateApp inserts a new app. An app with the same ID is ECONFLICT.
func (db *DB) CreateApp(ctx context.Context, app *appwheel.AppRecord) error {
	branding, err := storerow.EncodeBranding(app.Branding)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO apps (`+appColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		app.ID, app.Name, app.Platform,
		app.SealedSecret, app.SealedPreviousSecret, nullTime(app.PreviousSecretExpiresAt),
		app.SealedStripeSecretKey, app.SealedStripeWebhookSecret, app.StripeAPIBase,
		hosts(app.RedirectHosts), app.Disabled, app.CreatedAt, app.UpdatedAt, app.ReadMode, branding)
	if isUniqueViolation(err) {
		return appwheel.Errorf(appwheel.ECONFLICT, "app %s exists already", appwheel.Quote(app.ID))
	}
	if err != nil {
		return fmt.Errorf("postgres: create app %q: %w", app.ID, err)
	}
	return nil
}

// App returns the app with the given ID, or ENOTFOUND.
func (db *DB) App(ctx context.Context, id string) (*appwheel.AppRecord, error) {
	row := db.pool.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE id = $1`, id)
	app, err := scanApp(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "app %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: app %q: %w", id, err)
	}
	return app, nil
}

// Apps returns every app, oldest first; apps created in the same
// microsecond come in ID order, so the order is stable.
func (db *DB) Apps(ctx context.Context) ([]*appwheel.AppRecord, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+appColumns+` FROM apps ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: apps: %w", err)
	}
	apps, err := collect(rows, scanApp)
	if err != nil {
		return nil, fmt.Errorf("postgres: apps: %w", err)
	}
	return apps, nil
}

// UpdateApp replaces every column of the stored app with the same ID, or
// returns ENOTFOUND.
func (db *DB) UpdateApp(ctx context.Context, app *appwheel.AppRecord) error {
	branding, err := storerow.EncodeBranding(app.Branding)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE apps SET
		name = $1, platform = $2,
		sealed_secret = $3, sealed_previous_secret = $4, previous_secret_expires_at = $5,
		sealed_stripe_secret_key = $6, sealed_stripe_webhook_secret = $7, stripe_api_base = $8,
		redirect_hosts = $9, disabled = $10, created_at = $11, updated_at = $12, read_mode = $13,
		branding = $14
		WHERE id = $15`,
		app.Name, app.Platform,
		app.SealedSecret, app.SealedPreviousSecret, nullTime(app.PreviousSecretExpiresAt),
		app.SealedStripeSecretKey, app.SealedStripeWebhookSecret, app.StripeAPIBase,
		hosts(app.RedirectHosts), app.Disabled, app.CreatedAt, app.UpdatedAt, app.ReadMode,
		branding, app.ID)
	if err != nil {
		return fmt.Errorf("postgres: update app %q: %w", app.ID, err)
	}
	if !wrote(tag) {
		return appwheel.Errorf(appwheel.ENOTFOUND, "app %q not found", app.ID)
	}
	return nil
}

func scanApp(row storerow.Row) (*appwheel.AppRecord, error) {
	var (
		app             appwheel.AppRecord
		previousExpires pgtype.Timestamptz
		branding        []byte
	)
	if err := row.Scan(&app.ID, &app.Name, &app.Platform,
		&app.SealedSecret, &app.SealedPreviousSecret, &previousExpires,
		&app.SealedStripeSecretKey, &app.SealedStripeWebhookSecret, &app.StripeAPIBase,
		&app.RedirectHosts, &app.Disabled, &app.CreatedAt, &app.UpdatedAt, &app.ReadMode, &branding); err != nil {
		return nil, err
	}
	if err := storerow.DecodeBranding(branding, &app.Branding); err != nil {
		return nil, fmt.Errorf("branding of app %q: %w", app.ID, err)
	}
	if len(app.RedirectHosts) == 0 {
		app.RedirectHosts = nil
	}
	app.PreviousSecretExpiresAt = fromNullTime(previousExpires)
	app.CreatedAt = app.CreatedAt.UTC()
	app.UpdatedAt = app.UpdatedAt.UTC()
	return &app, nil
}

// hosts stores no hosts as an empty array rather than NULL, since the column
// is NOT NULL.
func hosts(h []string) []string {
	if h == nil {
		return []string{}
	}
	return h
}
