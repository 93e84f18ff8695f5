package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ttl is how long the suite's idempotency records live, as Stripe's do.
const ttl = 24 * time.Hour

func testIdempotency(t *testing.T, newStore NewStoreFunc) {
	t.Run("NewKeyOwned", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		checkOwned(t, s, idemReq("app_a", "k1", "h1", t0), neverStale)
	})

	t.Run("InFlight", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		first := idemReq("app_a", "k1", "h1", t0)
		checkOwned(t, s, first, neverStale)
		// A retry with another body must see the first request's hash.
		retry := idemReq("app_a", "k1", "h2", t0.Add(time.Second))
		checkHeld(t, s, retry, neverStale, first)
	})

	t.Run("FinishedReplays", func(t *testing.T) {
		tests := []struct {
			name   string
			status int
			body   []byte
		}{
			{"JSON body", 201, []byte(`{"id":"pm_123"}`)},
			{"no body", 204, nil},
			{"binary body", 200, []byte{0, 0xff, 0, 1}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a")
				first := idemReq("app_a", "k1", "h1", t0)
				checkOwned(t, s, first, neverStale)
				mustFinish(t, s, first, tt.status, tt.body)

				want := *first
				want.Finished, want.Status, want.Body = true, tt.status, tt.body
				retry := idemReq("app_a", "k1", "h2", t0.Add(time.Second))
				checkHeld(t, s, retry, neverStale, &want)
			})
		}
	})

	t.Run("AbandonReleases", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		first := idemReq("app_a", "k1", "h1", t0)
		checkOwned(t, s, first, neverStale)
		mustAbandon(t, s, first)
		second := idemReq("app_a", "k1", "h2", t0.Add(time.Second))
		checkOwned(t, s, second, neverStale)
		third := idemReq("app_a", "k1", "h3", t0.Add(2*time.Second))
		checkHeld(t, s, third, neverStale, second)
	})

	t.Run("AbandonKeepsFinished", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		first := idemReq("app_a", "k1", "h1", t0)
		checkOwned(t, s, first, neverStale)
		mustFinish(t, s, first, 200, []byte("ok"))
		mustAbandon(t, s, first)
		want := *first
		want.Finished, want.Status, want.Body = true, 200, []byte("ok")
		checkHeld(t, s, idemReq("app_a", "k1", "h1", t0.Add(time.Second)), neverStale, &want)
	})

	t.Run("FinishNotInFlight", func(t *testing.T) {
		// owner is the request each setup begins in app_a, or would have.
		owner := idemReq("app_a", "k1", "h1", t0)
		tests := []struct {
			name  string
			setup func(t *testing.T, s appwheel.Store)
		}{
			{"never begun", func(*testing.T, appwheel.Store) {}},
			{"finished already", func(t *testing.T, s appwheel.Store) {
				checkOwned(t, s, owner, neverStale)
				mustFinish(t, s, owner, 200, []byte("first"))
			}},
			{"abandoned", func(t *testing.T, s appwheel.Store) {
				checkOwned(t, s, owner, neverStale)
				mustAbandon(t, s, owner)
			}},
			{"begun in another app", func(t *testing.T, s appwheel.Store) {
				checkOwned(t, s, idemReq("app_b", "k1", "h1", t0), neverStale)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a", "app_b")
				tt.setup(t, s)
				err := s.FinishIdempotentRequest(t.Context(), owner, 500, []byte("late"))
				wantCode(t, "FinishIdempotentRequest", err, appwheel.ENOTFOUND)
			})
		}
	})

	t.Run("TakeOver", func(t *testing.T) {
		tests := []struct {
			name        string
			finished    bool          // whether the first request finished
			after       time.Duration // when the second request comes, after t0
			staleBefore time.Time
			owned       bool
		}{
			{"unfinished and stale", false, 2 * time.Minute, t0.Add(time.Minute), true},
			{"unfinished, created at staleBefore", false, 2 * time.Minute, t0, false},
			{"unfinished and fresh", false, 2 * time.Minute, t0.Add(-time.Minute), false},
			{"finished and stale", true, 2 * time.Minute, t0.Add(time.Minute), false},
			{"finished and expired", true, ttl + time.Second, neverStale, true},
			{"unfinished and expired", false, ttl + time.Second, neverStale, true},
			{"expiring at the second's CreatedAt", true, ttl, neverStale, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a")
				first := idemReq("app_a", "k1", "h1", t0)
				checkOwned(t, s, first, neverStale)
				want := *first
				if tt.finished {
					mustFinish(t, s, first, 200, []byte("ok"))
					want.Finished, want.Status, want.Body = true, 200, []byte("ok")
				}

				second := idemReq("app_a", "k1", "h2", t0.Add(tt.after))
				if !tt.owned {
					checkHeld(t, s, second, tt.staleBefore, &want)
					return
				}
				checkOwned(t, s, second, tt.staleBefore)
				// The second request now holds the key, unfinished.
				third := idemReq("app_a", "k1", "h3", second.CreatedAt.Add(time.Second))
				checkHeld(t, s, third, neverStale, second)
			})
		}
	})

	t.Run("Heartbeat", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		first := idemReq("app_a", "k1", "h1", t0)
		checkOwned(t, s, first, neverStale)
		// The owner beats at t0+2min: stale only for a staleBefore after
		// that, however old its creation.
		if err := s.HeartbeatIdempotentRequest(t.Context(), first, t0.Add(2*time.Minute)); err != nil {
			t.Fatalf("HeartbeatIdempotentRequest: %v", err)
		}
		// A beat of another owner of the key (another CreatedAt) changes nothing.
		impostor := idemReq("app_a", "k1", "h1", t0.Add(time.Second))
		if err := s.HeartbeatIdempotentRequest(t.Context(), impostor, t0.Add(time.Hour)); err != nil {
			t.Fatalf("HeartbeatIdempotentRequest of a non-owner: %v", err)
		}
		second := idemReq("app_a", "k1", "h2", t0.Add(3*time.Minute))
		checkHeld(t, s, second, t0.Add(time.Minute), first)
		checkHeld(t, s, second, t0.Add(2*time.Minute), first) // beat at staleBefore: not before it
		checkOwned(t, s, second, t0.Add(2*time.Minute+time.Second))
		// The new owner's record starts without the old one's beat.
		third := idemReq("app_a", "k1", "h3", t0.Add(4*time.Minute))
		checkOwned(t, s, third, t0.Add(3*time.Minute+time.Second))
		// A beat of a finished request changes nothing.
		mustFinish(t, s, third, 200, []byte("ok"))
		if err := s.HeartbeatIdempotentRequest(t.Context(), third, t0.Add(time.Hour)); err != nil {
			t.Fatalf("HeartbeatIdempotentRequest of a finished request: %v", err)
		}
		want := *third
		want.Finished, want.Status, want.Body = true, 200, []byte("ok")
		checkHeld(t, s, idemReq("app_a", "k1", "h3", t0.Add(5*time.Minute)), t0.Add(2*time.Hour), &want)
	})

	t.Run("SlowOwnerAfterTakeOver", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		first := idemReq("app_a", "k1", "h1", t0)
		checkOwned(t, s, first, neverStale)
		// first is slow: second finds its record stale and takes the key.
		second := idemReq("app_a", "k1", "h2", t0.Add(2*time.Minute))
		checkOwned(t, s, second, t0.Add(time.Minute))
		retry := func(after time.Duration) *appwheel.IdempotentRequest {
			return idemReq("app_a", "k1", "h3", second.CreatedAt.Add(after))
		}

		// first's late response must not land in second's record.
		err := s.FinishIdempotentRequest(t.Context(), first, 500, []byte("late"))
		wantCode(t, "FinishIdempotentRequest(first)", err, appwheel.ENOTFOUND)
		checkHeld(t, s, retry(time.Second), neverStale, second)

		// Nor may first's abandon release second's claim.
		mustAbandon(t, s, first)
		checkHeld(t, s, retry(2*time.Second), neverStale, second)

		mustFinish(t, s, second, 201, []byte("second"))
		want := *second
		want.Finished, want.Status, want.Body = true, 201, []byte("second")
		checkHeld(t, s, retry(3*time.Second), neverStale, &want)
	})

	t.Run("OtherCreatedAt", func(t *testing.T) {
		// A request with the owner's AppID and Key but another CreatedAt
		// (to the microsecond, the stores' precision) is not the owner.
		tests := []struct {
			name  string
			delta time.Duration
		}{
			{"a microsecond later", time.Microsecond},
			{"a microsecond earlier", -time.Microsecond},
			{"a minute later", time.Minute},
			{"a minute earlier", -time.Minute},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a")
				first := idemReq("app_a", "k1", "h1", t0)
				checkOwned(t, s, first, neverStale)
				other := *first
				other.CreatedAt = first.CreatedAt.Add(tt.delta)
				retry := func(after time.Duration) *appwheel.IdempotentRequest {
					return idemReq("app_a", "k1", "h2", t0.Add(after))
				}

				err := s.FinishIdempotentRequest(t.Context(), &other, 500, []byte("other"))
				wantCode(t, "FinishIdempotentRequest(other)", err, appwheel.ENOTFOUND)
				checkHeld(t, s, retry(time.Second), neverStale, first)

				mustAbandon(t, s, &other)
				checkHeld(t, s, retry(2*time.Second), neverStale, first)

				// The real owner still finishes its own record.
				mustFinish(t, s, first, 200, []byte("first"))
				want := *first
				want.Finished, want.Status, want.Body = true, 200, []byte("first")
				checkHeld(t, s, retry(3*time.Second), neverStale, &want)
			})
		}
	})

	t.Run("ScopedByApp", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		inA := idemReq("app_a", "k1", "h1", t0)
		checkOwned(t, s, inA, neverStale)
		inB := idemReq("app_b", "k1", "h1", t0)
		checkOwned(t, s, inB, neverStale)
		mustFinish(t, s, inA, 200, []byte("a"))
		checkHeld(t, s, idemReq("app_b", "k1", "h1", t0.Add(time.Second)), neverStale, inB)
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		var reqs []*appwheel.IdempotentRequest
		for _, r := range []struct {
			app, key string
			life     time.Duration
		}{
			{"app_a", "k1", time.Hour},
			{"app_b", "k1", time.Hour},
			{"app_a", "k2", 2 * time.Hour},
			{"app_a", "k3", 3 * time.Hour},
		} {
			req := idemReq(r.app, r.key, "h", t0)
			req.ExpiresAt = t0.Add(r.life)
			checkOwned(t, s, req, neverStale)
			reqs = append(reqs, req)
		}
		mustFinish(t, s, reqs[0], 200, nil) // finished or not, expired is expired

		deletes := []struct {
			name string
			now  time.Time
			want int64
		}{
			{"before any expiry", t0, 0},
			{"at the first expiry", t0.Add(time.Hour), 0}, // expired *before* now only
			{"after the first expiry", t0.Add(time.Hour + time.Second), 2},
			{"again", t0.Add(time.Hour + time.Second), 0},
			{"after the second expiry", t0.Add(2*time.Hour + time.Second), 1},
		}
		for _, d := range deletes {
			got, err := s.DeleteExpiredIdempotentRequests(t.Context(), d.now)
			if err != nil {
				t.Fatalf("DeleteExpiredIdempotentRequests %s: got error %v, want nil", d.name, err)
			}
			if got != d.want {
				t.Errorf("DeleteExpiredIdempotentRequests %s: got %d deleted, want %d", d.name, got, d.want)
			}
		}
		// Gone keys are free again even to a request that could not take
		// them over; the kept one is still held.
		checkOwned(t, s, idemReq("app_a", "k1", "h", t0), neverStale)
		checkOwned(t, s, idemReq("app_b", "k1", "h", t0), neverStale)
		checkOwned(t, s, idemReq("app_a", "k2", "h", t0), neverStale)
		checkHeld(t, s, idemReq("app_a", "k3", "h", t0), neverStale, reqs[3])
	})

	t.Run("RaceOneOwner", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		got := race(t, func(i int) (*appwheel.IdempotentRequest, error) {
			req := idemReq("app_a", "k1", fmt.Sprintf("h%02d", i), t0)
			return s.BeginIdempotentRequest(t.Context(), req, neverStale)
		})
		owner := -1
		for i, held := range got {
			if held != nil {
				continue
			}
			if owner >= 0 {
				t.Errorf("racers %d and %d both own the key, want one owner", owner, i)
			}
			owner = i
		}
		if owner < 0 {
			t.Fatalf("owners of the key among %d racers: got none, want one", racers)
		}
		want := idemReq("app_a", "k1", fmt.Sprintf("h%02d", owner), t0)
		for i, held := range got {
			if held != nil {
				if diff := diffReq(want, held); diff != "" {
					t.Errorf("racer %d: held record mismatch (-want +got):\n%s", i, diff)
				}
			}
		}
	})
}

