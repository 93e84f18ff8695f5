package storetest

import (
	"testing"
	"time"

	"github.com/appwheel/appwheel"
)

func testNonces(t *testing.T, newStore NewStoreFunc) {
	// use is one UseNonce call and the freshness it must report.
	type use struct {
		app, nonce string
		expiresAt  time.Time
		fresh      bool
	}
	exp := t0.Add(5 * time.Minute)

	tests := []struct {
		name string
		uses []use
	}{
		{"FreshThenReplay", []use{
			{"app_a", "n1", exp, true},
			{"app_a", "n1", exp, false},
			{"app_a", "n1", exp.Add(time.Hour), false},
		}},
		{"DistinctNonces", []use{
			{"app_a", "n1", exp, true},
			{"app_a", "n2", exp, true},
		}},
		{"ScopedByApp", []use{
			{"app_a", "n1", exp, true},
			{"app_b", "n1", exp, true},
			{"app_a", "n1", exp, false},
			{"app_b", "n1", exp, false},
		}},
		// A nonce counts as used until DeleteExpiredNonces forgets it: the
		// store has no clock to tell that it expired.
		{"ReplayRefusedUntilForgotten", []use{
			{"app_a", "n1", t0, true},
			{"app_a", "n1", t0.Add(time.Hour), false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStoreWithApps(t, newStore, "app_a", "app_b")
			for i, u := range tt.uses {
				checkUse(t, s, i, u.app, u.nonce, u.expiresAt, u.fresh)
			}
		})
	}

	t.Run("DeleteExpired", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		checkUse(t, s, 0, "app_a", "soon", t0.Add(time.Minute), true)
		checkUse(t, s, 1, "app_b", "soon", t0.Add(time.Minute), true)
		checkUse(t, s, 2, "app_a", "later", t0.Add(5*time.Minute), true)

		deletes := []struct {
			name string
			now  time.Time
			want int64
		}{
			{"before any expiry", t0, 0},
			{"at the first expiry", t0.Add(time.Minute), 0}, // expired *before* now only
			{"after the first expiry", t0.Add(2 * time.Minute), 2},
			{"again", t0.Add(2 * time.Minute), 0},
		}
		for _, d := range deletes {
			got, err := s.DeleteExpiredNonces(t.Context(), d.now)
			if err != nil {
				t.Fatalf("DeleteExpiredNonces %s: got error %v, want nil", d.name, err)
			}
			if got != d.want {
				t.Errorf("DeleteExpiredNonces %s: got %d deleted, want %d", d.name, got, d.want)
			}
		}
		checkUse(t, s, 3, "app_a", "soon", t0.Add(3*time.Minute), true)
		checkUse(t, s, 4, "app_b", "soon", t0.Add(3*time.Minute), true)
		checkUse(t, s, 5, "app_a", "later", t0.Add(3*time.Minute), false)
	})

	t.Run("RaceOneFresh", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		got := race(t, func(int) (bool, error) {
			return s.UseNonce(t.Context(), "app_a", "n1", exp)
		})
		var fresh int
		for _, f := range got {
			if f {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("fresh uses of one nonce by %d racers: got %d, want 1", racers, fresh)
		}
	})
}

func checkUse(t *testing.T, s appwheel.Store, i int, appID, nonce string, expiresAt time.Time, want bool) {
	t.Helper()
	got, err := s.UseNonce(t.Context(), appID, nonce, expiresAt)
	if err != nil {
		t.Fatalf("use %d: UseNonce(%s, %s): got error %v, want nil", i, appID, nonce, err)
	}
	if got != want {
		t.Errorf("use %d: UseNonce(%s, %s): got fresh %v, want %v", i, appID, nonce, got, want)
	}
}
