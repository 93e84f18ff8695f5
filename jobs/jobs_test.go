package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/jobs"
	"github.com/appwheel/appwheel/postgres"
	"github.com/appwheel/appwheel/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
)

const appID = "app_1"

// eventKey names one event of one app.
type eventKey struct{ app, event string }

// fakeHandlers records every call. apply, when set, decides what
// ApplyRecordedEvent does (call counts from 1 for each event); otherwise
// it succeeds at once. reconcileTakes, when set, is how long ReconcileApps
// takes. Several replicas may share one fakeHandlers (see as), so that
// calls are counted, and overlaps seen, across them.
type fakeHandlers struct {
	apply          func(ctx context.Context, k eventKey, call int) error
	reconcileTakes time.Duration

	mu                 sync.Mutex
	calls              map[eventKey]int
	inFlight           map[eventKey]bool
	overlaps           []eventKey // events applied twice at the same time
	reconciles         []time.Duration
	reconciling        int // reconciles running now
	reconcileOverlaps  int // reconciles started while another ran
	appliesByCaller    map[string]int
	reconcilesByCaller map[string]int
	importCalls        map[eventKey]int // by (app, import)
	importDoneAt       int              // the call that reports an import done
}

func newFakeHandlers() *fakeHandlers {
	return &fakeHandlers{calls: map[eventKey]int{}, inFlight: map[eventKey]bool{}, appliesByCaller: map[string]int{}, reconcilesByCaller: map[string]int{}}
}

func (h *fakeHandlers) ApplyRecordedEvent(ctx context.Context, app, event string) error {
	return h.applyAs(ctx, "", app, event)
}

func (h *fakeHandlers) ReconcileApps(ctx context.Context, maxAge time.Duration) error {
	return h.reconcileAs(ctx, "", maxAge)
}

// ContinueImport counts its calls and reports the import done at the
// importDoneAt-th.
func (h *fakeHandlers) ContinueImport(ctx context.Context, app, importID string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.importCalls == nil {
		h.importCalls = map[eventKey]int{}
	}
	k := eventKey{app, importID}
	h.importCalls[k]++
	return h.importCalls[k] >= h.importDoneAt, nil
}

func (h *fakeHandlers) importCallsOf(importID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.importCalls[eventKey{appID, importID}]
}

// as returns Handlers recording into h as replica name.
func (h *fakeHandlers) as(name string) jobs.Handlers { return replicaHandlers{h, name} }

type replicaHandlers struct {
	h    *fakeHandlers
	name string
}

func (r replicaHandlers) ApplyRecordedEvent(ctx context.Context, app, event string) error {
	return r.h.applyAs(ctx, r.name, app, event)
}

func (r replicaHandlers) ReconcileApps(ctx context.Context, maxAge time.Duration) error {
	return r.h.reconcileAs(ctx, r.name, maxAge)
}

func (r replicaHandlers) ContinueImport(ctx context.Context, app, importID string) (bool, error) {
	return r.h.ContinueImport(ctx, app, importID)
}

func (h *fakeHandlers) applyAs(ctx context.Context, caller, app, event string) error {
	k := eventKey{app, event}
	h.mu.Lock()
	h.calls[k]++
	h.appliesByCaller[caller]++
	call := h.calls[k]
	if h.inFlight[k] {
		h.overlaps = append(h.overlaps, k)
	}
	h.inFlight[k] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight[k] = false
		h.mu.Unlock()
	}()
	if h.apply != nil {
		return h.apply(ctx, k, call)
	}
	return nil
}

func (h *fakeHandlers) reconcileAs(ctx context.Context, caller string, maxAge time.Duration) error {
	h.mu.Lock()
	h.reconciles = append(h.reconciles, maxAge)
	h.reconcilesByCaller[caller]++
	if h.reconciling > 0 {
		h.reconcileOverlaps++
	}
	h.reconciling++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.reconciling--
		h.mu.Unlock()
	}()
	if h.reconcileTakes > 0 {
		select {
		case <-time.After(h.reconcileTakes):
		case <-ctx.Done():
		}
	}
	return nil
}

