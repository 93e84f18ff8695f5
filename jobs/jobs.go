// Package jobs runs AppWheel's background work: applying recorded webhook
// events to the mirror, delivering AppWheel's own events to apps'
// endpoints, reconciling stale mirrors, working on the imports of apps'
// existing Stripe customers, and deleting expired nonces, idempotency keys
// and old events.
//
// Webhook events need no job queue: the store records each one durably
// before its delivery is answered, unprocessed until applied, and those
// records are the queue. An applier in each process claims them in
// batches (appwheel.MirrorStore.ClaimEvents), hands each batch to
// Handlers.ApplyEvents and marks the applied events processed in one
// statement; a failed event is claimed again after a backoff. A webhook
// delivery wakes its process's applier (Wake); otherwise it looks every
// second, for the events of other processes and for claims that ran out.
// A claim lasts twice JobTimeout, so events claimed by a process that died
// are applied by another (or the same, restarted) after that. Claims of
// replicas racing never overlap, so each event is applied by one process
// at a time, and applying one again after a crash is harmless.
//
// The other jobs run on River, a job queue kept in the same database, its
// SQLite file or its PostgreSQL schema, so a job survives a crash or a
// restart like any other row, and with several processes on one database
// River's leader election makes each periodic job run on one of them only.
// A job left running by a process that died is run again by another (or
// the same, restarted) once it has been running for twice JobTimeout.
//
// The work itself is done by Handlers (the billing service) and the Store;
// this package only decides when and how often.
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
// Each is called again after an error, so each must be idempotent.
type Handlers interface {
	// ApplyEvents applies a batch of recorded webhook events to the
	// mirror, oldest received first, and returns one error per event, in
	// their order: nil for an event it is done with, applied or never to
	// be (undecodable, of an app that is gone: it should log those), an
	// error for one to retry later, which the batch's others do not wait
	// for. An event may come again after it was applied (its process
	// died before marking it processed), and applying it again must be
	// harmless.
	ApplyEvents(ctx context.Context, events []*appwheel.Event) []error
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
	// Its recorded webhook events are the applier's queue (ClaimEvents,
	// MarkEventsProcessed, RetryEvents), and the cleanup deletes from it
	// (DeleteExpiredNonces, DeleteExpiredIdempotentRequests). Required.
	Store appwheel.Store
	// Handlers do the work of the events, the imports and reconcile.
	// Required.
	Handlers Handlers
	// Deliverer delivers events to apps' endpoints (EnqueueDeliveries).
	// Without it, deliveries enqueued wait for a process that has one.
	Deliverer Deliverer
	// Logger receives job failures (kind and ids, never payloads). River's
	// own messages go to it at warn level and above only. Nil discards.
	Logger *slog.Logger
	// Now is the service's clock, for every time the jobs compare with the
	// store's: the events' claims and retry times, and the cleanup's
	// expiry. With several processes on one database, their clocks should
	// agree within a fraction of JobTimeout. River schedules its jobs and
	// their retries by its own wall clock, which it compares with the times
	// it stored. Defaults to time.Now.
	Now func() time.Time
	// ReconcileEvery is how often stale mirrors are re-synced. Defaults to
	// 1 hour.
	ReconcileEvery time.Duration
	// ReconcileMaxAge is the age past which a user's mirror is re-synced.
	// Defaults to 6 hours.
	ReconcileMaxAge time.Duration
	// CleanupEvery is how often expired nonces and idempotency keys are
	// deleted. Defaults to 1 minute.
	CleanupEvery time.Duration
	// JobTimeout bounds one attempt of any job, and the application of one
	// batch of events; its context is cancelled after it. Defaults to 2
	// minutes.
	//
	// Twice JobTimeout is how long an applier's claim on a batch of events
	// lasts: events claimed by a process that died are claimed by another
	// after that, and the margin lets a batch that timed out record its
	// end first. It is also how long a job may stay running before it is
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
	// RetryDelay returns how long to wait before retrying a job or an
	// event whose attempt-th attempt failed. Nil means attempt⁴ seconds (1
	// s, 16 s, 81 s, …), with River's ±10% jitter for jobs, and for
	// deliveries their own schedule (deliveryDelay). An event is retried
	// until it applies, at least hourly: its delay is capped at an hour.
	// Tests set it short.
	RetryDelay func(attempt int) time.Duration
}

const (
	defaultReconcileEvery  = time.Hour
	defaultReconcileMaxAge = 6 * time.Hour
	defaultCleanupEvery    = time.Minute
	defaultJobTimeout      = 2 * time.Minute

	// rescueFactor times JobTimeout is River's RescueStuckJobsAfter and the
	// length of an event claim; see Config.JobTimeout.
	rescueFactor = 2

	// stopGrace is how long Stop waits, once its context is done, for the
	// cancelled jobs and batches to return before it closes the database
	// under them.
	stopGrace = 5 * time.Second
)

