package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testImports(t *testing.T, newStore NewStoreFunc) {
	t.Run("NotFound", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		_, err := s.ImportRun(ctx, "app_a")
		wantCode(t, "ImportRun of an app without an import", err, appwheel.ENOTFOUND)
		_, err = s.ImportRun(ctx, "app_missing")
		wantCode(t, "ImportRun of an unknown app", err, appwheel.ENOTFOUND)
		checkImportItems(t, s, "app_a", 0, 100, false, nil)
		checkImportWritesNotFound(t, s, "app_a", "imp_1")
		_, err = s.ImportRun(ctx, "app_a")
		wantCode(t, "ImportRun after writes to no import", err, appwheel.ENOTFOUND)
	})

	t.Run("CreateThenRun", func(t *testing.T) {
		// Every field comes back, times to the microsecond; a zero
		// FinishedAt stays zero.
		full := newImportRun("app_a", "imp_1", t0)
		full.MetadataKey = "user_id"
		full.DryRun = true
		full.Background = true
		full.ListedAfter = "cus_after"
		full.Listed = true
		full.Error = "stripe: rate limited"
		finished := newImportRun("app_a", "imp_1", t0)
		finished.UpdatedAt = t0.Add(time.Minute)
		finished.FinishedAt = t0.Add(2 * time.Minute)
		tests := []struct {
			name string
			run  *appwheel.ImportRun
		}{
			{"every field set", full},
			{"every field empty", &appwheel.ImportRun{AppID: "app_a", ID: "imp_1", CreatedAt: t0, UpdatedAt: t0}},
			{"finished", finished},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a")
				mustCreateImport(t, s, tt.run, nil)
				want := *tt.run
				got := checkImportRun(t, s, &want)
				if tt.run.FinishedAt.IsZero() && !got.FinishedAt.IsZero() {
					t.Errorf("ImportRun: FinishedAt = %v, want zero", got.FinishedAt)
				}
			})
		}
	})

	t.Run("Counts", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		items := []appwheel.ImportItem{
			{Seq: 1, AppUserID: "user_1", CustomerID: "cus_1"},
			{Seq: 2, AppUserID: "user_2", CustomerID: "cus_2", Outcome: appwheel.ImportLinked, Reason: "linked by metadata"},
			{Seq: 3, AppUserID: "user_3", CustomerID: "cus_3", Outcome: appwheel.ImportWouldLink},
			{Seq: 4, AppUserID: "user_4", CustomerID: "cus_4", Outcome: appwheel.ImportSkipped, Reason: "no metadata"},
			{Seq: 5, AppUserID: "user_5", CustomerID: "cus_5", Outcome: appwheel.ImportAlreadyLinked},
			{Seq: 6, AppUserID: "user_6", CustomerID: "cus_6", Outcome: appwheel.ImportAlreadyLinked},
			{Seq: 7, AppUserID: "user_7", CustomerID: "cus_7", Outcome: appwheel.ImportFailed, Reason: "customer deleted"},
			{Seq: 8, AppUserID: "user_8", CustomerID: "cus_8"},
			{Seq: 9, AppUserID: "user_9", CustomerID: "cus_9"},
		}
		run := newImportRun("app_a", "imp_1", t0)
		mustCreateImport(t, s, run, items)
		want := *run
		want.Counts = appwheel.ImportCounts{Seen: 9, Pending: 3, Linked: 2, Skipped: 3, Failed: 1}
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, items)
	})

	t.Run("CreateReplaces", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		old := newImportRun("app_a", "imp_old", t0)
		old.MetadataKey = "user_id"
		old.Error = "old failure"
		mustCreateImport(t, s, old, newImportItems(1, 5, appwheel.ImportLinked))

		run := newImportRun("app_a", "imp_new", t0.Add(time.Hour))
		run.ParamsHash = "hash_new"
		newItems := []appwheel.ImportItem{
			{Seq: 1, AppUserID: "user_new_1", CustomerID: "cus_new_1"},
			{Seq: 2, AppUserID: "user_new_2", CustomerID: "cus_new_2"},
		}
		mustCreateImport(t, s, run, newItems)
		want := *run
		want.Counts = appwheel.ImportCounts{Seen: 2, Pending: 2}
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, newItems)

		// The old import's ID no longer writes anything.
		checkImportWritesNotFound(t, s, "app_a", "imp_old")
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, newItems)

		// A replacement without items leaves none.
		empty := newImportRun("app_a", "imp_empty", t0.Add(2*time.Hour))
		mustCreateImport(t, s, empty, nil)
		checkImportRun(t, s, empty)
		checkImportItems(t, s, "app_a", 0, 100, false, nil)
		if _, err := s.ImportItems(ctx, "app_a", 0, 100, true); err != nil {
			t.Errorf("ImportItems(pending) of an empty import: got error %v, want nil", err)
		}
	})

	t.Run("ScopedByApp", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		ctx := t.Context()
		runA := newImportRun("app_a", "imp_a", t0)
		itemsA := []appwheel.ImportItem{
			{Seq: 1, AppUserID: "user_a1", CustomerID: "cus_a1"},
			{Seq: 2, AppUserID: "user_a2", CustomerID: "cus_a2"},
			{Seq: 3, AppUserID: "user_a3", CustomerID: "cus_a3"},
		}
		mustCreateImport(t, s, runA, itemsA)
		runB := newImportRun("app_b", "imp_b", t0.Add(time.Second))
		itemsB := []appwheel.ImportItem{
			{Seq: 1, AppUserID: "user_b1", CustomerID: "cus_b1"},
			{Seq: 2, AppUserID: "user_b2", CustomerID: "cus_b2"},
		}
		// Creating app_b's import keeps app_a's and its items.
		mustCreateImport(t, s, runB, itemsB)

		wantA, wantB := *runA, *runB
		wantA.Counts = appwheel.ImportCounts{Seen: 3, Pending: 3}
		wantB.Counts = appwheel.ImportCounts{Seen: 2, Pending: 2}
		checkImportRun(t, s, &wantA)
		checkImportRun(t, s, &wantB)
		checkImportItems(t, s, "app_a", 0, 100, false, itemsA)
		checkImportItems(t, s, "app_b", 0, 100, false, itemsB)

		// One app's import ID is not the other's import.
		now := t0.Add(time.Minute)
		wantCode(t, "AddImportItems(app_a, app_b's import)",
			s.AddImportItems(ctx, "app_a", "imp_b", "cus_x", true, newImportItems(4, 1, ""), now), appwheel.ENOTFOUND)
		wantCode(t, "SetImportOutcomes(app_a, app_b's import)",
			s.SetImportOutcomes(ctx, "app_a", "imp_b", []appwheel.ImportItem{{Seq: 1, Outcome: appwheel.ImportFailed}}, now), appwheel.ENOTFOUND)
		wantCode(t, "SetImportError(app_a, app_b's import)",
			s.SetImportError(ctx, "app_a", "imp_b", "boom", now), appwheel.ENOTFOUND)
		wantCode(t, "FinishImport(app_a, app_b's import)",
			s.FinishImport(ctx, "app_a", "imp_b", now), appwheel.ENOTFOUND)
		checkImportRun(t, s, &wantA)
		checkImportRun(t, s, &wantB)

		// Writes to app_a's import leave app_b's items with the same Seq.
		if err := s.SetImportOutcomes(ctx, "app_a", "imp_a", []appwheel.ImportItem{
			{Seq: 1, Outcome: appwheel.ImportLinked, Reason: "a"},
			{Seq: 2, Outcome: appwheel.ImportFailed, Reason: "a"},
		}, now); err != nil {
			t.Fatalf("SetImportOutcomes(app_a): got error %v, want nil", err)
		}
		mustAddImportItems(t, s, "app_a", "imp_a", "cus_a4", false, []appwheel.ImportItem{
			{Seq: 4, AppUserID: "user_a4", CustomerID: "cus_a4"},
		}, now)
		checkImportItems(t, s, "app_b", 0, 100, false, itemsB)
		checkImportItems(t, s, "app_b", 0, 100, true, itemsB)
		checkImportRun(t, s, &wantB)
		wantA.UpdatedAt, wantA.ListedAfter = now, "cus_a4"
		wantA.Counts = appwheel.ImportCounts{Seen: 4, Pending: 2, Linked: 1, Failed: 1}
		checkImportRun(t, s, &wantA)

		// Replacing app_a's import leaves app_b's.
		mustCreateImport(t, s, newImportRun("app_a", "imp_a2", now), nil)
		checkImportItems(t, s, "app_a", 0, 100, false, nil)
		checkImportItems(t, s, "app_b", 0, 100, false, itemsB)
		checkImportRun(t, s, &wantB)
	})

	t.Run("AddImportItems", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		run := newImportRun("app_a", "imp_1", t0)
		run.MetadataKey = "user_id"
		run.Error = "stripe: connection reset"
		first := newImportItems(1, 3, "")
		mustCreateImport(t, s, run, first)

		// A page appends its items, moves the cursor and clears Error.
		second := newImportItems(4, 2, "")
		second[1].Outcome, second[1].Reason = appwheel.ImportSkipped, "no metadata"
		at1 := t0.Add(time.Minute)
		mustAddImportItems(t, s, "app_a", "imp_1", "cus_00005", false, second, at1)
		want := *run
		want.ListedAfter, want.Listed, want.Error, want.UpdatedAt = "cus_00005", false, "", at1
		want.Counts = appwheel.ImportCounts{Seen: 5, Pending: 4, Skipped: 1}
		checkImportRun(t, s, &want)
		all := append(append([]appwheel.ImportItem(nil), first...), second...)
		checkImportItems(t, s, "app_a", 0, 100, false, all)

		// The last page may have no items; it marks the listing done.
		at2 := t0.Add(2 * time.Minute)
		mustAddImportItems(t, s, "app_a", "imp_1", "cus_00005", true, nil, at2)
		want.Listed, want.UpdatedAt = true, at2
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, all)

		// A stale import ID writes nothing.
		err := s.AddImportItems(ctx, "app_a", "imp_stale", "cus_00009", false, newImportItems(6, 3, ""), t0.Add(time.Hour))
		wantCode(t, "AddImportItems of a stale import", err, appwheel.ENOTFOUND)
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, all)

		// One transaction: items that cannot be added (a Seq taken
		// already) leave the cursor where it was.
		if err := s.SetImportError(ctx, "app_a", "imp_1", "still failing", at2); err != nil {
			t.Fatal(err)
		}
		want.Error = "still failing"
		err = s.AddImportItems(ctx, "app_a", "imp_1", "cus_00099", false, []appwheel.ImportItem{
			{Seq: 6, AppUserID: "user_00006", CustomerID: "cus_00006"},
			{Seq: 5, AppUserID: "user_dup", CustomerID: "cus_dup"},
		}, t0.Add(time.Hour))
		if err == nil {
			t.Errorf("AddImportItems of a Seq taken already: got nil error, want one")
		}
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, all)
	})

	t.Run("ImportItemsPages", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		items := newImportItems(1, 10, "")
		for _, seq := range []int{2, 3, 5, 8} {
			items[seq-1].Outcome, items[seq-1].Reason = appwheel.ImportLinked, fmt.Sprint("reason ", seq)
		}
		// Stored out of order, read in Seq order.
		shuffled := make([]appwheel.ImportItem, 0, len(items))
		for _, i := range []int{6, 0, 9, 3, 1, 8, 4, 2, 7, 5} {
			shuffled = append(shuffled, items[i])
		}
		mustCreateImport(t, s, newImportRun("app_a", "imp_1", t0), shuffled[:5])
		mustAddImportItems(t, s, "app_a", "imp_1", "cus_x", true, shuffled[5:], t0)

		seqs := func(ss ...int) []appwheel.ImportItem {
			var out []appwheel.ImportItem
			for _, seq := range ss {
				out = append(out, items[seq-1])
			}
			return out
		}
		tests := []struct {
			name            string
			afterSeq, limit int
			pendingOnly     bool
			want            []appwheel.ImportItem
		}{
			{"all", 0, 100, false, items},
			{"first page", 0, 3, false, seqs(1, 2, 3)},
			{"second page", 3, 3, false, seqs(4, 5, 6)},
			{"last page", 9, 3, false, seqs(10)},
			{"after the last", 10, 3, false, nil},
			{"exact fit", 7, 3, false, seqs(8, 9, 10)},
			{"limit 0", 0, 0, false, nil},
			{"pending", 0, 100, true, seqs(1, 4, 6, 7, 9, 10)},
			{"pending first page", 0, 2, true, seqs(1, 4)},
			{"pending second page", 4, 2, true, seqs(6, 7)},
			{"pending after a decided one", 7, 2, true, seqs(9, 10)},
			{"pending after the last", 10, 2, true, nil},
			{"pending limit 0", 0, 0, true, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkImportItems(t, s, "app_a", tt.afterSeq, tt.limit, tt.pendingOnly, tt.want)
			})
		}
	})

	t.Run("SetImportOutcomes", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		run := newImportRun("app_a", "imp_1", t0)
		run.Error = "stripe: timeout"
		items := newImportItems(1, 5, "")
		mustCreateImport(t, s, run, items)

		at1 := t0.Add(time.Minute)
		if err := s.SetImportOutcomes(ctx, "app_a", "imp_1", []appwheel.ImportItem{
			{Seq: 2, Outcome: appwheel.ImportLinked, Reason: "metadata user_id"},
			{Seq: 4, Outcome: appwheel.ImportFailed, Reason: "stripe: no such customer"},
		}, at1); err != nil {
			t.Fatalf("SetImportOutcomes: got error %v, want nil", err)
		}
		items[1].Outcome, items[1].Reason = appwheel.ImportLinked, "metadata user_id"
		items[3].Outcome, items[3].Reason = appwheel.ImportFailed, "stripe: no such customer"
		want := *run
		want.Error, want.UpdatedAt = "", at1
		want.Counts = appwheel.ImportCounts{Seen: 5, Pending: 3, Linked: 1, Failed: 1}
		checkImportRun(t, s, &want)
		// Only the outcome and reason change: the item keeps its user and
		// customer though the call names neither.
		checkImportItems(t, s, "app_a", 0, 100, false, items)
		checkImportItems(t, s, "app_a", 0, 100, true, []appwheel.ImportItem{items[0], items[2], items[4]})

		// An outcome may be recorded again (a retried item).
		at2 := t0.Add(2 * time.Minute)
		if err := s.SetImportOutcomes(ctx, "app_a", "imp_1", []appwheel.ImportItem{
			{Seq: 4, Outcome: appwheel.ImportAlreadyLinked, Reason: ""},
			{Seq: 5, Outcome: appwheel.ImportWouldLink, Reason: "dry run"},
		}, at2); err != nil {
			t.Fatalf("SetImportOutcomes again: got error %v, want nil", err)
		}
		items[3].Outcome, items[3].Reason = appwheel.ImportAlreadyLinked, ""
		items[4].Outcome, items[4].Reason = appwheel.ImportWouldLink, "dry run"
		want.UpdatedAt = at2
		want.Counts = appwheel.ImportCounts{Seen: 5, Pending: 2, Linked: 2, Skipped: 1}
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, items)

		// No items still clears Error: progress since the failure.
		if err := s.SetImportError(ctx, "app_a", "imp_1", "boom", at2); err != nil {
			t.Fatal(err)
		}
		at3 := t0.Add(3 * time.Minute)
		if err := s.SetImportOutcomes(ctx, "app_a", "imp_1", nil, at3); err != nil {
			t.Fatalf("SetImportOutcomes(no items): got error %v, want nil", err)
		}
		want.UpdatedAt = at3
		checkImportRun(t, s, &want)

		// A stale import ID records nothing.
		err := s.SetImportOutcomes(ctx, "app_a", "imp_stale", []appwheel.ImportItem{
			{Seq: 1, Outcome: appwheel.ImportFailed, Reason: "stale"},
		}, t0.Add(time.Hour))
		wantCode(t, "SetImportOutcomes of a stale import", err, appwheel.ENOTFOUND)
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, items)
	})

	t.Run("SetImportError", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		run := newImportRun("app_a", "imp_1", t0)
		items := newImportItems(1, 2, "")
		mustCreateImport(t, s, run, items)

		at1 := t0.Add(time.Minute)
		if err := s.SetImportError(ctx, "app_a", "imp_1", "stripe: rate limited", at1); err != nil {
			t.Fatalf("SetImportError: got error %v, want nil", err)
		}
		want := *run
		want.Error, want.UpdatedAt = "stripe: rate limited", at1
		want.Counts = appwheel.ImportCounts{Seen: 2, Pending: 2}
		checkImportRun(t, s, &want)
		checkImportItems(t, s, "app_a", 0, 100, false, items)

		at2 := t0.Add(2 * time.Minute)
		if err := s.SetImportError(ctx, "app_a", "imp_1", "stripe: timeout", at2); err != nil {
			t.Fatalf("SetImportError again: got error %v, want nil", err)
		}
		want.Error, want.UpdatedAt = "stripe: timeout", at2
		checkImportRun(t, s, &want)

		err := s.SetImportError(ctx, "app_a", "imp_stale", "stale", t0.Add(time.Hour))
		wantCode(t, "SetImportError of a stale import", err, appwheel.ENOTFOUND)
		checkImportRun(t, s, &want)
	})

	t.Run("FinishImport", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		run := newImportRun("app_a", "imp_1", t0)
		run.Listed = true
		items := newImportItems(1, 2, appwheel.ImportLinked)
		mustCreateImport(t, s, run, items)

		err := s.FinishImport(ctx, "app_a", "imp_stale", t0.Add(time.Minute))
		wantCode(t, "FinishImport of a stale import", err, appwheel.ENOTFOUND)
		want := *run
		want.Counts = appwheel.ImportCounts{Seen: 2, Linked: 2}
		checkImportRun(t, s, &want)

		at := t0.Add(time.Minute)
		if err := s.FinishImport(ctx, "app_a", "imp_1", at); err != nil {
			t.Fatalf("FinishImport: got error %v, want nil", err)
		}
		want.FinishedAt = at
		got := mustImportRun(t, s, "app_a")
		// Finishing may count as progress: UpdatedAt is not checked.
		if diff := cmp.Diff(&want, got, equateMicro, cmpopts.IgnoreFields(appwheel.ImportRun{}, "UpdatedAt")); diff != "" {
			t.Errorf("ImportRun after FinishImport mismatch (-want +got):\n%s", diff)
		}
		checkImportItems(t, s, "app_a", 0, 100, false, items)
	})

	t.Run("Many", func(t *testing.T) {
		// A few thousand items at once: one page of a large listing, one
		// batch of outcomes.
		const n = 5000
		s := newStoreWithApps(t, newStore, "app_a")
		ctx := t.Context()
		run := newImportRun("app_a", "imp_1", t0)
		first := newImportItems(1, n, "")
		second := newImportItems(n+1, n, appwheel.ImportSkipped)
		start := time.Now()
		mustCreateImport(t, s, run, first)
		mustAddImportItems(t, s, "app_a", "imp_1", second[n-1].CustomerID, true, second, t0.Add(time.Minute))
		outcomes := make([]appwheel.ImportItem, n)
		for i := range outcomes {
			outcomes[i] = appwheel.ImportItem{Seq: i + 1, Outcome: appwheel.ImportLinked, Reason: "metadata"}
			first[i].Outcome, first[i].Reason = appwheel.ImportLinked, "metadata"
		}
		if err := s.SetImportOutcomes(ctx, "app_a", "imp_1", outcomes[:n-1], t0.Add(2*time.Minute)); err != nil {
			t.Fatalf("SetImportOutcomes of %d items: got error %v, want nil", n-1, err)
		}
		first[n-1].Outcome, first[n-1].Reason = "", ""
		t.Logf("%d items created, %d added, %d outcomes set in %v", n, n, n-1, time.Since(start))

		want := *run
		want.ListedAfter, want.Listed, want.UpdatedAt = second[n-1].CustomerID, true, t0.Add(2*time.Minute)
		want.Counts = appwheel.ImportCounts{Seen: 2 * n, Pending: 1, Linked: n - 1, Skipped: n}
		checkImportRun(t, s, &want)
		all := append(append([]appwheel.ImportItem(nil), first...), second...)
		checkImportItems(t, s, "app_a", 0, 2*n, false, all)
		checkImportItems(t, s, "app_a", 0, 10, true, all[n-1:n])
	})
}

