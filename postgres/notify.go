package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The statements of the apps' webhook endpoints, their notifications and
// delivery attempts (appwheel.NotifyStore).
const (
	// endpointColumns is the column list every endpoint query reads, in
	// scanEndpoint's order.
	endpointColumns = `app_id, id, url, events, sealed_secret, disabled, disabled_reason,
		failing_since, created_at, updated_at`
	endpointQuery  = `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE app_id = $1 AND id = $2`
	endpointsQuery = `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE app_id = $1
		ORDER BY created_at, id`
	// A success clears failing_since, a failure sets it unless it is set:
	// one statement each, which also reads the result. The row lock orders
	// concurrent results, so a failure never overwrites an earlier one's
	// time.
	markDeliveredQuery = `UPDATE webhook_endpoints SET failing_since = NULL
		WHERE app_id = $1 AND id = $2
		RETURNING failing_since`
	markFailedQuery = `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $3)
		WHERE app_id = $1 AND id = $2
		RETURNING failing_since`

	notificationColumns = `app_id, id, type, app_user_id, created, body, recorded_at`
	// An id is an app's (the primary key), but evt_… IDs are random: of
	// several apps' with one id, the first app's, so the answer is stable.
	notificationQuery = `SELECT ` + notificationColumns + ` FROM notifications WHERE id = $1
		ORDER BY app_id LIMIT 1`

	attemptColumns = `app_id, event_id, endpoint_id, attempt, at, status_code, latency, error,
		outcome, next_retry_at`
	// The attempts read delivery_attempts_latest in its order.
	attemptsQuery = `SELECT ` + attemptColumns + ` FROM delivery_attempts WHERE app_id = $1
		ORDER BY at DESC, event_id DESC, endpoint_id DESC, attempt DESC LIMIT $2`
	failedAttemptsQuery = `SELECT ` + attemptColumns + ` FROM delivery_attempts
		WHERE app_id = $1 AND error <> ''
		ORDER BY at DESC, event_id DESC, endpoint_id DESC, attempt DESC LIMIT $2`

	// deleteNotificationsQuery deletes from both tables in one statement
	// (one snapshot) and counts the rows of both.
	deleteNotificationsQuery = `WITH n AS (DELETE FROM notifications WHERE recorded_at < $1 RETURNING 1),
		a AS (DELETE FROM delivery_attempts WHERE at < $1 RETURNING 1)
		SELECT (SELECT count(*) FROM n) + (SELECT count(*) FROM a)`
)

// CreateEndpoint inserts an endpoint. An endpoint with the same (app, id)
// is ECONFLICT.
func (db *DB) CreateEndpoint(ctx context.Context, ep *appwheel.WebhookEndpoint) error {
	events, err := storerow.EncodeEventTypes(ep.Events)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`)
		VALUES (`+params(10)+`)`,
		ep.AppID, ep.ID, ep.URL, events, ep.SealedSecret, ep.Disabled, ep.DisabledReason,
		nullTime(ep.FailingSince), ep.CreatedAt, ep.UpdatedAt)
	if isUniqueViolation(err) {
		return appwheel.Errorf(appwheel.ECONFLICT, "endpoint %s exists already", appwheel.Quote(ep.ID))
	}
	if err != nil {
		return fmt.Errorf("postgres: create endpoint %q of app %q: %w", ep.ID, ep.AppID, err)
	}
	return nil
}

// Endpoint returns one endpoint of the app, or ENOTFOUND.
func (db *DB) Endpoint(ctx context.Context, appID, id string) (*appwheel.WebhookEndpoint, error) {
	ep, err := scanEndpoint(db.pool.QueryRow(ctx, endpointQuery, appID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, storerow.EndpointNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: endpoint %q of app %q: %w", id, appID, err)
	}
	return ep, nil
}

// Endpoints returns the app's endpoints, oldest first; endpoints created in
// the same microsecond come in ID order, so the order is stable.
func (db *DB) Endpoints(ctx context.Context, appID string) ([]*appwheel.WebhookEndpoint, error) {
	rows, err := db.pool.Query(ctx, endpointsQuery, appID)
	if err != nil {
		return nil, fmt.Errorf("postgres: endpoints of app %q: %w", appID, err)
	}
	eps, err := collect(rows, scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("postgres: endpoints of app %q: %w", appID, err)
	}
	return eps, nil
}

// UpdateEndpoint replaces every column of the stored endpoint with the same
// (app, id), or returns ENOTFOUND.
func (db *DB) UpdateEndpoint(ctx context.Context, ep *appwheel.WebhookEndpoint) error {
	events, err := storerow.EncodeEventTypes(ep.Events)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE webhook_endpoints SET
		url = $1, events = $2, sealed_secret = $3, disabled = $4, disabled_reason = $5,
		failing_since = $6, created_at = $7, updated_at = $8
		WHERE app_id = $9 AND id = $10`,
		ep.URL, events, ep.SealedSecret, ep.Disabled, ep.DisabledReason,
		nullTime(ep.FailingSince), ep.CreatedAt, ep.UpdatedAt,
		ep.AppID, ep.ID)
	if err != nil {
		return fmt.Errorf("postgres: update endpoint %q of app %q: %w", ep.ID, ep.AppID, err)
	}
	if !wrote(tag) {
		return storerow.EndpointNotFound(ep.ID)
	}
	return nil
}

// DeleteEndpoint removes an endpoint, or returns ENOTFOUND. Its attempts
// are kept.
func (db *DB) DeleteEndpoint(ctx context.Context, appID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE app_id = $1 AND id = $2`, appID, id)
	if err != nil {
		return fmt.Errorf("postgres: delete endpoint %q of app %q: %w", id, appID, err)
	}
	if !wrote(tag) {
		return storerow.EndpointNotFound(id)
	}
	return nil
}

