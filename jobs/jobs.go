// Package jobs runs AppWheel's background work on River, a job queue kept in
// the database: applying recorded webhook events to the mirror, re-enqueuing
// events whose enqueue was lost, reconciling stale mirrors and deleting
// expired nonces and idempotency keys.
//
// River's tables live in the store's SQLite file, so a job survives a crash
// or a restart like any other row, and with several processes on one file
// River's leader election makes each periodic job run on one of them only.
// The work itself is done by Handlers (the billing service) and the Store;
// this package only decides when and how often.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/riverqueue/river"
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
}

// Config is what Jobs are built from. Zero durations take their defaults;
// negative ones are an error.
type Config struct {
	// Path is the SQLite database file, the same file the store uses;
	// River's tables (river_job, river_leader, …) live in it beside the
	// store's. Required, and a file: an in-memory database would be a
	// different one for each pool.
	Path string
	// Store is read by the sweeper (PendingEvents) and cleaned by the
	// cleanup job (DeleteExpiredNonces, DeleteExpiredIdempotentRequests).
	// Required.
	Store appwheel.Store
	// Handlers do the work of apply_event and reconcile. Required.
	Handlers Handlers
	// Logger receives job failures (kind and ids, never payloads). River's
	// own messages go to it at warn level and above only. Nil discards.
	Logger *slog.Logger
	// Now is the clock for the sweeper's cut-off and the cleanup's expiry.
	// River schedules jobs and retries by its own (wall) clock. Defaults to
	// time.Now.
	Now func() time.Time

	// Workers is how many apply_event jobs run at once in this process.
	// Defaults to 4: applying an event is mostly waiting on the database
	// and on Stripe, which rate-limits per app anyway. Periodic jobs run on
	// workers of their own, so a long reconcile never holds up events.
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
	JobTimeout time.Duration
	// RetryDelay returns how long to wait before retrying a job whose
	// attempt-th attempt failed. Nil means River's default policy:
	// attempt⁴ seconds, ±10% jitter (1 s, 16 s, 81 s, …; ~4.3 h over the
	// apply_event job's 10 attempts). Tests set it short.
	RetryDelay func(attempt int) time.Duration
}

const (
	defaultWorkers         = 4
	defaultSweepEvery      = time.Minute
	defaultSweepAfter      = time.Minute
	defaultReconcileEvery  = time.Hour
	defaultReconcileMaxAge = 6 * time.Hour
	defaultCleanupEvery    = time.Minute
	defaultJobTimeout      = 2 * time.Minute

	// stopGrace is how long Stop waits, once its context is done, for the
	// cancelled jobs to return before it closes the database under them.
	stopGrace = 5 * time.Second
)

// Jobs runs the background jobs of one process. New, then Start and Stop;
// EnqueueEvent works while started.
type Jobs struct {
	cfg Config
	log *slog.Logger
	// riverLog is cfg's logger filtered to warn and above: River logs every
	// job's life at info.
	riverLog *slog.Logger

	mu     sync.Mutex
	db     *sql.DB
	client *river.Client[*sql.Tx]
}

// New validates cfg and returns Jobs that are not started. It does no I/O.
func New(cfg Config) (*Jobs, error) {
	switch {
	case cfg.Path == "":
		return nil, errors.New("jobs: Path required")
	case cfg.Path == ":memory:" || strings.Contains(cfg.Path, "mode=memory"):
		return nil, errors.New("jobs: Path must be a database file, shared with the store")
	case cfg.Store == nil:
		return nil, errors.New("jobs: Store required")
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

// Migrate creates or updates River's tables in the database file. It is
// idempotent: applied migrations are skipped. Start migrates too; Migrate is
// for `appwheel migrate`.
func (j *Jobs) Migrate(ctx context.Context) error {
	db, err := openDB(ctx, j.cfg.Path)
	if err != nil {
		return err
	}
	defer db.Close()
	return j.migrate(ctx, db)
}

// Start opens River's own connection to the database file, migrates River's
// tables and starts working jobs: apply_event on Workers workers, and the
// periodic jobs when this process is River's elected leader.
//
// ctx bounds starting only: cancelling it later does not stop the jobs (a
// signal context would otherwise cancel running jobs at once); Stop does.
func (j *Jobs) Start(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.client != nil {
		return errors.New("jobs: already started")
	}
	db, err := openDB(ctx, j.cfg.Path)
	if err != nil {
		return err
	}
	if err := j.migrate(ctx, db); err != nil {
		db.Close()
		return err
	}
	client, err := j.newClient(db)
	if err != nil {
		db.Close()
		return fmt.Errorf("jobs: %w", err)
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		db.Close()
		return fmt.Errorf("jobs: start: %w", err)
	}
	j.db, j.client = db, client
	return nil
}

// Stop stops fetching jobs and waits for the running ones to finish. When
// ctx is done first, it cancels their contexts, waits a few seconds more for
// them to return, and returns ctx's error; a job cut short this way is
// retried later (by this or another process). Stopping Jobs that are not
// started does nothing.
func (j *Jobs) Stop(ctx context.Context) error {
	j.mu.Lock()
	db, client := j.db, j.client
	j.db, j.client = nil, nil
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
	return errors.Join(err, db.Close())
}

// EnqueueEvent enqueues applying a recorded event. Jobs are unique by
// (app, event) while queued, running, retrying or completed (until River
// deletes completed jobs, after 24 h), so a webhook delivered twice at once
// enqueues one job; enqueuing an applied event is harmless either way, as
// the handler skips it. It fails when Jobs are not started; the sweeper
// enqueues the event later.
func (j *Jobs) EnqueueEvent(ctx context.Context, appID, eventID string) error {
	j.mu.Lock()
	client := j.client
	j.mu.Unlock()
	if client == nil {
		return errors.New("jobs: not started")
	}
	if _, err := client.Insert(ctx, applyEventArgs{AppID: appID, EventID: eventID}, nil); err != nil {
		return fmt.Errorf("jobs: enqueue event %s of app %s: %w", eventID, appID, err)
	}
	return nil
}
