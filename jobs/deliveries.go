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
	// Deliver makes one attempt at a delivery (notify.Service.Deliver).
	Deliver(ctx context.Context, d notify.Delivery, a notify.Attempt) error
	// FailingLimit is how long a delivery is retried.
	FailingLimit() time.Duration
}

const (
	// deliveryQueue holds the deliveries, apart from the other jobs, with
	// many workers: a delivery mostly waits on the app's server, and the
	// Deliverer keeps one endpoint to a few of them (notify.ErrBusy).
	deliveryQueue   = "deliveries"
	deliveryWorkers = 64
	// A fetch takes at most the free workers' worth of jobs, at most once
	// per cooldown: River's 100 ms would cap deliveries at 640/s. Without
	// LISTEN/NOTIFY (SQLite) new jobs are found by polling, every
	// deliveryPollInterval.
	deliveryFetchCooldown = 10 * time.Millisecond
	deliveryPollInterval  = 200 * time.Millisecond
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

// deliveryArgs is a delivery job: events of one app to one endpoint, in
// order. An event's first delivery goes in a batch, with the events made
// with it (one applied batch of Stripe events), so that River's work per
// job is shared by many; an event whose attempt fails is retried in a job
// of its own, on River's schedule, its attempts before in Before and its
// first enqueueing in Since.
//
// Again is "" for a first delivery, which is unique by its arguments:
// enqueueing the same events again (their Stripe events applied again)
// inserts nothing. A redelivery sets it to a fresh value, so that it is a
// job of its own.
type deliveryArgs struct {
	AppID      string    `json:"app_id"`
	EndpointID string    `json:"endpoint_id"`
	EventIDs   []string  `json:"event_ids"`
	Again      string    `json:"again,omitempty"`
	Before     int       `json:"before,omitempty"`
	Since      time.Time `json:"since,omitzero"`
}

func (deliveryArgs) Kind() string { return "deliver_events" }

func (deliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: deliveryMaxAttempts,
		Queue:       deliveryQueue,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}

// maxBatch bounds the events of one delivery job.
const maxBatch = 100

type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	deliverer Deliverer
	timeout   time.Duration
	// delay is the wait after a job's failed attempt: deliveryDelay, or
	// Config.RetryDelay in tests.
	delay func(jobID int64, attempt int) time.Duration
	// insert enqueues the jobs a batch hands on (Jobs.insertDeliveries).
	insert func(ctx context.Context, jobs []deliveryArgs, at time.Time) error
}

func (w *deliveryWorker) Timeout(*river.Job[deliveryArgs]) time.Duration { return w.timeout }

// Work delivers the job's events one after the other. A job of one event
// fails when its attempt fails, and River retries it. A batch hands on
// what it cannot do now: at the first failure, the failed event to a job
// of its own and the events after it to another batch, both due at the
// retry time (the endpoint is failing: the rest waits too); when the
// endpoint is busy, or half the job's time is gone, the events left to a
// batch due at once. A batch cut short by a crash is run again whole: its
// events delivered before the crash are delivered again (at least once).
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	args := job.Args
	since := args.Since
	if since.IsZero() {
		since = job.CreatedAt
	}
	attempt := args.Before + job.Attempt
	next := w.NextRetry(job)
	if next.Sub(since) > w.deliverer.FailingLimit() || job.Attempt >= job.MaxAttempts {
		next = time.Time{}
	}
	single := len(args.EventIDs) == 1
	started := time.Now()
	rest := func(from int) deliveryArgs {
		return deliveryArgs{AppID: args.AppID, EndpointID: args.EndpointID, EventIDs: args.EventIDs[from:], Since: since}
	}
	for i, id := range args.EventIDs {
		if !single && i > 0 && time.Since(started) > w.timeout/2 {
			return w.insert(ctx, []deliveryArgs{rest(i)}, time.Time{})
		}
		err := w.deliverer.Deliver(ctx, notify.Delivery{AppID: args.AppID, EventID: id, EndpointID: args.EndpointID},
			notify.Attempt{Number: attempt, Since: since, Next: next})
		switch {
		case err == nil:
			continue
		case errors.Is(err, notify.ErrBusy) && i == 0:
			return river.JobSnooze(busySnooze)
		case errors.Is(err, notify.ErrBusy):
			return w.insert(ctx, []deliveryArgs{rest(i)}, time.Time{})
		case single && next.IsZero():
			return river.JobCancel(err) // the last attempt: given up
		case single:
			return err
		case next.IsZero():
			// The failed event's last attempt; the others' first is due.
			return w.insert(ctx, []deliveryArgs{rest(i + 1)}, time.Time{})
		}
		retry := deliveryArgs{AppID: args.AppID, EndpointID: args.EndpointID, EventIDs: []string{id}, Before: attempt, Since: since}
		later := []deliveryArgs{retry}
		if i+1 < len(args.EventIDs) {
			later = append(later, rest(i+1))
		}
		return w.insert(ctx, later, next)
	}
	return nil
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
// (notify.Config.Enqueue): each endpoint's, in their order, in batches. The
// same deliveries enqueued again are not inserted twice, unless again:
// then each is a new delivery (a redelivery). It works while Jobs are open.
func (j *Jobs) EnqueueDeliveries(ctx context.Context, ds []notify.Delivery, again bool) error {
	var batches []deliveryArgs
	index := map[[2]string]int{} // (app, endpoint) → its batch being filled
	for _, d := range ds {
		k := [2]string{d.AppID, d.EndpointID}
		b, ok := index[k]
		if !ok || len(batches[b].EventIDs) == maxBatch {
			b = len(batches)
			index[k] = b
			batches = append(batches, deliveryArgs{AppID: d.AppID, EndpointID: d.EndpointID})
			if again {
				batches[b].Again = rand.Text()
			}
		}
		batches[b].EventIDs = append(batches[b].EventIDs, d.EventID)
	}
	if err := j.insertDeliveries(ctx, batches, time.Time{}); err != nil {
		return fmt.Errorf("jobs: enqueue %d deliveries: %w", len(ds), err)
	}
	return nil
}

// insertDeliveries inserts delivery jobs, due at at (zero: now).
func (j *Jobs) insertDeliveries(ctx context.Context, jobs []deliveryArgs, at time.Time) error {
	j.mu.Lock()
	client := j.client
	j.mu.Unlock()
	if client == nil {
		return errors.New("jobs: not open")
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, args := range jobs {
		params[i] = river.InsertManyParams{Args: args}
		if !at.IsZero() {
			opts := args.InsertOpts()
			opts.ScheduledAt = at
			params[i].InsertOpts = &opts
		}
	}
	_, err := client.InsertMany(ctx, params)
	return err
}

var _ rivertype.JobArgs = deliveryArgs{}
