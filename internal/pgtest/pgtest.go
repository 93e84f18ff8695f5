// Package pgtest gives tests a PostgreSQL database to work in: the test
// database (APPWHEEL_TEST_POSTGRES_URL, or the machine's at 127.0.0.1:5432),
// and a fresh schema of it for each test, dropped when the test ends.
//
// When PostgreSQL is unreachable the test is skipped, or failed when
// APPWHEEL_REQUIRE_POSTGRES is set (as on CI).
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is the test database when APPWHEEL_TEST_POSTGRES_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// BaseURL returns the test database: APPWHEEL_TEST_POSTGRES_URL, a URL or a
// key=value string, or DefaultURL.
func BaseURL() string {
	if u := os.Getenv("APPWHEEL_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Admin connects to the test database, to create and drop the tests'
// schemas, and closes the pool when tb ends. When PostgreSQL is unreachable
// it skips tb, or fails it when APPWHEEL_REQUIRE_POSTGRES is set.
func Admin(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(BaseURL())
	if err != nil {
		tb.Fatalf("test database URL: %v", err)
	}
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(tb.Context(), cfg)
	if err == nil {
		if err = pool.Ping(tb.Context()); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		if os.Getenv("APPWHEEL_REQUIRE_POSTGRES") != "" {
			tb.Fatalf("PostgreSQL at %s: %v", cfg.ConnConfig.Host, err)
		}
		tb.Skipf("PostgreSQL unreachable (%v); set APPWHEEL_REQUIRE_POSTGRES=1 to fail instead", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// CreateSchema creates a fresh schema t_<random> with admin, drops it
// (CASCADE) when tb ends, and returns its name.
func CreateSchema(tb testing.TB, admin *pgxpool.Pool) string {
	tb.Helper()
	name := "t_" + strings.ToLower(rand.Text()[:16])
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(tb.Context(), `CREATE SCHEMA `+ident); err != nil {
		tb.Fatalf("CREATE SCHEMA %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// tb.Context is canceled by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+ident+` CASCADE`); err != nil {
			tb.Errorf("DROP SCHEMA %s: %v", name, err)
		}
	})
	return name
}

// NewSchema creates a fresh schema, dropped when tb ends, with a pool of
// its own from Admin, and returns BaseURL with search_path set to it, so
// that what connects with it sees only the schema's tables.
func NewSchema(tb testing.TB) string {
	tb.Helper()
	return NewSchemaOn(tb, Admin(tb))
}

// NewSchemaOn is NewSchema with admin, a pool from Admin that several
// schemas can share.
func NewSchemaOn(tb testing.TB, admin *pgxpool.Pool) string {
	tb.Helper()
	return WithSearchPath(tb, BaseURL(), CreateSchema(tb, admin))
}

// WithSearchPath returns dsn, a URL or a key=value string, with
// search_path set to schema.
func WithSearchPath(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("test database URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
