package storetest

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// mirrorStore is a store that keeps the mirror too. appwheel.Store does not
// embed appwheel.MirrorStore (yet), so the suite asserts it.
type mirrorStore interface {
	appwheel.Store
	appwheel.MirrorStore
}

func testMirror(t *testing.T, newStore NewStoreFunc) {
	s := newStore(t)
	if _, ok := s.(appwheel.MirrorStore); !ok {
		t.Fatalf("%T does not implement appwheel.MirrorStore", s)
	}
	t.Run("Event", func(t *testing.T) { testMirrorEvents(t, newStore) })
	t.Run("Customer", func(t *testing.T) { testMirrorCustomers(t, newStore) })
	t.Run("PaymentMethod", func(t *testing.T) { testMirrorPaymentMethods(t, newStore) })
	t.Run("Subscription", func(t *testing.T) { testMirrorSubscriptions(t, newStore) })
	t.Run("Invoice", func(t *testing.T) { testMirrorInvoices(t, newStore) })
}

// newMirrorWithApps is newStoreWithApps for the mirror's tests.
func newMirrorWithApps(t *testing.T, newStore NewStoreFunc, ids ...string) mirrorStore {
	t.Helper()
	s := newStoreWithApps(t, newStore, ids...)
	ms, ok := s.(mirrorStore)
	if !ok {
		t.Fatalf("%T does not implement appwheel.MirrorStore", s)
	}
	return ms
}

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
				s := newMirrorWithApps(t, newStore, "app_a")
				want := newEvent("app_a", "evt_1", t0)
				want.Payload = tt.payload
				checkRecord(t, s, want, true)
				checkEvent(t, s, want)
			})
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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
		s := newMirrorWithApps(t, newStore, "app_a")
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
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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
		s := newMirrorWithApps(t, newStore, "app_a")
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
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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

