package http

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// appLimiter gives each app its own token bucket, so one app's flood is
// answered with 1006 without starving the others. Buckets live in the
// process: with several replicas each enforces the limit on its share.
type appLimiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	byApp map[string]*rate.Limiter
}

func newAppLimiter(perSecond float64, burst int) *appLimiter {
	return &appLimiter{rate: rate.Limit(perSecond), burst: burst, byApp: map[string]*rate.Limiter{}}
}

// allow takes a token from the app's bucket at now, or reports how long
// until one is due.
func (l *appLimiter) allow(appID string, now time.Time) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	b, found := l.byApp[appID]
	if !found {
		b = rate.NewLimiter(l.rate, l.burst)
		l.byApp[appID] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1, for the
// Retry-After header.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