// Jobs runs the background jobs of one process. New, then Start and Stop;
// EnqueueImport works while started, or after Open in a process that only
// enqueues (a command).
type Jobs struct {
	cfg Config
	log *slog.Logger
	// riverLog is cfg's logger filtered to warn and above: River logs every
	// job's life at info.
	riverLog *slog.Logger
	// wake holds one pending wake-up of the applier (see Wake).
	wake chan struct{}

	mu      sync.Mutex
	client  riverClient // once opened
	applier *applier    // while started
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
	JobDeleteMany(ctx context.Context, params *river.JobDeleteManyParams) (*river.JobDeleteManyResult, error)
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
	if cfg.Handlers == nil {
		return nil, errors.New("jobs: Handlers required")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
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
		wake:     make(chan struct{}, 1),
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

// Start opens Jobs (see Open) and starts working: the applier of webhook
// events, the imports, and the periodic jobs when this process is River's
// elected leader.
//
// ctx bounds starting only: cancelling it later does not stop the jobs (a
// signal context would otherwise cancel running jobs at once); Stop does.
func (j *Jobs) Start(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.applier != nil {
		return errors.New("jobs: already started")
	}
	if err := j.open(ctx); err != nil {
		return err
	}
	if err := j.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	j.forgetRetiredJobs(ctx)
	delay := j.cfg.RetryDelay
	if delay == nil {
		delay = defaultDelay
	}
	j.applier = &applier{
		store: j.cfg.Store, handlers: j.cfg.Handlers, log: j.log, now: j.cfg.Now,
		timeout: j.cfg.JobTimeout, lease: rescueFactor * j.cfg.JobTimeout,
		delay: delay, wake: j.wake,
	}
	j.applier.start()
	return nil
}

// Wake tells the applier that an event was recorded, so that it claims at
// once instead of at its next poll. It never blocks: wake-ups while one is
// pending are one. Waking Jobs that are not started does nothing.
func (j *Jobs) Wake() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// retiredKinds are the job kinds of earlier versions that nothing works any
// more: apply_event (one per webhook event) and sweep_events (which
// re-enqueued them), replaced by the applier.
var retiredKinds = []string{"apply_event", "sweep_events"}

// forgetRetiredJobs deletes the retired kinds' jobs left from an earlier
// version, which would otherwise wait in River's tables for good. Their
// events are applied by the applier anyway, being unprocessed. Running
// ones are left (River deletes none that run): they fail for want of a
// worker once rescued, and River discards them. A failure here is logged
// only: it loses nothing.
func (j *Jobs) forgetRetiredJobs(ctx context.Context) {
	const batch = 1000
	params := river.NewJobDeleteManyParams().Kinds(retiredKinds...).First(batch)
	for {
		res, err := j.client.JobDeleteMany(ctx, params)
		if err != nil {
			j.log.WarnContext(ctx, "deleting retired jobs failed", slog.String("error", err.Error()))
			return
		}
		if len(res.Jobs) > 0 {
			j.log.InfoContext(ctx, "retired jobs deleted", slog.Int("jobs", len(res.Jobs)))
		}
		if len(res.Jobs) < batch {
			return
		}
	}
}

// Stop stops claiming events and fetching jobs, and waits for the batches
// and jobs running to finish. When ctx is done first, it cancels their
// contexts, waits a few seconds more for them to return, and returns ctx's
// error; an event or job cut short this way is retried later (by this or
// another process; the events at once). It resigns River's leadership if
// this process holds it, so that another takes the periodic jobs over
// without waiting for it to expire. River's connections stay open: they are
// the store's, closed with it. Stopping Jobs that are not started does
// nothing.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	client, app := j.client, j.applier
	j.client, j.applier = nil, nil
	j.mu.Unlock()
	if client == nil {
		return nil
	}
	applied := make(chan error, 1)
	go func() {
		if app == nil {
			applied <- nil
			return
		}
		applied <- app.stopWait(ctx)
	}()
	err := errors.Join(j.stopRiver(ctx, client), <-applied)
	if err != nil {
		err = fmt.Errorf("jobs: stop: %w", err)
	}
	return err
}

// stopRiver stops River's client, cancelling its jobs if ctx ends first.
func (j *Jobs) stopRiver(ctx context.Context, client riverClient) error {
	err := client.Stop(ctx)
	if err != nil {
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
		if herr := client.StopAndCancel(hardCtx); herr != nil {
			j.log.WarnContext(ctx, "jobs still running at stop", slog.String("error", herr.Error()))
		}
		cancel()
	}
	return err
}

// EnqueueImport enqueues working on an app's import until it is done
// (Handlers.ContinueImport). Jobs are unique by (app, import) while queued,
// running, retrying or completed (until River deletes completed jobs, after
// 24 h), so enqueuing a running import again adds nothing.
func (j *Jobs) EnqueueImport(ctx context.Context, appID, importID string) error {
	j.mu.Lock()
	client := j.client
	j.mu.Unlock()
	if client == nil {
		return errors.New("jobs: not open")
	}
	if _, err := client.Insert(ctx, importArgs{AppID: appID, ImportID: importID}, nil); err != nil {
		return fmt.Errorf("jobs: enqueue import %s of app %s: %w", importID, appID, err)
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