func (h *fakeHandlers) callsOf(event string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[eventKey{appID, event}]
}

// byCaller returns how many events and reconciles each replica handled.
func (h *fakeHandlers) byCaller() (applies, reconciles map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.appliesByCaller), maps.Clone(h.reconcilesByCaller)
}

func (h *fakeHandlers) reconcileCalls() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.reconciles...)
}

func (h *fakeHandlers) checkNoOverlap(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.overlaps) > 0 {
		t.Errorf("events applied twice at once: %v", h.overlaps)
	}
}

// store is what the tests use of either store.
type store interface {
	appwheel.Store
	Migrate(ctx context.Context) error
}

// testDB is a fresh store with one app.
type testDB struct {
	store store
	pool  *pgxpool.Pool // PostgreSQL: the store's pool, to look into River's tables
	url   string        // PostgreSQL: the URL, to open more stores on the schema
}

// backend is a database the behavioural tests run on.
type backend struct {
	name string
	open func(t *testing.T) *testDB
}

var backends = []backend{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

// forEachBackend runs test on each backend, in parallel subtests (their
// time is mostly waiting for River).
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b)
		})
	}
}

// openSQLite opens a real SQLite store in a temporary file, with one app.
func openSQLite(t *testing.T) *testDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db")
	store := sqlite.NewDB(path)
	if err := store.Open(t.Context()); err != nil {
		t.Fatalf("store Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	createApp(t, store)
	return &testDB{store: store}
}

// openPostgres opens a PostgreSQL store in a fresh schema, with one app.
func openPostgres(t *testing.T) *testDB {
	t.Helper()
	url := pgtest.NewSchema(t)
	store := openPostgresStore(t, url, postgres.Options{})
	createApp(t, store)
	return &testDB{store: store, pool: store.Pool(), url: url}
}

// replica opens another store on db's PostgreSQL schema, with a pool of
// its own, as another process would.
func (db *testDB) replica(t *testing.T) *testDB {
	t.Helper()
	store := openPostgresStore(t, db.url, postgres.Options{})
	return &testDB{store: store, pool: store.Pool(), url: db.url}
}

func createApp(t *testing.T, store appwheel.Store) {
	t.Helper()
	now := time.Now()
	if err := store.CreateApp(t.Context(), &appwheel.AppRecord{
		ID: appID, Name: "App", Platform: appwheel.PlatformStripe,
		SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"),
		ReadMode: appwheel.ReadMirror, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
}

// config returns a Config over db with h, logging to the test's output.
func config(t *testing.T, db *testDB, h jobs.Handlers) jobs.Config {
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return jobs.Config{Store: db.store, Handlers: h, Logger: log}
}

// start builds and starts Jobs, and stops them at the end of the test.
func start(t *testing.T, cfg jobs.Config) *jobs.Jobs {
	t.Helper()
	j, err := jobs.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := j.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := j.Stop(ctx); err != nil {
			t.Errorf("Stop: got error %v, want nil", err)
		}
	})
	return j
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, 10*time.Second, what, cond)
}

// waitForWithin polls cond until it holds, failing the test after d.
func waitForWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settle gives River time to run anything that was (wrongly) enqueued: its
// SQLite listener polls every 50 ms, PostgreSQL notifies it, and its
// producers fetch at least every second.
func settle() { time.Sleep(1500 * time.Millisecond) }

// Each store gives River its database.
var (
	_ jobs.SQLiteStore   = (*sqlite.DB)(nil)
	_ jobs.PostgresStore = (*postgres.DB)(nil)
)

