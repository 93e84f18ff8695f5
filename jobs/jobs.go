// Package jobs runs AppWheel's background work on River, a job queue kept in
// the database: applying recorded webhook events to the mirror, re-enqueuing
// events whose enqueue was lost, reconciling stale mirrors, working on the
// imports of apps' existing Stripe customers, and deleting expired nonces
// and idempotency keys.
//
// River's tables live in the store's database, its SQLite file or its
// PostgreSQL schema, so a job survives a crash or a restart like any other
// row, and with several processes on one database River's leader election
// makes each periodic job run on one of them only. A job left running by a
// process that died is run again by another (or the same, restarted) once
// it has been running for twice JobTimeout. The work itself is done by Handlers (the billing
// service) and the Store; this package only decides when and how often.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// Handlers are what the jobs call; billing implements them (wired in cmd).
// Both are called again after an error, so both must be idempotent.
type Handlers interface {
	// ApplyRecordedEvent applies one recorded webhook event to the mirror;
	// it is idempotent (an applied event is skipped). An error retries the
	// job; an event that can never apply should be marked processed and nil
	// returned, or the sweeper keeps enqueuing it.
	ApplyRecordedEvent(ctx context.Context, appID, eventID string) error
	// ReconcileApps re-syncs users whose mirror is older than maxAge, for
	// every app in mirror mode, within the apps' Stripe rate budgets.
	ReconcileApps(ctx context.Context, maxAge time.Duration) error
	// ContinueImport works on an app's import of its Stripe customers for
	// a while, well within the job's timeout, and reports whether it is
	// done; the job runs again until it is. It must pick up where any
	// earlier attempt, here or in a process that died, left off.
	ContinueImport(ctx context.Context, appID, importID string) (done bool, err error)
}

// Config is what Jobs are built from. Zero durations take their defaults;
// negative ones are an error.
type Config struct {
	// Store is the store, whose database River's tables share: a
	// SQLiteStore (sqlite.DB), whose file they live in beside the store's,
	// through a connection the store opens for River; or a PostgresStore
	// (postgres.DB), whose pool River then shares: its tables live in the
	// first schema of the pool's search_path, and its queries run under the
	// pool's statement_timeout (its migrations excepted). Jobs close
	// neither; close the store after Stop.
	//
	// The jobs read it too: the sweeper (PendingEvents) and the cleanup
	// (DeleteExpiredNonces, DeleteExpiredIdempotentRequests). Required.
	Store appwheel.Store
	// Handlers do the work of apply_event and reconcile. Required.
	Handlers Handlers
	// Logger receives job failures (kind and ids, never payloads). River's
	// own messages go to it at warn level and above only. Nil discards.
	Logger *slog.Logger
	// Now is the service's clock, for every time the jobs compare with the
	// store's: the sweeper's cut-off and the cleanup's expiry. River
	// schedules jobs and retries by its own wall clock, which it compares
	// with the times it stored, so RetryDelay is measured on that one.
	// Defaults to time.Now.
	Now func() time.Time

	// Workers is how many apply_event jobs run at once in this process.
	// Defaults to 32: applying an event is mostly waiting on the database
	// (and, for a re-fetch, on Stripe, which the per-app budget bounds), so
	// many run at once. Periodic jobs run on workers of their own, so a
	// long reconcile never holds up events.
	Workers int
	// SweepEvery is how often the sweeper looks for events recorded but
	// not applied. Defaults to 1 minute.
	SweepEvery time.Duration
	// SweepAfter is how old an unapplied event must be for the sweeper to
	// enqueue it again, long enough that its own job has normally run (or
	// is retrying, in which case the enqueue is a no-op). Defaults to 1
	// minute.
	SweepAfter time.Duration
	// ReconcileEvery is how often stale mirrors are re-synced. Defaults to
	// 1 hour.
	ReconcileEvery time.Duration
	// ReconcileMaxAge is the age past which a user's mirror is re-synced.
	// Defaults to 6 hours.
	ReconcileMaxAge time.Duration
	// CleanupEvery is how often expired nonces and idempotency keys are
	// deleted. Defaults to 1 minute.
	CleanupEvery time.Duration
	// JobTimeout bounds one attempt of any job; its context is cancelled
	// after it. Defaults to 2 minutes.
	//
	// Twice JobTimeout is also how long a job may stay running before it is
	// rescued: a process killed while running it (SIGKILL, OOM, a lost
	// host) cannot record its end, and River's elected leader retries it
	// once it has run that long, an attempt spent (or discards it, after
	// the last attempt; a periodic one runs again at its next interval).
	// The margin over JobTimeout lets an attempt that timed out record its
	// own end first, and absorbs the skew between the leader's clock and
	// the database's. River checks every 30 seconds, and a dead leader is
	// replaced within about 20 seconds, so with the default a killed
	// process's jobs run again within about 5 minutes (River's own default
	// would be an hour, holding up the periodic jobs as long, as a running
	// one blocks the next).
	JobTimeout time.Duration
	// RetryDelay returns how long to wait before retrying a job whose
	// attempt-th attempt failed. Nil means River's default policy:
	// attempt⁴ seconds, ±10% jitter (1 s, 16 s, 81 s, …; ~4.3 h over the
	// apply_event job's 10 attempts). Tests set it short.
	RetryDelay func(attempt int) time.Duration
}

