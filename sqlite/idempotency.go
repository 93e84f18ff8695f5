package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
)

// BeginIdempotentRequest claims req.Key for req, or returns the record that
// holds it.
//
// One upsert decides, so two callers never both own a key: it inserts a new
// row, or overwrites the existing one only when that has expired (before
// req.CreatedAt) or is unfinished and stale (created, and last heartbeat,
// before staleBefore).
// One affected row means the caller owns the key. The write transaction
// (BEGIN IMMEDIATE) keeps the row from changing between the upsert and the
// read of the holder.
func (db *DB) BeginIdempotentRequest(ctx context.Context, req *appwheel.IdempotentRequest, staleBefore time.Time) (*appwheel.IdempotentRequest, error) {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin idempotent request: %w", err)
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, `
		INSERT INTO idempotency_keys
			(app_id, key, request_hash, finished, status, body, created_at, expires_at, heartbeat_at)
		VALUES (?, ?, ?, 0, 0, NULL, ?, ?, 0)
		ON CONFLICT (app_id, key) DO UPDATE SET
			request_hash = excluded.request_hash,
			finished = 0, status = 0, body = NULL,
			created_at = excluded.created_at,
			expires_at = excluded.expires_at,
			heartbeat_at = 0
		WHERE idempotency_keys.expires_at < excluded.created_at
			OR (idempotency_keys.finished = 0 AND max(idempotency_keys.created_at, idempotency_keys.heartbeat_at) < ?)`,
		req.AppID, req.Key, req.RequestHash, toMicros(req.CreatedAt), toMicros(req.ExpiresAt),
		toMicros(staleBefore))
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin idempotent request: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin idempotent request: %w", err)
	}
	if n == 1 {
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("sqlite: begin idempotent request: %w", err)
		}
		return nil, nil
	}

	var (
		held                 = appwheel.IdempotentRequest{AppID: req.AppID, Key: req.Key}
		createdAt, expiresAt int64
	)
	if err := tx.QueryRowContext(ctx, `
		SELECT request_hash, finished, status, body, created_at, expires_at
		FROM idempotency_keys WHERE app_id = ? AND key = ?`,
		req.AppID, req.Key).Scan(&held.RequestHash, &held.Finished, &held.Status, &held.Body, &createdAt, &expiresAt); err != nil {
		return nil, fmt.Errorf("sqlite: begin idempotent request: %w", err)
	}
	held.CreatedAt = fromMicros(createdAt)
	held.ExpiresAt = fromMicros(expiresAt)
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: begin idempotent request: %w", err)
	}
	return &held, nil
}

// FinishIdempotentRequest stores the response of the key's owner. It
// returns ENOTFOUND when owner does not hold the key in flight (never
// begun, abandoned, expired and deleted, finished already, or taken over by
// a later request, whose created_at differs), so the caller learns that the
// response will not be replayed.
func (db *DB) FinishIdempotentRequest(ctx context.Context, owner *appwheel.IdempotentRequest, status int, body []byte) error {
	appID, key := owner.AppID, owner.Key
	res, err := db.exec(ctx, `
		UPDATE idempotency_keys SET finished = 1, status = ?, body = ?
		WHERE app_id = ? AND key = ? AND finished = 0 AND created_at = ?`,
		status, body, appID, key, toMicros(owner.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: finish idempotent request: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: finish idempotent request: %w", err)
	}
	if n == 0 {
		return appwheel.Errorf(appwheel.ENOTFOUND, "idempotency key %q is not in flight", key)
	}
	return nil
}

// HeartbeatIdempotentRequest records that owner is still working on its
// request at at; it does nothing when owner no longer holds the key in
// flight.
func (db *DB) HeartbeatIdempotentRequest(ctx context.Context, owner *appwheel.IdempotentRequest, at time.Time) error {
	_, err := db.exec(ctx,
		`UPDATE idempotency_keys SET heartbeat_at = ? WHERE app_id = ? AND key = ? AND finished = 0 AND created_at = ?`,
		toMicros(at), owner.AppID, owner.Key, toMicros(owner.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: heartbeat of idempotent request: %w", err)
	}
	return nil
}

// AbandonIdempotentRequest releases the owner's key without a response. It
// deletes only the owner's unfinished record, so a late abandon never erases
// a response or a successor's claim.
func (db *DB) AbandonIdempotentRequest(ctx context.Context, owner *appwheel.IdempotentRequest) error {
	_, err := db.exec(ctx,
		`DELETE FROM idempotency_keys WHERE app_id = ? AND key = ? AND finished = 0 AND created_at = ?`,
		owner.AppID, owner.Key, toMicros(owner.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: abandon idempotent request: %w", err)
	}
	return nil
}

// DeleteExpiredIdempotentRequests forgets records that expired before now and
// returns how many.
func (db *DB) DeleteExpiredIdempotentRequests(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < ?`, toMicros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired idempotent requests: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired idempotent requests: %w", err)
	}
	return n, nil
}