func TestNew(t *testing.T) {
	db := openSQLite(t)
	h := newFakeHandlers()
	for _, tc := range []struct {
		name   string
		modify func(*jobs.Config)
	}{
		{"no store", func(c *jobs.Config) { c.Store = nil }},
		{"a store with no database for River", func(c *jobs.Config) { c.Store = struct{ appwheel.Store }{db.store} }},
		{"no handlers", func(c *jobs.Config) { c.Handlers = nil }},
		{"negative workers", func(c *jobs.Config) { c.Workers = -1 }},
		{"negative sweep interval", func(c *jobs.Config) { c.SweepEvery = -time.Second }},
		{"negative sweep age", func(c *jobs.Config) { c.SweepAfter = -time.Second }},
		{"negative reconcile interval", func(c *jobs.Config) { c.ReconcileEvery = -time.Second }},
		{"negative reconcile age", func(c *jobs.Config) { c.ReconcileMaxAge = -time.Second }},
		{"negative cleanup interval", func(c *jobs.Config) { c.CleanupEvery = -time.Second }},
		{"negative job timeout", func(c *jobs.Config) { c.JobTimeout = -time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(t, db, h)
			tc.modify(&cfg)
			if _, err := jobs.New(cfg); err == nil {
				t.Errorf("New: got nil error, want one")
			}
		})
	}
	if _, err := jobs.New(config(t, db, h)); err != nil {
		t.Errorf("New with a SQLite store: got error %v, want nil", err)
	}
	// New does no I/O: a PostgreSQL store not open (that could not even
	// connect) will do.
	cfg := config(t, db, h)
	cfg.Store = postgres.NewDB("postgres://nobody@127.0.0.1:1/none", postgres.Options{})
	if _, err := jobs.New(cfg); err != nil {
		t.Errorf("New with a PostgreSQL store: got error %v, want nil", err)
	}
}

// A store whose database River cannot share fails Migrate and Start: an
// in-memory SQLite database (another one on each connection), a store not
// open.
func TestUnsharableDatabase(t *testing.T) {
	memory := sqlite.NewDB(":memory:")
	if err := memory.Open(t.Context()); err != nil {
		t.Fatalf("Open(:memory:): %v", err)
	}
	t.Cleanup(func() { memory.Close() })
	for _, tc := range []struct {
		name  string
		store appwheel.Store
	}{
		{"in-memory SQLite", memory},
		{"SQLite not open", sqlite.NewDB(filepath.Join(t.TempDir(), "db"))},
		{"PostgreSQL not open", postgres.NewDB(pgtest.BaseURL(), postgres.Options{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := jobs.New(jobs.Config{Store: tc.store, Handlers: newFakeHandlers()})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := j.Migrate(t.Context()); err == nil {
				t.Errorf("Migrate: got nil error, want one")
			}
			if err := j.Start(t.Context()); err == nil {
				j.Stop(t.Context())
				t.Errorf("Start: got nil error, want one")
			}
		})
	}
}

func TestEnqueueBeforeStart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		j, err := jobs.New(config(t, db, newFakeHandlers()))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := j.EnqueueEvent(t.Context(), appID, "evt_1"); err == nil {
			t.Errorf("EnqueueEvent before Start: got nil error, want one")
		}
		if err := j.Stop(t.Context()); err != nil {
			t.Errorf("Stop before Start: got error %v, want nil", err)
		}
	})
}

// TestEnqueueImport: an import's job runs until ContinueImport reports it
// done, a snooze between attempts, and enqueuing it again while it runs
// adds no second job. A command that only enqueues (Open, no Start) can
// hand an import to a started process.
func TestEnqueueImport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		h.importDoneAt = 3
		j := start(t, config(t, db, h))

		cmd, err := jobs.New(config(t, db, newFakeHandlers()))
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.EnqueueImport(t.Context(), appID, "imp_1"); err == nil {
			t.Error("EnqueueImport before Open: got nil error, want one")
		}
		if err := cmd.Open(t.Context()); err != nil {
			t.Fatalf("Open: %v", err)
		}
		for range 2 {
			if err := cmd.EnqueueImport(t.Context(), appID, "imp_1"); err != nil {
				t.Fatalf("EnqueueImport: %v", err)
			}
		}
		if err := cmd.Stop(t.Context()); err != nil {
			t.Errorf("Stop of opened Jobs: %v", err)
		}
		waitFor(t, "imp_1 done", func() bool { return h.importCallsOf("imp_1") == 3 })
		settle()
		if got := h.importCallsOf("imp_1"); got != 3 {
			t.Errorf("ContinueImport calls: got %d, want 3 (done at the third)", got)
		}
		if err := j.EnqueueImport(t.Context(), appID, "imp_2"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "imp_2 done", func() bool { return h.importCallsOf("imp_2") == 3 })
	})
}

