package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// openDB opens River's own pool on the store's database file.
//
// One connection only, as riversqlite recommends: River runs many small
// operations in parallel (fetching, completing, electing, notifying), and
// on one connection they queue in Go instead of failing with SQLITE_BUSY.
// The pool is separate from the store's, so that this one connection never
// limits the store; writes from the two pools take turns on SQLite's file
// lock, which busy_timeout makes them wait for.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("jobs: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("jobs: open %s: %w", path, err)
	}
	return db, nil
}

// dsn sets the same pragmas as the store's (sqlite/db.go), for the same
// reasons: busy_timeout so that a writer waits for the other pool's write
// lock instead of failing with SQLITE_BUSY, WAL so that readers never block
// the writer, and _txlock=immediate so that a write transaction takes the
// write lock at BEGIN, where busy_timeout applies, rather than on its first
// write, where a conflict fails at once. foreign_keys also makes River's own
// ON DELETE CASCADE (a client's queues go with the client) take effect.
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

// sqliteDB is River on the store's SQLite file, through its own connection.
type sqliteDB struct {
	db *sql.DB
}

func openSQLiteDB(ctx context.Context, path string) (*sqliteDB, error) {
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	return &sqliteDB{db: db}, nil
}

func (d *sqliteDB) newClient(cfg *river.Config) (riverClient, error) {
	return river.NewClient(riversqlite.New(d.db), cfg)
}

// migrate takes no lock around River's migrator, which has none of its own
// (see pgDB.migrate): processes migrating a new file at once may make one of
// them fail. A SQLite file serves one host, where `appwheel migrate` can run
// before the processes start.
func (d *sqliteDB) migrate(ctx context.Context, cfg *rivermigrate.Config) (*rivermigrate.MigrateResult, error) {
	m, err := rivermigrate.New(riversqlite.New(d.db), cfg)
	if err != nil {
		return nil, err
	}
	return m.Migrate(ctx, rivermigrate.DirectionUp, nil)
}

func (d *sqliteDB) close() error { return d.db.Close() }
