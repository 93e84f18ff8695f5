package jobs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/appwheel/appwheel/notify"
)

// Deliverer delivers events to apps' endpoints: notify.Service.
type Deliverer interface {
	// Deliver makes the attempt-th attempt at a delivery; next is when the
	// next one would be, zero for the last (see notify.Service.Deliver).
	Deliver(ctx context.Context, d notify.Delivery, attempt int, next time.Time) error
	// FailingLimit is how long a delivery is retried.
	FailingLimit() time.Duration
}

const (
	// deliveryQueue holds the deliveries, apart from the other jobs, with
	// many workers: a delivery mostly waits on the app's server, and the
	// Deliverer keeps one endpoint to a few of them (notify.ErrBusy).
	deliveryQueue   = "deliveries"
	deliveryWorkers = 32
	// deliveryMaxAttempts is a bound River needs; a delivery ends when
	// FailingLimit has passed since it was enqueued, well before.
	deliveryMaxAttempts = 100
	// deliveryTimeout bounds one attempt, over the Deliverer's own HTTP
	// timeout (10 s); a JobTimeout below it bounds it instead, so that a
	// running delivery is never rescued (twice JobTimeout) while it runs.
	deliveryTimeout = 30 * time.Second
	// busySnooze is how long a delivery waits when its endpoint has its
	// most attempts in flight: no attempt is spent.
	busySnooze = 500 * time.Millisecond
)

// deliveryArgs is a delivery job. Again is "" for an event's first
// delivery to an endpoint, which is then unique: enqueueing it again (the
// event applied again) inserts nothing. A redelivery sets it to a fresh
// value, so that it is a job of its own.
type deliveryArgs struct {
	notify.Delivery
	Again string `json:"again,omitempty"`
}

func (deliveryArgs) Kind() string { return "deliver_event" }

func (deliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: deliveryMaxAttempts,
		Queue:       deliveryQueue,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}

type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	deliverer Deliverer
	timeout   time.Duration
	// delay is the wait after a job's failed attempt: deliveryDelay, or
	// Config.RetryDelay in tests.
	delay func(jobID int64, attempt int) time.Duration
}

func (w *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration { return w.timeout }

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	next := w.NextRetry(job)
	if next.Sub(job.CreatedAt) > w.deliverer.FailingLimit() || job.Attempt >= job.MaxAttempts {
		next = time.Time{}
	}
	err := w.deliverer.Deliver(ctx, job.Args.Delivery, job.Attempt, next)
	switch {
	case errors.Is(err, notify.ErrBusy):
		return river.JobSnooze(busySnooze)
	case err != nil && next.IsZero():
		return river.JobCancel(err) // the last attempt: given up
	}
	return err
}

// NextRetry is the delivery's own schedule, which Work also tells the
// Deliverer (its attempts record when the next one is due).
func (w *deliveryWorker) NextRetry(job *river.Job[deliveryArgs]) time.Time {
	at := job.CreatedAt
	if job.AttemptedAt != nil {
		at = *job.AttemptedAt
	}
	return at.Add(max(w.delay(job.ID, job.Attempt), time.Millisecond))
}

// deliveryDelay is the wait after a failed attempt: 30 s doubling to at
// most 12 hours (30 s, 1 min, … 8.5 h, 12 h, …: 16 attempts in the first 3
// days), less up to a tenth so that the retries of many deliveries spread
// out: the same for the same attempt of a job, so that Work and River
// agree on it.
func deliveryDelay(jobID int64, attempt int) time.Duration {
	d := min(30*time.Second<<min(attempt-1, 11), 12*time.Hour)
	h := fnv.New64a()
	fmt.Fprint(h, jobID, attempt)
	return d - d/10*time.Duration(h.Sum64()%1000)/1000
}

// EnqueueDeliveries schedules deliveries of events to endpoints
// (notify.Config.Enqueue). A delivery enqueued again is not inserted twice,
// unless again: then each is a new delivery (a redelivery). It works while
// Jobs are open.
func (j *Jobs) EnqueueDeliveries(ctx context.Context, ds []notify.Delivery, again bool) error {
	j.mu.Lock()
	client := j.client
	j.mu.Unlock()
	if client == nil {
		return errors.New("jobs: not open")
	}
	params := make([]river.InsertManyParams, len(ds))
	for i, d := range ds {
		args := deliveryArgs{Delivery: d}
		if again {
			args.Again = rand.Text()
		}
		params[i] = river.InsertManyParams{Args: args}
	}
	if _, err := client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("jobs: enqueue %d deliveries: %w", len(ds), err)
	}
	return nil
}

var _ rivertype.JobArgs = deliveryArgs{}
