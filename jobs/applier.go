package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
)

const (
	// eventBatch bounds the events one claim takes. A claim and the mark
	// of its batch are a write each, shared by the batch's events; under
	// load batches fill up by themselves, as events arrive while the
	// previous ones are applied.
	eventBatch = 100
	// eventBatches is how many claimed batches are applied at once: a
	// batch waits for its slowest event (a re-fetch from a slow Stripe
	// account) before it is marked, and meanwhile the others go on.
	eventBatches = 4
	// eventPoll is how often the applier claims without being woken: for
	// the events other processes recorded, the claims that ran out (their
	// claimer died) and the retries that fell due.
	eventPoll = time.Second
	// eventMaxDelay caps the retry delay: an event is never given up, as
	// nothing else would apply it, but one failing for hours is retried
	// hourly.
	eventMaxDelay = time.Hour
	// eventLoudAttempts is the attempt from which a failing event is
	// logged as an error instead of a warning: about 4.3 hours of
	// failures with the default delays, longer than an outage should last.
	eventLoudAttempts = 10
	// finishTimeout bounds the writes that end a batch.
	finishTimeout = 10 * time.Second
)

// applier applies the recorded webhook events. The store's unprocessed
// events are its queue (appwheel.MirrorStore.ClaimEvents): it claims a
// batch, hands it to the handlers, marks the events applied processed and
// moves the claims of the others to their retry time. A claim lasts
// lease, longer than a batch may take, so that a process that dies with
// events claimed leaves them to the next claim after it.
type applier struct {
	store    appwheel.MirrorStore
	handlers Handlers
	log      *slog.Logger
	now      func() time.Time
	timeout  time.Duration // of one batch
	lease    time.Duration // of one claim
	delay    func(attempt int) time.Duration
	wake     <-chan struct{}

	ctx    context.Context // the batches'; cancelled by a Stop that ran out
	cancel context.CancelFunc
	stop   chan struct{} // closed by Stop: claim no more
	done   chan struct{} // closed once the loop and its batches returned
}

// start runs the applier until stop.
func (a *applier) start() {
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go a.run()
}

// stopWait stops claiming and waits for the batches in flight. When ctx
// ends first, it cancels them and waits up to stopGrace more for them to
// record how far they got.
func (a *applier) stopWait(ctx context.Context) error {
	close(a.stop)
	defer a.cancel()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
	}
	a.cancel()
	select {
	case <-a.done:
	case <-time.After(stopGrace):
		a.log.WarnContext(ctx, "webhook events still being applied at stop")
	}
	return ctx.Err()
}

func (a *applier) run() {
	defer close(a.done)
	var batches sync.WaitGroup
	defer batches.Wait()
	slots := make(chan struct{}, eventBatches)
	for {
		select {
		case <-a.stop: // before a free slot, which may be ready too
			return
		default:
		}
		select {
		case slots <- struct{}{}:
		case <-a.stop:
			return
		}
		now := a.now()
		evs, err := a.store.ClaimEvents(a.ctx, now, now.Add(a.lease), eventBatch)
		if err != nil && a.ctx.Err() == nil {
			a.log.Error("claiming webhook events failed", slog.String("error", err.Error()))
		}
		if len(evs) > 0 {
			batches.Go(func() {
				defer func() { <-slots }()
				a.apply(evs)
			})
		} else {
			<-slots
		}
		if len(evs) == eventBatch {
			continue // more are likely waiting
		}
		poll := time.NewTimer(eventPoll)
		select {
		case <-a.wake:
		case <-poll.C:
		case <-a.stop:
		}
		poll.Stop()
	}
}

// apply applies one claimed batch and records the outcome.
func (a *applier) apply(evs []*appwheel.ClaimedEvent) {
	ctx, cancel := context.WithTimeout(a.ctx, a.timeout)
	defer cancel()
	plain := make([]*appwheel.Event, len(evs))
	for i, ev := range evs {
		plain[i] = &ev.Event
	}
	a.finish(evs, a.handle(ctx, plain))
}

// handle calls the handlers, turning a panic, or an answer of the wrong
// length, into a failure of every event, so that the batch is retried
// later and the process lives on.
func (a *applier) handle(ctx context.Context, evs []*appwheel.Event) (errs []error) {
	defer func() {
		if p := recover(); p != nil {
			errs = failAll(len(evs), fmt.Errorf("panic applying events: %v", p))
		}
	}()
	errs = a.handlers.ApplyEvents(ctx, evs)
	if len(errs) != len(evs) {
		return failAll(len(evs), fmt.Errorf("jobs: ApplyEvents answered %d errors for %d events", len(errs), len(evs)))
	}
	return errs
}

func failAll(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// finish marks the applied events processed, in one statement, and moves
// the claims of the failed ones to their retry time, one statement per
// delay. A failure cut short by Stop is claimable at once, by the next
// process. If these writes fail, the claims run out and the events are
// applied again, which is harmless.
func (a *applier) finish(evs []*appwheel.ClaimedEvent, errs []error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), finishTimeout)
	defer cancel()
	stopped := a.ctx.Err() != nil
	now := a.now()
	var applied []appwheel.EventKey
	retries := map[time.Duration][]appwheel.EventKey{}
	for i, ev := range evs {
		key := appwheel.EventKey{AppID: ev.AppID, ID: ev.ID}
		if errs[i] == nil {
			applied = append(applied, key)
			continue
		}
		var delay time.Duration
		if !stopped {
			delay = min(max(a.delay(ev.Attempts), 0), eventMaxDelay)
			a.logFailure(ev, delay, errs[i])
		}
		retries[delay] = append(retries[delay], key)
	}
	if err := a.store.MarkEventsProcessed(ctx, applied, now); err != nil {
		a.log.Error("marking webhook events processed failed", slog.Int("events", len(applied)), slog.String("error", err.Error()))
	}
	for delay, keys := range retries {
		if err := a.store.RetryEvents(ctx, keys, now.Add(delay)); err != nil {
			a.log.Error("scheduling webhook events' retry failed", slog.Int("events", len(keys)), slog.String("error", err.Error()))
		}
	}
}

// logFailure logs a failed event by its ids, never its payload: a warning,
// or an error once it has failed eventLoudAttempts times.
func (a *applier) logFailure(ev *appwheel.ClaimedEvent, delay time.Duration, err error) {
	level, msg := slog.LevelWarn, "webhook event failed; will retry"
	if ev.Attempts >= eventLoudAttempts {
		level, msg = slog.LevelError, "webhook event keeps failing; will retry"
	}
	a.log.LogAttrs(context.Background(), level, msg,
		slog.String("app_id", ev.AppID), slog.String("event_id", ev.ID),
		slog.Int("attempt", ev.Attempts), slog.Duration("retry_in", delay),
		slog.String("error", err.Error()))
}

// defaultDelay is the retry delay of an event's attempt-th failure when
// Config.RetryDelay is nil: attempt⁴ seconds (1 s, 16 s, 81 s, …), River's
// default policy without its jitter, so that the events failed at one
// attempt share one retry statement.
func defaultDelay(attempt int) time.Duration {
	a := time.Duration(min(attempt, 100)) // past eventMaxDelay, short of overflowing
	return a * a * a * a * time.Second
}