// newImportRun returns an unfinished import of appID created at at, its
// parameters set and nothing listed yet.
func newImportRun(appID, id string, at time.Time) *appwheel.ImportRun {
	return &appwheel.ImportRun{
		AppID:      appID,
		ID:         id,
		ParamsHash: "hash_" + id,
		CreatedAt:  at,
		UpdatedAt:  at,
	}
}

// newImportItems returns n items from Seq from, each with outcome (its
// reason set when outcome is).
func newImportItems(from, n int, outcome string) []appwheel.ImportItem {
	items := make([]appwheel.ImportItem, n)
	for i := range items {
		seq := from + i
		items[i] = appwheel.ImportItem{
			Seq:        seq,
			AppUserID:  fmt.Sprintf("user_%05d", seq),
			CustomerID: fmt.Sprintf("cus_%05d", seq),
			Outcome:    outcome,
		}
		if outcome != "" {
			items[i].Reason = "reason of " + outcome
		}
	}
	return items
}

func mustCreateImport(t *testing.T, s appwheel.Store, run *appwheel.ImportRun, items []appwheel.ImportItem) {
	t.Helper()
	if err := s.CreateImport(t.Context(), run, items); err != nil {
		t.Fatalf("CreateImport(%s, %s, %d items): got error %v, want nil", run.AppID, run.ID, len(items), err)
	}
}

