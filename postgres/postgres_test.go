package postgres_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/postgres"
	"github.com/appwheel/appwheel/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestStore(t *testing.T) {
	admin := pgtest.Admin(t)
	storetest.Run(t, func(t *testing.T) appwheel.Store {
		return openDB(t, pgtest.NewSchemaOn(t, admin), postgres.Options{})
	})
}

func TestMigrateTwice(t *testing.T) {
	admin := pgtest.Admin(t)
	u := pgtest.NewSchemaOn(t, admin)
	db := openDB(t, u, postgres.Options{}) // Open migrates once
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: got error %v, want nil", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: got error %v, want nil", err)
	}
	db = openDB(t, u, postgres.Options{}) // and reopening migrates again

	checkMigrations(t, db)
	// The schema still works.
	if err := db.CreateApp(t.Context(), &appwheel.AppRecord{
		ID: "app_1", SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"),
		CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0),
	}); err != nil {
		t.Errorf("CreateApp after migrating twice: got error %v, want nil", err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	// Replicas starting together migrate one fresh schema at once: the
	// advisory lock lets one apply each migration, the others find it
	// recorded. Applying one twice would fail (CREATE TABLE of an existing
	// table), so every Open succeeding means each was applied once.
	admin := pgtest.Admin(t)
	u := pgtest.NewSchemaOn(t, admin)
	const replicas = 4
	dbs := make([]*postgres.DB, replicas)
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range dbs {
		dbs[i] = postgres.NewDB(u, postgres.Options{})
		t.Cleanup(func() { dbs[i].Close() })
		wg.Go(func() {
			<-start
			errs[i] = dbs[i].Open(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Open: got error %v, want nil", i, err)
		}
	}
	// Migrating again, all at once, is harmless too.
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: second Migrate: got error %v, want nil", i, err)
		}
	}
	checkMigrations(t, dbs[0])
}

func TestStatementTimeout(t *testing.T) {
	admin := pgtest.Admin(t)
	tests := []struct {
		name string
		opts postgres.Options
		want string // SHOW statement_timeout
	}{
		{"default", postgres.Options{}, "5s"},
		{"set", postgres.Options{StatementTimeout: 100 * time.Millisecond}, "100ms"},
		{"rounded up to milliseconds", postgres.Options{StatementTimeout: 1500 * time.Microsecond}, "2ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t, pgtest.NewSchemaOn(t, admin), tt.opts)
			var got string
			if err := db.Pool().QueryRow(t.Context(), `SHOW statement_timeout`).Scan(&got); err != nil {
				t.Fatalf("SHOW statement_timeout: %v", err)
			}
			if got != tt.want {
				t.Errorf("statement_timeout: got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("cancels a slow statement", func(t *testing.T) {
		db := openDB(t, pgtest.NewSchemaOn(t, admin), postgres.Options{StatementTimeout: 100 * time.Millisecond})
		start := time.Now()
		_, err := db.Pool().Exec(t.Context(), `SELECT pg_sleep(5)`)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "57014" { // query_canceled
			t.Errorf("pg_sleep(5) with a 100ms timeout: got error %v, want SQLSTATE 57014", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("pg_sleep(5) with a 100ms timeout took %v", d)
		}
	})

	t.Run("Migrate waits past it", func(t *testing.T) {
		// A replica waiting for another one's long migration must not
		// time out: Migrate lifts the timeout in its transactions.
		u := pgtest.NewSchemaOn(t, admin)
		db := openDB(t, u, postgres.Options{StatementTimeout: 100 * time.Millisecond})
		tx, err := admin.Begin(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		table := pgx.Identifier{searchPath(t, u), "schema_migrations"}.Sanitize()
		if _, err := tx.Exec(t.Context(), `LOCK TABLE `+table+` IN ACCESS EXCLUSIVE MODE`); err != nil {
			tx.Rollback(context.Background())
			t.Fatal(err)
		}
		const hold = 500 * time.Millisecond
		released := make(chan struct{})
		go func() {
			defer close(released)
			time.Sleep(hold)
			tx.Rollback(context.Background())
		}()
		defer func() { <-released }()
		start := time.Now()
		if err := db.Migrate(t.Context()); err != nil {
			t.Errorf("Migrate behind a %v lock with a 100ms statement timeout: got error %v, want nil", hold, err)
		}
		if d := time.Since(start); d < hold-50*time.Millisecond {
			t.Errorf("Migrate took %v, want it to wait for the %v lock", d, hold)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	db := postgres.NewDB(pgtest.BaseURL(), postgres.Options{})
	if err := db.Ping(t.Context()); err == nil {
		t.Errorf("Ping before Open: got nil error, want one")
	}
	if err := db.Migrate(t.Context()); err == nil {
		t.Errorf("Migrate before Open: got nil error, want one")
	}
	if db.Pool() != nil {
		t.Errorf("Pool before Open: got a pool, want nil")
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close before Open: got error %v, want nil", err)
	}

	tests := []struct {
		name string
		url  string
		opts postgres.Options
	}{
		{"no URL", "", postgres.Options{}},
		{"bad URL", "postgres://user:hunter2@127.0.0.1:notaport/test", postgres.Options{}},
		{"negative MaxConns", pgtest.BaseURL(), postgres.Options{MaxConns: -1}},
		{"negative StatementTimeout", pgtest.BaseURL(), postgres.Options{StatementTimeout: -time.Second}},
		{"negative ConnectTimeout", pgtest.BaseURL(), postgres.Options{ConnectTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := postgres.NewDB(tt.url, tt.opts)
			defer db.Close()
			err := db.Open(t.Context())
			if err == nil {
				t.Fatalf("Open: got nil error, want one")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open: error %q shows the URL's password", err)
			}
		})
	}
}

// checkMigrations checks that schema_migrations lists every migration file
// once.
func checkMigrations(t *testing.T, db *postgres.DB) {
	t.Helper()
	rows, err := db.Pool().Query(t.Context(), `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	var want []string
	for _, f := range files {
		want = append(want, filepath.Base(f))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema_migrations mismatch (-want +got):\n%s", diff)
	}
}

// searchPath returns the schema a URL made by pgtest.NewSchemaOn works in.
func searchPath(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.RuntimeParams["search_path"]
}

func openDB(t *testing.T, dsn string, opts postgres.Options) *postgres.DB {
	t.Helper()
	db := postgres.NewDB(dsn, opts)
	if err := db.Open(t.Context()); err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: got error %v, want nil", err)
		}
	})
	return db
}
