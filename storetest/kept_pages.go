package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/appwheel/appwheel"
	gocmp "github.com/google/go-cmp/cmp"
)

// testKeptPages checks KeptPage and KeepPage, the rendered pages billing
// keeps in the database so that every replica serves them: a page kept
// comes back byte for byte, and of two renders the one at the newer
// ReadsVersion stays, whatever order they are kept in.
func testKeptPages(t *testing.T, newStore NewStoreFunc) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		checkKeptPage(t, s, "app_a", "cus_1", "invoices", nil)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		want := keptPage(5, "pm_1", 1_700_003_600, "first")
		// Clients get these bytes as they are: nothing may re-encode them.
		want.Body = []byte("{ \"data\" : [\n\t{\"id\":\"in_1\", \"n\": 12345678901234567890.000}],\n" +
			"\"name\": \"\\u00e9\u4e16\", \"has_more\":false }")
		mustKeepPage(t, s, "app_a", "cus_1", "invoices", want)
		checkKeptPage(t, s, "app_a", "cus_1", "invoices", want)
	})

	t.Run("Versions", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		keeps := []struct {
			name string
			p    *appwheel.KeptPage
			want *appwheel.KeptPage
		}{
			{"first", keptPage(5, "pm_1", 1_700_003_600, "v5"), keptPage(5, "pm_1", 1_700_003_600, "v5")},
			{"newer", keptPage(7, "pm_2", 1_700_007_200, "v7"), keptPage(7, "pm_2", 1_700_007_200, "v7")},
			{"older", keptPage(6, "pm_1", 1_700_090_000, "v6"), keptPage(7, "pm_2", 1_700_007_200, "v7")},
			// Rendered again at the same version, e.g. after it expired.
			{"same", keptPage(7, "pm_2", 1_700_010_800, "v7 again"), keptPage(7, "pm_2", 1_700_010_800, "v7 again")},
		}
		for _, k := range keeps {
			mustKeepPage(t, s, "app_a", "cus_1", "invoices", k.p)
			t.Run(k.name, func(t *testing.T) { checkKeptPage(t, s, "app_a", "cus_1", "invoices", k.want) })
		}
	})

	t.Run("Separate", func(t *testing.T) {
		// Kinds, customers and apps each keep their own page: another app
		// with the same customer ID (apps sharing a Stripe account) sees
		// none of this one's, and its older version replaces nothing here.
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		mine := keptPage(7, "pm_1", 1_700_003_600, "app_a cus_1 invoices")
		mustKeepPage(t, s, "app_a", "cus_1", "invoices", mine)
		for _, k := range []struct{ app, customer, kind string }{
			{"app_a", "cus_1", "methods"},
			{"app_a", "cus_2", "invoices"},
			{"app_b", "cus_1", "invoices"},
		} {
			checkKeptPage(t, s, k.app, k.customer, k.kind, nil)
		}
		others := map[[3]string]*appwheel.KeptPage{}
		for i, k := range [][3]string{{"app_a", "cus_1", "methods"}, {"app_a", "cus_2", "invoices"}, {"app_b", "cus_1", "invoices"}} {
			p := keptPage(int64(1+i), "pm_9", 1_700_000_000, fmt.Sprintf("%s %s %s", k[0], k[1], k[2]))
			mustKeepPage(t, s, k[0], k[1], k[2], p)
			others[k] = p
		}
		checkKeptPage(t, s, "app_a", "cus_1", "invoices", mine)
		for k, p := range others {
			checkKeptPage(t, s, k[0], k[1], k[2], p)
		}
	})

	t.Run("LargeBody", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		want := keptPage(1, "pm_1", 1_700_003_600, "")
		want.Body = make([]byte, 64<<10)
		for i := range want.Body { // every byte value, in no repeating run
			want.Body[i] = byte(i*7 + i>>8)
		}
		mustKeepPage(t, s, "app_a", "cus_1", "invoices", want)
		checkKeptPage(t, s, "app_a", "cus_1", "invoices", want)
	})

	t.Run("Race", func(t *testing.T) {
		// Replicas keeping renders of several versions at once: the newest
		// stays, whichever writes last.
		s := newStoreWithApps(t, newStore, "app_a")
		race(t, func(i int) (struct{}, error) {
			v := int64(i % (racers / 2)) // two renders of each version
			return struct{}{}, s.KeepPage(t.Context(), "app_a", "cus_1", "invoices", keptPage(v, "pm_1", 1_700_000_000, fmt.Sprint("v", v)))
		})
		newest := int64(racers/2 - 1)
		checkKeptPage(t, s, "app_a", "cus_1", "invoices", keptPage(newest, "pm_1", 1_700_000_000, fmt.Sprint("v", newest)))
	})
}

// keptPage is a page rendered at version, its body JSON naming what.
func keptPage(version int64, defaultID string, expires int64, what string) *appwheel.KeptPage {
	return &appwheel.KeptPage{
		Version:   version,
		DefaultID: defaultID,
		Expires:   expires,
		Body:      fmt.Appendf(nil, `{"object":"list","what":%q}`, what),
	}
}

func mustKeepPage(t *testing.T, s appwheel.MirrorStore, appID, customerID, kind string, p *appwheel.KeptPage) {
	t.Helper()
	if err := s.KeepPage(t.Context(), appID, customerID, kind, p); err != nil {
		t.Fatalf("KeepPage(%s, %s, %s, version %d): got error %v, want nil", appID, customerID, kind, p.Version, err)
	}
}

// checkKeptPage compares the page kept with want, Body byte for byte; a
// nil want means none is kept (ENOTFOUND).
func checkKeptPage(t *testing.T, s appwheel.MirrorStore, appID, customerID, kind string, want *appwheel.KeptPage) {
	t.Helper()
	got, err := s.KeptPage(t.Context(), appID, customerID, kind)
	if want == nil {
		wantCode(t, fmt.Sprintf("KeptPage(%s, %s, %s)", appID, customerID, kind), err, appwheel.ENOTFOUND)
		if got != nil {
			t.Errorf("KeptPage(%s, %s, %s): got %+v, want nil", appID, customerID, kind, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("KeptPage(%s, %s, %s): got error %v, want nil", appID, customerID, kind, err)
	}
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("KeptPage(%s, %s, %s).Body: got %d bytes %.80q, want %d bytes %.80q", appID, customerID, kind, len(got.Body), got.Body, len(want.Body), want.Body)
	}
	gotMeta, wantMeta := *got, *want
	gotMeta.Body, wantMeta.Body = nil, nil
	if diff := gocmp.Diff(wantMeta, gotMeta); diff != "" {
		t.Errorf("KeptPage(%s, %s, %s) mismatch (-want +got):\n%s", appID, customerID, kind, diff)
	}
}
