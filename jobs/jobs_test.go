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
// ApplyEvents does with each event of a batch, one after the other (call
// counts from 1 for each event); otherwise it succeeds at once. reconcileTakes, when set, is how long ReconcileApps
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

func (h *fakeHandlers) ApplyEvents(ctx context.Context, evs []*appwheel.Event) []error {
	return h.applyEventsAs(ctx, "", evs)
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

func (r replicaHandlers) ApplyEvents(ctx context.Context, evs []*appwheel.Event) []error {
	return r.h.applyEventsAs(ctx, r.name, evs)
}

func (r replicaHandlers) ReconcileApps(ctx context.Context, maxAge time.Duration) error {
	return r.h.reconcileAs(ctx, r.name, maxAge)
}

func (r replicaHandlers) ContinueImport(ctx context.Context, app, importID string) (bool, error) {
	return r.h.ContinueImport(ctx, app, importID)
}

func (h *fakeHandlers) applyEventsAs(ctx context.Context, caller string, evs []*appwheel.Event) []error {
	errs := make([]error, len(evs))
	for i, ev := range evs {
		errs[i] = h.applyAs(ctx, caller, ev.AppID, ev.ID)
	}
	return errs
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

// wantAppliedOnce waits for each event to be applied, gives the applier
// time to apply any again, and fails for one applied more than once or
// twice at once.
func (h *fakeHandlers) wantAppliedOnce(t *testing.T, ids []string) {
	t.Helper()
	waitFor(t, "every event applied", func() bool {
		for _, id := range ids {
			if h.callsOf(id) == 0 {
				return false
			}
		}
		return true
	})
	settle()
	for _, id := range ids {
		if got := h.callsOf(id); got != 1 {
			t.Errorf("calls for %s: got %d, want 1", id, got)
		}
	}
	h.checkNoOverlap(t)
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
	open func(t testing.TB) *testDB
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
func openSQLite(t testing.TB) *testDB {
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
func openPostgres(t testing.TB) *testDB {
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

func createApp(t testing.TB, store appwheel.Store) {
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
func config(t testing.TB, db *testDB, h jobs.Handlers) jobs.Config {
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

// settle gives the applier time to apply anything (wrongly) twice: it
// claims at least every second.
func settle() { time.Sleep(1500 * time.Millisecond) }

// Each store gives River its database.
var (
	_ jobs.SQLiteStore   = (*sqlite.DB)(nil)
	_ jobs.PostgresStore = (*postgres.DB)(nil)
)

// record records events of the app as received at receivedAt, as the
// webhook endpoint does.
func record(t testing.TB, store appwheel.Store, receivedAt time.Time, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := store.RecordEvent(t.Context(), &appwheel.Event{
			AppID: appID, ID: id, Type: "payment_method.attached", Created: receivedAt.Unix(),
			Payload: []byte(`{"object":"event","note":"the payload of ` + id + `"}`), ReceivedAt: receivedAt,
		}); err != nil {
			t.Fatalf("RecordEvent(%s): %v", id, err)
		}
	}
}

// processed reports whether the store has the event marked processed.
func processed(t *testing.T, store appwheel.Store, id string) bool {
	t.Helper()
	ev, err := store.Event(t.Context(), appID, id)
	if err != nil {
		t.Fatalf("Event(%s): %v", id, err)
	}
	return !ev.ProcessedAt.IsZero()
}

// eventIDs returns evt_0 … evt_(n-1).
func eventIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_%d", i)
	}
	return ids
}

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

// TestNotStarted: Jobs not started apply nothing, however often woken, and
// stopping them does nothing.
func TestNotStarted(t *testing.T) {
	db := openSQLite(t)
	h := newFakeHandlers()
	j, err := jobs.New(config(t, db, h))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	record(t, db.store, time.Now(), "evt_1")
	for range 3 {
		j.Wake()
	}
	if err := j.Stop(t.Context()); err != nil {
		t.Errorf("Stop before Start: got error %v, want nil", err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := h.callsOf("evt_1"); got != 0 {
		t.Errorf("calls for evt_1: got %d, want 0", got)
	}
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
		// Start migrates a third time, and River works on the migrated
		// tables.
		h.importDoneAt = 1
		j = start(t, config(t, db, h))
		if err := j.EnqueueImport(t.Context(), appID, "imp_1"); err != nil {
			t.Fatalf("EnqueueImport: %v", err)
		}
		waitFor(t, "imp_1 run", func() bool { return h.importCallsOf("imp_1") == 1 })
		// The store's own schema is untouched.
		if err := store.Migrate(t.Context()); err != nil {
			t.Errorf("store Migrate after River's: got error %v, want nil", err)
		}
	})
}

// TestApplyEvents records more events than one claim takes: each is
// applied once and marked processed.
func TestApplyEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		j := start(t, config(t, db, h))

		ids := eventIDs(250)
		record(t, db.store, time.Now(), ids...)
		j.Wake()
		h.wantAppliedOnce(t, ids)
		for _, id := range ids {
			if !processed(t, db.store, id) {
				t.Errorf("%s not marked processed", id)
			}
		}
	})
}

// TestWakeOnDuplicates wakes the applier many times, at once, for one
// event whose handler is slow (a duplicate delivery wakes it again), and
// again after it was applied: it is applied once.
func TestWakeOnDuplicates(t *testing.T) {
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

		wake := func() {
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(j.Wake)
			}
			wg.Wait()
		}
		record(t, db.store, time.Now(), "evt_1")
		wake()
		waitFor(t, "evt_1 in flight", func() bool { return h.callsOf("evt_1") == 1 })
		wake() // while it runs
		time.Sleep(300 * time.Millisecond)
		close(release)
		waitFor(t, "evt_1 processed", func() bool { return processed(t, db.store, "evt_1") })
		wake() // after it was applied
		settle()
		if got := h.callsOf("evt_1"); got != 1 {
			t.Errorf("calls for evt_1: got %d, want 1", got)
		}
		h.checkNoOverlap(t)
	})
}

