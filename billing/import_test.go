package billing_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// importWorld is an app whose Stripe account holds customers its own
// backend made before AppWheel, naming their users in metadata user_id.
type importWorld struct {
	e         *mirrorEnv
	app       *appwheel.App
	customers map[string]string // user → customer
	bare      string            // a customer naming no user
	dups      []string          // two customers claiming the user "dup"
}

func newImportWorld(t *testing.T) *importWorld {
	return newImportWorldIn(t, newMirrorEnv(t))
}

func newImportWorldIn(t *testing.T, e *mirrorEnv) *importWorld {
	w := &importWorld{e: e, app: e.newApp(t, "shop", "sk_test_shop"), customers: map[string]string{}}
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		c := e.fake.AddExistingCustomer(w.app.Stripe, map[string]string{"user_id": u})
		w.customers[u] = c.ID
		e.cardsOf(t, w.app, c.ID, 1)
	}
	w.bare = e.fake.AddExistingCustomer(w.app.Stripe, map[string]string{"plan": "gold"}).ID
	for range 2 {
		w.dups = append(w.dups, e.fake.AddExistingCustomer(w.app.Stripe, map[string]string{"user_id": "dup"}).ID)
	}
	return w
}

// run starts an import and runs it to the end in the foreground, and
// returns its status and every item's outcome by customer.
func (w *importWorld) run(t *testing.T, ctx context.Context, p billing.ImportParams) (*billing.ImportStatus, map[string]string, error) {
	t.Helper()
	st, err := w.e.svc.StartImport(ctx, w.app, p)
	if err != nil {
		return nil, nil, err
	}
	var told *billing.ImportStatus
	st, err = w.e.svc.RunImport(ctx, w.app, st.ImportID, func(st *billing.ImportStatus) { told = st })
	// The progress told, counted as the import goes, ends where the
	// store's count of the items does.
	if err == nil && (told == nil || *told != *st) {
		t.Errorf("last progress told %+v; the store says %+v", told, st)
	}
	return st, w.outcomes(t), err
}