func TestMigrateTwice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		store := db.store
		h := newFakeHandlers()
		j, err := jobs.New(config(t, db, h))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		for i := range 2 {
			if err := j.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate #%d: got error %v, want nil", i+1, err)
			}
		}
		// Start migrates a third time, and River works on the migrated tables.
		j = start(t, config(t, db, h))
		if err := j.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		waitFor(t, "evt_1 applied", func() bool { return h.callsOf("evt_1") == 1 })
		// The store's own schema is untouched.
		if err := store.Migrate(t.Context()); err != nil {
			t.Errorf("store Migrate after River's: got error %v, want nil", err)
		}
	})
}

func TestEnqueueEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		j := start(t, config(t, db, h))

		if err := j.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		waitFor(t, "evt_1 applied", func() bool { return h.callsOf("evt_1") == 1 })
		settle()
		if got := h.callsOf("evt_1"); got != 1 {
			t.Errorf("calls for evt_1: got %d, want 1", got)
		}
	})
}

// TestEnqueueEventUnique enqueues one event five times at once while its
// handler is slow: River's uniqueness by args makes one job. Enqueued again
// once that job has completed, it is still not run again, because River
// counts completed jobs as duplicates until it deletes them (after 24 h).
func TestEnqueueEventUnique(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		release := make(chan struct{})
		h.apply = func(ctx context.Context, k eventKey, call int) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}
		j := start(t, config(t, db, h))

		enqueue := func() {
			var wg sync.WaitGroup
			for range 5 {
				wg.Go(func() {
					if err := j.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
						t.Errorf("EnqueueEvent: %v", err)
					}
				})
			}
			wg.Wait()
		}
		enqueue()
		waitFor(t, "evt_1 in flight", func() bool { return h.callsOf("evt_1") == 1 })
		enqueue() // while it runs
		time.Sleep(300 * time.Millisecond)
		close(release)
		settle()
		if got := h.callsOf("evt_1"); got != 1 {
			t.Errorf("calls for evt_1 after enqueuing it 10 times: got %d, want 1", got)
		}

		enqueue() // after it completed
		settle()
		if got := h.callsOf("evt_1"); got != 1 {
			t.Errorf("calls for evt_1 enqueued after completion: got %d, want 1", got)
		}
		h.checkNoOverlap(t)
	})
}

func TestApplyRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		h.apply = func(ctx context.Context, k eventKey, call int) error {
			if call == 1 {
				return errors.New("stripe unavailable")
			}
			return nil
		}
		cfg := config(t, db, h)
		cfg.RetryDelay = func(int) time.Duration { return 10 * time.Millisecond }
		j := start(t, cfg)

		if err := j.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		waitFor(t, "evt_1 retried", func() bool { return h.callsOf("evt_1") == 2 })
		settle()
		if got := h.callsOf("evt_1"); got != 2 {
			t.Errorf("calls for evt_1 (fails once): got %d, want 2", got)
		}
	})
}

// TestSweeper records events without enqueuing them, as when the process
// crashed in between: the sweeper enqueues those older than SweepAfter, once.
func TestSweeper(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		store := db.store
		now := time.Now()
		for _, ev := range []struct {
			id         string
			receivedAt time.Time
		}{
			{"evt_old", now.Add(-time.Hour)},
			{"evt_older", now.Add(-2 * time.Hour)},
			{"evt_recent", now}, // its own job may still come
		} {
			if _, err := store.RecordEvent(t.Context(), &appwheel.Event{
				AppID: appID, ID: ev.id, Type: "payment_method.attached", Created: now.Unix(),
				Payload: []byte(`{}`), ReceivedAt: ev.receivedAt,
			}); err != nil {
				t.Fatalf("RecordEvent(%s): %v", ev.id, err)
			}
		}
		h := newFakeHandlers()
		cfg := config(t, db, h)
		cfg.SweepEvery = 100 * time.Millisecond
		cfg.SweepAfter = 10 * time.Minute
		start(t, cfg)

		waitFor(t, "old events applied", func() bool {
			return h.callsOf("evt_old") == 1 && h.callsOf("evt_older") == 1
		})
		// The fake never marks them processed, so every sweep finds them
		// pending again; their completed jobs keep them from running again.
		settle()
		for _, id := range []string{"evt_old", "evt_older"} {
			if got := h.callsOf(id); got != 1 {
				t.Errorf("calls for %s: got %d, want 1", id, got)
			}
		}
		if got := h.callsOf("evt_recent"); got != 0 {
			t.Errorf("calls for evt_recent (younger than SweepAfter): got %d, want 0", got)
		}
	})
}