// TestApplyRetried fails one event of a batch once: the others are
// applied (once) without waiting for it, and it is retried after its
// delay.
func TestApplyRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		h.apply = func(ctx context.Context, k eventKey, call int) error {
			if k.event == "evt_1" && call == 1 {
				return errors.New("stripe unavailable")
			}
			return nil
		}
		cfg := config(t, db, h)
		var attempts []int
		var mu sync.Mutex
		cfg.RetryDelay = func(attempt int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, attempt)
			return 300 * time.Millisecond
		}
		j := start(t, cfg)

		record(t, db.store, time.Now(), "evt_0", "evt_1", "evt_2")
		j.Wake()
		waitFor(t, "evt_0 and evt_2 processed", func() bool {
			return processed(t, db.store, "evt_0") && processed(t, db.store, "evt_2")
		})
		if processed(t, db.store, "evt_1") {
			t.Errorf("evt_1, which failed, marked processed")
		}
		waitFor(t, "evt_1 retried and processed", func() bool { return processed(t, db.store, "evt_1") })
		settle()
		for id, want := range map[string]int{"evt_0": 1, "evt_1": 2, "evt_2": 1} {
			if got := h.callsOf(id); got != want {
				t.Errorf("calls for %s: got %d, want %d", id, got, want)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) != 1 || attempts[0] != 1 {
			t.Errorf("RetryDelay called for attempts %v, want [1]", attempts)
		}
	})
}

// TestHandlerPanics: a batch whose handler panics is retried, and the
// process goes on.
func TestHandlerPanics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		h := newFakeHandlers()
		h.apply = func(ctx context.Context, k eventKey, call int) error {
			if call == 1 {
				panic("a bug")
			}
			return nil
		}
		logs := &logBuffer{}
		cfg := config(t, db, h)
		cfg.Logger = logs.logger()
		cfg.RetryDelay = func(int) time.Duration { return 10 * time.Millisecond }
		j := start(t, cfg)
		record(t, db.store, time.Now(), "evt_1")
		j.Wake()
		waitFor(t, "evt_1 processed", func() bool { return processed(t, db.store, "evt_1") })
		if got := h.callsOf("evt_1"); got != 2 {
			t.Errorf("calls for evt_1: got %d, want 2 (panicked, then applied)", got)
		}
		if !logs.contains("a bug") {
			t.Errorf("log %s: missing the panic", logs.String())
		}
	})
}

