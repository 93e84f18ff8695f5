package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/jobs"
)

// countingHandlers applies nothing: it counts the events it is given, and
// the batches.
type countingHandlers struct {
	fakeHandlers
	n     atomic.Int64
	calls atomic.Int64
}

func (h *countingHandlers) ApplyEvents(_ context.Context, evs []*appwheel.Event) []error {
	h.n.Add(int64(len(evs)))
	h.calls.Add(1)
	return make([]error, len(evs))
}

// BenchmarkEventQueue measures the queue alone: b.N events recorded by 16
// goroutines at once, each waking the applier as the webhook endpoint
// does, applied by a handler that does nothing, until the last batch is
// marked processed (Stop waits for it). ns/op is per event, on each store;
// events/batch is how many a claim took on average.
func BenchmarkEventQueue(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			h := &countingHandlers{}
			cfg := config(b, db, h)
			cfg.Logger = slog.New(slog.DiscardHandler)
			j, err := jobs.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := j.Start(b.Context()); err != nil {
				b.Fatal(err)
			}
			const writers = 16
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						record(b, db.store, time.Now(), fmt.Sprintf("evt_%d", i))
						j.Wake()
					}
				})
			}
			wg.Wait()
			for h.n.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			if err := j.Stop(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(h.n.Load())/float64(h.calls.Load()), "events/batch")
			if got := h.n.Load(); got != int64(b.N) {
				b.Errorf("events applied: got %d, want %d", got, b.N)
			}
		})
	}
}
