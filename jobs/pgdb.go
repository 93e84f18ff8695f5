package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// migrateLockClass is the first key of the advisory lock that serializes
// River's migrations ("rivr"); the second is the hash of the schema
// migrated, as for the store's own migrations (postgres/migrate.go, whose
// class differs), so replicas sharing a schema take turns while separate
// schemas do not wait for each other.
const migrateLockClass = 0x72697672

// PostgresStore is a store kept in PostgreSQL (postgres.DB), whose pool
// River shares.
type PostgresStore interface {
	// Pool returns the store's open pool, or nil before Open.
	Pool() *pgxpool.Pool
}

// pgDB is River on the store's PostgreSQL pool. River's tables live in the
// first schema of the pool's search_path, beside the store's.
//
// River keeps one of the pool's connections for itself, to LISTEN for
// notifications (new jobs, leadership resignations): it takes it out of the
// pool, so the database sees one connection more than the pool's MaxConns.
// Every other River query is short and runs under the pool's
// statement_timeout like the store's.
type pgDB struct {
	pool *pgxpool.Pool
}

func (d *pgDB) newClient(cfg *river.Config) (riverClient, error) {
	return river.NewClient(riverpgxv5.New(d.pool), cfg)
}

// migrate runs River's migrator under a session advisory lock, on a pool of
// its own (two connections, closed after) whose sessions have no
// statement_timeout.
//
// The lock, because River's migrator takes none: it reads river_migration,
// then applies each missing version in a transaction of its own, so two
// processes migrating one schema at once would both apply the first missing
// version and the second would fail (the table it creates exists, or the
// version's row does). Under the lock the second waits, then finds every
// version recorded and applies none. A session lock, not a transaction's,
// because River commits each version separately.
//
// No statement_timeout, because waiting for the lock while another replica
// migrates, or a migration rewriting a large river_job, may take longer than
// the store's timeout allows a statement. The pool is a copy of the
// store's configuration, so it reaches the same database and schema.
func (d *pgDB) migrate(ctx context.Context, cfg *rivermigrate.Config) (*rivermigrate.MigrateResult, error) {
	pcfg := d.pool.Config()
	pcfg.MaxConns, pcfg.MinConns, pcfg.MinIdleConns = 2, 0, 0
	afterConnect := pcfg.AfterConnect
	pcfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if afterConnect != nil {
			if err := afterConnect(ctx, conn); err != nil {
				return err
			}
		}
		// After the startup parameters, a role's or database's default and
		// the URL's options, so it overrides them all.
		_, err := conn.Exec(ctx, `SET statement_timeout = 0`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	defer pool.Close()

	lockConn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer lockConn.Release()
	const lockArgs = `$1, hashtext(coalesce(current_schema(), ''))`
	if _, err := lockConn.Exec(ctx, `SELECT pg_advisory_lock(`+lockArgs+`)`, int32(migrateLockClass)); err != nil {
		return nil, fmt.Errorf("advisory lock: %w", err)
	}
	defer func() {
		// Closing the pool would release it too, with the session.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = lockConn.Exec(ctx, `SELECT pg_advisory_unlock(`+lockArgs+`)`, int32(migrateLockClass))
	}()

	m, err := rivermigrate.New(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, err
	}
	return m.Migrate(ctx, rivermigrate.DirectionUp, nil)
}
