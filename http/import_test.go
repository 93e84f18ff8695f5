package http_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/stripe"
)

const (
	importsPath = "/v1/stripe/customer-imports"
	latestPath  = "/v1/stripe/customer-imports/latest"
)

// importQueue stands in for the server's jobs (jobs.Jobs.EnqueueImport):
// it records each import handed to it, in order.
type importQueue struct {
	mu    sync.Mutex
	calls [][2]string // (appID, importID)
}

func (q *importQueue) EnqueueImport(ctx context.Context, appID, importID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, [2]string{appID, importID})
	return nil
}

func (q *importQueue) enqueued() [][2]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.calls)
}

// withImportQueue starts a second server over e's database, apps and fake
// Stripe whose billing hands background imports to a queue, as serve's
// hands them to its jobs; Billing is that server's billing, for the tests
// to work on an import as the import job would (ContinueImport).
func (e *env) withImportQueue() (*env, *importQueue) {
	e.t.Helper()
	q := &importQueue{}
	b := billing.New(billing.Config{
		Store: e.Store, Stripe: e.Stripe, Apps: e.Apps, DecodeEvent: stripe.DecodeEvent, Now: e.Clock.Now,
		BackgroundRate: 1000, EnqueueImport: q.EnqueueImport,
	})
	srv := httptest.NewServer(appwheelhttp.NewServer(appwheelhttp.Config{
		Apps: e.Apps, Billing: b, Store: e.Store, Now: e.Clock.Now,
	}))
	e.t.Cleanup(srv.Close)
	cp := *e.Env
	cp.Server, cp.Billing = srv, b
	return &env{Env: &cp, t: e.t}, q
}

func newImportEnv(t *testing.T) (*env, *importQueue) {
	t.Helper()
	return newEnv(t).withImportQueue()
}