// MarkEndpointResult records the outcome of a delivery attempt at at and
// returns FailingSince after the change, or ENOTFOUND, in one statement.
func (db *DB) MarkEndpointResult(ctx context.Context, appID, id string, delivered bool, at time.Time) (time.Time, error) {
	var row pgx.Row
	if delivered {
		row = db.pool.QueryRow(ctx, markDeliveredQuery, appID, id)
	} else {
		row = db.pool.QueryRow(ctx, markFailedQuery, appID, id, at)
	}
	var since pgtype.Timestamptz
	err := row.Scan(&since)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, storerow.EndpointNotFound(id)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: mark endpoint %q of app %q: %w", id, appID, err)
	}
	return fromNullTime(since), nil
}

// RecordNotification stores n unless its (app, id) is stored already and
// reports whether it was new. The primary key decides, in one statement:
// a notification recorded already keeps its body.
func (db *DB) RecordNotification(ctx context.Context, n *appwheel.Notification) (bool, error) {
	tag, err := db.pool.Exec(ctx, `INSERT INTO notifications (`+notificationColumns+`)
		VALUES (`+params(7)+`)
		ON CONFLICT (app_id, id) DO NOTHING`,
		n.AppID, n.ID, n.Type, n.AppUserID, n.Created, n.Body, n.RecordedAt)
	if err != nil {
		return false, fmt.Errorf("postgres: record notification %q of app %q: %w", n.ID, n.AppID, err)
	}
	return wrote(tag), nil
}

// Notification returns a recorded notification by its id, of whichever
// app, or ENOTFOUND.
func (db *DB) Notification(ctx context.Context, id string) (*appwheel.Notification, error) {
	var n appwheel.Notification
	err := db.pool.QueryRow(ctx, notificationQuery, id).Scan(
		&n.AppID, &n.ID, &n.Type, &n.AppUserID, &n.Created, &n.Body, &n.RecordedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "notification %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: notification %q: %w", id, err)
	}
	n.RecordedAt = n.RecordedAt.UTC()
	return &n, nil
}

// RecordAttempt stores one delivery attempt. The same attempt recorded
// again (same event, endpoint, number and time) is stored once.
func (db *DB) RecordAttempt(ctx context.Context, a *appwheel.DeliveryAttempt) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO delivery_attempts (`+attemptColumns+`)
		VALUES (`+params(10)+`)
		ON CONFLICT DO NOTHING`,
		a.AppID, a.EventID, a.EndpointID, a.Attempt, a.At, a.StatusCode,
		a.Latency.Microseconds(), a.Error, a.Outcome, nullTime(a.NextRetryAt)); err != nil {
		return fmt.Errorf("postgres: record attempt %d of event %q to endpoint %q of app %q: %w",
			a.Attempt, a.EventID, a.EndpointID, a.AppID, err)
	}
	return nil
}

// Attempts returns the app's latest delivery attempts, newest first, at
// most limit; with failedOnly, only the failed ones.
func (db *DB) Attempts(ctx context.Context, appID string, failedOnly bool, limit int) ([]*appwheel.DeliveryAttempt, error) {
	if limit < 1 {
		return nil, nil // PostgreSQL refuses a negative LIMIT
	}
	q := attemptsQuery
	if failedOnly {
		q = failedAttemptsQuery
	}
	rows, err := db.pool.Query(ctx, q, appID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: attempts of app %q: %w", appID, err)
	}
	attempts, err := collect(rows, scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("postgres: attempts of app %q: %w", appID, err)
	}
	return attempts, nil
}

// DeleteNotificationsBefore forgets the notifications recorded and the
// attempts made before t, in one statement, and returns how many rows of
// both.
func (db *DB) DeleteNotificationsBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, deleteNotificationsQuery, t).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: delete notifications: %w", err)
	}
	return n, nil
}

func scanEndpoint(row storerow.Row) (*appwheel.WebhookEndpoint, error) {
	var (
		ep           appwheel.WebhookEndpoint
		events       []byte
		failingSince pgtype.Timestamptz
	)
	if err := row.Scan(&ep.AppID, &ep.ID, &ep.URL, &events, &ep.SealedSecret, &ep.Disabled,
		&ep.DisabledReason, &failingSince, &ep.CreatedAt, &ep.UpdatedAt); err != nil {
		return nil, err
	}
	var err error
	if ep.Events, err = storerow.DecodeEventTypes(events, ep.ID); err != nil {
		return nil, err
	}
	ep.FailingSince = fromNullTime(failingSince)
	ep.CreatedAt = ep.CreatedAt.UTC()
	ep.UpdatedAt = ep.UpdatedAt.UTC()
	return &ep, nil
}

func scanAttempt(row storerow.Row) (*appwheel.DeliveryAttempt, error) {
	var (
		a           appwheel.DeliveryAttempt
		latency     int64
		nextRetryAt pgtype.Timestamptz
	)
	if err := row.Scan(&a.AppID, &a.EventID, &a.EndpointID, &a.Attempt, &a.At, &a.StatusCode,
		&latency, &a.Error, &a.Outcome, &nextRetryAt); err != nil {
		return nil, err
	}
	a.At = a.At.UTC()
	a.Latency = time.Duration(latency) * time.Microsecond
	a.NextRetryAt = fromNullTime(nextRetryAt)
	return &a, nil
}
