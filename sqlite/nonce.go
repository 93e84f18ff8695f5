package sqlite

import (
	"context"
	"fmt"
	"time"
)

// UseNonce records nonce for appID until expiresAt and reports whether it was
// fresh. The primary key decides: the INSERT adds a row only for a nonce not
// recorded yet, in one statement, so of two concurrent requests exactly one
// is fresh.
//
// A recorded nonce counts as used until DeleteExpiredNonces forgets it, even
// past its expiry: refusing a late replay is safe, because the signature's
// timestamp window has closed by then anyway.
func (db *DB) UseNonce(ctx context.Context, appID, nonce string, expiresAt time.Time) (bool, error) {
	res, err := db.exec(ctx, `
		INSERT INTO request_nonces (app_id, nonce, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (app_id, nonce) DO NOTHING`,
		appID, nonce, toMicros(expiresAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: use nonce of app %q: %w", appID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: use nonce of app %q: %w", appID, err)
	}
	return n == 1, nil
}

// DeleteExpiredNonces forgets nonces that expired before now and returns how
// many.
func (db *DB) DeleteExpiredNonces(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM request_nonces WHERE expires_at < ?`, toMicros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired nonces: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired nonces: %w", err)
	}
	return n, nil
}