const (
	defaultWorkers         = 32
	defaultSweepEvery      = time.Minute
	defaultSweepAfter      = time.Minute
	defaultReconcileEvery  = time.Hour
	defaultReconcileMaxAge = 6 * time.Hour
	defaultCleanupEvery    = time.Minute
	defaultJobTimeout      = 2 * time.Minute

	// rescueFactor times JobTimeout is River's RescueStuckJobsAfter; see
	// Config.JobTimeout.
	rescueFactor = 2

	// stopGrace is how long Stop waits, once its context is done, for the
	// cancelled jobs to return before it closes the database under them.
	stopGrace = 5 * time.Second
)

// Jobs runs the background jobs of one process. New, then Start and Stop;
// EnqueueEvent and EnqueueImport work while started, or after Open in a
// process that only enqueues (a command).
type Jobs struct {
	cfg Config
	log *slog.Logger
	// riverLog is cfg's logger filtered to warn and above: River logs every
	// job's life at info.
	riverLog *slog.Logger

	mu      sync.Mutex
	client  riverClient // once opened
	started bool
}

// database is River's side of the store's database, SQLite's file or
// PostgreSQL's pool: the only code that knows River's driver, and with it
// the type of its transactions (*sql.Tx or pgx.Tx), which the rest of the
// package never names. Its connections are the store's: Jobs close none.
type database interface {
	// newClient builds River's client on the database.
	newClient(cfg *river.Config) (riverClient, error)
	// migrate applies River's migrations not yet applied.
	migrate(ctx context.Context, cfg *rivermigrate.Config) (*rivermigrate.MigrateResult, error)
}

// riverClient is what Jobs use of river.Client, whatever its transaction
// type.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

var (
	_ riverClient = (*river.Client[*sql.Tx])(nil)
	_ riverClient = (*river.Client[pgx.Tx])(nil)
	_ database    = (*sqliteDB)(nil)
	_ database    = (*pgDB)(nil)
)

// New validates cfg and returns Jobs that are not started. It does no I/O.
func New(cfg Config) (*Jobs, error) {
	switch cfg.Store.(type) {
	case nil:
		return nil, errors.New("jobs: Store required")
	case SQLiteStore, PostgresStore:
	default:
		return nil, fmt.Errorf("jobs: Store %T has no database River can share: it is neither a SQLiteStore nor a PostgresStore", cfg.Store)
	}
	switch {
	case cfg.Handlers == nil:
		return nil, errors.New("jobs: Handlers required")
	case cfg.Workers < 0:
		return nil, fmt.Errorf("jobs: Workers %d is negative", cfg.Workers)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"SweepEvery", &cfg.SweepEvery, defaultSweepEvery},
		{"SweepAfter", &cfg.SweepAfter, defaultSweepAfter},
		{"ReconcileEvery", &cfg.ReconcileEvery, defaultReconcileEvery},
		{"ReconcileMaxAge", &cfg.ReconcileMaxAge, defaultReconcileMaxAge},
		{"CleanupEvery", &cfg.CleanupEvery, defaultCleanupEvery},
		{"JobTimeout", &cfg.JobTimeout, defaultJobTimeout},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("jobs: %s %v is negative", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.Workers == 0 {
		cfg.Workers = defaultWorkers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Jobs{
		cfg:      cfg,
		log:      log,
		riverLog: slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn}),
	}, nil
}

