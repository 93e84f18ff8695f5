package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

const (
	// periodicQueue holds the periodic jobs, apart from the imports, so
	// that each periodic kind can run at the same time as the others.
	periodicQueue   = "periodic"
	periodicWorkers = 3

	// importQueue holds the imports, apart from the periodic jobs, so a
	// long import never holds them up. Two run at once: an import spends
	// its app's Stripe budget, not the others'.
	importQueue       = "imports"
	importWorkers     = 2
	importMaxAttempts = 10
	// importSnooze is the pause between two attempts of an unfinished
	// import: each attempt works a slice of it and snoozes, so that no
	// attempt outlives the job timeout and a killed process's import is
	// rescued and goes on. A snooze spends no attempt.
	importSnooze = time.Second
)

// importArgs is the import job: work on an app's import of its Stripe
// customers until it is done.
type importArgs struct {
	AppID    string `json:"app_id"`
	ImportID string `json:"import_id"`
}

func (importArgs) Kind() string { return "import_customers" }

// InsertOpts makes the job unique by its args in River's default states
// (available, pending, scheduled, running, retryable, completed).
func (importArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: importMaxAttempts,
		Queue:       importQueue,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}

type importWorker struct {
	river.WorkerDefaults[importArgs]
	handlers Handlers
}

func (w *importWorker) Work(ctx context.Context, job *river.Job[importArgs]) error {
	done, err := w.handlers.ContinueImport(ctx, job.Args.AppID, job.Args.ImportID)
	if err != nil {
		return err
	}
	if !done {
		return river.JobSnooze(importSnooze)
	}
	return nil
}

// newClient builds the River client on db: the workers, the queues and the
// periodic jobs.
func (j *Jobs) newClient(db database) (riverClient, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &importWorker{handlers: j.cfg.Handlers})
	river.AddWorker(workers, &reconcileWorker{handlers: j.cfg.Handlers, maxAge: j.cfg.ReconcileMaxAge})
	river.AddWorker(workers, &cleanupWorker{store: j.cfg.Store, now: j.cfg.Now, log: j.log})
	queues := map[string]river.QueueConfig{
		periodicQueue: {MaxWorkers: periodicWorkers},
		importQueue:   {MaxWorkers: importWorkers},
	}
	// The delivery worker is known even to a process that only enqueues
	// (River refuses to insert a kind it has no worker for); only one
	// with a Deliverer works the queue.
	delay := deliveryDelay
	if j.cfg.RetryDelay != nil {
		delay = func(_ int64, attempt int) time.Duration { return j.cfg.RetryDelay(attempt) }
	}
	river.AddWorker(workers, &deliveryWorker{deliverer: j.cfg.Deliverer, delay: delay, timeout: min(deliveryTimeout, j.cfg.JobTimeout),
		insert: j.insertDeliveries})
	if j.cfg.Deliverer != nil {
		queues[deliveryQueue] = river.QueueConfig{MaxWorkers: deliveryWorkers, FetchCooldown: deliveryFetchCooldown, FetchPollInterval: deliveryPollInterval}
	}

	cfg := &river.Config{
		Queues:       queues,
		Workers:      workers,
		PeriodicJobs: j.periodicJobs(),
		JobTimeout:   j.cfg.JobTimeout,
		// See Config.JobTimeout.
		RescueStuckJobsAfter: rescueFactor * j.cfg.JobTimeout,
		Logger:               j.riverLog,
		ErrorHandler:         &errorHandler{log: j.log},
	}
	if j.cfg.RetryDelay != nil {
		cfg.RetryPolicy = retryPolicy(j.cfg.RetryDelay)
	}
	return db.newClient(cfg)
}

// retryPolicy adapts Config.RetryDelay to River. It is measured on the wall
// clock, not Config.Now: River compares the retry time with its own wall
// clock. A delay under a millisecond is raised to one, as River replaces a
// retry time not in the future with its default policy's.
type retryPolicy func(attempt int) time.Duration

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(max(p(job.Attempt), time.Millisecond))
}

// errorHandler logs each failed attempt with the job's kind and ids, never
// its payload: a warning while it will be retried, an error when it was
// the last attempt. River's own line for it is at info, below what it may
// log.
type errorHandler struct {
	log *slog.Logger
}

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.logFailure(ctx, job, slog.String("error", err.Error()))
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.logFailure(ctx, job, slog.Any("panic", panicVal), slog.String("trace", trace))
	return nil
}

func (h *errorHandler) logFailure(ctx context.Context, job *rivertype.JobRow, attrs ...slog.Attr) {
	attrs = append(attrs,
		slog.String("job_kind", job.Kind),
		slog.Int64("job_id", job.ID),
		slog.Int("attempt", job.Attempt),
		slog.Int("max_attempts", job.MaxAttempts),
	)
	if job.Kind == (importArgs{}).Kind() {
		var args importArgs
		if json.Unmarshal(job.EncodedArgs, &args) == nil {
			attrs = append(attrs, slog.String("app_id", args.AppID), slog.String("import_id", args.ImportID))
		}
	}
	if job.Attempt < job.MaxAttempts {
		h.log.LogAttrs(ctx, slog.LevelWarn, "job failed; will retry", attrs...)
		return
	}
	h.log.LogAttrs(ctx, slog.LevelError, "job failed for the last time", attrs...)
}
