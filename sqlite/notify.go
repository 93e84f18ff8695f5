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

// The statements of the apps' webhook endpoints, their notifications and
// delivery attempts (appwheel.NotifyStore).
const (
	// endpointColumns is the column list every endpoint query reads, in
	// scanEndpoint's order.
	endpointColumns = `app_id, id, url, events, sealed_secret, disabled, disabled_reason,
		failing_since, created_at, updated_at`
	endpointQuery  = `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE app_id = ? AND id = ?`
	endpointsQuery = `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE app_id = ?
		ORDER BY created_at, id`
	// A success clears failing_since, a failure sets it unless it is set:
	// one statement each, which also reads the result.
	markDeliveredQuery = `UPDATE webhook_endpoints SET failing_since = NULL
		WHERE app_id = ? AND id = ?
		RETURNING failing_since`
	markFailedQuery = `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, ?)
		WHERE app_id = ? AND id = ?
		RETURNING failing_since`

	notificationColumns = `app_id, id, type, app_user_id, created, body, recorded_at`
	// An id is an app's (the primary key), but evt_… IDs are random: of
	// several apps' with one id, the first app's, so the answer is stable.
	notificationQuery = `SELECT ` + notificationColumns + ` FROM notifications WHERE id = ?
		ORDER BY app_id LIMIT 1`

	attemptColumns = `app_id, event_id, endpoint_id, attempt, at, status_code, latency, error,
		outcome, next_retry_at`
	// The attempts read delivery_attempts_latest in its order.
	attemptsQuery = `SELECT ` + attemptColumns + ` FROM delivery_attempts WHERE app_id = ?
		ORDER BY at DESC, event_id DESC, endpoint_id DESC, attempt DESC LIMIT ?`
	failedAttemptsQuery = `SELECT ` + attemptColumns + ` FROM delivery_attempts
		WHERE app_id = ? AND error <> ''
		ORDER BY at DESC, event_id DESC, endpoint_id DESC, attempt DESC LIMIT ?`
)

// CreateEndpoint inserts an endpoint. An endpoint with the same (app, id)
// is ECONFLICT.
func (db *DB) CreateEndpoint(ctx context.Context, ep *appwheel.WebhookEndpoint) error {
	events, err := storerow.EncodeEventTypes(ep.Events)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ep.AppID, ep.ID, ep.URL, events, ep.SealedSecret, ep.Disabled, ep.DisabledReason,
		toNullMicros(ep.FailingSince), toMicros(ep.CreatedAt), toMicros(ep.UpdatedAt))
	if isUniqueViolation(err) {
		return appwheel.Errorf(appwheel.ECONFLICT, "endpoint %s exists already", appwheel.Quote(ep.ID))
	}
	if err != nil {
		return fmt.Errorf("sqlite: create endpoint %q of app %q: %w", ep.ID, ep.AppID, err)
	}
	return nil
}

// Endpoint returns one endpoint of the app, or ENOTFOUND.
func (db *DB) Endpoint(ctx context.Context, appID, id string) (*appwheel.WebhookEndpoint, error) {
	ep, err := scanEndpoint(db.queryRow(ctx, endpointQuery, appID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, storerow.EndpointNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: endpoint %q of app %q: %w", id, appID, err)
	}
	return ep, nil
}

// Endpoints returns the app's endpoints, oldest first; endpoints created in
// the same microsecond come in ID order, so the order is stable.
func (db *DB) Endpoints(ctx context.Context, appID string) ([]*appwheel.WebhookEndpoint, error) {
	rows, err := db.query(ctx, endpointsQuery, appID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: endpoints of app %q: %w", appID, err)
	}
	eps, err := scanAll(rows, scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("sqlite: endpoints of app %q: %w", appID, err)
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
	res, err := db.exec(ctx, `UPDATE webhook_endpoints SET
		url = ?, events = ?, sealed_secret = ?, disabled = ?, disabled_reason = ?,
		failing_since = ?, created_at = ?, updated_at = ?
		WHERE app_id = ? AND id = ?`,
		ep.URL, events, ep.SealedSecret, ep.Disabled, ep.DisabledReason,
		toNullMicros(ep.FailingSince), toMicros(ep.CreatedAt), toMicros(ep.UpdatedAt),
		ep.AppID, ep.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update endpoint %q of app %q: %w", ep.ID, ep.AppID, err)
	}
	ok, err := wrote(res, "update endpoint %q of app %q", ep.ID, ep.AppID)
	if err != nil {
		return err
	}
	if !ok {
		return storerow.EndpointNotFound(ep.ID)
	}
	return nil
}

// DeleteEndpoint removes an endpoint, or returns ENOTFOUND. Its attempts
// are kept.
func (db *DB) DeleteEndpoint(ctx context.Context, appID, id string) error {
	res, err := db.exec(ctx, `DELETE FROM webhook_endpoints WHERE app_id = ? AND id = ?`, appID, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete endpoint %q of app %q: %w", id, appID, err)
	}
	ok, err := wrote(res, "delete endpoint %q of app %q", id, appID)
	if err != nil {
		return err
	}
	if !ok {
		return storerow.EndpointNotFound(id)
	}
	return nil
}

// MarkEndpointResult records the outcome of a delivery attempt at at and
// returns FailingSince after the change, or ENOTFOUND. One UPDATE on the
// writer both changes the row and reads it back, so concurrent results take
// turns and a failure never overwrites an earlier one's time.
func (db *DB) MarkEndpointResult(ctx context.Context, appID, id string, delivered bool, at time.Time) (time.Time, error) {
	q, args := markFailedQuery, []any{toMicros(at), appID, id}
	if delivered {
		q, args = markDeliveredQuery, []any{appID, id}
	}
	s, err := prepared(ctx, db.wdb, &db.wstmts, q)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: mark endpoint %q of app %q: %w", id, appID, err)
	}
	// SQLite makes the change at the first step and commits when the row
	// is closed, which Scan does.
	var since sql.NullInt64
	err = s.QueryRowContext(ctx, args...).Scan(&since)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, storerow.EndpointNotFound(id)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: mark endpoint %q of app %q: %w", id, appID, err)
	}
	return fromNullMicros(since), nil
}

