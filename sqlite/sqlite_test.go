package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/sqlite"
	"github.com/appwheel/appwheel/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) appwheel.Store {
		return openDB(t, filepath.Join(t.TempDir(), "appwheel.db"))
	})
}

func TestMigrateTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appwheel.db")
	db := openDB(t, path) // Open migrates once
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: got error %v, want nil", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: got error %v, want nil", err)
	}
	db = openDB(t, path) // and reopening migrates again

	// Every migration is recorded exactly once.
	got := migrations(t, path)
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	var want []string
	for _, f := range files {
		want = append(want, filepath.Base(f))
	}
	if !cmp.Equal(got, want) {
		t.Errorf("schema_migrations: got %v, want %v", got, want)
	}

	// The schema still works.
	if err := db.CreateApp(t.Context(), &appwheel.AppRecord{
		ID: "app_1", SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"),
		CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0),
	}); err != nil {
		t.Errorf("CreateApp after migrating twice: got error %v, want nil", err)
	}
}

func TestMemory(t *testing.T) {
	// Every connection to ":memory:" is a database of its own, so the store
	// must keep to one: concurrent calls must all see the migrated schema.
	db := openDB(t, ":memory:")
	if err := db.CreateApp(t.Context(), &appwheel.AppRecord{
		ID: "app_1", SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"),
	}); err != nil {
		t.Fatalf("CreateApp: got error %v, want nil", err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := db.App(t.Context(), "app_1"); err != nil {
				t.Errorf("App: got error %v, want nil", err)
			}
		})
	}
	wg.Wait()
}

func TestNotOpen(t *testing.T) {
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "appwheel.db"))
	if err := db.Ping(t.Context()); err == nil {
		t.Errorf("Ping before Open: got nil error, want one")
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close before Open: got error %v, want nil", err)
	}
	if err := sqlite.NewDB("").Open(t.Context()); err == nil {
		t.Errorf("Open with no path: got nil error, want one")
	}
}

func openDB(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db := sqlite.NewDB(path)
	if err := db.Open(t.Context()); err != nil {
		t.Fatalf("Open(%s): got error %v, want nil", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close(%s): got error %v, want nil", path, err)
		}
	})
	return db
}

// migrations lists schema_migrations, read straight from the file.
func migrations(t *testing.T, path string) []string {
	t.Helper()
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open(%s): %v", path, err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(t.Context(), `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("reading schema_migrations: %v", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	return names
}