// idemReq returns a request made at createdAt that lives for ttl.
func idemReq(appID, key, hash string, createdAt time.Time) *appwheel.IdempotentRequest {
	return &appwheel.IdempotentRequest{
		AppID:       appID,
		Key:         key,
		RequestHash: hash,
		CreatedAt:   createdAt,
		ExpiresAt:   createdAt.Add(ttl),
	}
}

// neverStale is a staleBefore under which nothing the suite creates (at t0
// or later) is stale, so a test sees take-over only where it asks for it.
var neverStale = t0.Add(-time.Hour)

func checkOwned(t *testing.T, s appwheel.Store, req *appwheel.IdempotentRequest, staleBefore time.Time) {
	t.Helper()
	held, err := s.BeginIdempotentRequest(t.Context(), req, staleBefore)
	if err != nil {
		t.Fatalf("BeginIdempotentRequest(%s, %s): got error %v, want nil", req.AppID, req.Key, err)
	}
	if held != nil {
		t.Fatalf("BeginIdempotentRequest(%s, %s): got held by %+v, want owned (nil)", req.AppID, req.Key, held)
	}
}

func checkHeld(t *testing.T, s appwheel.Store, req *appwheel.IdempotentRequest, staleBefore time.Time, want *appwheel.IdempotentRequest) {
	t.Helper()
	held, err := s.BeginIdempotentRequest(t.Context(), req, staleBefore)
	if err != nil {
		t.Fatalf("BeginIdempotentRequest(%s, %s): got error %v, want nil", req.AppID, req.Key, err)
	}
	if held == nil {
		t.Fatalf("BeginIdempotentRequest(%s, %s): got owned (nil), want held by %+v", req.AppID, req.Key, want)
	}
	if diff := diffReq(want, held); diff != "" {
		t.Errorf("BeginIdempotentRequest(%s, %s): held record mismatch (-want +got):\n%s", req.AppID, req.Key, diff)
	}
}

// diffReq compares records with times to the microsecond; a nil and an
// empty Body are the same response.
func diffReq(want, got *appwheel.IdempotentRequest) string {
	return cmp.Diff(want, got, equateMicro, cmpopts.EquateEmpty())
}

// mustFinish finishes the key owner claimed with BeginIdempotentRequest.
func mustFinish(t *testing.T, s appwheel.Store, owner *appwheel.IdempotentRequest, status int, body []byte) {
	t.Helper()
	if err := s.FinishIdempotentRequest(t.Context(), owner, status, body); err != nil {
		t.Fatalf("FinishIdempotentRequest(%s, %s, %v): got error %v, want nil",
			owner.AppID, owner.Key, owner.CreatedAt, err)
	}
}

// mustAbandon abandons the key owner claimed with BeginIdempotentRequest, or
// does nothing when owner no longer holds it.
func mustAbandon(t *testing.T, s appwheel.Store, owner *appwheel.IdempotentRequest) {
	t.Helper()
	if err := s.AbandonIdempotentRequest(t.Context(), owner); err != nil {
		t.Fatalf("AbandonIdempotentRequest(%s, %s, %v): got error %v, want nil",
			owner.AppID, owner.Key, owner.CreatedAt, err)
	}
}
