package jobs

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// SQLiteStore is a store kept in a SQLite file (sqlite.DB): River keeps its
// tables in the same file, through the pool the store opens for it.
type SQLiteStore interface {
	// RiverDB returns River's pool on the store's file: one connection,
	// with the store's own settings, owned (and closed) by the store.
	RiverDB(ctx context.Context) (*sql.DB, error)
}

// sqliteDB is River on the store's SQLite file, through the connection the
// store opened for it.
type sqliteDB struct {
	db *sql.DB
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
