package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/appwheel/appwheel"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testMirrorPaymentMethods(t *testing.T, newStore NewStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		want := newPaymentMethod("pm_1", "cus_1", 1_700_000_000)
		// Clients get these bytes as they are: nothing may re-encode them.
		want.Raw = []byte("{ \"id\" : \"pm_1\",\n\t\"card\": {\"last4\":\"4242\",\"brand\":\"visa\"},\n" +
			"\"name\": \"\\u00e9\u4e16\", \"n\": 12345678901234567890.000 }")
		checkSavePaymentMethod(t, s, "app_a", want, 100, true)
		checkPaymentMethod(t, s, "app_a", want)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		checkSavePaymentMethod(t, s, "app_a", newPaymentMethod("pm_1", "cus_1", 1), 100, true)
		for _, k := range []struct{ app, id string }{{"app_a", "pm_missing"}, {"app_b", "pm_1"}} {
			_, err := s.MirroredPaymentMethod(t.Context(), k.app, k.id)
			wantCode(t, fmt.Sprintf("MirroredPaymentMethod(%s, %s)", k.app, k.id), err, appwheel.ENOTFOUND)
		}
	})

	t.Run("Versions", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