func TestCleanup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		store := db.store
		expired := time.Now().Add(-time.Minute)
		useNonce := func() bool {
			t.Helper()
			fresh, err := store.UseNonce(t.Context(), appID, "nonce_1", expired)
			if err != nil {
				t.Fatalf("UseNonce: %v", err)
			}
			return fresh
		}
		if !useNonce() {
			t.Fatalf("first UseNonce: got not fresh, want fresh")
		}
		if useNonce() {
			t.Fatalf("second UseNonce before cleanup: got fresh, want a replay")
		}

		cfg := config(t, db, newFakeHandlers())
		cfg.CleanupEvery = 100 * time.Millisecond
		start(t, cfg)
		waitFor(t, "expired nonce deleted", useNonce)
	})
}

// TestClock runs the sweeper and the cleanup on an injected clock two hours
// ahead: by it, an event received just now is old enough to sweep and a
// nonce valid for another hour has expired. Neither would be by the wall
// clock, so the jobs must take their time from Config.Now.
func TestClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		store := db.store
		now := time.Now()
		if _, err := store.RecordEvent(t.Context(), &appwheel.Event{
			AppID: appID, ID: "evt_1", Type: "payment_method.attached", Created: now.Unix(),
			Payload: []byte(`{}`), ReceivedAt: now,
		}); err != nil {
			t.Fatalf("RecordEvent: %v", err)
		}
		useNonce := func() bool {
			t.Helper()
			fresh, err := store.UseNonce(t.Context(), appID, "nonce_1", now.Add(time.Hour))
			if err != nil {
				t.Fatalf("UseNonce: %v", err)
			}
			return fresh
		}
		if !useNonce() {
			t.Fatalf("first UseNonce: got not fresh, want fresh")
		}

		h := newFakeHandlers()
		cfg := config(t, db, h)
		cfg.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		cfg.SweepEvery, cfg.SweepAfter = 100*time.Millisecond, 10*time.Minute
		cfg.CleanupEvery = 100 * time.Millisecond
		start(t, cfg)
		waitFor(t, "the event swept by the injected clock", func() bool { return h.callsOf("evt_1") == 1 })
		waitFor(t, "the nonce expired by the injected clock", useNonce)
	})
}

func TestReconcile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		cfg := config(t, db, h)
		cfg.ReconcileEvery = 200 * time.Millisecond
		cfg.ReconcileMaxAge = 3 * time.Hour
		start(t, cfg)

		// The first run is at start, the second on the interval.
		waitFor(t, "two reconciles", func() bool { return len(h.reconcileCalls()) >= 2 })
		for i, got := range h.reconcileCalls() {
			if got != 3*time.Hour {
				t.Errorf("reconcile #%d maxAge: got %v, want 3h", i+1, got)
			}
		}
	})
}