func mustAddImportItems(t *testing.T, s appwheel.Store, appID, importID, listedAfter string, listed bool, items []appwheel.ImportItem, now time.Time) {
	t.Helper()
	if err := s.AddImportItems(t.Context(), appID, importID, listedAfter, listed, items, now); err != nil {
		t.Fatalf("AddImportItems(%s, %s, %d items): got error %v, want nil", appID, importID, len(items), err)
	}
}

func mustImportRun(t *testing.T, s appwheel.Store, appID string) *appwheel.ImportRun {
	t.Helper()
	run, err := s.ImportRun(t.Context(), appID)
	if err != nil {
		t.Fatalf("ImportRun(%s): got error %v, want nil", appID, err)
	}
	return run
}

// checkImportRun checks the app's import, counts included, and returns it.
func checkImportRun(t *testing.T, s appwheel.Store, want *appwheel.ImportRun) *appwheel.ImportRun {
	t.Helper()
	got := mustImportRun(t, s, want.AppID)
	if diff := cmp.Diff(want, got, equateMicro); diff != "" {
		t.Errorf("ImportRun(%s) mismatch (-want +got):\n%s", want.AppID, diff)
	}
	return got
}

func checkImportItems(t *testing.T, s appwheel.Store, appID string, afterSeq, limit int, pendingOnly bool, want []appwheel.ImportItem) {
	t.Helper()
	got, err := s.ImportItems(t.Context(), appID, afterSeq, limit, pendingOnly)
	if err != nil {
		t.Fatalf("ImportItems(%s, after %d, limit %d, pending %v): got error %v, want nil", appID, afterSeq, limit, pendingOnly, err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ImportItems(%s, after %d, limit %d, pending %v) mismatch (-want +got):\n%s", appID, afterSeq, limit, pendingOnly, diff)
	}
}

// checkImportWritesNotFound checks that every write naming importID, which
// is not the app's import, is ENOTFOUND.
func checkImportWritesNotFound(t *testing.T, s appwheel.Store, appID, importID string) {
	t.Helper()
	now := t0.Add(time.Hour)
	writes := []struct {
		name  string
		write func(ctx context.Context) error
	}{
		{"AddImportItems", func(ctx context.Context) error {
			return s.AddImportItems(ctx, appID, importID, "cus_99999", true, newImportItems(100, 2, ""), now)
		}},
		{"SetImportOutcomes", func(ctx context.Context) error {
			return s.SetImportOutcomes(ctx, appID, importID, []appwheel.ImportItem{{Seq: 1, Outcome: appwheel.ImportFailed}}, now)
		}},
		{"SetImportError", func(ctx context.Context) error {
			return s.SetImportError(ctx, appID, importID, "stale", now)
		}},
		{"FinishImport", func(ctx context.Context) error {
			return s.FinishImport(ctx, appID, importID, now)
		}},
	}
	for _, w := range writes {
		wantCode(t, fmt.Sprintf("%s(%s, %s)", w.name, appID, importID), w.write(t.Context()), appwheel.ENOTFOUND)
	}
}
