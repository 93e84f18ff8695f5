// Package postgres is AppWheel's store for several replicas: one PostgreSQL
// database shared by every `appwheel serve`, through pgx and its pool.
//
// It keeps the SQLite store's schema and semantics (see sqlite/): every rule
// that must hold under concurrency (first customer wins, a nonce is fresh
// once, one owner per idempotency key, the newest snapshot stays) is decided
// by a constraint or a single conditional statement in the database, never
// read-then-write in Go, so it holds across replicas.
//
// Nothing is schema-qualified: the tables live in the first schema of the
// connection's search_path (set it in the URL, e.g. ?search_path=appwheel).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	_ appwheel.Store       = (*DB)(nil)
	_ appwheel.MirrorStore = (*DB)(nil)
)

// Options tunes the connection pool. The zero value gives the defaults.
type Options struct {
	// MaxConns caps the pool's open connections. Defaults to 10.
	MaxConns int
	// StatementTimeout is PostgreSQL's statement_timeout on every pooled
	// connection: a statement running longer fails instead of holding its
	// connection. Migrate lifts it inside its own transactions. Rounded up
	// to whole milliseconds. Defaults to 5s.
	StatementTimeout time.Duration
	// ConnectTimeout bounds establishing one connection. Defaults to 10s.
	ConnectTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultMaxConns         = 10
	DefaultStatementTimeout = 5 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
)

// DB is an appwheel.Store kept in PostgreSQL.
type DB struct {
	// Now returns the current time. The store takes every other time from
	// its callers; Now only stamps schema_migrations. Defaults to time.Now.
	Now func() time.Time

	url  string
	opts Options
	pool *pgxpool.Pool
}

// NewDB returns a store for the database at url (a postgres:// URL or a
// key=value connection string); it does no I/O until Open. opts take
// precedence over the URL's pool_max_conns and statement_timeout, and
// ConnectTimeout bounds each connection attempt as a whole.
func NewDB(url string, opts Options) *DB {
	return &DB{Now: time.Now, url: url, opts: opts}
}

// Open connects the pool, checks that the database answers, and migrates
// it. Negative options are an error.
func (db *DB) Open(ctx context.Context) error {
	if db.pool != nil {
		return errors.New("postgres: database already open")
	}
	cfg, err := db.poolConfig()
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("postgres: open: %w", err)
	}
	db.pool = pool
	if err := db.Migrate(ctx); err != nil {
		db.pool = nil
		pool.Close()
		return err
	}
	return nil
}

// poolConfig parses the URL and applies the options over it.
func (db *DB) poolConfig() (*pgxpool.Config, error) {
	if db.url == "" {
		return nil, errors.New("postgres: database URL required")
	}
	o := db.opts
	if o.MaxConns < 0 || o.StatementTimeout < 0 || o.ConnectTimeout < 0 {
		return nil, fmt.Errorf("postgres: negative option in %+v", o)
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	cfg, err := pgxpool.ParseConfig(db.url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: invalid database URL")
	}
	cfg.MaxConns = int32(min(o.MaxConns, 1<<31-1))
	cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	// A startup parameter is the session default of every connection the
	// pool opens, at no extra round trip; SET LOCAL still overrides it.
	ms := (o.StatementTimeout + time.Millisecond - 1) / time.Millisecond
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(int64(ms), 10)
	return cfg, nil
}

// Close closes the pool. Closing a store that is not open does nothing.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
		db.pool = nil
	}
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.pool == nil {
		return errors.New("postgres: database not open")
	}
	return db.pool.Ping(ctx)
}

// Pool returns the open pool, for what shares the database (River's pgx
// driver), or nil before Open.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// isUniqueViolation reports whether err is a unique_violation (SQLSTATE
// 23505): a UNIQUE or PRIMARY KEY constraint refused the write.
func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// Times are timestamptz: microseconds, like the SQLite store's, read back in
// UTC. The zero time is stored as NULL where a column may be unset, so "not
// set" reads as such in the database too.

// nullTime is t as a parameter: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromNullTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// Times is how this store keeps the times of the mirror's rows, for
// storerow: timestamptz, NULL for the zero time where a column may be
// unset. Exported for bench, whose bulk seed writes the store's rows.
type Times struct{}

func (Times) Arg(t time.Time) any     { return t }
func (Times) NullArg(t time.Time) any { return nullTime(t) }
func (Times) Dest(t *time.Time) any   { return timeDest{t} }

// timeDest scans a timestamptz column into *t: pgx hands a
// pgtype.TimestamptzScanner the column as is, NULL included.
type timeDest struct{ t *time.Time }

func (d timeDest) ScanTimestamptz(v pgtype.Timestamptz) error {
	*d.t = fromNullTime(v)
	return nil
}

// codec reads and writes the mirror's rows (see storerow).
var codec = storerow.Codec{Times: Times{}}

var _ storerow.Times = Times{}

// params returns n placeholders, "$1, $2, …".
func params(n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(i+1)
	}
	return strings.Join(ps, ", ")
}

// wrote reports whether the statement behind tag changed a row: for a
// conditional upsert, whether its condition let it write.
func wrote(tag pgconn.CommandTag) bool { return tag.RowsAffected() > 0 }

// collect reads every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(storerow.Row) (T, error)) ([]T, error) {
	var all []T
	return pgx.AppendRows(all, rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}
