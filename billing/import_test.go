package billing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	e := newMirrorEnv(t)
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

func (w *importWorld) run(t *testing.T, ctx context.Context, p billing.ImportParams) (billing.ImportProgress, map[string]billing.ImportOutcome, error) {
	t.Helper()
	outcomes := map[string]billing.ImportOutcome{}
	p.Outcome = func(o billing.ImportOutcome) { outcomes[o.CustomerID] = o }
	prog, err := w.e.svc.Import(ctx, w.app, p)
	return prog, outcomes, err
}

func TestImportByMetadataKey(t *testing.T) {
	w := newImportWorld(t)
	ctx := context.Background()

	// A dry run links nothing.
	prog, outcomes, err := w.run(t, ctx, billing.ImportParams{MetadataKey: "user_id", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := (billing.ImportProgress{Seen: 7, Total: 4, Linked: 4, Skipped: 3}); prog != want {
		t.Errorf("dry run: %+v, want %+v", prog, want)
	}
	if o := outcomes[w.customers["u1"]]; o.Outcome != billing.ImportWouldLink {
		t.Errorf("dry run of u1: %+v", o)
	}
	if n := w.e.fake.Calls("TagCustomer"); n != 0 {
		t.Errorf("dry run tagged %d customers", n)
	}

	prog, outcomes, err = w.run(t, ctx, billing.ImportParams{MetadataKey: "user_id"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (billing.ImportProgress{Seen: 7, Total: 4, Linked: 4, Skipped: 3}); prog != want {
		t.Errorf("import: %+v, want %+v", prog, want)
	}
	for user, cus := range w.customers {
		if got := outcomes[cus]; got.Outcome != billing.ImportLinked || got.AppUserID != user {
			t.Errorf("%s: %+v, want linked to %s", cus, got, user)
		}
		w.e.wantMirrorIsTruth(t, w.app, user)
	}
	if o := outcomes[w.bare]; o.Outcome != billing.ImportSkipped || o.Reason == "" {
		t.Errorf("customer without the key: %+v", o)
	}
	for _, d := range w.dups {
		if o := outcomes[d]; o.Outcome != billing.ImportSkipped || !strings.Contains(o.Reason, "duplicate") {
			t.Errorf("duplicate claim %s: %+v, want skipped as a duplicate", d, o)
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
	prog, _, err = w.run(t, ctx, billing.ImportParams{MetadataKey: "user_id"})
	if err != nil || prog.Linked != 0 || prog.Skipped != 7 {
		t.Errorf("second run: %+v, %v; want nothing linked", prog, err)
	}
	if n := w.e.fake.Calls("TagCustomer") + w.e.fake.Calls("CreateCustomer"); n != 0 {
		t.Errorf("second run made %d writes at Stripe", n)
	}
}

func TestImportPairsAndRefusals(t *testing.T) {
	w := newImportWorld(t)
	ctx := context.Background()
	own := w.e.user(t, w.app, "has-one", true) // a user AppWheel gave a customer
	prog, outcomes, err := w.run(t, ctx, billing.ImportParams{Pairs: []billing.ImportPair{
		{AppUserID: "u1", CustomerID: w.customers["u1"]},
		{AppUserID: "u1", CustomerID: w.customers["u1"]}, // a repeated row
		{AppUserID: "has-one", CustomerID: w.customers["u2"]},
		{AppUserID: "x", CustomerID: own},
		{AppUserID: "y", CustomerID: "cus_unknown"},
		{AppUserID: "z", CustomerID: "not-a-customer"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (billing.ImportProgress{Seen: 6, Total: 5, Linked: 1, Skipped: 4}); prog != want {
		t.Errorf("progress = %+v, want %+v", prog, want)
	}
	want := map[string]string{w.customers["u1"]: billing.ImportLinked, w.customers["u2"]: billing.ImportSkipped,
		own: billing.ImportSkipped, "cus_unknown": billing.ImportSkipped, "not-a-customer": billing.ImportSkipped}
	got := map[string]string{}
	for id, o := range outcomes {
		got[id] = o.Outcome
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestImportResumesAndWaitsOutStripe(t *testing.T) {
	w := newImportWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Stripe refuses one call as unavailable: the import waits and retries.
	w.e.fake.FailNext("TagCustomer", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable"))
	linked := 0
	_, err := w.e.svc.Import(ctx, w.app, billing.ImportParams{MetadataKey: "user_id", Outcome: func(o billing.ImportOutcome) {
		if o.Outcome == billing.ImportFailed {
			t.Errorf("%s failed: %s", o.CustomerID, o.Reason)
		}
		if o.Outcome == billing.ImportLinked {
			if linked++; linked == 2 {
				cancel() // the importer is stopped half-way
			}
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped import: err = %v, want context.Canceled", err)
	}
	prog, _, err := w.run(t, context.Background(), billing.ImportParams{MetadataKey: "user_id"})
	if err != nil || prog.Linked != 2 {
		t.Errorf("rerun: %+v, %v; want the other two linked", prog, err)
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
