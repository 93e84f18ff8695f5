package postgres

import (
	"context"
	"fmt"
	"time"
)

// TryLock takes the named lease for owner until expiresAt unless another
// owner holds it unexpired. One upsert decides: it inserts the lease, or
// overwrites it only when it is owner's already or has expired.
func (db *DB) TryLock(ctx context.Context, name, owner string, now, expiresAt time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `
		INSERT INTO locks (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE locks.owner = excluded.owner OR locks.expires_at <= $4`,
		name, owner, expiresAt, now)
	if err != nil {
		return false, fmt.Errorf("postgres: lock %q: %w", name, err)
	}
	return wrote(tag), nil
}

// Unlock releases owner's lease.
func (db *DB) Unlock(ctx context.Context, name, owner string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM locks WHERE name = $1 AND owner = $2`, name, owner); err != nil {
		return fmt.Errorf("postgres: unlock %q: %w", name, err)
	}
	return nil
}