func testMirrorCustomers(t *testing.T, newStore NewStoreFunc) {
	t.Run("StateNotFound", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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
		s := newMirrorWithApps(t, newStore, "app_a")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		checkCustomerState(t, s, "app_a", &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_1"})
	})

	t.Run("SaveVersions", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
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
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
		checkSaveCustomer(t, s, "app_a", &appwheel.Customer{ID: "cus_unknown", DefaultPaymentMethodID: "pm_1"}, 100, false)
		// cus_1 is app_a's: app_b did not create it.
		checkSaveCustomer(t, s, "app_b", &appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_1"}, 100, false)
		checkCustomerState(t, s, "app_a", &appwheel.CustomerState{AppUserID: "user_1", CustomerID: "cus_1"})
		_, err := s.CustomerOwner(t.Context(), "app_a", "cus_unknown")
		wantCode(t, "CustomerOwner of the ignored customer", err, appwheel.ENOTFOUND)
	})

	t.Run("Owner", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
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
	if diff := gocmp.Diff(want, got, equateMicro); diff != "" {
		t.Errorf("CustomerState(%s, %s) mismatch (-want +got):\n%s", appID, want.AppUserID, diff)
	}
}

func testMirrorPaymentMethods(t *testing.T, newStore NewStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		want := newPaymentMethod("pm_1", "cus_1", 1_700_000_000)
		// Clients get these bytes as they are: nothing may re-encode them.
		want.Raw = []byte("{ \"id\" : \"pm_1\",\n\t\"card\": {\"last4\":\"4242\",\"brand\":\"visa\"},\n" +
			"\"name\": \"\\u00e9\u4e16\", \"n\": 12345678901234567890.000 }")
		checkSavePaymentMethod(t, s, "app_a", want, 100, true)
		checkPaymentMethod(t, s, "app_a", want)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		checkSavePaymentMethod(t, s, "app_a", newPaymentMethod("pm_1", "cus_1", 1), 100, true)
		for _, k := range []struct{ app, id string }{{"app_a", "pm_missing"}, {"app_b", "pm_1"}} {
			_, err := s.MirroredPaymentMethod(t.Context(), k.app, k.id)
			wantCode(t, fmt.Sprintf("MirroredPaymentMethod(%s, %s)", k.app, k.id), err, appwheel.ENOTFOUND)
		}
	})

	t.Run("Versions", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		snapshot := func(typ string) *appwheel.PaymentMethod {
			pm := newPaymentMethod("pm_1", "cus_1", 1_700_000_000)
			pm.Type = typ
			pm.Raw = fmt.Appendf(nil, `{"id":"pm_1","type":%q}`, typ)
			return pm
		}
		saves := []struct {
			name    string
			pm      *appwheel.PaymentMethod
			version int64
			wrote   bool
			want    *appwheel.PaymentMethod
		}{
			{"first", snapshot("card"), 100, true, snapshot("card")},
			{"older", snapshot("older"), 99, false, snapshot("card")},
			{"equal", snapshot("equal"), 100, false, snapshot("card")},
			{"newer", snapshot("sepa_debit"), 101, true, snapshot("sepa_debit")},
		}
		for _, sv := range saves {
			checkSavePaymentMethod(t, s, "app_a", sv.pm, sv.version, sv.wrote)
			t.Run(sv.name, func(t *testing.T) { checkPaymentMethod(t, s, "app_a", sv.want) })
		}
	})

	t.Run("NewestFirst", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		// Saved out of order; pm_b and pm_c tie on created, so id decides.
		for _, pm := range []*appwheel.PaymentMethod{
			newPaymentMethod("pm_c", "cus_1", 200),
			newPaymentMethod("pm_a", "cus_1", 100),
			newPaymentMethod("pm_d", "cus_1", 300),
			newPaymentMethod("pm_x", "cus_2", 250), // another customer's
			newPaymentMethod("pm_b", "cus_1", 200),
		} {
			checkSavePaymentMethod(t, s, "app_a", pm, 1000, true)
		}
		checkPaymentMethodsOf(t, s, "app_a", "cus_1",
			newPaymentMethod("pm_d", "cus_1", 300),
			newPaymentMethod("pm_c", "cus_1", 200),
			newPaymentMethod("pm_b", "cus_1", 200),
			newPaymentMethod("pm_a", "cus_1", 100))
		checkPaymentMethodsOf(t, s, "app_a", "cus_2", newPaymentMethod("pm_x", "cus_2", 250))
		checkPaymentMethodsOf(t, s, "app_a", "cus_none")
	})

	t.Run("Detach", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		attached := newPaymentMethod("pm_1", "cus_1", 100)
		detached := newPaymentMethod("pm_1", "", 100)
		checkSavePaymentMethod(t, s, "app_a", newPaymentMethod("pm_2", "cus_1", 50), 1000, true)
		checkSavePaymentMethod(t, s, "app_a", attached, 1000, true)
		checkPaymentMethodsOf(t, s, "app_a", "cus_1", attached, newPaymentMethod("pm_2", "cus_1", 50))

		checkSavePaymentMethod(t, s, "app_a", detached, 1001, true)
		checkPaymentMethodsOf(t, s, "app_a", "cus_1", newPaymentMethod("pm_2", "cus_1", 50))
		checkPaymentMethod(t, s, "app_a", detached)
		// The attach event delivered late does not bring it back.
		checkSavePaymentMethod(t, s, "app_a", attached, 1000, false)
		checkPaymentMethodsOf(t, s, "app_a", "cus_1", newPaymentMethod("pm_2", "cus_1", 50))
		// Detached methods are no customer's.
		checkPaymentMethodsOf(t, s, "app_a", "")
	})

	t.Run("ScopedByApp", func(t *testing.T) {
		// Apps sharing a Stripe account see the same method; each app's
		// copy has its own version.
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		inA := newPaymentMethod("pm_1", "cus_1", 100)
		inB := newPaymentMethod("pm_1", "cus_1", 100)
		inB.Raw = []byte(`{"id":"pm_1","seen_by":"app_b"}`)
		checkSavePaymentMethod(t, s, "app_a", inA, 200, true)
		checkSavePaymentMethod(t, s, "app_b", inB, 100, true) // older than app_a's, but app_b's first
		checkPaymentMethod(t, s, "app_a", inA)
		checkPaymentMethod(t, s, "app_b", inB)

		checkSavePaymentMethod(t, s, "app_b", newPaymentMethod("pm_1", "", 100), 150, true)
		checkPaymentMethodsOf(t, s, "app_b", "cus_1")
		checkPaymentMethodsOf(t, s, "app_a", "cus_1", inA)
	})
}

func newPaymentMethod(id, customerID string, created int64) *appwheel.PaymentMethod {
	return &appwheel.PaymentMethod{
		ID:         id,
		CustomerID: customerID,
		Type:       "card",
		Created:    created,
		Raw:        fmt.Appendf(nil, `{"id":%q,"object":"payment_method","created":%d}`, id, created),
	}
}

func checkSavePaymentMethod(t *testing.T, s appwheel.MirrorStore, appID string, pm *appwheel.PaymentMethod, version int64, want bool) {
	t.Helper()
	got, err := s.SavePaymentMethod(t.Context(), appID, pm, version)
	if err != nil {
		t.Fatalf("SavePaymentMethod(%s, %s, %d): got error %v, want nil", appID, pm.ID, version, err)
	}
	if got != want {
		t.Errorf("SavePaymentMethod(%s, %s, %d): got wrote %v, want %v", appID, pm.ID, version, got, want)
	}
}

