package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/jobs"
	"github.com/appwheel/appwheel/postgres"
	"github.com/jackc/pgx/v5"
)

// openPostgresStore opens (and so migrates) a store at url, closed when the
// test ends.
func openPostgresStore(t testing.TB, url string, opts postgres.Options) *postgres.DB {
	t.Helper()
	store := postgres.NewDB(url, opts)
	if err := store.Open(t.Context()); err != nil {
		t.Fatalf("store Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// The replica process of TestPostgresKilledReplica is this test binary
// again, running runReplica instead of the tests when replicaURLEnv holds
// the URL of the test's schema.
const replicaURLEnv = "APPWHEEL_JOBS_TEST_REPLICA_URL"

// rescueJobTimeout is the JobTimeout of TestPostgresKilledReplica's
// replicas: their claims last twice that.
const rescueJobTimeout = time.Second

func TestMain(m *testing.M) {
	if u := os.Getenv(replicaURLEnv); u != "" {
		os.Exit(runReplica(u))
	}
	os.Exit(m.Run())
}

// runReplica is a replica that applies evt_1, recorded by the test: it
// writes "running evt_1" to stdout when its handler gets it, and hangs
// there, past JobTimeout, until it is killed.
func runReplica(url string) int {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fail := func(err error) int {
		log.Error("replica failed", slog.String("error", err.Error()))
		return 1
	}
	store := postgres.NewDB(url, postgres.Options{})
	if err := store.Open(ctx); err != nil {
		return fail(err)
	}
	h := newFakeHandlers()
	h.apply = func(ctx context.Context, k eventKey, call int) error {
		fmt.Printf("running %s\n", k.event)
		select {}
	}
	j, err := jobs.New(jobs.Config{
		Store: store, Handlers: h, Logger: log,
		JobTimeout: rescueJobTimeout,
	})
	if err != nil {
		return fail(err)
	}
	if err := j.Start(ctx); err != nil {
		return fail(err)
	}
	time.Sleep(time.Minute) // killed long before
	return fail(errors.New("not killed"))
}

// TestPostgresKilledReplica kills (SIGKILL) a replica applying an event,
// which leaves the event claimed in the database with nobody to finish it,
// and checks that the surviving replica applies it once the claim has run
// out (twice JobTimeout).
func TestPostgresKilledReplica(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	record(t, db.store, time.Now(), "evt_1")

	out := &logBuffer{}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), replicaURLEnv+"="+db.url)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the replica: %v", err)
	}
	var reap sync.Once
	kill := func() {
		reap.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(kill)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the killed replica's output:\n%s", out)
		}
	})
	waitForWithin(t, 20*time.Second, "the replica running evt_1", func() bool { return out.contains("running evt_1\n") })
	kill()
	killed := time.Now()

	h := newFakeHandlers()
	cfg := config(t, db, h)
	cfg.JobTimeout = rescueJobTimeout
	start(t, cfg)
	waitFor(t, "evt_1 applied by the surviving replica", func() bool { return processed(t, db.store, "evt_1") })
	t.Logf("evt_1 applied %v after its replica was killed", time.Since(killed).Round(100*time.Millisecond))
	if got := h.callsOf("evt_1"); got != 1 {
		t.Errorf("calls for evt_1 on the survivor: got %d, want 1", got)
	}
	var attempts int
	if err := db.pool.QueryRow(t.Context(), `SELECT attempts FROM webhook_events WHERE id = 'evt_1'`).Scan(&attempts); err != nil {
		t.Fatalf("reading evt_1: %v", err)
	}
	if attempts != 2 {
		t.Errorf("evt_1's attempts: got %d, want 2 (the killed replica's claim, then the survivor's)", attempts)
	}
}

