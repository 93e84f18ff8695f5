package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testMirrorEvents(t *testing.T, newStore NewStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		tests := []struct {
			name    string
			payload []byte
		}{
			// Stripe's bytes, not a re-encoding: whitespace, key order and
			// escapes are kept, so the signature still matches them.
			{"JSON", []byte("{\n  \"id\": \"evt_1\",\n  \"type\": \"payment_method.attached\",\"data\":{\"x\":\"\\u00e9\"} }")},
			{"binary", []byte{0, 0xff, '{', 0, '}'}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a")
				want := newEvent("app_a", "evt_1", t0)
				want.Payload = tt.payload
				checkRecord(t, s, want, true)
				checkEvent(t, s, want)
			})
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		first := newEvent("app_a", "evt_1", t0)
		checkRecord(t, s, first, true)
		again := newEvent("app_a", "evt_1", t0.Add(time.Minute))
		again.Payload = []byte(`{"id":"evt_1","redelivered":true}`)
		checkRecord(t, s, again, false)
		checkEvent(t, s, first)
		// Apps may share a Stripe account: the same event is new to each.
		other := newEvent("app_b", "evt_1", t0.Add(time.Minute))
		checkRecord(t, s, other, true)
		checkEvent(t, s, other)
		checkEvent(t, s, first)
	})

	t.Run("RaceOneNew", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		evs := make([]*appwheel.Event, racers)
		for i := range evs {
			evs[i] = newEvent("app_a", "evt_1", t0)
			evs[i].Payload = fmt.Appendf(nil, `{"id":"evt_1","racer":%d}`, i)
		}
		got := race(t, func(i int) (bool, error) {
			return s.RecordEvent(t.Context(), evs[i])
		})
		winner := -1
		for i, isNew := range got {
			if !isNew {
				continue
			}
			if winner >= 0 {
				t.Errorf("racers %d and %d: both got new, want one", winner, i)
			}
			winner = i
		}
		if winner < 0 {
			t.Fatalf("RecordEvent by %d racers: none got new, want one", racers)
		}
		checkEvent(t, s, evs[winner])
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		checkRecord(t, s, newEvent("app_a", "evt_1", t0), true)
		for _, k := range []struct{ app, id string }{
			{"app_a", "evt_missing"},
			{"app_b", "evt_1"}, // another app's
		} {
			_, err := s.Event(t.Context(), k.app, k.id)
			wantCode(t, fmt.Sprintf("Event(%s, %s)", k.app, k.id), err, appwheel.ENOTFOUND)
			err = s.MarkEventProcessed(t.Context(), k.app, k.id, t0)
			wantCode(t, fmt.Sprintf("MarkEventProcessed(%s, %s)", k.app, k.id), err, appwheel.ENOTFOUND)
		}
	})

	t.Run("MarkProcessed", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		want := newEvent("app_a", "evt_1", t0)
		checkRecord(t, s, want, true)

		want.ProcessedAt = t0.Add(time.Minute)
		mustMarkProcessed(t, s, "app_a", "evt_1", want.ProcessedAt)
		checkEvent(t, s, want)
		// A second application (after a claim ran out, say) keeps the
		// first time.
		mustMarkProcessed(t, s, "app_a", "evt_1", t0.Add(2*time.Minute))
		checkEvent(t, s, want)
		// A processed event is never claimed.
		checkClaim(t, s, t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	})

	t.Run("MarkEventsProcessed", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		evs := []*appwheel.Event{
			newEvent("app_a", "evt_1", t0), newEvent("app_a", "evt_2", t0),
			newEvent("app_b", "evt_1", t0), newEvent("app_b", "evt_2", t0),
		}
		for _, ev := range evs {
			checkRecord(t, s, ev, true)
		}
		at := t0.Add(time.Minute)
		mustMarkEventsProcessed(t, s, at, "app_a/evt_1", "app_b/evt_2", "app_a/evt_missing")
		evs[0].ProcessedAt, evs[3].ProcessedAt = at, at
		for _, ev := range evs {
			checkEvent(t, s, ev)
		}
		// Marking again keeps the first time; none is no error.
		mustMarkEventsProcessed(t, s, at.Add(time.Minute), "app_a/evt_1")
		mustMarkEventsProcessed(t, s, at.Add(time.Minute))
		checkEvent(t, s, evs[0])
		checkClaim(t, s, t0.Add(time.Hour), t0.Add(2*time.Hour), 10, "app_a/evt_2", "app_b/evt_1")
	})

	t.Run("Claim", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		// Recorded out of order, so only ReceivedAt can give the order.
		for _, e := range []struct {
			app, id   string
			received  time.Duration // after t0
			processed bool
		}{
			{"app_a", "evt_3", 4 * time.Second, false},
			{"app_a", "evt_1", 1 * time.Second, false},
			{"app_a", "evt_2", 3 * time.Second, true},
			{"app_b", "evt_2", 0, false},
			{"app_b", "evt_1", 2 * time.Second, false},
			{"app_b", "evt_9", time.Hour, false}, // received after every now below
		} {
			checkRecord(t, s, newEvent(e.app, e.id, t0.Add(e.received)), true)
			if e.processed {
				mustMarkProcessed(t, s, e.app, e.id, t0.Add(time.Minute))
			}
		}
		now, until := t0.Add(time.Minute), t0.Add(10*time.Minute)
		got := checkClaim(t, s, now, until, 2, "app_b/evt_2", "app_a/evt_1")
		// The claim returns the events as recorded, and counts itself.
		for _, ce := range got {
			if ce.Attempts != 1 {
				t.Errorf("first claim of %s/%s: got attempts %d, want 1", ce.AppID, ce.ID, ce.Attempts)
			}
			if diff := gocmp.Diff(newEvent(ce.AppID, ce.ID, ce.ReceivedAt), &ce.Event, equateMicro); diff != "" {
				t.Errorf("claimed %s/%s mismatch (-recorded +claimed):\n%s", ce.AppID, ce.ID, diff)
			}
		}
		checkClaim(t, s, now, until, 10, "app_b/evt_1", "app_a/evt_3")
		checkClaim(t, s, now, until, 10)                          // all claimed
		checkClaim(t, s, until.Add(-time.Microsecond), until, 10) // until the claims end
		got = checkClaim(t, s, until, until.Add(time.Minute), 10, "app_b/evt_2", "app_a/evt_1", "app_b/evt_1", "app_a/evt_3")
		for _, ce := range got {
			if ce.Attempts != 2 {
				t.Errorf("second claim of %s/%s: got attempts %d, want 2", ce.AppID, ce.ID, ce.Attempts)
			}
		}
		checkClaim(t, s, t0.Add(2*time.Hour), t0.Add(3*time.Hour), 0) // limit 0
	})

	t.Run("Retry", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		for i, id := range []string{"evt_1", "evt_2", "evt_3"} {
			checkRecord(t, s, newEvent("app_a", id, t0.Add(time.Duration(i)*time.Second)), true)
		}
		checkClaim(t, s, t0.Add(time.Second), t0.Add(time.Hour), 10, "app_a/evt_1", "app_a/evt_2")
		retry := func(at time.Time, ids ...string) {
			t.Helper()
			if err := s.RetryEvents(t.Context(), keys("app_a", ids...), at); err != nil {
				t.Fatalf("RetryEvents(%v): got error %v, want nil", ids, err)
			}
		}
		// Retried at t0+30s: claimable then, not before; evt_2 stays
		// claimed until its claim ends; unknown events are ignored.
		retry(t0.Add(30*time.Second), "evt_1", "evt_missing")
		checkClaim(t, s, t0.Add(29*time.Second), t0.Add(time.Hour), 10, "app_a/evt_3")
		// Claimable longest first: evt_3 since t0+2s (its claim's end was
		// retried to then), evt_1 since t0+30s.
		retry(t0.Add(2*time.Second), "evt_3")
		checkClaim(t, s, t0.Add(time.Minute), t0.Add(time.Hour), 1, "app_a/evt_3")
		checkClaim(t, s, t0.Add(time.Minute), t0.Add(time.Hour), 1, "app_a/evt_1")
		// A processed event stays processed.
		mustMarkProcessed(t, s, "app_a", "evt_2", t0.Add(time.Minute))
		retry(t0, "evt_2")
		checkClaim(t, s, t0.Add(2*time.Hour), t0.Add(3*time.Hour), 10, "app_a/evt_1", "app_a/evt_3")
		if err := s.RetryEvents(t.Context(), nil, t0); err != nil {
			t.Errorf("RetryEvents(none): got error %v, want nil", err)
		}
	})

	t.Run("ClaimRace", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		const events = 300
		for i := range events {
			checkRecord(t, s, newEvent("app_a", fmt.Sprintf("evt_%03d", i), t0.Add(time.Duration(i)*time.Millisecond)), true)
		}
		// Every racer claims small batches until none is left.
		got := race(t, func(int) ([]string, error) {
			var mine []string
			for {
				evs, err := s.ClaimEvents(t.Context(), t0.Add(time.Minute), t0.Add(time.Hour), 7)
				if err != nil || len(evs) == 0 {
					return mine, err
				}
				for _, ev := range evs {
					mine = append(mine, ev.ID)
				}
			}
		})
		claimedBy := map[string]int{}
		for racer, ids := range got {
			for _, id := range ids {
				if other, ok := claimedBy[id]; ok {
					t.Errorf("%s claimed by racers %d and %d, want one", id, other, racer)
				}
				claimedBy[id] = racer
			}
		}
		if len(claimedBy) != events {
			t.Errorf("events claimed: got %d, want all %d", len(claimedBy), events)
		}
	})
}

