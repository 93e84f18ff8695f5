package http

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
)

// Failed authentication is throttled per client address and per AppID
// claimed: each has a bucket of failures, failureBurst deep, refilled at
// failureRate a second. A request that fails while either of its buckets
// is empty is answered 1006 instead of 1002, so a guesser learns nothing
// more, and its credential is not checked against the database again
// (see authenticate). Only failures are counted and only failures are
// refused: a client that authenticates is never held up by another's
// failures, so neither an attacker behind the same address (a proxy, a
// NAT) nor one claiming an app's AppID can lock that app out.
const (
	failureBurst = 20
	failureRate  = 1.0 // per second
	// failureLogEvery bounds the log lines about failures: one per period,
	// with the number of failures since the last.
	failureLogEvery = time.Second
)

type authFailures struct {
	buckets *keyedBuckets
	now     func() time.Time
	log     *slog.Logger

	mu       sync.Mutex
	lastLog  time.Time
	unlogged int
}

func newAuthFailures(now func() time.Time, log *slog.Logger) *authFailures {
	return &authFailures{buckets: newKeyedBuckets(failureRate, failureBurst), now: now, log: log}
}

// failureBuckets are the buckets of a request: its client's address and
// its AppID.
func failureBuckets(r *http.Request, appID string) [2]string {
	return [2]string{"addr " + clientAddress(r), "app " + appID}
}

// exhausted reports whether the request's address or AppID has no failure
// left: a failure now would be throttled.
func (f *authFailures) exhausted(r *http.Request, appID string) bool {
	now := f.now()
	for _, k := range failureBuckets(r, appID) {
		if f.buckets.get(k).TokensAt(now) < 1 {
			return true
		}
	}
	return false
}

// failed counts a failed authentication and returns what to answer: err,
// or 1006 when the address or the AppID has failed too often.
func (f *authFailures) failed(ctx context.Context, r *http.Request, appID string, err error) error {
	now := f.now()
	throttled := false
	for _, k := range failureBuckets(r, appID) {
		if !f.buckets.get(k).AllowN(now, 1) {
			throttled = true
		}
	}
	f.logFailure(ctx, r, appID, err, throttled, now)
	if throttled {
		return appwheel.Errorf(appwheel.ERATELIMITED, "too many failed authentications from this address or for this AppID; retry later")
	}
	return err
}

// logFailure logs failures at most once per failureLogEvery, each line
// with the count of those not logged before it.
func (f *authFailures) logFailure(ctx context.Context, r *http.Request, appID string, err error, throttled bool, now time.Time) {
	f.mu.Lock()
	if now.Sub(f.lastLog) < failureLogEvery {
		f.unlogged++
		f.mu.Unlock()
		return
	}
	skipped := f.unlogged
	f.lastLog, f.unlogged = now, 0
	f.mu.Unlock()
	f.log.InfoContext(ctx, "authentication failed", slog.String("app_id", appID), slog.String("remote_addr", r.RemoteAddr),
		slog.String("reason", appwheel.ErrorMessage(err)), slog.Bool("throttled", throttled), slog.Int("not_logged_before", skipped))
}
