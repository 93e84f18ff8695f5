package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
)

func testCustomers(t *testing.T, newStore NewStoreFunc) {
	t.Run("NotFoundBeforePut", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		_, err := s.CustomerID(t.Context(), "app_a", "user_1")
		wantCode(t, "CustomerID before PutCustomer", err, appwheel.ENOTFOUND)
	})

	t.Run("FirstWriterWins", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		puts := []struct {
			customerID, want string
		}{
			{"cus_first", "cus_first"},
			{"cus_second", "cus_first"},
			{"cus_first", "cus_first"}, // a retry of the winner
		}
		for i, p := range puts {
			got, err := s.PutCustomer(t.Context(), "app_a", "user_1", p.customerID, t0)
			if err != nil {
				t.Fatalf("put %d: PutCustomer(%q): got error %v, want nil", i, p.customerID, err)
			}
			if got != p.want {
				t.Errorf("put %d: PutCustomer(%q): got %q, want %q", i, p.customerID, got, p.want)
			}
		}
		checkCustomer(t, s, "app_a", "user_1", "cus_first")
	})

	t.Run("ReplaceIsCompareAndSwap", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		if _, err := s.PutCustomer(ctx, "app_a", "user_1", "cus_old", t0); err != nil {
			t.Fatal(err)
		}
		// The old customer's mirror state, all of which the replace resets.
		if err := s.MarkSynced(ctx, "app_a", "user_1", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveCustomer(ctx, "app_a", &appwheel.Customer{ID: "cus_old", DefaultPaymentMethodID: "pm_old"}, 100); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSetupPending(ctx, "app_a", "user_1", t0.Add(time.Hour), "seti_pending"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDefaultSetup(ctx, "app_a", "user_1", "seti_old"); err != nil {
			t.Fatal(err)
		}
		replaces := []struct{ old, new, want string }{
			{"cus_old", "cus_new", "cus_new"},
			{"cus_old", "cus_other", "cus_new"}, // lost the race: the winner's is returned
		}
		for _, r := range replaces {
			got, err := s.ReplaceCustomer(ctx, "app_a", "user_1", r.old, r.new, t0.Add(time.Second))
			if err != nil || got != r.want {
				t.Errorf("ReplaceCustomer(%s → %s) = %q, %v; want %q", r.old, r.new, got, err, r.want)
			}
		}
		checkCustomerState(t, s, "app_a", &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_new"})
		if _, err := s.CustomerOwner(ctx, "app_a", "cus_old"); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
			t.Errorf("CustomerOwner(cus_old) = %v; want ENOTFOUND", err)
		}
	})

	t.Run("ScopedByApp", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		for _, p := range []struct{ app, customerID string }{
			{"app_a", "cus_a"},
			{"app_b", "cus_b"},
		} {
			got, err := s.PutCustomer(t.Context(), p.app, "user_1", p.customerID, t0)
			if err != nil || got != p.customerID {
				t.Fatalf("PutCustomer(%s, user_1, %s): got %q, %v; want %q, nil", p.app, p.customerID, got, err, p.customerID)
			}
		}
		checkCustomer(t, s, "app_a", "user_1", "cus_a")
		checkCustomer(t, s, "app_b", "user_1", "cus_b")
		_, err := s.CustomerID(t.Context(), "app_b", "user_2")
		wantCode(t, "CustomerID of another user", err, appwheel.ENOTFOUND)
	})

	t.Run("SameCustomerIDInAnotherApp", func(t *testing.T) {
		// Apps may share a Stripe account; the mapping is per app.
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		for _, app := range []string{"app_a", "app_b"} {
			got, err := s.PutCustomer(t.Context(), app, "user_1", "cus_shared", t0)
			if err != nil || got != "cus_shared" {
				t.Fatalf("PutCustomer(%s): got %q, %v; want %q, nil", app, got, err, "cus_shared")
			}
		}
	})

	t.Run("OneUserPerCustomer", func(t *testing.T) {
		// One Stripe customer must never hold two users' payment methods.
		s := newStoreWithApps(t, newStore, "app_a")
		if _, err := s.PutCustomer(t.Context(), "app_a", "user_1", "cus_1", t0); err != nil {
			t.Fatalf("PutCustomer(user_1): got error %v, want nil", err)
		}
		got, err := s.PutCustomer(t.Context(), "app_a", "user_2", "cus_1", t0)
		wantCode(t, "PutCustomer(user_2) with user_1's customer", err, appwheel.ECONFLICT)
		if got != "" {
			t.Errorf("PutCustomer(user_2) with user_1's customer: got %q, want \"\"", got)
		}
		_, err = s.CustomerID(t.Context(), "app_a", "user_2")
		wantCode(t, "CustomerID(user_2)", err, appwheel.ENOTFOUND)
		checkCustomer(t, s, "app_a", "user_1", "cus_1")
	})

	t.Run("FirstWriterWinsOverAnotherUsersCustomer", func(t *testing.T) {
		// A user who has a customer keeps it, even when the put names
		// another user's: first writer wins before uniqueness is judged.
		s := newStoreWithApps(t, newStore, "app_a")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		mustPutCustomer(t, s, "app_a", "user_2", "cus_2")
		got, err := s.PutCustomer(t.Context(), "app_a", "user_1", "cus_2", t0)
		if err != nil || got != "cus_1" {
			t.Errorf("PutCustomer(user_1, user_2's customer): got %q, %v; want %q, nil", got, err, "cus_1")
		}
		checkCustomer(t, s, "app_a", "user_2", "cus_2")
	})

	t.Run("ReplaceWithAnotherUsersCustomer", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		mustPutCustomer(t, s, "app_a", "user_2", "cus_2")
		got, err := s.ReplaceCustomer(t.Context(), "app_a", "user_1", "cus_1", "cus_2", t0)
		wantCode(t, "ReplaceCustomer(user_1 → user_2's customer)", err, appwheel.ECONFLICT)
		if got != "" {
			t.Errorf("ReplaceCustomer(user_1 → user_2's customer): got %q, want \"\"", got)
		}
		checkCustomer(t, s, "app_a", "user_1", "cus_1")
		checkCustomer(t, s, "app_a", "user_2", "cus_2")
	})

	t.Run("RaceOneWinner", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		got := race(t, func(i int) (string, error) {
			return s.PutCustomer(t.Context(), "app_a", "user_1", fmt.Sprintf("cus_%02d", i), t0)
		})
		winner := got[0]
		for i, id := range got {
			if id != winner {
				t.Errorf("racer %d: got %q, want %q like racer 0", i, id, winner)
			}
		}
		var candidate bool
		for i := range racers {
			candidate = candidate || winner == fmt.Sprintf("cus_%02d", i)
		}
		if !candidate {
			t.Errorf("winner: got %q, want one of the racers' customers", winner)
		}
		checkCustomer(t, s, "app_a", "user_1", winner)
	})

	// Replicas creating a user's first customer at once all send Stripe one
	// idempotency key, get the same customer back, and record the same
	// pair: every one of them must get it, none a conflict with itself.
	t.Run("RaceSamePair", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		for round := range 5 {
			user, cus := fmt.Sprintf("user_%d", round), fmt.Sprintf("cus_same_%d", round)
			got := race(t, func(int) (string, error) {
				return s.PutCustomer(t.Context(), "app_a", user, cus, t0)
			})
			for i, id := range got {
				if id != cus {
					t.Errorf("round %d, racer %d: got %q, want %q", round, i, id, cus)
				}
			}
		}
	})
}

func checkCustomer(t *testing.T, s appwheel.Store, appID, appUserID, want string) {
	t.Helper()
	got, err := s.CustomerID(t.Context(), appID, appUserID)
	if err != nil {
		t.Fatalf("CustomerID(%s, %s): got error %v, want nil", appID, appUserID, err)
	}
	if got != want {
		t.Errorf("CustomerID(%s, %s): got %q, want %q", appID, appUserID, got, want)
	}
}
