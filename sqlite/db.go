// Package sqlite is AppWheel's default store: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite driver, so the binary needs no cgo.
//
// Every rule that must hold under concurrency (first customer wins, a nonce
// is fresh once, one owner per idempotency key) is decided by a constraint
// or a single conditional statement in the database, never in Go memory, so
// the same rules hold for the PostgreSQL store run by several replicas.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	_ appwheel.Store       = (*DB)(nil)
	_ appwheel.MirrorStore = (*DB)(nil)
)

// DB is an appwheel.Store kept in one SQLite file.
type DB struct {
	// Now returns the current time. The store takes every other time from
	// its callers; Now only stamps schema_migrations. Defaults to time.Now.
	Now func() time.Time

	path string
	db   *sql.DB
}

// NewDB returns a store for the database file at path; it does no I/O until
// Open. Use a file path: ":memory:" works but is limited to one connection,
// because every connection to ":memory:" would open a separate database.
func NewDB(path string) *DB {
	return &DB{Now: time.Now, path: path}
}

// Open opens the database, creating the file if needed, and migrates it.
func (db *DB) Open(ctx context.Context) error {
	if db.db != nil {
		return errors.New("sqlite: database already open")
	}
	if db.path == "" {
		return errors.New("sqlite: database path required")
	}
	sqlDB, err := sql.Open("sqlite", dsn(db.path))
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	if isMemory(db.path) {
		sqlDB.SetMaxOpenConns(1)
	}
	// Keep connections open: each new one re-runs the pragmas.
	sqlDB.SetMaxIdleConns(16)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	db.db = sqlDB
	if err := db.Migrate(ctx); err != nil {
		db.db = nil
		sqlDB.Close()
		return err
	}
	return nil
}

// dsn sets the pragmas on every connection the pool opens, not just the
// first: busy_timeout first, so that a writer waits for the lock instead of
// failing with SQLITE_BUSY. _txlock=immediate makes every write transaction
// take the write lock at BEGIN; a deferred one that upgrades later can fail
// with SQLITE_BUSY without waiting at all.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + q.Encode()
}

func isMemory(path string) bool {
	return path == ":memory:" || strings.Contains(path, "mode=memory")
}

// Close closes the database. Closing a store that is not open does nothing.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	err := db.db.Close()
	db.db = nil
	return err
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.db == nil {
		return errors.New("sqlite: database not open")
	}
	return db.db.PingContext(ctx)
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure, so callers can turn it into a message that names the
// domain object rather than the table.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// Times are stored as unix microseconds, the precision PostgreSQL keeps, and
// read back in UTC.

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// toNullMicros stores the zero time as NULL, so "not set" reads as such in
// the database too.
func toNullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}
