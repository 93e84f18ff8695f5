package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/postgres"
	"github.com/appwheel/appwheel/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultURL is the test database; APPWHEEL_TEST_POSTGRES_URL overrides it.
// Each test works in a schema of its own, created and dropped by the test.
const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func testURL() string {
	if u := os.Getenv("APPWHEEL_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return defaultURL
}

func TestStore(t *testing.T) {
	admin := adminPool(t)
	storetest.Run(t, func(t *testing.T) appwheel.Store {
		return openDB(t, newSchema(t, admin), postgres.Options{})
	})
}

func TestMigrateTwice(t *testing.T) {
	admin := adminPool(t)
	u := newSchema(t, admin)
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
	admin := adminPool(t)
	u := newSchema(t, admin)
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
	admin := adminPool(t)
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
			db := openDB(t, newSchema(t, admin), tt.opts)
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
		db := openDB(t, newSchema(t, admin), postgres.Options{StatementTimeout: 100 * time.Millisecond})
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
		u := newSchema(t, admin)
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
	db := postgres.NewDB(testURL(), postgres.Options{})
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
		{"negative MaxConns", testURL(), postgres.Options{MaxConns: -1}},
		{"negative StatementTimeout", testURL(), postgres.Options{StatementTimeout: -time.Second}},
		{"negative ConnectTimeout", testURL(), postgres.Options{ConnectTimeout: -time.Second}},
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

// adminPool connects to the test database for creating and dropping the
// tests' schemas. When PostgreSQL is unreachable it skips the test, or
// fails it when APPWHEEL_REQUIRE_POSTGRES is set (as on CI).
func adminPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testURL())
	if err != nil {
		t.Fatalf("test database URL: %v", err)
	}
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err == nil {
		err = pool.Ping(t.Context())
		if err != nil {
			pool.Close()
		}
	}
	if err != nil {
		if os.Getenv("APPWHEEL_REQUIRE_POSTGRES") != "" {
			t.Fatalf("PostgreSQL at %s: %v", cfg.ConnConfig.Host, err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set APPWHEEL_REQUIRE_POSTGRES=1 to fail instead", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newSchema creates a fresh schema, drops it when the test ends, and
// returns the test URL with search_path set to it, so that a store opened
// on it sees only its own tables.
func newSchema(t *testing.T, admin *pgxpool.Pool) string {
	t.Helper()
	name := "t_" + strings.ToLower(rand.Text()[:16])
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(t.Context(), `CREATE SCHEMA `+ident); err != nil {
		t.Fatalf("CREATE SCHEMA %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context is canceled by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+ident+` CASCADE`); err != nil {
			t.Errorf("DROP SCHEMA %s: %v", name, err)
		}
	})
	return withSearchPath(t, testURL(), name)
}

// withSearchPath returns dsn, a URL or a key=value string, with
// search_path set to schema.
func withSearchPath(t *testing.T, dsn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("test database URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// searchPath returns the schema a URL made by newSchema works in.
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