// importStatus is startCustomerImport's and customerImportStatus's data.
type importStatus struct {
	ImportID    string `json:"importId"`
	State       string `json:"state"`
	MetadataKey string `json:"metadataKey"`
	DryRun      bool   `json:"dryRun"`
	Background  bool   `json:"background"`
	Seen        int    `json:"seen"`
	Pending     int    `json:"pending"`
	Linked      int    `json:"linked"`
	Skipped     int    `json:"skipped"`
	Failed      int    `json:"failed"`
	Error       string `json:"error"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
	FinishedAt  string `json:"finishedAt"`
}

// importFields are the keys of the status, every one always present.
var importFields = []string{"importId", "state", "metadataKey", "dryRun", "background", "seen", "pending",
	"linked", "skipped", "failed", "error", "createdAt", "updatedAt", "finishedAt"}

// status decodes an import's status, checking every field is there.
func (r response) status(t *testing.T) importStatus {
	t.Helper()
	var keys map[string]json.RawMessage
	r.decode(t, &keys)
	for _, k := range importFields {
		if _, ok := keys[k]; !ok {
			t.Errorf("data %s lacks %q", r.Data, k)
		}
	}
	if len(keys) != len(importFields) {
		t.Errorf("data %s has %d keys, want %d", r.Data, len(keys), len(importFields))
	}
	var st importStatus
	r.decode(t, &st)
	return st
}

// finish works on the app's import as the import job does, until it is done.
func (e *env) finish(app *appwheel.App, importID string) {
	e.t.Helper()
	for range 20 {
		done, err := e.Billing.ContinueImport(context.Background(), app.ID, importID)
		if err != nil {
			e.t.Fatal(err)
		}
		if done {
			return
		}
	}
	e.t.Fatalf("import %s not done after 20 attempts", importID)
}

var unixSeconds = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

func TestStartCustomerImportPairs(t *testing.T) {
	e, q := newImportEnv(t)
	app := e.NewApp("a")
	c1 := e.Stripe.AddExistingCustomer(app.Stripe, nil).ID
	c2 := e.Stripe.AddExistingCustomer(app.Stripe, nil).ID
	body := `{"pairs":[{"appUserId":"u1","customerId":"` + c1 + `"},{"appUserId":"u2","customerId":"` + c2 + `"}]}`
	calls := e.Stripe.TotalCalls()

	r := e.do(app, req{method: "POST", target: importsPath, body: body}).want(t, 200, 0)
	st := r.status(t)
	now := e.Clock.Now().Unix()
	if !strings.HasPrefix(st.ImportID, "imp_") || st.State != billing.ImportLinking || st.MetadataKey != "" || st.DryRun || !st.Background ||
		st.Seen != 2 || st.Pending != 2 || st.Linked != 0 || st.Skipped != 0 || st.Failed != 0 || st.Error != "" || st.FinishedAt != "0" {
		t.Errorf("status = %+v; want a background import of 2 pairs, linking, nothing decided", st)
	}
	for _, ts := range []string{st.CreatedAt, st.UpdatedAt} {
		if !unixSeconds.MatchString(ts) || ts == "0" {
			t.Errorf("time %q is not a string of Unix seconds", ts)
		}
	}
	if st.CreatedAt != strconv.FormatInt(now, 10) {
		t.Errorf("createdAt = %s, want the server's now %d", st.CreatedAt, now)
	}
	// Started in the background: the request made no Stripe call and linked
	// nobody; the import is handed to the jobs.
	if n := e.Stripe.TotalCalls() - calls; n != 0 {
		t.Errorf("%d Stripe calls; the import is the jobs' work", n)
	}
	if _, err := e.Store.CustomerID(context.Background(), app.ID, "u1"); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("u1 linked by the request itself: %v", err)
	}
	if got, want := q.enqueued(), [][2]string{{app.ID, st.ImportID}}; !slices.Equal(got, want) {
		t.Errorf("enqueued %v, want %v", got, want)
	}

	// The same import again, unfinished: resumed, the same importId, handed
	// to the jobs again (which run it once).
	again := e.do(app, req{method: "POST", target: importsPath, body: body}).want(t, 200, 0).status(t)
	if again.ImportID != st.ImportID || again.CreatedAt != st.CreatedAt {
		t.Errorf("again: %+v; want import %s resumed", again, st.ImportID)
	}
	if got := q.enqueued(); len(got) != 2 || got[1] != [2]string{app.ID, st.ImportID} {
		t.Errorf("enqueued %v, want %s twice", got, st.ImportID)
	}

	// The latest is that import.
	latest := e.do(app, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t)
	if latest.ImportID != st.ImportID || latest.State != billing.ImportLinking || latest.Pending != 2 {
		t.Errorf("latest = %+v, want %s, linking, 2 pending", latest, st.ImportID)
	}

	// The jobs work on it: both users are linked, and the status says so.
	e.finish(app, st.ImportID)
	done := e.do(app, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t)
	if done.ImportID != st.ImportID || done.State != billing.ImportFinished || done.Seen != 2 || done.Pending != 0 ||
		done.Linked != 2 || done.Skipped != 0 || done.Failed != 0 || done.FinishedAt == "0" || !unixSeconds.MatchString(done.FinishedAt) {
		t.Errorf("finished = %+v; want 2 linked, finished", done)
	}
	if e.Customer(app, "u1") != c1 || e.Customer(app, "u2") != c2 {
		t.Error("the users are not linked to their customers")
	}

	// Finished, the same parameters start a new import, which finds the
	// users linked already.
	next := e.do(app, req{method: "POST", target: importsPath, body: body}).want(t, 200, 0).status(t)
	if next.ImportID == st.ImportID || next.State != billing.ImportLinking {
		t.Errorf("after finishing: %+v, want a new import", next)
	}
	e.finish(app, next.ImportID)
	if st := e.do(app, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t); st.Linked != 0 || st.Skipped != 2 {
		t.Errorf("rerun: %+v, want both skipped as linked already", st)
	}
}

func TestStartCustomerImportMetadataKeyDryRun(t *testing.T) {
	e, q := newImportEnv(t)
	app := e.NewApp("a")
	for _, u := range []string{"u1", "u2", "u3"} {
		e.Stripe.AddExistingCustomer(app.Stripe, map[string]string{"user_id": u})
	}
	e.Stripe.AddExistingCustomer(app.Stripe, map[string]string{"user_id": "u3"}) // u3 is claimed twice
	e.Stripe.AddExistingCustomer(app.Stripe, nil)                                // names nobody

	st := e.do(app, req{method: "POST", target: importsPath, body: `{"metadataKey":"user_id","dryRun":true}`}).want(t, 200, 0).status(t)
	if st.State != billing.ImportListing || st.MetadataKey != "user_id" || !st.DryRun || !st.Background || st.Seen != 0 {
		t.Errorf("status = %+v; want a dry run listing by user_id", st)
	}
	if got := q.enqueued(); len(got) != 1 || got[0] != [2]string{app.ID, st.ImportID} {
		t.Errorf("enqueued %v", got)
	}
	e.finish(app, st.ImportID)
	done := e.do(app, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t)
	// u1 and u2 would be linked; both claims of u3 and the bare customer are skipped.
	if done.State != billing.ImportFinished || done.Seen != 5 || done.Linked != 2 || done.Skipped != 3 || done.Failed != 0 || !done.DryRun {
		t.Errorf("dry run = %+v; want 5 seen, 2 would link, 3 skipped", done)
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		if _, err := e.Store.CustomerID(context.Background(), app.ID, u); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
			t.Errorf("%s linked by a dry run: %v", u, err)
		}
	}
	if n := e.Stripe.Calls("TagCustomer"); n != 0 {
		t.Errorf("TagCustomer called %d times by a dry run", n)
	}
}

func TestStartCustomerImportReplaceAndConflict(t *testing.T) {
	e, q := newImportEnv(t)
	app := e.NewApp("a")
	cus := e.Stripe.AddExistingCustomer(app.Stripe, map[string]string{"user_id": "u1"}).ID

	first := e.do(app, req{method: "POST", target: importsPath, body: `{"pairs":[{"appUserId":"u1","customerId":"` + cus + `"}]}`}).want(t, 200, 0).status(t)
	// Other parameters, the first unfinished and idle: replaced.
	second := e.do(app, req{method: "POST", target: importsPath, body: `{"metadataKey":"user_id"}`}).want(t, 200, 0).status(t)
	if second.ImportID == first.ImportID || second.MetadataKey != "user_id" {
		t.Errorf("second = %+v, want a new import replacing %s", second, first.ImportID)
	}
	if latest := e.do(app, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t); latest.ImportID != second.ImportID {
		t.Errorf("latest = %s, want %s", latest.ImportID, second.ImportID)
	}
	// The replaced one's job finds it gone and is done.
	if done, err := e.Billing.ContinueImport(context.Background(), app.ID, first.ImportID); err != nil || !done {
		t.Errorf("ContinueImport of the replaced import = %v, %v; want done", done, err)
	}

	// While the jobs work on it (listing, held up at Stripe), other
	// parameters are refused with 1008, and the same ones resume it.
	e.Stripe.SetDelay("ListCustomers", 2*time.Second)
	listed := e.Stripe.Calls("ListCustomers")
	working := make(chan error, 1)
	go func() {
		_, err := e.Billing.ContinueImport(context.Background(), app.ID, second.ImportID)
		working <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); e.Stripe.Calls("ListCustomers") == listed; {
		if time.Now().After(deadline) {
			t.Fatal("the import job never listed the customers")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := e.do(app, req{method: "POST", target: importsPath, body: `{"metadataKey":"user_id","dryRun":true}`}).want(t, 409, appwheel.ECONFLICT)
	if !strings.Contains(r.Msg, "being worked on") {
		t.Errorf("message = %q", r.Msg)
	}
	resumed := e.do(app, req{method: "POST", target: importsPath, body: `{"metadataKey":"user_id"}`}).want(t, 200, 0).status(t)
	if resumed.ImportID != second.ImportID {
		t.Errorf("resumed %s while worked on, want %s", resumed.ImportID, second.ImportID)
	}
	if err := <-working; err != nil {
		t.Fatal(err)
	}
	e.Stripe.SetDelay("ListCustomers", 0)
	e.finish(app, second.ImportID)
	if e.Customer(app, "u1") != cus {
		t.Error("u1 not linked")
	}
	var ids []string
	for _, c := range q.enqueued() {
		ids = append(ids, c[1])
	}
	if want := []string{first.ImportID, second.ImportID, second.ImportID}; !slices.Equal(ids, want) {
		t.Errorf("enqueued %v, want %v (nothing for the refused one)", ids, want)
	}
}

func TestStartCustomerImportIdempotencyKey(t *testing.T) {
	e, q := newImportEnv(t)
	app := e.NewApp("a")
	key := map[string]string{"Idempotency-Key": "import-1"}
	body := `{"metadataKey":"user_id"}`
	first := e.do(app, req{method: "POST", target: importsPath, body: body, headers: key}).want(t, 200, 0)
	replay := e.do(app, req{method: "POST", target: importsPath, body: body, headers: key}).want(t, 200, 0)
	if replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Data) != string(first.Data) {
		t.Errorf("replay: %s (Idempotent-Replayed %q), want %s replayed", replay.Data, replay.Header.Get("Idempotent-Replayed"), first.Data)
	}
	if n := len(q.enqueued()); n != 1 {
		t.Errorf("enqueued %d times, want once: a replay runs nothing", n)
	}
	e.do(app, req{method: "POST", target: importsPath, body: `{"metadataKey":"uid"}`, headers: key}).want(t, 409, appwheel.EIDEMPOTENCY)
}

func TestStartCustomerImportRefusesBadInput(t *testing.T) {
	e, q := newImportEnv(t)
	app := e.NewApp("a")
	pair := `{"appUserId":"u1","customerId":"cus_1"}`
	for _, tc := range []struct {
		name, target, body, msg string
	}{
		{"both", importsPath, `{"metadataKey":"user_id","pairs":[` + pair + `]}`, "either metadataKey or pairs"},
		{"neither", importsPath, `{}`, "either metadataKey or pairs"},
		{"only dryRun", importsPath, `{"dryRun":true}`, "either metadataKey or pairs"},
		{"empty metadataKey", importsPath, `{"metadataKey":""}`, "either metadataKey or pairs"},
		{"no pairs", importsPath, `{"pairs":[]}`, "either metadataKey or pairs"},
		{"null pairs", importsPath, `{"pairs":null}`, "either metadataKey or pairs"},
		{"unknown field", importsPath, `{"metadataKey":"user_id","force":true}`, `unknown parameter "force"`},
		{"field in another case", importsPath, `{"metadatakey":"user_id"}`, `unknown parameter "metadatakey"`},
		{"appUserId instead", importsPath, `{"appUserId":"u1","customerId":"cus_1"}`, `unknown parameter`},
		{"unknown pair field", importsPath, `{"pairs":[{"appUserId":"u1","customerId":"cus_1","email":"a@b"}]}`, `pairs[0]: unknown parameter "email"`},
		{"pair field in another case", importsPath, `{"pairs":[` + pair + `,{"appUserID":"u2","customerId":"cus_2"}]}`, `pairs[1]: unknown parameter "appUserID"`},
		{"pair without customerId", importsPath, `{"pairs":[{"appUserId":"u1"}]}`, "pairs[0]: customerId is required"},
		{"pair without appUserId", importsPath, `{"pairs":[{"customerId":"cus_1"}]}`, "pairs[0]: appUserId is required"},
		{"pair of the wrong type", importsPath, `{"pairs":[{"appUserId":1,"customerId":"cus_1"}]}`, "pairs[0]: parameter appUserId must be a string"},
		{"pair not an object", importsPath, `{"pairs":[["u1","cus_1"]]}`, "pairs[0] must be an object"},
		{"pairs not an array", importsPath, `{"pairs":{"u1":"cus_1"}}`, "pairs must be an array"},
		{"metadataKey not a string", importsPath, `{"metadataKey":1}`, "metadataKey must be a string"},
		{"dryRun not a boolean", importsPath, `{"metadataKey":"user_id","dryRun":"yes"}`, "dryRun must be a boolean"},
		{"metadataKey over 40", importsPath, `{"metadataKey":"` + strings.Repeat("k", 41) + `"}`, "40 characters"},
		{"query parameter", importsPath + "?dryRun=true", `{"metadataKey":"user_id"}`, `unknown query parameter "dryRun"`},
		{"empty body", importsPath, ``, "JSON object"},
		{"not an object", importsPath, `[` + pair + `]`, "JSON object"},
		{"trailing data", importsPath, `{"metadataKey":"user_id"} {}`, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(app, req{method: "POST", target: tc.target, body: tc.body}).want(t, 400, appwheel.EINVALID)
			if !strings.Contains(r.Msg, tc.msg) {
				t.Errorf("message = %q, want it to contain %q", r.Msg, tc.msg)
			}
		})
	}
	if got := q.enqueued(); len(got) != 0 {
		t.Errorf("enqueued %v by refused requests", got)
	}
	e.do(app, req{method: "GET", target: latestPath}).want(t, 404, appwheel.ENOTFOUND)
}

func TestCustomerImportStatus(t *testing.T) {
	e, _ := newImportEnv(t)
	app := e.NewApp("a")
	r := e.do(app, req{method: "GET", target: latestPath}).want(t, 404, appwheel.ENOTFOUND)
	if !strings.Contains(r.Msg, "no import") {
		t.Errorf("message = %q", r.Msg)
	}
	e.do(app, req{method: "GET", target: latestPath + "?importId=imp_1"}).want(t, 400, appwheel.EINVALID)
	e.do(app, req{method: "POST", target: latestPath, body: `{}`}).want(t, 405, appwheel.EINVALID)
	e.do(app, req{method: "GET", target: importsPath}).want(t, 405, appwheel.EINVALID)

	st := e.do(app, req{method: "POST", target: importsPath, body: `{"metadataKey":"user_id"}`}).want(t, 200, 0).status(t)
	got := e.do(app, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t)
	if got != st {
		t.Errorf("latest = %+v, want what start answered, %+v", got, st)
	}
}

// TestCustomerImportsPerApp: an app sees, replaces and resumes only its
// own import.
func TestCustomerImportsPerApp(t *testing.T) {
	e, q := newImportEnv(t)
	a, b := e.NewApp("a"), e.NewApp("b")
	cusA := e.Stripe.AddExistingCustomer(a.Stripe, nil).ID
	body := `{"pairs":[{"appUserId":"u1","customerId":"` + cusA + `"}]}`
	fromA := e.do(a, req{method: "POST", target: importsPath, body: body}).want(t, 200, 0).status(t)

	r := e.do(b, req{method: "GET", target: latestPath}).want(t, 404, appwheel.ENOTFOUND)
	hNoLeak(t, r, []string{fromA.ImportID, a.ID, cusA})

	// b starting the very same import starts its own, leaving a's alone.
	fromB := e.do(b, req{method: "POST", target: importsPath, body: body}).want(t, 200, 0).status(t)
	if fromB.ImportID == fromA.ImportID {
		t.Fatalf("b resumed a's import %s", fromA.ImportID)
	}
	if got := e.do(a, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t); got.ImportID != fromA.ImportID {
		t.Errorf("a's latest = %s, want its own %s", got.ImportID, fromA.ImportID)
	}
	if got := e.do(b, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t); got.ImportID != fromB.ImportID {
		t.Errorf("b's latest = %s, want its own %s", got.ImportID, fromB.ImportID)
	}
	if want := [][2]string{{a.ID, fromA.ImportID}, {b.ID, fromB.ImportID}}; !slices.Equal(q.enqueued(), want) {
		t.Errorf("enqueued %v, want %v", q.enqueued(), want)
	}

	// b's import of a's customer links nothing: the customer is not in b's
	// Stripe account.
	e.finish(b, fromB.ImportID)
	done := e.do(b, req{method: "GET", target: latestPath}).want(t, 200, 0).status(t)
	if done.Linked != 0 || done.Skipped != 1 {
		t.Errorf("b's import of a's customer = %+v, want it skipped", done)
	}
	if _, err := e.Store.CustomerID(context.Background(), b.ID, "u1"); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("b/u1 linked to a's customer: %v", err)
	}
	if md := e.Stripe.CustomerMetadata(a.Stripe, cusA); md["appwheel_app_id"] != "" {
		t.Errorf("a's customer tagged by b's import: %v", md)
	}
}

// TestStartCustomerImportWithoutJobs: a server whose billing has no jobs
// to hand an import to refuses to start one, and starts nothing.
func TestStartCustomerImportWithoutJobs(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	r := e.do(app, req{method: "POST", target: importsPath, body: `{"metadataKey":"user_id"}`}).want(t, 400, appwheel.EINVALID)
	if !strings.Contains(r.Msg, "background") {
		t.Errorf("message = %q", r.Msg)
	}
	e.do(app, req{method: "GET", target: latestPath}).want(t, 404, appwheel.ENOTFOUND)
}