// checkPaymentMethod compares the mirrored method with want, Raw byte for
// byte.
func checkPaymentMethod(t *testing.T, s appwheel.MirrorStore, appID string, want *appwheel.PaymentMethod) {
	t.Helper()
	got, err := s.MirroredPaymentMethod(t.Context(), appID, want.ID)
	if err != nil {
		t.Fatalf("MirroredPaymentMethod(%s, %s): got error %v, want nil", appID, want.ID, err)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("MirroredPaymentMethod(%s, %s) mismatch (-want +got):\n%s", appID, want.ID, diff)
	}
	if !bytes.Equal(got.Raw, want.Raw) {
		t.Errorf("MirroredPaymentMethod(%s, %s).Raw: got %q, want %q", appID, want.ID, got.Raw, want.Raw)
	}
}

func checkPaymentMethodsOf(t *testing.T, s appwheel.MirrorStore, appID, customerID string, want ...*appwheel.PaymentMethod) {
	t.Helper()
	got, err := s.PaymentMethodsOf(t.Context(), appID, customerID)
	if err != nil {
		t.Fatalf("PaymentMethodsOf(%s, %q): got error %v, want nil", appID, customerID, err)
	}
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("PaymentMethodsOf(%s, %q) mismatch (-want +got):\n%s", appID, customerID, diff)
	}
}

