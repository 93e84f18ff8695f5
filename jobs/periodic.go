package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// periodicJobs are inserted by River's elected leader only, so with several
// processes on one database each runs once per interval, not once per
// process. River keeps their schedule in memory: a new leader (or a
// restart) starts the intervals over. RunOnStart runs each at once then,
// so frequent restarts cannot starve the hourly reconcile.
func (j *Jobs) periodicJobs() []*river.PeriodicJob {
	every := func(id string, d time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(d),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: id, RunOnStart: true})
	}
	return []*river.PeriodicJob{
		every("reconcile", j.cfg.ReconcileEvery, reconcileArgs{}),
		every("cleanup", j.cfg.CleanupEvery, cleanupArgs{}),
	}
}

// periodicInsertOpts are shared by the periodic kinds. One attempt: the next
// interval is the retry, and a failed run waiting out a backoff would
// block the next (by uniqueness). Unique by kind while queued or running,
// so a run that outlasts its interval, or two leaders briefly overlapping,
// never stacks a second run behind the first.
func periodicInsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 1,
		Queue:       periodicQueue,
		UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
			rivertype.JobStateAvailable,
			rivertype.JobStatePending,
			rivertype.JobStateRunning,
			rivertype.JobStateScheduled,
		}},
	}
}

// reconcileArgs is the reconcile job: re-sync mirrors older than
// ReconcileMaxAge. A run cut short by JobTimeout loses nothing: the next
// one starts from the least recently synced users again.
type reconcileArgs struct{}

func (reconcileArgs) Kind() string                 { return "reconcile" }
func (reconcileArgs) InsertOpts() river.InsertOpts { return periodicInsertOpts() }

type reconcileWorker struct {
	river.WorkerDefaults[reconcileArgs]
	handlers Handlers
	maxAge   time.Duration
}

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[reconcileArgs]) error {
	return w.handlers.ReconcileApps(ctx, w.maxAge)
}

// NotificationRetention is how long the events sent to apps' endpoints,
// and their delivery attempts, are kept (redeliver, deliveries): longer
// than a delivery is retried.
const NotificationRetention = 30 * 24 * time.Hour

// cleanupArgs is the cleanup job: forget expired nonces and idempotency
// keys, and old events sent to apps, which otherwise only grow.
type cleanupArgs struct{}

func (cleanupArgs) Kind() string                 { return "cleanup" }
func (cleanupArgs) InsertOpts() river.InsertOpts { return periodicInsertOpts() }

type cleanupWorker struct {
	river.WorkerDefaults[cleanupArgs]
	store appwheel.Store
	now   func() time.Time
	log   *slog.Logger
}

func (w *cleanupWorker) Work(ctx context.Context, job *river.Job[cleanupArgs]) error {
	now := w.now()
	nonces, nerr := w.store.DeleteExpiredNonces(ctx, now)
	keys, kerr := w.store.DeleteExpiredIdempotentRequests(ctx, now)
	events, eerr := w.store.DeleteNotificationsBefore(ctx, now.Add(-NotificationRetention))
	if err := errors.Join(nerr, kerr, eerr); err != nil {
		return err
	}
	w.log.DebugContext(ctx, "expired records deleted", slog.Int64("nonces", nonces), slog.Int64("idempotency_keys", keys),
		slog.Int64("notifications", events))
	return nil
}