// TestPostgresReplicasShareEvents runs two replicas on one schema, each
// woken for the events as if it had received them, and one event woken
// for on both: each event is applied once, by one of them, never by both
// at once.
func TestPostgresReplicasShareEvents(t *testing.T) {
	t.Parallel()
	dbA := openPostgres(t)
	dbB := dbA.replica(t)
	h := newFakeHandlers()
	h.apply = func(ctx context.Context, k eventKey, call int) error {
		time.Sleep(time.Millisecond) // long enough for a second application to overlap
		return nil
	}
	replicas := []*jobs.Jobs{start(t, config(t, dbA, h.as("a"))), start(t, config(t, dbB, h.as("b")))}

	ids := append(eventIDs(400), "evt_both")
	for i, id := range ids {
		record(t, dbA.store, time.Now(), id)
		replicas[i%2].Wake()
	}
	for _, j := range replicas {
		j.Wake()
	}
	h.wantAppliedOnce(t, ids)
	applies, _ := h.byCaller()
	t.Logf("events applied by replica: %v", applies)
}

// TestPostgresRetiredJobs leaves jobs of the kinds an earlier version
// enqueued for each webhook event: Start deletes them.
func TestPostgresRetiredJobs(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	if err := (func() error {
		j, err := jobs.New(config(t, db, newFakeHandlers()))
		if err != nil {
			return err
		}
		return j.Migrate(t.Context())
	})(); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	for i := range 3 {
		if _, err := db.pool.Exec(t.Context(), `INSERT INTO river_job (args, kind, max_attempts, queue, state)
			VALUES ($1, 'apply_event', 10, 'default', 'available')`,
			fmt.Sprintf(`{"app_id":%q,"event_id":"evt_%d"}`, appID, i)); err != nil {
			t.Fatalf("inserting a retired job: %v", err)
		}
	}
	start(t, config(t, db, newFakeHandlers()))
	var n int
	if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind IN ('apply_event', 'sweep_events')`).Scan(&n); err != nil {
		t.Fatalf("counting retired jobs: %v", err)
	}
	if n != 0 {
		t.Errorf("retired jobs after Start: got %d, want 0", n)
	}
}

// TestPostgresReplicasPeriodic runs two replicas on one schema: only the
// elected leader enqueues the periodic jobs, so reconcile runs once per
// interval, not once per replica, never twice at once; when the leader
// stops, it resigns and the other takes the periodic jobs over within
// seconds.
func TestPostgresReplicasPeriodic(t *testing.T) {
	t.Parallel()
	dbA := openPostgres(t)
	dbB := dbA.replica(t)
	h := newFakeHandlers()
	h.reconcileTakes = 50 * time.Millisecond
	const every = 250 * time.Millisecond
	cfg := func(db *testDB, name string) jobs.Config {
		c := config(t, db, h.as(name))
		c.ReconcileEvery = every
		return c
	}

	a, err := jobs.New(cfg(dbA, "a"))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) }) // if the test fails before stopping it
	// Alone, a is the leader: it runs reconcile at once.
	waitFor(t, "a's first reconcile", func() bool { return len(h.reconcileCalls()) > 0 })
	start(t, cfg(dbB, "b"))

	const window = 2 * time.Second
	count := func(d time.Duration) int {
		n := len(h.reconcileCalls())
		time.Sleep(d)
		return len(h.reconcileCalls()) - n
	}
	// One leader runs it about window/every = 8 times; two would run it
	// about twice as often.
	if n, most := count(window), int(window/every)+2; n > most || n < 3 {
		t.Errorf("reconciles in %v with two replicas: got %d, want 3 to %d (one leader)", window, n, most)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := a.Stop(ctx); err != nil {
		t.Fatalf("Stop a: %v", err)
	}
	stopped := time.Now()
	_, before := h.byCaller()
	// a resigned as it stopped: b is elected at once (notified), then starts
	// its periodic enqueuer after River's start-up stagger (up to a few
	// seconds), which runs reconcile at once. Without the resignation b
	// would wait for a's leadership to expire (15 s).
	waitFor(t, "b reconciling after a stopped", func() bool {
		_, after := h.byCaller()
		return after["b"] > before["b"]
	})
	t.Logf("b took over reconcile %v after a stopped", time.Since(stopped).Round(100*time.Millisecond))
	// About window/every = 8 again; 3 leaves room for a loaded machine
	// (a whole CI run's packages at once), where one second once saw 1.
	if n := count(window); n < 3 {
		t.Errorf("reconciles in %v with b leading: got %d, want 3 or more", window, n)
	}
	h.mu.Lock()
	if h.reconcileOverlaps > 0 {
		t.Errorf("reconciles started while another ran: %d, want 0", h.reconcileOverlaps)
	}
	h.mu.Unlock()
	_, after := h.byCaller()
	t.Logf("reconciles by replica: %v", after)

	// Stop left the store's pool open.
	if err := dbA.store.Ping(t.Context()); err != nil {
		t.Errorf("a's store after Stop: Ping: %v", err)
	}
}

// TestPostgresMigrateConcurrently has four replicas migrate River's tables
// on one fresh schema at once, twice: the migrator takes no lock of its
// own, so without Migrate's advisory lock more than one would apply the
// first migration and fail.
func TestPostgresMigrateConcurrently(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	const replicas = 4
	js := make([]*jobs.Jobs, replicas)
	for i := range js {
		r := db
		if i > 0 {
			r = db.replica(t)
		}
		j, err := jobs.New(config(t, r, newFakeHandlers()))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		js[i] = j
	}
	for round := 1; round <= 2; round++ {
		errs := make([]error, replicas)
		begin := make(chan struct{})
		var wg sync.WaitGroup
		for i, j := range js {
			wg.Go(func() {
				<-begin
				errs[i] = j.Migrate(t.Context())
			})
		}
		close(begin)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, replica %d: Migrate: got error %v, want nil", round, i, err)
			}
		}
	}
	var n, distinct int
	if err := db.pool.QueryRow(t.Context(),
		`SELECT count(*), count(DISTINCT version) FROM river_migration`).Scan(&n, &distinct); err != nil {
		t.Fatalf("reading river_migration: %v", err)
	}
	if n == 0 || n != distinct {
		t.Errorf("river_migration: %d rows, %d versions; want each version once", n, distinct)
	}
}

// TestPostgresMigrateOverStatementTimeout migrates on a store whose
// statement_timeout is 100 ms while river_migration is locked for 500 ms:
// Migrate waits for the lock instead of being cancelled, and the store's
// pool keeps its timeout.
func TestPostgresMigrateOverStatementTimeout(t *testing.T) {
	t.Parallel()
	url := pgtest.NewSchema(t)
	store := openPostgresStore(t, url, postgres.Options{StatementTimeout: 100 * time.Millisecond})
	j, err := jobs.New(jobs.Config{Store: store, Handlers: newFakeHandlers()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := j.Migrate(t.Context()); err != nil {
		t.Fatalf("first Migrate: %v", err)
	}

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatalf("BEGIN: %v", err)
	}
	if _, err := tx.Exec(t.Context(), `LOCK TABLE river_migration IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatalf("LOCK TABLE: %v", err)
	}
	const held = 500 * time.Millisecond
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(held)
		tx.Rollback(context.Background())
	}()
	defer func() { <-released }() // before closing conn
	began := time.Now()
	if err := j.Migrate(t.Context()); err != nil {
		t.Errorf("Migrate while river_migration is locked for %v: got error %v, want nil", held, err)
	}
	if d := time.Since(began); d < held-100*time.Millisecond {
		t.Errorf("Migrate took %v, want it to wait about %v for the lock", d, held)
	}
	if _, err := store.Pool().Exec(t.Context(), `SELECT pg_sleep(0.3)`); err == nil {
		t.Errorf("a 300ms statement on the store's pool: got nil error, want its 100ms statement timeout")
	}
}
