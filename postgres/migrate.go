package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"github.com/jackc/pgx/v5"
)

// migrationFS holds the schema, one file per change, applied in name order.
// The files keep the SQLite store's names, so schema_migrations reads the
// same on both stores.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockClass is the first key of the advisory lock that serializes
// Migrate ("appw"); the second is the hash of the schema migrated, so
// replicas sharing a schema take turns while separate schemas (tests) do
// not wait for each other.
const migrateLockClass = 0x61707077

// Migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction together with its record, so a failed migration
// leaves no trace and running Migrate again is harmless. Open calls it.
//
// Every transaction first takes a transaction-scoped advisory lock for the
// schema, so of replicas migrating at once one applies each migration and
// the others, waiting, then find it recorded. The transactions lift the
// pool's statement timeout: waiting for a replica that is migrating, or a
// migration rewriting a large table, may take longer than a request should.
func (db *DB) Migrate(ctx context.Context) error {
	if db.pool == nil {
		return errors.New("postgres: migrate: database not open")
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrate(ctx, name); err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", path.Base(name), err)
		}
	}
	return nil
}

// migrate applies one migration unless it is recorded. The check, the
// migration and its record run under the advisory lock in one transaction.
func (db *DB) migrate(ctx context.Context, name string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`,
			int32(migrateLockClass)); err != nil {
			return err
		}
		// Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS
		// can both miss the table and collide on the catalog.
		if _, err := tx.Exec(ctx, `
			CREATE TABLE IF NOT EXISTS schema_migrations (
				name       text COLLATE "C" NOT NULL PRIMARY KEY,
				applied_at timestamptz NOT NULL
			)`); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, path.Base(name)).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		stmts, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			return err
		}
		// Without arguments pgx sends the file as one simple query, so it
		// may hold several statements.
		if _, err := tx.Exec(ctx, string(stmts)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`,
			path.Base(name), db.Now())
		return err
	})
}