func testMirrorSubscriptions(t *testing.T, newStore NewStoreFunc) {
	// stream is one subscription's life as its events tell it, in version
	// order; each event carries the snapshot at its version.
	stream := []struct {
		status  string
		version int64
	}{
		{"active", 100},
		{"past_due", 200},
		{"active", 300},
		{"canceled", 400},
	}
	snapshot := func(id, status string, version int64) *appwheel.Subscription {
		sub := newSubscription(id, "cus_1", status, 50)
		sub.CurrentPeriodEnd = version + 1000
		sub.CancelAtPeriodEnd = status == "canceled"
		return sub
	}
	wantHistory := []appwheel.StatusChange{
		{Status: "active", At: 100},
		{Status: "past_due", At: 200},
		{Status: "active", At: 300},
		{Status: "canceled", At: 400},
	}

	t.Run("Versions", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		saves := []struct {
			name    string
			status  string
			version int64
			wrote   bool
			want    *appwheel.Subscription
		}{
			{"first", "incomplete", 100, true, snapshot("sub_1", "incomplete", 100)},
			{"older", "incomplete_expired", 99, false, snapshot("sub_1", "incomplete", 100)},
			{"equal", "trialing", 100, false, snapshot("sub_1", "incomplete", 100)},
			{"newer", "active", 101, true, snapshot("sub_1", "active", 101)},
		}
		for _, sv := range saves {
			checkSaveSubscription(t, s, "app_a", snapshot("sub_1", sv.status, sv.version), sv.version, sv.wrote)
			t.Run(sv.name, func(t *testing.T) { checkSubscriptionsOf(t, s, "app_a", "cus_1", sv.want) })
		}
	})

	t.Run("DefaultPaymentMethod", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		withPM := func(pm string) *appwheel.Subscription {
			sub := newSubscription("sub_1", "cus_1", "active", 50)
			sub.DefaultPaymentMethodID = pm
			return sub
		}
		saves := []struct {
			name    string
			pm      string
			version int64
			wrote   bool
			want    string
		}{
			{"first", "pm_1", 100, true, "pm_1"},
			{"older", "pm_old", 99, false, "pm_1"},
			{"equal", "pm_tie", 100, false, "pm_1"},
			{"newer", "pm_2", 101, true, "pm_2"},
			{"cleared", "", 102, true, ""},
			{"older set", "pm_3", 101, false, ""},
			{"set again", "pm_4", 103, true, "pm_4"},
		}
		for _, sv := range saves {
			checkSaveSubscription(t, s, "app_a", withPM(sv.pm), sv.version, sv.wrote)
			t.Run(sv.name, func(t *testing.T) { checkSubscriptionsOf(t, s, "app_a", "cus_1", withPM(sv.want)) })
		}
		// Another app's subscription of the same IDs keeps its own.
		checkSaveSubscription(t, s, "app_b", withPM("pm_b"), 50, true)
		checkSubscriptionsOf(t, s, "app_b", "cus_1", withPM("pm_b"))
		checkSubscriptionsOf(t, s, "app_a", "cus_1", withPM("pm_4"))
	})

	t.Run("NewestFirst", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		// Saved out of order; sub_b and sub_c tie on created, so id decides.
		for _, sub := range []*appwheel.Subscription{
			newSubscription("sub_c", "cus_1", "active", 200),
			newSubscription("sub_a", "cus_1", "canceled", 100),
			newSubscription("sub_x", "cus_2", "active", 250), // another customer's
			newSubscription("sub_d", "cus_1", "trialing", 300),
			newSubscription("sub_b", "cus_1", "past_due", 200),
		} {
			checkSaveSubscription(t, s, "app_a", sub, 1000, true)
		}
		checkSaveSubscription(t, s, "app_b", newSubscription("sub_y", "cus_1", "active", 400), 1000, true)
		checkSubscriptionsOf(t, s, "app_a", "cus_1",
			newSubscription("sub_d", "cus_1", "trialing", 300),
			newSubscription("sub_c", "cus_1", "active", 200),
			newSubscription("sub_b", "cus_1", "past_due", 200),
			newSubscription("sub_a", "cus_1", "canceled", 100))
		checkSubscriptionsOf(t, s, "app_b", "cus_1", newSubscription("sub_y", "cus_1", "active", 400))
		checkSubscriptionsOf(t, s, "app_a", "cus_none")
	})

	t.Run("HistoryInOrder", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		for _, e := range stream {
			checkSaveSubscription(t, s, "app_a", snapshot("sub_1", e.status, e.version), e.version, true)
		}
		checkSubscriptionsOf(t, s, "app_a", "cus_1", snapshot("sub_1", "canceled", 400))
		checkStatusHistory(t, s, "app_a", []string{"sub_1"}, map[string][]appwheel.StatusChange{"sub_1": wantHistory})
	})

	t.Run("HistoryShuffled", func(t *testing.T) {
		// Every delivery order of the stream, each to a subscription of its
		// own, gives the same history; then every event once more changes
		// nothing.
		s := newMirrorWithApps(t, newStore, "app_a")
		perms := permutations(len(stream))
		var ids []string
		want := map[string][]appwheel.StatusChange{}
		for p, perm := range perms {
			id := fmt.Sprintf("sub_%02d", p)
			ids = append(ids, id)
			want[id] = wantHistory
			var newest int64
			for _, i := range perm {
				e := stream[i]
				checkSaveSubscription(t, s, "app_a", snapshot(id, e.status, e.version), e.version, e.version > newest)
				newest = max(newest, e.version)
			}
			checkStatusHistory(t, s, "app_a", []string{id}, map[string][]appwheel.StatusChange{id: wantHistory})
			for _, i := range slices.Backward(perm) {
				e := stream[i]
				checkSaveSubscription(t, s, "app_a", snapshot(id, e.status, e.version), e.version, false)
			}
		}
		subs, err := s.SubscriptionsOf(t.Context(), "app_a", "cus_1")
		if err != nil {
			t.Fatalf("SubscriptionsOf: got error %v, want nil", err)
		}
		if len(subs) != len(perms) {
			t.Errorf("SubscriptionsOf: got %d subscriptions, want %d", len(subs), len(perms))
		}
		for _, sub := range subs {
			if diff := gocmp.Diff(snapshot(sub.ID, "canceled", 400), sub); diff != "" {
				t.Errorf("subscription %s mismatch (-want +got):\n%s", sub.ID, diff)
			}
		}
		checkStatusHistory(t, s, "app_a", ids, want)
	})

	t.Run("HistoryRepeatedStatus", func(t *testing.T) {
		// Most subscription events repeat the status (a renewal, a new
		// default method): in any order, they show no change.
		events := []struct {
			status  string
			version int64
		}{
			{"active", 100}, {"active", 150},
			{"past_due", 200}, {"past_due", 250},
			{"active", 300}, {"active", 350},
			{"canceled", 400}, {"canceled", 450},
		}
		s := newMirrorWithApps(t, newStore, "app_a")
		rng := rand.New(rand.NewPCG(1, 2))
		var ids []string
		want := map[string][]appwheel.StatusChange{}
		for p := range 6 {
			id := fmt.Sprintf("sub_%d", p)
			ids = append(ids, id)
			want[id] = wantHistory
			order := slices.Clone(events)
			if p > 0 { // the first in order
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			for _, e := range order {
				if _, err := s.SaveSubscription(t.Context(), "app_a", snapshot(id, e.status, e.version), e.version); err != nil {
					t.Fatalf("SaveSubscription(%s, %d): got error %v, want nil", id, e.version, err)
				}
			}
		}
		checkStatusHistory(t, s, "app_a", ids, want)
	})

	t.Run("HistoryScoped", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		checkSaveSubscription(t, s, "app_a", snapshot("sub_1", "active", 100), 100, true)
		checkSaveSubscription(t, s, "app_a", snapshot("sub_2", "trialing", 100), 100, true)
		checkSaveSubscription(t, s, "app_a", snapshot("sub_2", "active", 200), 200, true)
		checkSaveSubscription(t, s, "app_b", snapshot("sub_1", "past_due", 150), 150, true)

		checkStatusHistory(t, s, "app_a", []string{"sub_1", "sub_2", "sub_unknown"}, map[string][]appwheel.StatusChange{
			"sub_1": {{Status: "active", At: 100}},
			"sub_2": {{Status: "trialing", At: 100}, {Status: "active", At: 200}},
		})
		checkStatusHistory(t, s, "app_a", []string{"sub_2"}, map[string][]appwheel.StatusChange{
			"sub_2": {{Status: "trialing", At: 100}, {Status: "active", At: 200}},
		})
		checkStatusHistory(t, s, "app_b", []string{"sub_1", "sub_2"}, map[string][]appwheel.StatusChange{
			"sub_1": {{Status: "past_due", At: 150}},
		})
		checkStatusHistory(t, s, "app_a", nil, map[string][]appwheel.StatusChange{})
	})
}

