package storetest

import (
	"fmt"
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
		checkPending(t, s, t0.Add(time.Hour), 10, "app_a/evt_1")

		want.ProcessedAt = t0.Add(time.Minute)
		mustMarkProcessed(t, s, "app_a", "evt_1", want.ProcessedAt)
		checkEvent(t, s, want)
		checkPending(t, s, t0.Add(time.Hour), 10)
		// A second application (a sweep racing the first job) keeps the
		// first time.
		mustMarkProcessed(t, s, "app_a", "evt_1", t0.Add(2*time.Minute))
		checkEvent(t, s, want)
	})

	t.Run("Pending", func(t *testing.T) {
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
		} {
			checkRecord(t, s, newEvent(e.app, e.id, t0.Add(e.received)), true)
			if e.processed {
				mustMarkProcessed(t, s, e.app, e.id, t0.Add(time.Hour))
			}
		}
		tests := []struct {
			name   string
			before time.Time
			limit  int
			want   []string
		}{
			{"all", t0.Add(time.Minute), 10, []string{"app_b/evt_2", "app_a/evt_1", "app_b/evt_1", "app_a/evt_3"}},
			{"limit", t0.Add(time.Minute), 2, []string{"app_b/evt_2", "app_a/evt_1"}},
			{"received before only", t0.Add(2 * time.Second), 10, []string{"app_b/evt_2", "app_a/evt_1"}},
			{"none received before", t0, 10, nil},
			{"limit 0", t0.Add(time.Minute), 0, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkPending(t, s, tt.before, tt.limit, tt.want...)
			})
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

// checkPending compares PendingEvents with want, given as "app/id".
func checkPending(t *testing.T, s appwheel.MirrorStore, before time.Time, limit int, want ...string) {
	t.Helper()
	evs, err := s.PendingEvents(t.Context(), before, limit)
	if err != nil {
		t.Fatalf("PendingEvents(%d): got error %v, want nil", limit, err)
	}
	var got []string
	for _, ev := range evs {
		if !ev.ProcessedAt.IsZero() {
			t.Errorf("PendingEvents: %s/%s has ProcessedAt %v, want zero", ev.AppID, ev.ID, ev.ProcessedAt)
		}
		got = append(got, ev.AppID+"/"+ev.ID)
	}
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("PendingEvents(%d) mismatch (-want +got):\n%s", limit, diff)
	}
}
