package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

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

// migrate applies River's own migrations (river_migration records them, apart
// from the store's schema_migrations), skipping those applied already.
func (j *Jobs) migrate(ctx context.Context, db *sql.DB) error {
	m, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: j.riverLog})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if len(res.Versions) > 0 {
		versions := make([]int, len(res.Versions))
		for i, v := range res.Versions {
			versions[i] = v.Version
		}
		j.log.InfoContext(ctx, "river migrations applied", slog.Any("versions", versions))
	}
	return nil
}

// minLevel drops records below min, to keep River's info-level chatter (a
// line per job error, per leader election, per start and stop) out of the
// service's log while its warnings and errors still get through.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
