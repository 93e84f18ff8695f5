package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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

// TestMirrorQueryPlans checks that each list read of the mirror, the very
// statement the store runs, is one search of the index made for it, read
// in index order: no full scan and no sort, so its cost does not grow with
// the table.
func TestMirrorQueryPlans(t *testing.T) {
	path := filepath.Join(t.TempDir(), "appwheel.db")
	openDB(t, path)
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open(%s): %v", path, err)
	}
	defer conn.Close()

	tests := []struct {
		name, query, index string
	}{
		{"InvoicesOf first page", sqlite.InvoicesFirstPageQuery, "invoices_by_customer"},
		{"InvoicesOf next page", sqlite.InvoicesNextPageQuery, "invoices_by_customer"},
		{"PaymentMethodsOf", sqlite.PaymentMethodsOfQuery, "payment_methods_by_customer"},
		{"SubscriptionsOf", sqlite.SubscriptionsOfQuery, "subscriptions_by_customer"},
		{"StatusHistory", `SELECT subscription_id, at, status FROM subscription_status_history
			WHERE app_id = ? AND subscription_id IN (?, ?) ORDER BY subscription_id, at, status`,
			"sqlite_autoindex_subscription_status_history_1"},
		{"ClaimEvents", sqlite.ClaimableQuery, "webhook_events_claimable"},
		{"SyncedBefore", sqlite.SyncedBeforeQuery, "customers_synced_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]any, strings.Count(tt.query, "?")) // the plan does not depend on them
			for i := range args {
				args[i] = 1
			}
			rows, err := conn.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+tt.query, args...)
			if err != nil {
				t.Fatalf("EXPLAIN QUERY PLAN: %v", err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatalf("reading plan: %v", err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("reading plan: %v", err)
			}
			if len(plan) != 1 || !strings.HasPrefix(plan[0], "SEARCH ") || !strings.Contains(plan[0], "INDEX "+tt.index+" ") {
				t.Errorf("plan: got %q, want one SEARCH using index %s and no sort", plan, tt.index)
			}
		})
	}
}

// TestFileModes: the database file and its WAL and shared-memory files are
// the owner's only, in a directory that exists already and under a umask
// that would make them 0644, and also when they were 0644 before.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "appwheel.db")
	write := func(db *sqlite.DB, id string) { // a write, so that the WAL is there
		t.Helper()
		now := time.Now()
		if err := db.CreateApp(t.Context(), &appwheel.AppRecord{ID: id, Name: id, Platform: appwheel.PlatformStripe,
			SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"), ReadMode: appwheel.ReadMirror, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s: %s is %v, want -rw-------", when, filepath.Base(p), mode)
			}
		}
	}
	db := sqlite.NewDB(path)
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	write(db, "app_1")
	check("a new database")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(p, 0o644) // as an earlier version left them
	}
	db.Close()
	db = sqlite.NewDB(path)
	if err := db.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	write(db, "app_2")
	check("a database opened again")
}
