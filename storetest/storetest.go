// Package storetest is the one conformance suite for appwheel.Store. Every
// store runs it against a real database (SQLite always, PostgreSQL on CI),
// so the rules the service relies on (first customer wins, one fresh use
// per nonce, one owner per idempotency key) hold whichever store is wired.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
)

// NewStoreFunc returns a fresh, empty, open store and arranges its Close
// with t.Cleanup.
type NewStoreFunc = func(t *testing.T) appwheel.Store

// Run runs the suite. Every subtest gets its own store from newStore, so
// subtests neither see each other's rows nor depend on their order.
func Run(t *testing.T, newStore NewStoreFunc) {
	t.Run("App", func(t *testing.T) { testApps(t, newStore) })
	t.Run("Customer", func(t *testing.T) { testCustomers(t, newStore) })
	t.Run("Nonce", func(t *testing.T) { testNonces(t, newStore) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, newStore) })
	t.Run("Lock", func(t *testing.T) { testLocks(t, newStore) })
	t.Run("Mirror", func(t *testing.T) { testMirror(t, newStore) })
	t.Run("Import", func(t *testing.T) { testImports(t, newStore) })
	t.Run("Notify", func(t *testing.T) { testNotify(t, newStore) })
	t.Run("Ping", func(t *testing.T) {
		s := newStore(t)
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping: got %v, want nil", err)
		}
	})
}

// t0 is the suite's clock. It has nanoseconds and a zone other than UTC, so
// a store must keep at least microseconds and compare instants, not zones.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+1", 3600))

// racers is how many goroutines the race tests run at once.
const racers = 20

// equateMicro compares times to the microsecond, the precision every store
// keeps; a store that keeps more passes too.
var equateMicro = cmp.Comparer(func(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Microsecond && d < time.Microsecond
})

// newStoreWithApps returns a fresh store holding apps with the given IDs, for
// the tests of rows that belong to an app.
func newStoreWithApps(t *testing.T, newStore NewStoreFunc, ids ...string) appwheel.Store {
	t.Helper()
	s := newStore(t)
	for i, id := range ids {
		mustCreateApp(t, s, newApp(id, t0.Add(time.Duration(i)*time.Second)))
	}
	return s
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	if got := appwheel.ErrorCode(err); got != code {
		t.Errorf("%s: got error code %d (%v), want %d", what, got, err, code)
	}
}

// race calls f from racers goroutines released together and returns their
// results in goroutine order. Errors fail the test.
func race[T any](t *testing.T, f func(i int) (T, error)) []T {
	t.Helper()
	var (
		start   = make(chan struct{})
		results = make([]T, racers)
		errs    = make([]error, racers)
		wg      sync.WaitGroup
	)
	for i := range racers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d: got error %v, want nil", i, err)
		}
	}
	return results
}