// RecordNotification stores n unless its (app, id) is stored already and
// reports whether it was new. The primary key decides, in one statement:
// a notification recorded already keeps its body.
func (db *DB) RecordNotification(ctx context.Context, n *appwheel.Notification) (bool, error) {
	res, err := db.exec(ctx, `INSERT INTO notifications (`+notificationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, id) DO NOTHING`,
		n.AppID, n.ID, n.Type, n.AppUserID, n.Created, n.Body, toMicros(n.RecordedAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: record notification %q of app %q: %w", n.ID, n.AppID, err)
	}
	return wrote(res, "record notification %q of app %q", n.ID, n.AppID)
}

// Notification returns a recorded notification by its id, of whichever
// app, or ENOTFOUND.
func (db *DB) Notification(ctx context.Context, id string) (*appwheel.Notification, error) {
	var (
		n          appwheel.Notification
		recordedAt int64
	)
	err := db.queryRow(ctx, notificationQuery, id).Scan(
		&n.AppID, &n.ID, &n.Type, &n.AppUserID, &n.Created, &n.Body, &recordedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "notification %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: notification %q: %w", id, err)
	}
	n.RecordedAt = fromMicros(recordedAt)
	return &n, nil
}

// RecordAttempt stores one delivery attempt. The same attempt recorded
// again (same event, endpoint, number and time) is stored once.
func (db *DB) RecordAttempt(ctx context.Context, a *appwheel.DeliveryAttempt) error {
	if _, err := db.exec(ctx, `INSERT INTO delivery_attempts (`+attemptColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		a.AppID, a.EventID, a.EndpointID, a.Attempt, toMicros(a.At), a.StatusCode,
		a.Latency.Microseconds(), a.Error, a.Outcome, toNullMicros(a.NextRetryAt)); err != nil {
		return fmt.Errorf("sqlite: record attempt %d of event %q to endpoint %q of app %q: %w",
			a.Attempt, a.EventID, a.EndpointID, a.AppID, err)
	}
	return nil
}

// Attempts returns the app's latest delivery attempts, newest first, at
// most limit; with failedOnly, only the failed ones.
func (db *DB) Attempts(ctx context.Context, appID string, failedOnly bool, limit int) ([]*appwheel.DeliveryAttempt, error) {
	if limit < 1 {
		return nil, nil // SQLite reads a negative LIMIT as none
	}
	q := attemptsQuery
	if failedOnly {
		q = failedAttemptsQuery
	}
	rows, err := db.query(ctx, q, appID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: attempts of app %q: %w", appID, err)
	}
	attempts, err := scanAll(rows, scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("sqlite: attempts of app %q: %w", appID, err)
	}
	return attempts, nil
}

// DeleteNotificationsBefore forgets the notifications recorded and the
// attempts made before t, in one transaction, and returns how many rows
// of both.
func (db *DB) DeleteNotificationsBefore(ctx context.Context, t time.Time) (int64, error) {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete notifications: %w", err)
	}
	defer tx.Rollback()
	var total int64
	for _, q := range []string{
		`DELETE FROM notifications WHERE recorded_at < ?`,
		`DELETE FROM delivery_attempts WHERE at < ?`,
	} {
		res, err := tx.ExecContext(ctx, q, toMicros(t))
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete notifications: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete notifications: %w", err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: delete notifications: %w", err)
	}
	return total, nil
}

func scanEndpoint(s scanner) (*appwheel.WebhookEndpoint, error) {
	var (
		ep                   appwheel.WebhookEndpoint
		events               string
		failingSince         sql.NullInt64
		createdAt, updatedAt int64
	)
	if err := s.Scan(&ep.AppID, &ep.ID, &ep.URL, &events, &ep.SealedSecret, &ep.Disabled,
		&ep.DisabledReason, &failingSince, &createdAt, &updatedAt); err != nil {
		return nil, err
	}
	var err error
	if ep.Events, err = storerow.DecodeEventTypes([]byte(events), ep.ID); err != nil {
		return nil, err
	}
	ep.FailingSince = fromNullMicros(failingSince)
	ep.CreatedAt = fromMicros(createdAt)
	ep.UpdatedAt = fromMicros(updatedAt)
	return &ep, nil
}

func scanAttempt(s scanner) (*appwheel.DeliveryAttempt, error) {
	var (
		a           appwheel.DeliveryAttempt
		at, latency int64
		nextRetryAt sql.NullInt64
	)
	if err := s.Scan(&a.AppID, &a.EventID, &a.EndpointID, &a.Attempt, &at, &a.StatusCode,
		&latency, &a.Error, &a.Outcome, &nextRetryAt); err != nil {
		return nil, err
	}
	a.At = fromMicros(at)
	a.Latency = time.Duration(latency) * time.Microsecond
	a.NextRetryAt = fromNullMicros(nextRetryAt)
	return &a, nil
}