func newSubscription(id, customerID, status string, created int64) *appwheel.Subscription {
	return &appwheel.Subscription{
		ID:               id,
		CustomerID:       customerID,
		Status:           status,
		PriceID:          "price_monthly",
		Interval:         "month",
		IntervalCount:    3,
		CurrentPeriodEnd: created + 90*24*3600,
		Created:          created,
	}
}

// permutations returns every order of 0…n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var all [][]int
	for _, p := range permutations(n - 1) {
		for i := range n {
			all = append(all, slices.Insert(slices.Clone(p), i, n-1))
		}
	}
	return all
}

func checkSaveSubscription(t *testing.T, s appwheel.MirrorStore, appID string, sub *appwheel.Subscription, version int64, want bool) {
	t.Helper()
	got, err := s.SaveSubscription(t.Context(), appID, sub, version)
	if err != nil {
		t.Fatalf("SaveSubscription(%s, %s, %d): got error %v, want nil", appID, sub.ID, version, err)
	}
	if got != want {
		t.Errorf("SaveSubscription(%s, %s, %d): got wrote %v, want %v", appID, sub.ID, version, got, want)
	}
}

func checkSubscriptionsOf(t *testing.T, s appwheel.MirrorStore, appID, customerID string, want ...*appwheel.Subscription) {
	t.Helper()
	got, err := s.SubscriptionsOf(t.Context(), appID, customerID)
	if err != nil {
		t.Fatalf("SubscriptionsOf(%s, %s): got error %v, want nil", appID, customerID, err)
	}
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("SubscriptionsOf(%s, %s) mismatch (-want +got):\n%s", appID, customerID, diff)
	}
}

func checkStatusHistory(t *testing.T, s appwheel.MirrorStore, appID string, ids []string, want map[string][]appwheel.StatusChange) {
	t.Helper()
	got, err := s.StatusHistory(t.Context(), appID, ids)
	if err != nil {
		t.Fatalf("StatusHistory(%s, %v): got error %v, want nil", appID, ids, err)
	}
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("StatusHistory(%s, %v) mismatch (-want +got):\n%s", appID, ids, diff)
	}
}

