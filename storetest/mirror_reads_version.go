package storetest

import (
	"testing"

	"github.com/appwheel/appwheel"
)

// testMirrorReadsVersion checks CustomerState.ReadsVersion, which billing's
// page cache trusts to tell whether a rendered read is still current: it
// must change with every write to what the customer's reads show, only the
// customer's, and with no write that changes nothing.
func testMirrorReadsVersion(t *testing.T, newStore NewStoreFunc) {
	s := newStoreWithApps(t, newStore, "app_a", "app_b")
	mustPutCustomer(t, s, "app_a", "user_1", "cus_1")
	mustPutCustomer(t, s, "app_a", "user_2", "cus_2")
	mustPutCustomer(t, s, "app_b", "user_1", "cus_1") // the same Stripe customer, another app
	ctx := t.Context()
	versions := func() map[string]int64 {
		t.Helper()
		got := map[string]int64{}
		for _, k := range []struct{ app, user string }{{"app_a", "user_1"}, {"app_a", "user_2"}, {"app_b", "user_1"}} {
			st, err := s.CustomerState(ctx, k.app, k.user)
			if err != nil {
				t.Fatalf("CustomerState(%s, %s): %v", k.app, k.user, err)
			}
			got[k.app+"/"+k.user] = st.ReadsVersion
		}
		return got
	}
	sub := newSubscription("sub_1", "cus_1", "active", 1_700_000_000)
	pastDue := *sub
	pastDue.Status = "past_due"
	moved := newPaymentMethod("pm_1", "cus_2", 1_700_000_000) // pm_1 attached to cus_2 after cus_1
	steps := []struct {
		name    string
		write   func() error
		changes []string // the users whose version must change; every other stays
	}{
		{"method saved", func() error {
			_, err := s.SavePaymentMethod(ctx, "app_a", newPaymentMethod("pm_1", "cus_1", 1_700_000_000), 100)
			return err
		}, []string{"app_a/user_1"}},
		{"stale method snapshot", func() error {
			_, err := s.SavePaymentMethod(ctx, "app_a", newPaymentMethod("pm_1", "cus_1", 1_700_000_000), 50)
			return err
		}, nil},
		{"method moved to another customer", func() error {
			_, err := s.SavePaymentMethod(ctx, "app_a", moved, 200)
			return err
		}, []string{"app_a/user_1", "app_a/user_2"}},
		{"subscription saved", func() error {
			_, err := s.SaveSubscription(ctx, "app_a", sub, 100)
			return err
		}, []string{"app_a/user_1"}},
		{"the same subscription again (a redelivery)", func() error {
			_, err := s.SaveSubscription(ctx, "app_a", sub, 100)
			return err
		}, nil},
		{"an older status observed late (history only)", func() error {
			_, err := s.SaveSubscription(ctx, "app_a", &pastDue, 50)
			return err
		}, []string{"app_a/user_1"}},
		{"invoice saved", func() error {
			_, err := s.SaveInvoice(ctx, "app_a", newInvoice("in_1", "cus_1", 1_700_000_000), 100)
			return err
		}, []string{"app_a/user_1"}},
		{"stale invoice snapshot", func() error {
			_, err := s.SaveInvoice(ctx, "app_a", newInvoice("in_1", "cus_1", 1_700_000_000), 100)
			return err
		}, nil},
		{"invoice deleted", func() error {
			_, err := s.DeleteInvoice(ctx, "app_a", "in_1", 300)
			return err
		}, []string{"app_a/user_1"}},
		{"the other app's invoice", func() error {
			_, err := s.SaveInvoice(ctx, "app_b", newInvoice("in_1", "cus_1", 1_700_000_000), 100)
			return err
		}, []string{"app_b/user_1"}},
		{"customer's own columns", func() error {
			_, err := s.SaveCustomer(ctx, "app_a", &appwheel.Customer{ID: "cus_1", DefaultPaymentMethodID: "pm_9"}, 100)
			return err
		}, nil},
	}
	before := versions()
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		after := versions()
		for who, v := range after {
			want := "unchanged"
			for _, c := range step.changes {
				if c == who {
					want = "changed"
				}
			}
			if got := map[bool]string{true: "changed", false: "unchanged"}[v != before[who]]; got != want {
				t.Errorf("%s: %s's ReadsVersion %d → %d (%s), want %s", step.name, who, before[who], v, got, want)
			}
		}
		before = after
	}
}
