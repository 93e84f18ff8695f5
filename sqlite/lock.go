package sqlite

import (
	"context"
	"fmt"
	"time"
)

// TryLock takes the named lease for owner until expiresAt unless another
// owner holds it unexpired. One upsert decides: it inserts the lease, or
// overwrites it only when it is owner's already or has expired.
func (db *DB) TryLock(ctx context.Context, name, owner string, now, expiresAt time.Time) (bool, error) {
	res, err := db.exec(ctx, `
		INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE locks.owner = excluded.owner OR locks.expires_at <= ?`,
		name, owner, toMicros(expiresAt), toMicros(now))
	if err != nil {
		return false, fmt.Errorf("sqlite: lock %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: lock %q: %w", name, err)
	}
	return n == 1, nil
}

// Unlock releases owner's lease.
func (db *DB) Unlock(ctx context.Context, name, owner string) error {
	if _, err := db.exec(ctx, `DELETE FROM locks WHERE name = ? AND owner = ?`, name, owner); err != nil {
		return fmt.Errorf("sqlite: unlock %q: %w", name, err)
	}
	return nil
}