// outcomes returns the outcome of each customer of the app's import.
func (w *importWorld) outcomes(t *testing.T) map[string]string {
	t.Helper()
	items, err := w.e.db.ImportItems(context.Background(), w.app.ID, 0, 1000, false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, it := range items {
		out[it.CustomerID] = it.Outcome
	}
	return out
}

// counts are an import status's counts.
type counts struct{ Seen, Pending, Linked, Skipped, Failed int }

func countsOf(st *billing.ImportStatus) counts {
	return counts{st.Seen, st.Pending, st.Linked, st.Skipped, st.Failed}
}

func TestImportByMetadataKey(t *testing.T) {
	w := newImportWorld(t)
	ctx := context.Background()

	// A dry run links nothing.
	st, outcomes, err := w.run(t, ctx, billing.ImportParams{MetadataKey: "user_id", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(st), (counts{Seen: 7, Linked: 4, Skipped: 3}); got != want || st.State != billing.ImportFinished {
		t.Errorf("dry run: %+v %s, want %+v finished", got, st.State, want)
	}
	if o := outcomes[w.customers["u1"]]; o != appwheel.ImportWouldLink {
		t.Errorf("dry run of u1: %q", o)
	}
	if n := w.e.fake.Calls("TagCustomer"); n != 0 {
		t.Errorf("dry run tagged %d customers", n)
	}

	st, outcomes, err = w.run(t, ctx, billing.ImportParams{MetadataKey: "user_id"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(st), (counts{Seen: 7, Linked: 4, Skipped: 3}); got != want {
		t.Errorf("import: %+v, want %+v", got, want)
	}
	for user, cus := range w.customers {
		if got := outcomes[cus]; got != appwheel.ImportLinked {
			t.Errorf("%s: %q, want linked to %s", cus, got, user)
		}
		w.e.wantMirrorIsTruth(t, w.app, user)
	}
	problems, err := w.e.svc.ImportProblems(ctx, w.app)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, it := range problems {
		reasons[it.CustomerID] = it.Reason
	}
	if len(problems) != 3 || !strings.Contains(reasons[w.bare], "no \"user_id\"") {
		t.Errorf("problems = %+v; want the bare customer and the two claims of dup", problems)
	}
	for _, d := range w.dups {
		if !strings.Contains(reasons[d], "duplicate: user dup is claimed by customers") {
			t.Errorf("duplicate claim %s: reason %q, want a duplicate", d, reasons[d])
		}
	}
	if _, err := w.e.db.CustomerID(ctx, w.app.ID, "dup"); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("the user claimed twice got a customer: %v", err)
	}

	// Reads need no Stripe call; a second run changes nothing.
	w.e.fake.ResetCalls()
	if list, err := w.e.svc.PaymentMethods(ctx, w.app, "u2"); err != nil || len(list.Methods) != 1 || list.DefaultMethodID == "" {
		t.Errorf("u2's methods = %+v, %v; want its card, the default", list, err)
	}
	wantCalls(t, w.e.fake, map[string]int{})
	st2, outcomes, err := w.run(t, ctx, billing.ImportParams{MetadataKey: "user_id"})
	if err != nil || st2.ImportID == st.ImportID || st2.Linked != 0 || st2.Skipped != 7 {
		t.Errorf("second run: %+v, %v; want a new import linking nothing", st2, err)
	}
	if o := outcomes[w.customers["u3"]]; o != appwheel.ImportAlreadyLinked {
		t.Errorf("second run, u3: %q, want already linked", o)
	}
	if n := w.e.fake.Calls("TagCustomer") + w.e.fake.Calls("CreateCustomer"); n != 0 {
		t.Errorf("second run made %d writes at Stripe", n)
	}
}

func TestImportPairsAndRefusals(t *testing.T) {
	w := newImportWorld(t)
	ctx := context.Background()
	own := w.e.user(t, w.app, "has-one", true) // a user AppWheel gave a customer
	pairs := []billing.ImportPair{
		{AppUserID: "u1", CustomerID: w.customers["u1"]},
		{AppUserID: "u1", CustomerID: w.customers["u1"]}, // a repeated row
		{AppUserID: "has-one", CustomerID: w.customers["u2"]},
		{AppUserID: "x", CustomerID: own},
		{AppUserID: "y", CustomerID: "cus_unknown"},
		{AppUserID: "z", CustomerID: "not-a-customer"},
	}
	st, err := w.e.svc.StartImport(ctx, w.app, billing.ImportParams{Pairs: pairs})
	if err != nil {
		t.Fatal(err)
	}
	if st.State != billing.ImportLinking || st.Seen != 6 || st.Pending != 6 {
		t.Errorf("a pairs import just started: %+v; want linking, 6 pending", st)
	}
	if st, err = w.e.svc.RunImport(ctx, w.app, st.ImportID, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := countsOf(st), (counts{Seen: 6, Linked: 1, Skipped: 5}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	items, err := w.e.db.ImportItems(ctx, w.app.ID, 0, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Outcome)
	}
	want := []string{appwheel.ImportLinked, appwheel.ImportAlreadyLinked, appwheel.ImportSkipped,
		appwheel.ImportSkipped, appwheel.ImportSkipped, appwheel.ImportSkipped}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes in order (-want +got):\n%s", diff)
	}
	for _, it := range items[2:] {
		if it.Reason == "" {
			t.Errorf("%s skipped without a reason", it.CustomerID)
		}
	}

	// Neither parameter, or both: refused before anything is stored.
	for _, p := range []billing.ImportParams{{}, {MetadataKey: "user_id", Pairs: pairs}, {MetadataKey: strings.Repeat("k", 41)}} {
		if _, err := w.e.svc.StartImport(ctx, w.app, p); appwheel.ErrorCode(err) != appwheel.EINVALID {
			t.Errorf("StartImport(%+v): %v, want EINVALID", p, err)
		}
	}
}

func TestImportResumesAndWaitsOutStripe(t *testing.T) {
	w := newImportWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Stripe refuses one call as unavailable: the import waits and retries.
	w.e.fake.FailNext("TagCustomer", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable"))
	p := billing.ImportParams{MetadataKey: "user_id"}
	st, err := w.e.svc.StartImport(ctx, w.app, p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.e.svc.RunImport(ctx, w.app, st.ImportID, func(st *billing.ImportStatus) {
		if st.Failed > 0 {
			t.Errorf("a user failed: %+v", st)
		}
		if st.Linked == 2 {
			cancel() // the importer is stopped half-way
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped import: err = %v, want context.Canceled", err)
	}

	// Started again, the same import goes on from where it stopped.
	again, err := w.e.svc.StartImport(context.Background(), w.app, p)
	if err != nil || again.ImportID != st.ImportID || again.Linked != 2 || again.Pending != 2 {
		t.Fatalf("restarted: %+v, %v; want import %s resumed with 2 linked, 2 pending", again, err, st.ImportID)
	}
	done, err := w.e.svc.RunImport(context.Background(), w.app, again.ImportID, nil)
	if err != nil || done.Linked != 4 || done.Pending != 0 || done.Failed != 0 {
		t.Errorf("resumed: %+v, %v; want all 4 linked", done, err)
	}
	if outcomes := w.outcomes(t); slices.Contains(slices.Collect(maps.Values(outcomes)), appwheel.ImportAlreadyLinked) {
		t.Errorf("resumed import redid a user: %v", outcomes)
	}
	for user, cus := range w.customers {
		if got, err := w.e.db.CustomerID(context.Background(), w.app.ID, user); err != nil || got != cus {
			t.Errorf("%s → %q, %v; want %s", user, got, err, cus)
		}
	}
	if n := w.e.fake.Calls("CreateCustomer"); n != 0 {
		t.Errorf("%d customers created", n)
	}
}

// TestImportOneAtATime: an import being worked on (its lease held) cannot
// be replaced; one nobody works on can, by an import of other parameters.
func TestImportOneAtATime(t *testing.T) {
	w := newImportWorld(t)
	ctx := context.Background()
	first, err := w.e.svc.StartImport(ctx, w.app, billing.ImportParams{MetadataKey: "user_id"})
	if err != nil {
		t.Fatal(err)
	}
	// While a worker holds the lease, starting another is refused.
	now := w.e.clock.Now()
	if ok, err := w.e.db.TryLock(ctx, "import/"+w.app.ID, "someone", now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, err := w.e.svc.StartImport(ctx, w.app, billing.ImportParams{MetadataKey: "other"}); appwheel.ErrorCode(err) != appwheel.ECONFLICT {
		t.Errorf("StartImport while another works: %v, want ECONFLICT", err)
	}
	w.e.db.Unlock(ctx, "import/"+w.app.ID, "someone")
	second, err := w.e.svc.StartImport(ctx, w.app, billing.ImportParams{MetadataKey: "other"})
	if err != nil || second.ImportID == first.ImportID {
		t.Fatalf("StartImport of other parameters: %+v, %v; want a new import", second, err)
	}
	// The replaced import's job finds nothing to do.
	if done, err := w.e.svc.ContinueImport(ctx, w.app.ID, first.ImportID); !done || err != nil {
		t.Errorf("ContinueImport of the replaced import: %v, %v; want done", done, err)
	}
	if st, _ := w.e.svc.ImportStatus(ctx, w.app); st.ImportID != second.ImportID || st.Seen != 0 {
		t.Errorf("status after the replaced import's job: %+v", st)
	}
	if _, err := w.e.svc.RunImport(ctx, w.app, first.ImportID, nil); appwheel.ErrorCode(err) != appwheel.ECONFLICT {
		t.Errorf("RunImport of the replaced import: %v, want ECONFLICT", err)
	}

	// Run while another works on it, an import waits for the lease and
	// then goes on.
	if ok, err := w.e.db.TryLock(ctx, "import/"+w.app.ID, "someone", now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatal(ok, err)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		w.e.db.Unlock(ctx, "import/"+w.app.ID, "someone")
	}()
	start := time.Now()
	st, err := w.e.svc.RunImport(ctx, w.app, second.ImportID, nil)
	if err != nil || st.State != billing.ImportFinished || st.Seen != 7 {
		t.Errorf("RunImport after waiting: %+v, %v; want finished, 7 seen", st, err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("RunImport finished after %v, while another held the lease", waited)
	}
}

// TestImportInBackground: an import started in the background is handed
// to the queue, and the job's attempts (ContinueImport) finish it.
func TestImportInBackground(t *testing.T) {
	q := &queueRecorder{}
	e := newMirrorEnvWith(t, func(c *billing.Config) { c.EnqueueImport = q.EnqueueImport })
	w := newImportWorldIn(t, e)
	ctx := context.Background()
	st, err := e.svc.StartImport(ctx, w.app, billing.ImportParams{MetadataKey: "user_id", Background: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{w.app.ID + "/" + st.ImportID}; !slices.Equal(q.enqueued, want) {
		t.Fatalf("enqueued %v, want %v", q.enqueued, want)
	}
	if !st.Background || st.State != billing.ImportListing {
		t.Errorf("status = %+v; want a background import, listing", st)
	}
	for attempt := 1; ; attempt++ {
		done, err := e.svc.ContinueImport(ctx, w.app.ID, st.ImportID)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		if attempt == 100 {
			t.Fatal("ContinueImport never done")
		}
	}
	if st, _ = e.svc.ImportStatus(ctx, w.app); st.State != billing.ImportFinished || st.Linked != 4 {
		t.Errorf("after the job: %+v; want finished, 4 linked", st)
	}

	// Without a queue, a background import is refused.
	w2 := newImportWorld(t)
	if _, err := w2.e.svc.StartImport(ctx, w2.app, billing.ImportParams{MetadataKey: "user_id", Background: true}); appwheel.ErrorCode(err) != appwheel.EINVALID {
		t.Errorf("background import without jobs: %v, want EINVALID", err)
	}
}

type queueRecorder struct{ enqueued []string }

func (q *queueRecorder) EnqueueImport(ctx context.Context, appID, importID string) error {
	q.enqueued = append(q.enqueued, appID+"/"+importID)
	return nil
}
