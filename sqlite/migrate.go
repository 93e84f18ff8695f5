package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// migrationFS holds the schema, one file per change, applied in name order.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrate applies the migrations not yet recorded in schema_migrations, each
// in its own transaction together with its record, so a failed migration
// leaves no trace and running Migrate again is harmless. Open calls it.
func (db *DB) Migrate(ctx context.Context) error {
	if db.db == nil {
		return fmt.Errorf("sqlite: migrate: database not open")
	}
	if _, err := db.exec(ctx, `
		CREATE TABLE IF NOT EXISTS schema_migrations (
			name       TEXT    NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL
		) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrate(ctx, name); err != nil {
			return fmt.Errorf("sqlite: migrate %s: %w", path.Base(name), err)
		}
	}
	return nil
}

// migrate applies one migration unless it is recorded. The check runs in the
// same write transaction, so two processes migrating at once apply it once.
func (db *DB) migrate(ctx context.Context, name string) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, path.Base(name)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	stmts, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(stmts)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		path.Base(name), toMicros(db.Now())); err != nil {
		return err
	}
	return tx.Commit()
}
