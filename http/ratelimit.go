package http

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// keyedBuckets are token buckets by key: an app (its API requests), a
// client address or an AppID (failed authentication), a client address or
// a link (invoice links). The least recently used are forgotten past a
// bound, so that keys an attacker makes up cost bounded memory. Buckets
// live in the process: with several replicas each enforces its limit on
// its share.
type keyedBuckets struct {
	cache *otter.Cache[string, *rate.Limiter]
	rate  rate.Limit
	burst int
}

// bucketKeys bounds the buckets of one keyedBuckets.
const bucketKeys = 100_000

func newKeyedBuckets(perSecond float64, burst int) *keyedBuckets {
	return &keyedBuckets{
		cache: otter.Must(&otter.Options[string, *rate.Limiter]{
			MaximumSize:      bucketKeys,
			ExpiryCalculator: otter.ExpiryAccessing[string, *rate.Limiter](10 * time.Minute),
		}),
		rate: rate.Limit(perSecond), burst: burst,
	}
}

func (k *keyedBuckets) get(key string) *rate.Limiter {
	b, _ := k.cache.Compute(key, func(old *rate.Limiter, found bool) (*rate.Limiter, otter.ComputeOp) {
		if found {
			return old, otter.CancelOp
		}
		return rate.NewLimiter(k.rate, k.burst), otter.WriteOp
	})
	return b
}

// allow takes a token from key's bucket at now, or reports how long until
// one is due.
func (k *keyedBuckets) allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	r := k.get(key).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// clientAddress is the request's peer address without its port: the
// client's, or that of a proxy in front.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1, for the
// Retry-After header.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
