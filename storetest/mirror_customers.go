package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testMirrorCustomers(t *testing.T, newStore NewStoreFunc) {
	t.Run("StateNotFound", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		for _, k := range []struct{ app, user string }{
			{"app_a", "user_2"},
			{"app_b", "user_1"}, // another app's user
		} {
			_, err := s.CustomerState(t.Context(), k.app, k.user)
			wantCode(t, fmt.Sprintf("CustomerState(%s, %s)", k.app, k.user), err, appwheel.ENOTFOUND)
		}
	})

	t.Run("StateAfterPut", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		checkCustomerState(t, s, "app_a", &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_1"})
	})

	t.Run("SaveVersions", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		state := func(defaultPM string, deleted bool) *appwheel.CustomerState {
			return &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_1", DefaultPaymentMethodID: defaultPM, Deleted: deleted}
		}
		saves := []struct {
			name    string
			c       appwheel.Customer
			version int64
			wrote   bool
			want    *appwheel.CustomerState
		}{
			{"first", appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_1"}, 100, true, state("pm_1", false)},
			{"older", appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_old"}, 50, false, state("pm_1", false)},
			{"equal", appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_tie"}, 100, false, state("pm_1", false)},
			{"newer", appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_2"}, 101, true, state("pm_2", false)},
			{"deleted", appwheel.Customer{ID: "cus_1", Deleted: true}, 200, true, state("", true)},
			{"older undelete", appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_2"}, 150, false, state("", true)},
		}
		for _, sv := range saves {
			checkSaveCustomer(t, s, "app_a", &sv.c, sv.version, sv.wrote)
			t.Run(sv.name, func(t *testing.T) { checkCustomerState(t, s, "app_a", sv.want) })
		}
	})

	t.Run("SaveUnknownIgnored", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		checkSaveCustomer(t, s, "app_a", &appwheel.Customer{ID: "cus_unknown", DefaultPaymentMethodID: "pm_1"}, 100, false)
		// cus_1 is app_a's: app_b did not create it.
		checkSaveCustomer(t, s, "app_b", &appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_1"}, 100, false)
		checkCustomerState(t, s, "app_a", &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_1"})
		_, err := s.CustomerOwner(t.Context(), "app_a", "cus_unknown")
		wantCode(t, "CustomerOwner of the ignored customer", err, appwheel.ENOTFOUND)
	})

	t.Run("Owner", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		mustPutCustomer(t, s, "app_a", "user_2", "cus_2")
		for _, c := range []struct{ customer, want string }{{"cus_1", "user_1"}, {"cus_2", "user_2"}} {
			got, err := s.CustomerOwner(t.Context(), "app_a", c.customer)
			if err != nil || got != c.want {
				t.Errorf("CustomerOwner(app_a, %s): got %q, %v; want %q, nil", c.customer, got, err, c.want)
			}
		}
		for _, k := range []struct{ app, customer string }{
			{"app_a", "cus_unknown"},
			{"app_b", "cus_1"}, // another app's customer
		} {
			_, err := s.CustomerOwner(t.Context(), k.app, k.customer)
			wantCode(t, fmt.Sprintf("CustomerOwner(%s, %s)", k.app, k.customer), err, appwheel.ENOTFOUND)
		}
	})

	t.Run("Synced", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		synced := map[string]time.Time{} // app/user → last sync
		for _, u := range []struct {
			app, user string
			at        time.Duration // after t0; 0 = never synced
		}{
			{"app_a", "user_1", 3 * time.Hour},
			{"app_a", "user_2", 1 * time.Hour},
			{"app_a", "user_3", 2 * time.Hour},
			{"app_a", "user_4", 0},
			{"app_b", "user_1", time.Minute}, // synced before all of app_a's
		} {
			mustPutCustomer(t, s, u.app, u.user, "cus_"+u.app+"_"+u.user)
			if u.at != 0 {
				mustMarkSynced(t, s, u.app, u.user, t0.Add(u.at))
				synced[u.app+"/"+u.user] = t0.Add(u.at)
			}
		}
		// Syncs finishing out of order: the earlier one does not move the
		// time back.
		mustMarkSynced(t, s, "app_a", "user_1", t0.Add(30*time.Minute))

		state := func(app, user string) *appwheel.CustomerState {
			return &appwheel.CustomerState{AppUserID: user, CustomerID: "cus_" + app + "_" + user, SyncedAt: synced[app+"/"+user]}
		}
		for _, u := range []string{"user_1", "user_2", "user_3", "user_4"} {
			checkCustomerState(t, s, "app_a", state("app_a", u))
		}
		tests := []struct {
			name   string
			app    string
			before time.Time
			limit  int
			want   []string // users, in order
		}{
			{"all", "app_a", t0.Add(24 * time.Hour), 10, []string{"user_2", "user_3", "user_1"}},
			{"limit", "app_a", t0.Add(24 * time.Hour), 2, []string{"user_2", "user_3"}},
			{"synced before only", "app_a", t0.Add(2 * time.Hour), 10, []string{"user_2"}},
			{"none synced before", "app_a", t0, 10, nil},
			{"limit 0", "app_a", t0.Add(24 * time.Hour), 0, nil},
			{"another app", "app_b", t0.Add(24 * time.Hour), 10, []string{"user_1"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.SyncedBefore(t.Context(), tt.app, tt.before, tt.limit)
				if err != nil {
					t.Fatalf("SyncedBefore: got error %v, want nil", err)
				}
				var want []*appwheel.CustomerState
				for _, u := range tt.want {
					want = append(want, state(tt.app, u))
				}
				if diff := gocmp.Diff(want, got, equateMicro, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("SyncedBefore(%s, %d) mismatch (-want +got):\n%s", tt.app, tt.limit, diff)
				}
			})
		}

		err := s.MarkSynced(t.Context(), "app_b", "user_2", t0)
		wantCode(t, "MarkSynced of a user with no customer", err, appwheel.ENOTFOUND)
	})

	t.Run("SetupPending", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		ctx := t.Context()
		mustPutCustomer(t, s, "app_a", "user_1", "cus_a1")
		mustPutCustomer(t, s, "app_b", "user_1", "cus_b1")
		until := t0.Add(30 * time.Minute)
		state := func(until time.Time, id string) *appwheel.CustomerState {
			return &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_a1", SetupPendingUntil: until, SetupPendingIntentID: id}
		}
		set := func(until time.Time, id string) {
			t.Helper()
			if err := s.SetSetupPending(ctx, "app_a", "user_1", until, id); err != nil {
				t.Fatalf("SetSetupPending(%s): %v", id, err)
			}
		}
		clear := func(app, id string) {
			t.Helper()
			if err := s.ClearSetupPending(ctx, app, "user_1", id); err != nil {
				t.Fatalf("ClearSetupPending(%s, %s): %v", app, id, err)
			}
		}
		set(until, "seti_1")
		checkCustomerState(t, s, "app_a", state(until, "seti_1"))
		// A newer setup opens the window again; the older one's end leaves it.
		set(until.Add(time.Minute), "seti_2")
		clear("app_a", "seti_1")
		checkCustomerState(t, s, "app_a", state(until.Add(time.Minute), "seti_2"))
		clear("app_b", "seti_2") // another app's user of the same appUserId
		checkCustomerState(t, s, "app_a", state(until.Add(time.Minute), "seti_2"))
		clear("app_a", "seti_2")
		checkCustomerState(t, s, "app_a", state(time.Time{}, ""))

		err := s.SetSetupPending(ctx, "app_a", "user_2", until, "seti_3")
		wantCode(t, "SetSetupPending of a user with no customer", err, appwheel.ENOTFOUND)
		if err := s.ClearSetupPending(ctx, "app_a", "user_2", "seti_3"); err != nil {
			t.Errorf("ClearSetupPending of a user with no customer: got error %v, want nil", err)
		}
	})

	t.Run("DefaultSetup", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_a1")
		mustPutCustomer(t, s, "app_b", "user_1", "cus_b1") // another app's user, same appUserId
		mustSetDefaultSetup(t, s, "app_b", "user_1", "seti_b")
		state := func(setupIntentID string) *appwheel.CustomerState {
			return &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_a1", DefaultSetupIntentID: setupIntentID}
		}
		checkCustomerState(t, s, "app_a", state(""))

		steps := []struct {
			name  string
			clear bool // ClearDefaultSetup, else SetDefaultSetup
			id    string
			want  string
		}{
			{"set", false, "seti_1", "seti_1"},
			{"set again", false, "seti_1", "seti_1"},
			{"clear another", true, "seti_other", "seti_1"},
			{"clear empty", true, "", "seti_1"},
			{"replace", false, "seti_2", "seti_2"},
			{"clear the replaced", true, "seti_1", "seti_2"}, // an older setup ending late
			{"clear", true, "seti_2", ""},
			{"clear again", true, "seti_2", ""},
			{"set after clear", false, "seti_3", "seti_3"},
		}
		for _, st := range steps {
			if st.clear {
				mustClearDefaultSetup(t, s, "app_a", "user_1", st.id)
			} else {
				mustSetDefaultSetup(t, s, "app_a", "user_1", st.id)
			}
			t.Run(st.name, func(t *testing.T) { checkCustomerState(t, s, "app_a", state(st.want)) })
		}

		// SyncedBefore returns it too.
		mustMarkSynced(t, s, "app_a", "user_1", t0)
		got, err := s.SyncedBefore(t.Context(), "app_a", t0.Add(time.Hour), 10)
		if err != nil {
			t.Fatalf("SyncedBefore: got error %v, want nil", err)
		}
		want := state("seti_3")
		want.SyncedAt = t0
		if diff := gocmp.Diff([]*appwheel.CustomerState{want}, got, equateMicro); diff != "" {
			t.Errorf("SyncedBefore(app_a) mismatch (-want +got):\n%s", diff)
		}

		// app_b's user_1 saw none of it, and app_a's Clear of its id does
		// not reach it.
		mustClearDefaultSetup(t, s, "app_a", "user_1", "seti_b")
		checkCustomerState(t, s, "app_b", &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_b1", DefaultSetupIntentID: "seti_b"})

		for _, k := range []struct{ app, user string }{
			{"app_a", "user_2"},
			{"app_b", "user_2"},
		} {
			err := s.SetDefaultSetup(t.Context(), k.app, k.user, "seti_1")
			wantCode(t, fmt.Sprintf("SetDefaultSetup(%s, %s) of a user with no customer", k.app, k.user), err, appwheel.ENOTFOUND)
			if err := s.ClearDefaultSetup(t.Context(), k.app, k.user, "seti_1"); err != nil {
				t.Errorf("ClearDefaultSetup(%s, %s) of a user with no customer: got error %v, want nil", k.app, k.user, err)
			}
			_, err = s.CustomerState(t.Context(), k.app, k.user)
			wantCode(t, fmt.Sprintf("CustomerState(%s, %s) after Set/ClearDefaultSetup", k.app, k.user), err, appwheel.ENOTFOUND)
		}
	})
}

func mustPutCustomer(t *testing.T, s appwheel.Store, appID, appUserID, customerID string) {
	t.Helper()
	if got, err := s.PutCustomer(t.Context(), appID, appUserID, customerID, t0); err != nil || got != customerID {
		t.Fatalf("PutCustomer(%s, %s, %s): got %q, %v; want %q, nil", appID, appUserID, customerID, got, err, customerID)
	}
}

func mustMarkSynced(t *testing.T, s appwheel.MirrorStore, appID, appUserID string, at time.Time) {
	t.Helper()
	if err := s.MarkSynced(t.Context(), appID, appUserID, at); err != nil {
		t.Fatalf("MarkSynced(%s, %s): got error %v, want nil", appID, appUserID, err)
	}
}

func mustSetDefaultSetup(t *testing.T, s appwheel.MirrorStore, appID, appUserID, setupIntentID string) {
	t.Helper()
	if err := s.SetDefaultSetup(t.Context(), appID, appUserID, setupIntentID); err != nil {
		t.Fatalf("SetDefaultSetup(%s, %s, %q): got error %v, want nil", appID, appUserID, setupIntentID, err)
	}
}

func mustClearDefaultSetup(t *testing.T, s appwheel.MirrorStore, appID, appUserID, setupIntentID string) {
	t.Helper()
	if err := s.ClearDefaultSetup(t.Context(), appID, appUserID, setupIntentID); err != nil {
		t.Fatalf("ClearDefaultSetup(%s, %s, %q): got error %v, want nil", appID, appUserID, setupIntentID, err)
	}
}

func checkSaveCustomer(t *testing.T, s appwheel.MirrorStore, appID string, c *appwheel.Customer, version int64, want bool) {
	t.Helper()
	got, err := s.SaveCustomer(t.Context(), appID, c, version)
	if err != nil {
		t.Fatalf("SaveCustomer(%s, %s, %d): got error %v, want nil", appID, c.ID, version, err)
	}
	if got != want {
		t.Errorf("SaveCustomer(%s, %s, %d): got wrote %v, want %v", appID, c.ID, version, got, want)
	}
}

func checkCustomerState(t *testing.T, s appwheel.MirrorStore, appID string, want *appwheel.CustomerState) {
	t.Helper()
	got, err := s.CustomerState(t.Context(), appID, want.AppUserID)
	if err != nil {
		t.Fatalf("CustomerState(%s, %s): got error %v, want nil", appID, want.AppUserID, err)
	}
	// ReadsVersion is the store's own count (testMirrorReadsVersion).
	if diff := gocmp.Diff(want, got, equateMicro, cmpopts.IgnoreFields(appwheel.CustomerState{}, "ReadsVersion")); diff != "" {
		t.Errorf("CustomerState(%s, %s) mismatch (-want +got):\n%s", appID, want.AppUserID, diff)
	}
}