func testMirrorInvoices(t *testing.T, newStore NewStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		want := newInvoice("in_1", "cus_1", 1_700_000_000)
		checkSaveInvoice(t, s, "app_a", want, 100, true)
		checkInvoice(t, s, "app_a", want)
		oneOff := &appwheel.Invoice{ID: "in_2", CustomerID: "cus_1", Status: "draft", Currency: "eur", Created: 1_700_000_001}
		checkSaveInvoice(t, s, "app_a", oneOff, 100, true)
		checkInvoice(t, s, "app_a", oneOff)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 1), 100, true)
		for _, k := range []struct{ app, id string }{{"app_a", "in_missing"}, {"app_b", "in_1"}} {
			_, err := s.MirroredInvoice(t.Context(), k.app, k.id)
			wantCode(t, fmt.Sprintf("MirroredInvoice(%s, %s)", k.app, k.id), err, appwheel.ENOTFOUND)
		}
	})

	t.Run("Versions", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		snapshot := func(status string) *appwheel.Invoice {
			inv := newInvoice("in_1", "cus_1", 1_700_000_000)
			inv.Status = status
			if status == "paid" {
				inv.AmountPaid, inv.PaidAt = inv.AmountDue, inv.Created+3600
			}
			return inv
		}
		saves := []struct {
			name    string
			inv     *appwheel.Invoice
			version int64
			wrote   bool
			want    *appwheel.Invoice
		}{
			{"first", snapshot("open"), 100, true, snapshot("open")},
			{"older", snapshot("draft"), 50, false, snapshot("open")},
			{"equal", snapshot("void"), 100, false, snapshot("open")},
			{"newer", snapshot("paid"), 200, true, snapshot("paid")},
		}
		for _, sv := range saves {
			checkSaveInvoice(t, s, "app_a", sv.inv, sv.version, sv.wrote)
			t.Run(sv.name, func(t *testing.T) { checkInvoice(t, s, "app_a", sv.want) })
		}
	})

	t.Run("Pages", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		// 25 invoices of cus_1 in app_a, three to a created second so that
		// id breaks ties, ids not in created order, saved in a shuffled
		// order; around them, invoices of another customer and, under the
		// same ids, of another app.
		var invs []*appwheel.Invoice
		saved := map[string]*appwheel.Invoice{}
		for i := range 25 {
			inv := newInvoice(fmt.Sprintf("in_%02d", i*7%25), "cus_1", 1_700_000_000+int64(i/3)*60)
			invs = append(invs, inv)
			saved[inv.ID] = inv
		}
		byNewest := slices.SortedFunc(maps.Values(saved), func(a, b *appwheel.Invoice) int {
			return cmp.Or(cmp.Compare(b.Created, a.Created), cmp.Compare(b.ID, a.ID))
		})
		var want []string
		for _, inv := range byNewest {
			want = append(want, inv.ID)
		}
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(invs), func(i, j int) { invs[i], invs[j] = invs[j], invs[i] })
		for i, inv := range invs {
			checkSaveInvoice(t, s, "app_a", inv, 100, true)
			other := newInvoice(fmt.Sprintf("in_other_%02d", i), "cus_2", inv.Created)
			checkSaveInvoice(t, s, "app_a", other, 100, true)
			checkSaveInvoice(t, s, "app_b", newInvoice(inv.ID, "cus_1", inv.Created+30), 100, true)
		}

		tests := []struct {
			limit int
			sizes []int // of each page; all but the last have more
		}{
			{10, []int{10, 10, 5}},
			{5, []int{5, 5, 5, 5, 5}}, // the last page ends on the last invoice
			{25, []int{25}},
			{100, []int{25}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprint("limit ", tt.limit), func(t *testing.T) {
				var got []string
				after := ""
				for i, size := range tt.sizes {
					page, err := s.InvoicesOf(t.Context(), "app_a", appwheel.ListInvoicesParams{
						CustomerID: "cus_1", Limit: tt.limit, StartingAfter: after,
					})
					if err != nil {
						t.Fatalf("page %d: InvoicesOf: got error %v, want nil", i, err)
					}
					if len(page.Invoices) != size {
						t.Fatalf("page %d: got %d invoices, want %d", i, len(page.Invoices), size)
					}
					if wantMore := i < len(tt.sizes)-1; page.HasMore != wantMore {
						t.Errorf("page %d: got HasMore %v, want %v", i, page.HasMore, wantMore)
					}
					for _, inv := range page.Invoices {
						got = append(got, inv.ID)
						if diff := gocmp.Diff(saved[inv.ID], inv); diff != "" {
							t.Errorf("page %d: invoice %s mismatch (-want +got):\n%s", i, inv.ID, diff)
						}
					}
					after = got[len(got)-1]
				}
				if diff := gocmp.Diff(want, got); diff != "" {
					t.Errorf("invoices across pages mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("PageContent", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		older := newInvoice("in_1", "cus_1", 100)
		newer := newInvoice("in_2", "cus_1", 200)
		newer.ServicePeriodStart, newer.ServicePeriodEnd = 250, 350
		checkSaveInvoice(t, s, "app_a", older, 100, true)
		checkSaveInvoice(t, s, "app_a", newer, 100, true)
		page, err := s.InvoicesOf(t.Context(), "app_a", appwheel.ListInvoicesParams{CustomerID: "cus_1", Limit: 10})
		if err != nil {
			t.Fatalf("InvoicesOf: got error %v, want nil", err)
		}
		want := &appwheel.InvoicePage{Invoices: []*appwheel.Invoice{newer, older}}
		if diff := gocmp.Diff(want, page); diff != "" {
			t.Errorf("InvoicesOf mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		checkSaveInvoice(t, s, "app_b", newInvoice("in_1", "cus_1", 100), 100, true)
		page, err := s.InvoicesOf(t.Context(), "app_a", appwheel.ListInvoicesParams{CustomerID: "cus_1", Limit: 10})
		if err != nil {
			t.Fatalf("InvoicesOf: got error %v, want nil", err)
		}
		if len(page.Invoices) != 0 || page.HasMore {
			t.Errorf("InvoicesOf of a customer with no invoices: got %d invoices, HasMore %v; want none, false",
				len(page.Invoices), page.HasMore)
		}
	})

	t.Run("StartingAfterNotFound", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 100), 100, true)
		checkSaveInvoice(t, s, "app_a", newInvoice("in_2", "cus_2", 100), 100, true)
		checkSaveInvoice(t, s, "app_b", newInvoice("in_3", "cus_1", 100), 100, true)
		for _, after := range []string{
			"in_missing",
			"in_2", // another customer's
			"in_3", // another app's
		} {
			_, err := s.InvoicesOf(t.Context(), "app_a", appwheel.ListInvoicesParams{CustomerID: "cus_1", Limit: 10, StartingAfter: after})
			wantCode(t, "InvoicesOf after "+after, err, appwheel.ENOTFOUND)
		}
	})

	t.Run("Delete", func(t *testing.T) { testDeleteInvoice(t, newStore) })
}

// testDeleteInvoice checks DeleteInvoice: a deleted invoice is gone from
// every read, and stays gone whatever snapshot arrives after.
func testDeleteInvoice(t *testing.T, newStore NewStoreFunc) {
	t.Run("GoneFromReads", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		kept := newInvoice("in_1", "cus_1", 100)
		checkSaveInvoice(t, s, "app_a", kept, 100, true)
		checkSaveInvoice(t, s, "app_a", newInvoice("in_2", "cus_1", 200), 100, true)
		checkDeleteInvoice(t, s, "app_a", "in_2", 200, true)
		_, err := s.MirroredInvoice(t.Context(), "app_a", "in_2")
		wantCode(t, "MirroredInvoice of a deleted invoice", err, appwheel.ENOTFOUND)
		checkInvoicesOf(t, s, "app_a", "cus_1", kept)
		_, err = s.InvoicesOf(t.Context(), "app_a", appwheel.ListInvoicesParams{CustomerID: "cus_1", Limit: 10, StartingAfter: "in_2"})
		wantCode(t, "InvoicesOf after a deleted invoice", err, appwheel.ENOTFOUND)
	})

	t.Run("Versions", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a")
		inv := newInvoice("in_1", "cus_1", 100)
		inv.Status = "draft"
		checkSaveInvoice(t, s, "app_a", inv, 100, true)
		// A deletion older than the snapshot is stale.
		checkDeleteInvoice(t, s, "app_a", "in_1", 50, false)
		checkInvoice(t, s, "app_a", inv)

		checkDeleteInvoice(t, s, "app_a", "in_1", 200, true)
		// A late invoice.updated older than the deletion does not bring it
		// back, nor does a newer snapshot: Stripe never resurrects one.
		checkSaveInvoice(t, s, "app_a", inv, 150, false)
		checkSaveInvoice(t, s, "app_a", inv, 300, false)
		checkDeleteInvoice(t, s, "app_a", "in_1", 400, false) // deleted already
		_, err := s.MirroredInvoice(t.Context(), "app_a", "in_1")
		wantCode(t, "MirroredInvoice after later saves", err, appwheel.ENOTFOUND)
		checkInvoicesOf(t, s, "app_a", "cus_1")
	})

	t.Run("TieGoesToTheDeletion", func(t *testing.T) {
		// invoice.updated and invoice.deleted of the same second carry the
		// same version; nothing happens to an invoice after its deletion.
		s := newMirrorWithApps(t, newStore, "app_a")
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 100), 100, true)
		checkDeleteInvoice(t, s, "app_a", "in_1", 100, true)
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 100), 100, false)
		checkInvoicesOf(t, s, "app_a", "cus_1")
	})

	t.Run("BeforeMirrored", func(t *testing.T) {
		// The deletion is delivered before the invoice's creation.
		s := newMirrorWithApps(t, newStore, "app_a")
		checkDeleteInvoice(t, s, "app_a", "in_1", 200, true)
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 100), 100, false)
		_, err := s.MirroredInvoice(t.Context(), "app_a", "in_1")
		wantCode(t, "MirroredInvoice of an invoice deleted first", err, appwheel.ENOTFOUND)
		checkInvoicesOf(t, s, "app_a", "cus_1")
	})

	t.Run("ScopedByApp", func(t *testing.T) {
		s := newMirrorWithApps(t, newStore, "app_a", "app_b")
		a, b := newInvoice("in_1", "cus_1", 100), newInvoice("in_1", "cus_1", 100)
		b.Number = "B-1"
		checkSaveInvoice(t, s, "app_a", a, 100, true)
		checkSaveInvoice(t, s, "app_b", b, 100, true)
		checkDeleteInvoice(t, s, "app_a", "in_1", 200, true)
		checkInvoice(t, s, "app_b", b)
		checkInvoicesOf(t, s, "app_b", "cus_1", b)
		// And app_b can still delete its own.
		checkDeleteInvoice(t, s, "app_b", "in_1", 200, true)
		checkInvoicesOf(t, s, "app_b", "cus_1")
	})

	t.Run("RaceWithOlderSaves", func(t *testing.T) {
		// Saves older than the deletion racing it: whatever the order they
		// commit in, the invoice ends deleted, and one deletion reports it.
		s := newMirrorWithApps(t, newStore, "app_a")
		deleted := race(t, func(i int) (bool, error) {
			if i%2 == 0 {
				_, err := s.SaveInvoice(t.Context(), "app_a", newInvoice("in_1", "cus_1", 100), int64(1+i))
				return false, err
			}
			return s.DeleteInvoice(t.Context(), "app_a", "in_1", 1000)
		})
		if n := len(slices.DeleteFunc(deleted, func(d bool) bool { return !d })); n != 1 {
			t.Errorf("DeleteInvoice reported a deletion %d times, want once", n)
		}
		_, err := s.MirroredInvoice(t.Context(), "app_a", "in_1")
		wantCode(t, "MirroredInvoice after the race", err, appwheel.ENOTFOUND)
		checkInvoicesOf(t, s, "app_a", "cus_1")
	})

	t.Run("Pages", func(t *testing.T) {
		// Pages skip a deleted invoice and still count HasMore right.
		s := newMirrorWithApps(t, newStore, "app_a")
		for i := range 5 { // in_0 the newest
			checkSaveInvoice(t, s, "app_a", newInvoice(fmt.Sprintf("in_%d", i), "cus_1", int64(500-i)), 100, true)
		}
		checkDeleteInvoice(t, s, "app_a", "in_1", 200, true)
		checkDeleteInvoice(t, s, "app_a", "in_4", 200, true)
		after := ""
		for i, want := range []struct {
			ids  []string
			more bool
		}{{[]string{"in_0", "in_2"}, true}, {[]string{"in_3"}, false}} {
			page, err := s.InvoicesOf(t.Context(), "app_a", appwheel.ListInvoicesParams{CustomerID: "cus_1", Limit: 2, StartingAfter: after})
			if err != nil {
				t.Fatalf("page %d: InvoicesOf: got error %v, want nil", i, err)
			}
			var ids []string
			for _, inv := range page.Invoices {
				ids = append(ids, inv.ID)
			}
			if !slices.Equal(ids, want.ids) || page.HasMore != want.more {
				t.Fatalf("page %d: got %v, HasMore %v; want %v, %v", i, ids, page.HasMore, want.ids, want.more)
			}
			after = ids[len(ids)-1]
		}
	})
}