func newEvent(appID, id string, receivedAt time.Time) *appwheel.Event {
	return &appwheel.Event{
		AppID:      appID,
		ID:         id,
		Type:       "payment_method.attached",
		Created:    receivedAt.Unix() - 2,
		Payload:    fmt.Appendf(nil, `{"id":%q,"object":"event","app":%q}`, id, appID),
		ReceivedAt: receivedAt,
	}
}

func checkRecord(t *testing.T, s appwheel.MirrorStore, ev *appwheel.Event, want bool) {
	t.Helper()
	got, err := s.RecordEvent(t.Context(), ev)
	if err != nil {
		t.Fatalf("RecordEvent(%s, %s): got error %v, want nil", ev.AppID, ev.ID, err)
	}
	if got != want {
		t.Errorf("RecordEvent(%s, %s): got new %v, want %v", ev.AppID, ev.ID, got, want)
	}
}

// checkEvent compares the stored event with want, the payload byte for
// byte.
func checkEvent(t *testing.T, s appwheel.MirrorStore, want *appwheel.Event) {
	t.Helper()
	got, err := s.Event(t.Context(), want.AppID, want.ID)
	if err != nil {
		t.Fatalf("Event(%s, %s): got error %v, want nil", want.AppID, want.ID, err)
	}
	if diff := gocmp.Diff(want, got, equateMicro); diff != "" {
		t.Errorf("Event(%s, %s) mismatch (-want +got):\n%s", want.AppID, want.ID, diff)
	}
}