// TestDeadClaimer leaves events claimed, as by a process that died with
// them (a claim by the store itself, never marked), and records one
// without waking the applier, as a process that died before it could:
// the running applier applies the latter at its next poll and the former
// once their claim has run out, not before.
func TestDeadClaimer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		now := time.Now()
		record(t, db.store, now, "evt_dead_1", "evt_dead_2")
		const lease = 2 * time.Second
		claimed, err := db.store.ClaimEvents(t.Context(), now, now.Add(lease), 10)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("ClaimEvents: got %d events, %v; want 2, nil", len(claimed), err)
		}
		record(t, db.store, now, "evt_unwoken")

		h := newFakeHandlers()
		start(t, config(t, db, h))
		waitFor(t, "evt_unwoken applied", func() bool { return h.callsOf("evt_unwoken") == 1 })
		if got := h.callsOf("evt_dead_1"); got != 0 && time.Since(now) < lease {
			t.Errorf("evt_dead_1 applied %v after it was claimed, before its claim ran out (%v)", time.Since(now), lease)
		}
		waitFor(t, "the dead claimer's events applied", func() bool {
			return processed(t, db.store, "evt_dead_1") && processed(t, db.store, "evt_dead_2")
		})
		if d := time.Since(now); d < lease {
			t.Errorf("the dead claimer's events applied %v after their claim, want after %v", d, lease)
		}
		for _, id := range []string{"evt_dead_1", "evt_dead_2", "evt_unwoken"} {
			if got := h.callsOf(id); got != 1 {
				t.Errorf("calls for %s: got %d, want 1", id, got)
			}
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

// TestClock runs the applier and the cleanup on an injected clock two hours
// ahead: by it, an event claimed for another hour by the wall clock is
// claimable, and a nonce valid for another hour has expired. Neither would
// be by the wall clock, so the jobs must take their time from Config.Now.
func TestClock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		db := be.open(t)
		store := db.store
		now := time.Now()
		record(t, store, now, "evt_1")
		if _, err := store.ClaimEvents(t.Context(), now, now.Add(time.Hour), 1); err != nil {
			t.Fatalf("ClaimEvents: %v", err)
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
		cfg.CleanupEvery = 100 * time.Millisecond
		start(t, cfg)
		waitFor(t, "the event's claim over by the injected clock", func() bool { return h.callsOf("evt_1") == 1 })
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

// TestStopAndRestart stops Jobs with a batch being applied: Stop waits for
// it and claims nothing after, and new Jobs on the same database apply
// what was recorded meanwhile, and not the batch again.
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
		a, err := jobs.New(config(t, db, ha))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := a.Start(t.Context()); err != nil {
			t.Fatalf("Start: %v", err)
		}
		record(t, db.store, time.Now(), "evt_1")
		a.Wake()
		waitFor(t, "evt_1 running", func() bool { return ha.callsOf("evt_1") == 1 })

		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopped <- a.Stop(ctx)
		}()
		time.Sleep(300 * time.Millisecond) // Stop has stopped claiming
		record(t, db.store, time.Now(), "evt_2")
		a.Wake()
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned %v with a batch in flight, want it to wait", err)
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
				t.Errorf("Stop took %v after the batch returned, want well under 3s", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Stop did not return")
		}
		if !processed(t, db.store, "evt_1") {
			t.Errorf("evt_1, applied before Stop returned, not marked processed")
		}
		if got := ha.callsOf("evt_2"); got != 0 {
			t.Fatalf("calls for evt_2 before restart: got %d, want 0 (recorded after Stop)", got)
		}

		hb := newFakeHandlers()
		start(t, config(t, db, hb))
		waitFor(t, "evt_2 applied after restart", func() bool { return hb.callsOf("evt_2") == 1 })
		settle()
		if got := hb.callsOf("evt_1"); got != 0 {
			t.Errorf("calls for evt_1, applied before the restart: got %d, want 0", got)
		}
	})
}

// TestStopDeadline stops Jobs whose batch outlasts Stop's context: Stop
// cancels it, returns the context's error promptly, and the next Jobs
// apply the event at once, not after its claim would have run out.
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
		record(t, db.store, time.Now(), "evt_1")
		a.Wake()
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
			t.Errorf("the batch's context not cancelled by Stop")
		}

		hb := newFakeHandlers()
		start(t, config(t, db, hb)) // claims last 4 minutes (the default JobTimeout's twice)
		waitForWithin(t, 5*time.Second, "interrupted evt_1 applied again", func() bool { return hb.callsOf("evt_1") == 1 })
	})
}

// TestFailureLogged checks that a failed event is logged with its ids and
// attempt, and nothing of its payload.
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
		record(t, db.store, time.Now(), "evt_1")
		j.Wake()
		waitFor(t, "failure logged", func() bool { return logs.contains(`"webhook event failed; will retry"`) })
		for _, want := range []string{`"app_id":"app_1"`, `"event_id":"evt_1"`, `"error":"boom"`, `"attempt":1`, `"retry_in":3600000000000`} {
			if !logs.contains(want) {
				t.Errorf("log %s: missing %s", logs.String(), want)
			}
		}
		if logs.contains("the payload of") {
			t.Errorf("log %s: shows the event's payload", logs.String())
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
