package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/appwheel/appwheel"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
		PriceNickname:    "Monthly plan",
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