func checkDeleteInvoice(t *testing.T, s appwheel.MirrorStore, appID, id string, version int64, want bool) {
	t.Helper()
	got, err := s.DeleteInvoice(t.Context(), appID, id, version)
	if err != nil {
		t.Fatalf("DeleteInvoice(%s, %s, %d): got error %v, want nil", appID, id, version, err)
	}
	if got != want {
		t.Errorf("DeleteInvoice(%s, %s, %d): got %v, want %v", appID, id, version, got, want)
	}
}

// checkInvoicesOf checks the first page of the customer's invoices: want,
// and no more.
func checkInvoicesOf(t *testing.T, s appwheel.MirrorStore, appID, customerID string, want ...*appwheel.Invoice) {
	t.Helper()
	page, err := s.InvoicesOf(t.Context(), appID, appwheel.ListInvoicesParams{CustomerID: customerID, Limit: 100})
	if err != nil {
		t.Fatalf("InvoicesOf(%s, %s): got error %v, want nil", appID, customerID, err)
	}
	if want == nil {
		want = []*appwheel.Invoice{}
	}
	if diff := gocmp.Diff(&appwheel.InvoicePage{Invoices: want}, page); diff != "" {
		t.Errorf("InvoicesOf(%s, %s) mismatch (-want +got):\n%s", appID, customerID, diff)
	}
}