// TestStopAndRestart stops Jobs with a job running and one queued: Stop
// waits for the running one, leaves the queued one, and new Jobs on the
// same file run it, and remember the first as done.
func TestStopAndRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		ha := newFakeHandlers()
		release := make(chan struct{})
		ha.apply = func(ctx context.Context, k eventKey, call int) error {
			if k.event == "evt_1" {
				<-release
			}
			return nil
		}
		cfg := config(t, db, ha)
		cfg.Workers = 1
		a, err := jobs.New(cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := a.Start(t.Context()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		if err := a.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
			t.Fatalf("EnqueueEvent(evt_1): %v", err)
		}
		waitFor(t, "evt_1 running", func() bool { return ha.callsOf("evt_1") == 1 })
		if err := a.EnqueueEvent(t.Context(), appID, "evt_2"); err != nil {
			t.Fatalf("EnqueueEvent(evt_2): %v", err)
		}

		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopped <- a.Stop(ctx)
		}()
		time.Sleep(300 * time.Millisecond) // Stop has stopped fetching
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned %v with a job running, want it to wait", err)
		default:
		}
		began := time.Now()
		close(release)
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatalf("Stop: got error %v, want nil", err)
			}
			if d := time.Since(began); d > 3*time.Second {
				t.Errorf("Stop took %v after the running job returned, want well under 3s", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Stop did not return")
		}
		if err := a.EnqueueEvent(t.Context(), appID, "evt_3"); err == nil {
			t.Errorf("EnqueueEvent after Stop: got nil error, want one")
		}
		if got := ha.callsOf("evt_2"); got != 0 {
			t.Fatalf("calls for evt_2 before restart: got %d, want 0 (fetched after Stop)", got)
		}

		hb := newFakeHandlers()
		b := start(t, config(t, db, hb))
		waitFor(t, "queued evt_2 applied after restart", func() bool { return hb.callsOf("evt_2") == 1 })
		if err := b.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
			t.Fatalf("EnqueueEvent(evt_1) again: %v", err)
		}
		settle()
		if got := hb.callsOf("evt_1"); got != 0 {
			t.Errorf("calls for evt_1, completed before the restart: got %d, want 0", got)
		}
	})
}

// TestStopDeadline stops Jobs whose running job outlasts Stop's context:
// Stop cancels the job, returns the context's error promptly, and the job
// is run again by the next Jobs.
func TestStopDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		ha := newFakeHandlers()
		cancelled := make(chan struct{})
		ha.apply = func(ctx context.Context, k eventKey, call int) error {
			<-ctx.Done()
			close(cancelled)
			return ctx.Err()
		}
		a, err := jobs.New(config(t, db, ha))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := a.Start(t.Context()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		if err := a.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		waitFor(t, "evt_1 running", func() bool { return ha.callsOf("evt_1") == 1 })

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		began := time.Now()
		err = a.Stop(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop: got error %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(began); d > 3*time.Second {
			t.Errorf("Stop took %v, want about its 200ms deadline", d)
		}
		select {
		case <-cancelled:
		default:
			t.Errorf("running job's context not cancelled by Stop")
		}

		hb := newFakeHandlers()
		start(t, config(t, db, hb))
		waitFor(t, "interrupted evt_1 run again", func() bool { return hb.callsOf("evt_1") == 1 })
	})
}

// TestFailureLogged checks that a failed job is logged with its kind and
// ids, and nothing of the event.
func TestFailureLogged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		h.apply = func(ctx context.Context, k eventKey, call int) error {
			return fmt.Errorf("boom")
		}
		logs := &logBuffer{}
		cfg := config(t, db, h)
		cfg.Logger = logs.logger()
		cfg.RetryDelay = func(int) time.Duration { return time.Hour }
		j := start(t, cfg)
		if err := j.EnqueueEvent(t.Context(), appID, "evt_1"); err != nil {
			t.Fatalf("EnqueueEvent: %v", err)
		}
		waitFor(t, "failure logged", func() bool { return logs.contains(`"job failed; will retry"`) })
		for _, want := range []string{`"job_kind":"apply_event"`, `"app_id":"app_1"`, `"event_id":"evt_1"`, `"error":"boom"`, `"attempt":1`} {
			if !logs.contains(want) {
				t.Errorf("log %s: missing %s", logs.String(), want)
			}
		}
		if logs.contains("Job errored") {
			t.Errorf("River's info line for the failure logged: %s", logs.String())
		}
	})
}

// logBuffer collects JSON log lines, safe for River's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) contains(s string) bool { return strings.Contains(b.String(), s) }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
