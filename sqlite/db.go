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
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
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
	// db serves reads, many at once (WAL lets readers run beside the
	// writer); wdb serves every write on a single connection. SQLite admits
	// one writer at a time anyway: queueing writers here hands the lock over
	// at once, where SQLite's own busy handler would have them sleep and
	// poll (up to 100 ms a try, which was the p99 of a signed read, since
	// each records its nonce).
	db, wdb       *sql.DB
	stmts, wstmts sync.Map // query → *sql.Stmt, see prepared

	riverMu sync.Mutex
	river   *sql.DB // River's pool, see RiverDB
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
	if err := ownerOnly(db.path); err != nil {
		return err
	}
	sqlDB, err := sql.Open("sqlite", dsn(db.path))
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	writer := sqlDB
	if isMemory(db.path) {
		sqlDB.SetMaxOpenConns(1)
	} else if writer, err = sql.Open("sqlite", dsn(db.path)); err != nil {
		sqlDB.Close()
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	writer.SetMaxOpenConns(1)
	// A bounded pool of readers, all kept open. A new connection re-runs
	// the pragmas, reads the schema and prepares its statements again: with
	// 64 requests at once opening connections past the idle limit and
	// closing them after, opening them was 11% of a mirrored read's CPU and
	// preparing on them most of another 17%. Queries are CPU work in this
	// process, so more readers than a few per CPU would only queue in
	// SQLite instead of in Go.
	if !isMemory(db.path) {
		readers := max(4, 2*runtime.GOMAXPROCS(0))
		sqlDB.SetMaxOpenConns(readers)
		sqlDB.SetMaxIdleConns(readers)
	}
	closeAll := func() {
		sqlDB.Close()
		writer.Close()
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		closeAll()
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	db.db, db.wdb = sqlDB, writer
	if err := db.Migrate(ctx); err != nil {
		db.db, db.wdb = nil, nil
		closeAll()
		return err
	}
	return nil
}

// dsn sets the pragmas on every connection a pool opens, not just the
// first, for the store's pools and River's alike: busy_timeout first, so
// that a writer waits for the lock instead of failing with SQLITE_BUSY.
// _txlock=immediate makes every write transaction take the write lock at
// BEGIN; a deferred one that upgrades later can fail with SQLITE_BUSY
// without waiting at all.
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

// RiverDB returns the pool that River, the job queue (package jobs), works
// through on this store's file, opened on first use and closed by Close;
// River's tables live in the file beside the store's.
//
// One connection only, as riversqlite recommends: River runs many small
// operations in parallel (fetching, completing, electing, notifying), and
// on one connection they queue in Go instead of failing with SQLITE_BUSY.
// The pool is separate from the store's, so that this one connection never
// limits the store; writes from the pools take turns on SQLite's file lock,
// which the DSN's busy_timeout makes them wait for. (Its foreign_keys also
// makes River's own ON DELETE CASCADE take effect.)
//
// An in-memory database cannot be shared so: it is an error.
func (db *DB) RiverDB(ctx context.Context) (*sql.DB, error) {
	db.riverMu.Lock()
	defer db.riverMu.Unlock()
	switch {
	case db.db == nil:
		return nil, errors.New("sqlite: database not open")
	case isMemory(db.path):
		return nil, errors.New("sqlite: River needs a database file: an in-memory database is another one on each connection")
	case db.river != nil:
		return db.river, nil
	}
	river, err := sql.Open("sqlite", dsn(db.path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s for River: %w", db.path, err)
	}
	river.SetMaxOpenConns(1)
	if err := river.PingContext(ctx); err != nil {
		river.Close()
		return nil, fmt.Errorf("sqlite: open %s for River: %w", db.path, err)
	}
	db.river = river
	return river, nil
}

// ownerOnly makes the database file, and its WAL and shared-memory files
// when they exist, readable by their owner only (0600), creating the
// database file so if it is new: it holds the sealed secrets and every
// user's billing data. SQLite gives the WAL and shared-memory files it
// creates later the database file's mode.
func ownerOnly(path string) error {
	if isMemory(path) || strings.Contains(path, "?") { // a URI's file name is SQLite's to find
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	return nil
}

func isMemory(path string) bool {
	return path == ":memory:" || strings.Contains(path, "mode=memory")
}

// Close closes the database. Closing a store that is not open does nothing.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	for _, m := range []*sync.Map{&db.stmts, &db.wstmts} {
		m.Range(func(q, s any) bool {
			s.(*sql.Stmt).Close()
			m.Delete(q)
			return true
		})
	}
	db.riverMu.Lock()
	defer db.riverMu.Unlock()
	var err error
	if db.river != nil {
		err = db.river.Close()
		db.river = nil
	}
	err = errors.Join(err, db.db.Close(), db.wdb.Close())
	db.wdb = nil
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

// Times is how this store keeps the times of the mirror's rows, for
// storerow: unix microseconds, NULL for the zero time where a column may be
// unset. Exported for bench, whose bulk seed writes the store's rows.
type Times struct{}

func (Times) Arg(t time.Time) any     { return toMicros(t) }
func (Times) NullArg(t time.Time) any { return toNullMicros(t) }
func (Times) Dest(t *time.Time) any   { return microsDest{t} }

// microsDest scans a time column into *t.
type microsDest struct{ t *time.Time }

func (d microsDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = fromMicros(v)
	default:
		return fmt.Errorf("sqlite: a time column holds %T, want an integer", src)
	}
	return nil
}

// codec reads and writes the mirror's rows (see storerow).
var codec = storerow.Codec{Times: Times{}}

var _ storerow.Times = Times{}

// params returns n placeholders, "?, ?, …".
func params(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// prepared returns the statement for query, prepared once and reused:
// compiling SQL was a fifth of a mirrored read's CPU. Only queries whose
// text is fixed go through it, so the cache stays small.
func prepared(ctx context.Context, pool *sql.DB, cache *sync.Map, query string) (*sql.Stmt, error) {
	if s, ok := cache.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if other, loaded := cache.LoadOrStore(query, s); loaded {
		s.Close()
		return other.(*sql.Stmt), nil
	}
	return s, nil
}

// queryRow and query run a fixed read through its prepared statement on
// the read pool, exec a write on the writer.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := prepared(ctx, db.db, &db.stmts, query)
	if err != nil {
		return db.db.QueryRowContext(ctx, query, args...) // reports the error on Scan
	}
	return s.QueryRowContext(ctx, args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := prepared(ctx, db.db, &db.stmts, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := prepared(ctx, db.wdb, &db.wstmts, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}
