package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/jackc/pgx/v5"
)

// BeginIdempotentRequest claims req.Key for req, or returns the record that
// holds it.
//
// One upsert decides, so two callers never both own a key: it inserts a new
// row, or overwrites the existing one only when that has expired (before
// req.CreatedAt) or is unfinished and stale (created before staleBefore).
// One affected row means the caller owns the key. Otherwise the upsert has
// still locked the holder's row (ON CONFLICT DO UPDATE locks the row it
// conflicts with even when its WHERE refuses the update), so within the
// transaction the row cannot change or vanish before it is read.
func (db *DB) BeginIdempotentRequest(ctx context.Context, req *appwheel.IdempotentRequest, staleBefore time.Time) (*appwheel.IdempotentRequest, error) {
	var held *appwheel.IdempotentRequest
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO idempotency_keys
				(app_id, key, request_hash, finished, status, body, created_at, expires_at)
			VALUES ($1, $2, $3, false, 0, NULL, $4, $5)
			ON CONFLICT (app_id, key) DO UPDATE SET
				request_hash = excluded.request_hash,
				finished = false, status = 0, body = NULL,
				created_at = excluded.created_at,
				expires_at = excluded.expires_at,
				heartbeat_at = NULL
			WHERE idempotency_keys.expires_at < excluded.created_at
				OR (NOT idempotency_keys.finished
					AND GREATEST(idempotency_keys.created_at, idempotency_keys.heartbeat_at) < $6)`,
			req.AppID, req.Key, req.RequestHash, req.CreatedAt, req.ExpiresAt, staleBefore)
		if err != nil {
			return err
		}
		if wrote(tag) {
			return nil
		}
		h := appwheel.IdempotentRequest{AppID: req.AppID, Key: req.Key}
		if err := tx.QueryRow(ctx, `
			SELECT request_hash, finished, status, body, created_at, expires_at
			FROM idempotency_keys WHERE app_id = $1 AND key = $2`,
			req.AppID, req.Key).Scan(&h.RequestHash, &h.Finished, &h.Status, &h.Body, &h.CreatedAt, &h.ExpiresAt); err != nil {
			return err
		}
		h.CreatedAt = h.CreatedAt.UTC()
		h.ExpiresAt = h.ExpiresAt.UTC()
		held = &h
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: begin idempotent request: %w", err)
	}
	return held, nil
}

// FinishIdempotentRequest stores the response of the key's owner. It
// returns ENOTFOUND when owner does not hold the key in flight (never
// begun, abandoned, expired and deleted, finished already, or taken over by
// a later request, whose created_at differs), so the caller learns that the
// response will not be replayed.
func (db *DB) FinishIdempotentRequest(ctx context.Context, owner *appwheel.IdempotentRequest, status int, body []byte) error {
	tag, err := db.pool.Exec(ctx, `
		UPDATE idempotency_keys SET finished = true, status = $1, body = $2
		WHERE app_id = $3 AND key = $4 AND NOT finished AND created_at = $5`,
		status, body, owner.AppID, owner.Key, owner.CreatedAt)
	if err != nil {
		return fmt.Errorf("postgres: finish idempotent request: %w", err)
	}
	if !wrote(tag) {
		return appwheel.Errorf(appwheel.ENOTFOUND, "idempotency key %q is not in flight", owner.Key)
	}
	return nil
}

// HeartbeatIdempotentRequest records that owner is still working on its
// request at at; it does nothing when owner no longer holds the key in
// flight.
func (db *DB) HeartbeatIdempotentRequest(ctx context.Context, owner *appwheel.IdempotentRequest, at time.Time) error {
	_, err := db.pool.Exec(ctx,
		`UPDATE idempotency_keys SET heartbeat_at = $1 WHERE app_id = $2 AND key = $3 AND NOT finished AND created_at = $4`,
		at, owner.AppID, owner.Key, owner.CreatedAt)
	if err != nil {
		return fmt.Errorf("postgres: heartbeat of idempotent request: %w", err)
	}
	return nil
}

// AbandonIdempotentRequest releases the owner's key without a response. It
// deletes only the owner's unfinished record, so a late abandon never erases
// a response or a successor's claim.
func (db *DB) AbandonIdempotentRequest(ctx context.Context, owner *appwheel.IdempotentRequest) error {
	_, err := db.pool.Exec(ctx,
		`DELETE FROM idempotency_keys WHERE app_id = $1 AND key = $2 AND NOT finished AND created_at = $3`,
		owner.AppID, owner.Key, owner.CreatedAt)
	if err != nil {
		return fmt.Errorf("postgres: abandon idempotent request: %w", err)
	}
	return nil
}

// DeleteExpiredIdempotentRequests forgets records that expired before now and
// returns how many.
func (db *DB) DeleteExpiredIdempotentRequests(ctx context.Context, now time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired idempotent requests: %w", err)
	}
	return tag.RowsAffected(), nil
}