// newInvoice returns an invoice of a subscription with every field set.
func newInvoice(id, customerID string, created int64) *appwheel.Invoice {
	return &appwheel.Invoice{
		ID:                 id,
		CustomerID:         customerID,
		SubscriptionID:     "sub_of_" + id,
		PriceID:            "price_monthly",
		Number:             "NR-" + id,
		Status:             "open",
		CustomerEmail:      "user@example.com",
		InvoicePDF:         "https://pay.stripe.com/invoice/" + id + "/pdf",
		HostedInvoiceURL:   "https://invoice.stripe.com/i/" + id,
		AmountDue:          1999,
		AmountPaid:         0,
		Currency:           "usd",
		Created:            created,
		PeriodStart:        created - 30*24*3600,
		PeriodEnd:          created,
		ServicePeriodStart: created,
		ServicePeriodEnd:   created + 30*24*3600,
		PriceInterval:      "month",
		PriceIntervalCount: 3,
	}
}

func checkSaveInvoice(t *testing.T, s appwheel.MirrorStore, appID string, inv *appwheel.Invoice, version int64, want bool) {
	t.Helper()
	got, err := s.SaveInvoice(t.Context(), appID, inv, version)
	if err != nil {
		t.Fatalf("SaveInvoice(%s, %s, %d): got error %v, want nil", appID, inv.ID, version, err)
	}
	if got != want {
		t.Errorf("SaveInvoice(%s, %s, %d): got wrote %v, want %v", appID, inv.ID, version, got, want)
	}
}

func checkInvoice(t *testing.T, s appwheel.MirrorStore, appID string, want *appwheel.Invoice) {
	t.Helper()
	got, err := s.MirroredInvoice(t.Context(), appID, want.ID)
	if err != nil {
		t.Fatalf("MirroredInvoice(%s, %s): got error %v, want nil", appID, want.ID, err)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("MirroredInvoice(%s, %s) mismatch (-want +got):\n%s", appID, want.ID, diff)
	}
}
