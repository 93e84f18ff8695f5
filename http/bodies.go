package http

import (
	"context"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/appwheel/appwheel"
)

// MaxBodiesInFlight bounds the bytes of request bodies that API requests
// may hold at once in one process: each reserves its Content-Length (a
// body of unknown length, MaxBodyBytes) before its body is read, and
// returns it when it is answered.
const MaxBodiesInFlight = 32 << 20

// bodyWait is how long a request waits for room before it is refused.
const bodyWait = 5 * time.Second

type bodyBudget struct{ sem *semaphore.Weighted }

func newBodyBudget(bytes int64) *bodyBudget { return &bodyBudget{sem: semaphore.NewWeighted(bytes)} }

// acquire reserves room for a body of length bytes (-1: unknown), waiting
// up to bodyWait, and returns how to give it back; no room is 1006.
func (b *bodyBudget) acquire(ctx context.Context, length int64) (release func(), err error) {
	n := int64(MaxBodyBytes)
	if length >= 0 && length < n {
		n = length
	}
	if n == 0 {
		return func() {}, nil
	}
	wctx, cancel := context.WithTimeout(ctx, bodyWait)
	defer cancel()
	if err := b.sem.Acquire(wctx, n); err != nil {
		return nil, appwheel.Errorf(appwheel.ERATELIMITED, "the server is reading too many request bodies at once; retry shortly")
	}
	return func() { b.sem.Release(n) }, nil
}
