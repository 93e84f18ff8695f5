package storetest

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/appwheel/appwheel"
	gocmp "github.com/google/go-cmp/cmp"
)

func testMirrorInvoices(t *testing.T, newStore NewStoreFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		want := newInvoice("in_1", "cus_1", 1_700_000_000)
		checkSaveInvoice(t, s, "app_a", want, 100, true)
		checkInvoice(t, s, "app_a", want)
		oneOff := &appwheel.Invoice{ID: "in_2", CustomerID: "cus_1", Status: "draft", Currency: "eur", Created: 1_700_000_001}
		checkSaveInvoice(t, s, "app_a", oneOff, 100, true)
		checkInvoice(t, s, "app_a", oneOff)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 1), 100, true)
		for _, k := range []struct{ app, id string }{{"app_a", "in_missing"}, {"app_b", "in_1"}} {
			_, err := s.MirroredInvoice(t.Context(), k.app, k.id)
			wantCode(t, fmt.Sprintf("MirroredInvoice(%s, %s)", k.app, k.id), err, appwheel.ENOTFOUND)
		}
	})

	t.Run("Versions", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a")
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 100), 100, true)
		checkDeleteInvoice(t, s, "app_a", "in_1", 100, true)
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 100), 100, false)
		checkInvoicesOf(t, s, "app_a", "cus_1")
	})

	t.Run("BeforeMirrored", func(t *testing.T) {
		// The deletion is delivered before the invoice's creation.
		s := newStoreWithApps(t, newStore, "app_a")
		checkDeleteInvoice(t, s, "app_a", "in_1", 200, true)
		checkSaveInvoice(t, s, "app_a", newInvoice("in_1", "cus_1", 100), 100, false)
		_, err := s.MirroredInvoice(t.Context(), "app_a", "in_1")
		wantCode(t, "MirroredInvoice of an invoice deleted first", err, appwheel.ENOTFOUND)
		checkInvoicesOf(t, s, "app_a", "cus_1")
	})

	t.Run("ScopedByApp", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
		s := newStoreWithApps(t, newStore, "app_a")
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