func mustMarkProcessed(t *testing.T, s appwheel.MirrorStore, appID, id string, at time.Time) {
	t.Helper()
	if err := s.MarkEventProcessed(t.Context(), appID, id, at); err != nil {
		t.Fatalf("MarkEventProcessed(%s, %s): got error %v, want nil", appID, id, err)
	}
}

func mustMarkEventsProcessed(t *testing.T, s appwheel.MirrorStore, at time.Time, events ...string) {
	t.Helper()
	var ks []appwheel.EventKey
	for _, e := range events {
		app, id, _ := strings.Cut(e, "/")
		ks = append(ks, appwheel.EventKey{AppID: app, ID: id})
	}
	if err := s.MarkEventsProcessed(t.Context(), ks, at); err != nil {
		t.Fatalf("MarkEventsProcessed(%v): got error %v, want nil", events, err)
	}
}

// keys names events of one app.
func keys(appID string, ids ...string) []appwheel.EventKey {
	ks := make([]appwheel.EventKey, len(ids))
	for i, id := range ids {
		ks[i] = appwheel.EventKey{AppID: appID, ID: id}
	}
	return ks
}

// checkClaim claims events at now until until and compares them with want,
// given as "app/id" in order; it returns them.
func checkClaim(t *testing.T, s appwheel.MirrorStore, now, until time.Time, limit int, want ...string) []*appwheel.ClaimedEvent {
	t.Helper()
	evs, err := s.ClaimEvents(t.Context(), now, until, limit)
	if err != nil {
		t.Fatalf("ClaimEvents(%d): got error %v, want nil", limit, err)
	}
	var got []string
	for _, ev := range evs {
		if !ev.ProcessedAt.IsZero() {
			t.Errorf("ClaimEvents: %s/%s has ProcessedAt %v, want zero", ev.AppID, ev.ID, ev.ProcessedAt)
		}
		got = append(got, ev.AppID+"/"+ev.ID)
	}
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ClaimEvents(%d) at %v mismatch (-want +got):\n%s", limit, now.Sub(t0), diff)
	}
	return evs
}