// Migrate creates or updates River's tables in the store's database. It is
// idempotent: applied migrations are skipped. On PostgreSQL, replicas
// migrating at once take turns (see pgDB.migrate). Start migrates too;
// Migrate is for `appwheel migrate`.
func (j *Jobs) Migrate(ctx context.Context) error {
	db, err := j.openDatabase(ctx)
	if err != nil {
		return err
	}
	return j.migrate(ctx, db)
}

// openDatabase opens River's side of the store's database: the connection
// the SQLite store opens for it, or the PostgreSQL store's pool as it is.
func (j *Jobs) openDatabase(ctx context.Context) (database, error) {
	switch store := j.cfg.Store.(type) {
	case PostgresStore:
		pool := store.Pool()
		if pool == nil {
			return nil, errors.New("jobs: the PostgreSQL store is not open")
		}
		return &pgDB{pool: pool}, nil
	case SQLiteStore:
		db, err := store.RiverDB(ctx)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		return &sqliteDB{db: db}, nil
	}
	panic("jobs: unreachable: New checked the store")
}

// migrate applies River's own migrations (river_migration records them, apart
// from the store's schema_migrations), skipping those applied already.
func (j *Jobs) migrate(ctx context.Context, db database) error {
	res, err := db.migrate(ctx, &rivermigrate.Config{Logger: j.riverLog})
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

// Open opens River's side of the store's database (see Config.Store) and
// migrates River's tables, so that jobs can be enqueued; it works none.
// Start opens Jobs not yet opened.
func (j *Jobs) Open(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.open(ctx)
}

func (j *Jobs) open(ctx context.Context) error {
	if j.client != nil {
		return nil
	}
	db, err := j.openDatabase(ctx)
	if err != nil {
		return err
	}
	if err := j.migrate(ctx, db); err != nil {
		return err
	}
	client, err := j.newClient(db)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	j.client = client
	return nil
}

// Start opens Jobs (see Open) and starts working jobs: apply_event on
// Workers workers, imports on their own, and the periodic jobs when this
// process is River's elected leader.
//
// ctx bounds starting only: cancelling it later does not stop the jobs (a
// signal context would otherwise cancel running jobs at once); Stop does.
func (j *Jobs) Start(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started {
		return errors.New("jobs: already started")
	}
	if err := j.open(ctx); err != nil {
		return err
	}
	if err := j.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	j.started = true
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish. When
// ctx is done first, it cancels their contexts, waits a few seconds more for
// them to return, and returns ctx's error; a job cut short this way is
// retried later (by this or another process). It resigns River's leadership
// if this process holds it, so that another takes the periodic jobs over
// without waiting for it to expire. River's connections stay open: they are
// the store's, closed with it. Stopping Jobs that are not started does
// nothing.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	client := j.client
	j.client = nil
	j.mu.Unlock()
	if client == nil {
		return nil
	}
	err := client.Stop(ctx)
	if err != nil {
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		if herr := client.StopAndCancel(hardCtx); herr != nil {
			j.log.WarnContext(ctx, "jobs still running at stop", slog.String("error", herr.Error()))
		}
		cancel()
		err = fmt.Errorf("jobs: stop: %w", err)
	}
	return err
}

// EnqueueEvent enqueues applying a recorded event. Jobs are unique by
// (app, event) while queued, running, retrying or completed (until River
// deletes completed jobs, after 24 h), so a webhook delivered twice at once
// enqueues one job; enqueuing an applied event is harmless either way, as
// the handler skips it. It fails when Jobs are not open; the sweeper
// enqueues the event later.
func (j *Jobs) EnqueueEvent(ctx context.Context, appID, eventID string) error {
	return j.insert(ctx, applyEventArgs{AppID: appID, EventID: eventID}, "event "+eventID+" of app "+appID)
}

// EnqueueImport enqueues working on an app's import until it is done
// (Handlers.ContinueImport). Jobs are unique by (app, import) like events',
// so enqueuing a running import again adds nothing.
func (j *Jobs) EnqueueImport(ctx context.Context, appID, importID string) error {
	return j.insert(ctx, importArgs{AppID: appID, ImportID: importID}, "import "+importID+" of app "+appID)
}

func (j *Jobs) insert(ctx context.Context, args river.JobArgs, what string) error {
	j.mu.Lock()
	client := j.client
	j.mu.Unlock()
	if client == nil {
		return errors.New("jobs: not open")
	}
	if _, err := client.Insert(ctx, args, nil); err != nil {
		return fmt.Errorf("jobs: enqueue %s: %w", what, err)
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
