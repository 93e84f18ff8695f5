package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
)

// TestImportExistingUsers: 50 users an app's backend made at Stripe before
// AppWheel (appwheel sandbox seed-existing) are linked by `apps import
// --metadata-key user_id`; their data is then read from the mirror with no
// Stripe call. A duplicate claim is reported, a user already linked is left
// alone, a rerun links nothing, and a CSV import links the rest.
func TestImportExistingUsers(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	d.cli("sandbox", "seed-existing", "--users", "50")

	// One more customer claims existing-7: neither is linked. And one user
	// named by no metadata, for the CSV.
	_, dup := d.stripe("POST", "/v1/customers", url.Values{"metadata[user_id]": {"existing-7"}})
	_, bare := d.stripe("POST", "/v1/customers", url.Values{"email": {"csv@example.com"}})
	// existing-3 is linked already, by hand.
	three := d.customersWhere("user_id", "existing-3")[0]["id"].(string)
	d.cli("apps", "link", d.facts.AppID, "--user", "existing-3", "--customer", three)

	report := filepath.Join(t.TempDir(), "report.jsonl")
	start := time.Now()
	out := d.cli("apps", "import", d.facts.AppID, "--metadata-key", "user_id", "--report", report, "--json")
	took := time.Since(start)
	var prog struct{ Seen, Linked, Skipped, Failed int }
	if err := json.Unmarshal([]byte(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]), &prog); err != nil {
		t.Fatalf("apps import printed %q: %v", out, err)
	}
	// 50 seeded + the duplicate + the bare one: 49 linked (not existing-7,
	// claimed twice; existing-3 was linked before), skipped 3 = the two
	// claims of existing-7 and the bare customer, plus existing-3 already
	// linked.
	if prog.Seen != 52 || prog.Linked != 48 || prog.Failed != 0 || prog.Skipped != 4 {
		t.Errorf("import: %+v; want 52 seen, 48 linked, 4 skipped", prog)
	}
	t.Logf("imported %d customers in %v (%.0f/s)", prog.Linked, took, float64(prog.Linked)/took.Seconds())
	lines, _ := os.ReadFile(report)
	for _, want := range []string{dup["id"].(string), bare["id"].(string), "duplicate"} {
		if !strings.Contains(string(lines), want) {
			t.Errorf("report lacks %s:\n%s", want, lines)
		}
	}

	// Settled, reads are local.
	before := d.settledStripeCalls()
	withSubs := 0
	for i := 1; i <= 50; i++ {
		user := fmt.Sprintf("existing-%d", i)
		list := d.methods(user)
		subs, err := d.client.Subscriptions(c, user)
		if err != nil {
			t.Fatal(err)
		}
		if user == "existing-7" {
			if len(list.Methods) != 0 {
				t.Errorf("existing-7, claimed twice, has %d methods: it was linked", len(list.Methods))
			}
			continue
		}
		if len(list.Methods) == 0 || list.DefaultMethodID == "" {
			t.Errorf("%s: %d methods, default %q; want its cards and a default", user, len(list.Methods), list.DefaultMethodID)
		}
		if len(subs) > 0 {
			withSubs++
			if subs[0].PaymentMethodID == "" {
				t.Errorf("%s: subscription charges no card", user)
			}
		}
	}
	if withSubs == 0 {
		t.Error("no imported user has a subscription: seed-existing made none?")
	}
	if after := d.stripeCalls(); after != before {
		t.Errorf("reads of imported users made %v Stripe calls, want 0", after-before)
	}

	// A second run changes nothing.
	out = d.cli("apps", "import", d.facts.AppID, "--metadata-key", "user_id", "--json")
	if !strings.Contains(out, `"linked":0`) {
		t.Errorf("second run: %s; want nothing linked", out)
	}
	// The CSV names the bare customer's user.
	csvPath := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(csvPath, []byte("appUserId,customerId\ncsv-user,"+bare["id"].(string)+"\n"), 0o600)
	if out := d.cli("apps", "import", d.facts.AppID, "--csv", csvPath, "--json"); !strings.Contains(out, `"linked":1`) {
		t.Errorf("CSV import: %s; want one linked", out)
	}
	if _, err := d.client.PaymentMethods(c, "csv-user"); err != nil {
		t.Error(err)
	}
	// createPaymentMethod for an imported user uses its customer.
	if _, err := d.client.CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: "existing-1", Type: client.TypeSetupIntent}); err != nil {
		t.Fatal(err)
	}
	if found := d.customersWhere("appwheel_app_user_id", "existing-1"); len(found) != 1 {
		t.Errorf("customers of existing-1 = %d, want 1", len(found))
	}
}

// TestImportKilledHalfWayResumes: the importer killed with SIGKILL part-way
// through is run again and finishes: every user linked once, to its own
// customer, and no customer created.
func TestImportKilledHalfWayResumes(t *testing.T) {
	d := startDev(t)
	d.cli("sandbox", "seed-existing", "--users", "30")
	countCustomers := func() int {
		n := 0
		for after := ""; ; {
			path := "/v1/customers?limit=100"
			if after != "" {
				path += "&starting_after=" + after
			}
			_, page := d.stripe("GET", path, nil)
			data := page["data"].([]any)
			n += len(data)
			if page["has_more"] != true || len(data) == 0 {
				return n
			}
			after = data[len(data)-1].(map[string]any)["id"].(string)
		}
	}
	customers := countCustomers()

	cmd := exec.Command(binary, "apps", "import", d.facts.AppID, "--metadata-key", "user_id", "--data-dir", d.dataDir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Some users in, not all (the budget lets a few through per second):
	// users are linked one after the other, so with three tagged at Stripe
	// the first two are done.
	eventuallyWithin(t, 20*time.Second, "three users tagged", func() bool {
		return len(d.customersWhere("appwheel_app_id", d.facts.AppID)) >= 3
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// The rerun waits out the killed importer's lease (15 s at most), then
	// goes on with the same import: at most the one user linked when the
	// kill came, its outcome not yet written, is found linked already.
	killed := d.cli("apps", "import-status", d.facts.AppID, "--json")
	out := d.cli("apps", "import", d.facts.AppID, "--metadata-key", "user_id", "--json")
	var before, prog struct {
		ImportID                      string
		Seen, Linked, Skipped, Failed int
	}
	for s, v := range map[string]any{killed: &before, out: &prog} {
		if err := json.Unmarshal([]byte(s[strings.LastIndex(strings.TrimSpace(s), "\n")+1:]), v); err != nil {
			t.Fatalf("apps import printed %q: %v", s, err)
		}
	}
	if prog.ImportID != before.ImportID || before.Linked < 2 || prog.Seen != 30 || prog.Failed != 0 ||
		prog.Linked+prog.Skipped != 30 || prog.Skipped > 1 {
		t.Errorf("killed with %+v, rerun: %+v; want the same import finished, at most one user found linked already", before, prog)
	}
	if n := countCustomers(); n != customers {
		t.Errorf("customers = %d after the import, want %d: none created", n, customers)
	}
	for i := 1; i <= 30; i++ {
		user := fmt.Sprintf("existing-%d", i)
		found := d.customersWhere("user_id", user)
		if len(found) != 1 {
			t.Fatalf("%s: %d customers", user, len(found))
		}
		meta := found[0]["metadata"].(map[string]any)
		if meta["appwheel_app_user_id"] != user {
			t.Errorf("%s's customer is tagged %v", user, meta["appwheel_app_user_id"])
		}
		if list := d.methods(user); len(list.Methods) == 0 {
			t.Errorf("%s: no methods after the import", user)
		}
	}
}

// stormProxy stands between an app and the sandbox and answers Stripe's
// 429 rate_limit error: to each of the first 8 requests (more than the
// Stripe adapter's own retries of one call), then to every other one up to
// the 40th.
type stormProxy struct {
	mu      sync.Mutex
	n       int
	limited int
}

func (p *stormProxy) handler(target *url.URL) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(target)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.n++
		limit := p.n <= 8 || p.n <= 40 && p.n%2 == 0
		if limit {
			p.limited++
		}
		p.mu.Unlock()
		if limit {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Request rate limit exceeded."}}`)
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

// TestImportInBackgroundThroughA429Storm: an import handed to the server's
// jobs (apps import --background) finishes while Stripe answers a storm of
// 429s: slowed, no customer failed. Meanwhile another app's API keeps
// answering; its read latency before and during the import is logged.
func TestImportInBackgroundThroughA429Storm(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	d.cli("sandbox", "seed-existing", "--users", "30")

	storm := &stormProxy{}
	target, err := url.Parse(d.facts.StripeAPIBase)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(storm.handler(target))
	defer proxy.Close()
	// The importing app shares the demo app's sandbox account, through the
	// proxy.
	var created struct {
		AppID string `json:"appId"`
	}
	out := d.cli("apps", "create", "--name", "importer", "--stripe-secret-key", d.facts.StripeSecretKey,
		"--stripe-api-base", proxy.URL, "--json")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &created); err != nil || created.AppID == "" {
		t.Fatalf("apps create printed %q: %v", out, err)
	}

	// The other app: the demo app, with a user and a card, read 50 times a
	// second (half its API rate limit).
	d.mustAddCard("reader", "pm_card_visa")
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	read := func() time.Duration {
		<-pace.C
		start := time.Now()
		if _, err := d.client.PaymentMethods(c, "reader"); err != nil {
			t.Errorf("the other app's read failed during the import: %v", err)
		}
		return time.Since(start)
	}
	var before []time.Duration
	for range 100 {
		before = append(before, read())
	}

	started := time.Now()
	out = d.cli("apps", "import", created.AppID, "--metadata-key", "user_id", "--background", "--json")
	var st struct {
		ImportID, State      string
		Background           bool
		Seen, Linked, Failed int
		Pending, Skipped     int
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
		t.Fatalf("apps import --background printed %q: %v", out, err)
	}
	if !st.Background || st.State == "finished" {
		t.Errorf("apps import --background: %+v; want a background import under way", st)
	}
	var during []time.Duration
	for {
		during = append(during, read())
		if len(during)%50 != 0 {
			continue
		}
		out := d.cli("apps", "import-status", created.AppID, "--json")
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
			t.Fatalf("import-status printed %q: %v", out, err)
		}
		if st.State == "finished" {
			break
		}
		if time.Since(started) > 2*time.Minute {
			t.Fatalf("import not finished after 2 minutes: %+v", st)
		}
	}
	took := time.Since(started)
	// 31 seen: the 30 users and the demo app's reader, whose customer names
	// no user_id.
	if st.Seen != 31 || st.Linked != 30 || st.Failed != 0 {
		t.Errorf("import: %+v; want 31 seen, 30 linked, none failed", st)
	}
	storm.mu.Lock()
	limited, total := storm.limited, storm.n
	storm.mu.Unlock()
	if limited == 0 {
		t.Error("the proxy answered no 429: no storm")
	}
	if found := d.customersWhere("appwheel_app_id", created.AppID); len(found) != 30 {
		t.Errorf("%d customers tagged for the importing app, want 30", len(found))
	}
	t.Logf("imported 30 customers in the background in %v through %d 429s of %d Stripe requests", took.Round(time.Millisecond), limited, total)
	t.Logf("the other app's paymentMethod reads: before the import p50 %v p99 %v (n=%d); during it p50 %v p99 %v (n=%d)",
		percentile(before, 50), percentile(before, 99), len(before), percentile(during, 50), percentile(during, 99), len(during))
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(0, (len(s)*p+99)/100-1)].Round(10 * time.Microsecond)
}

// TestBackgroundImportSurvivesACrash: the server is killed with SIGKILL
// while its job works on an import the app started through the API; started again on the same data, it
// finishes the import (River rescues the job after twice the job timeout):
// every user linked once, to its own customer, and no customer created.
func TestBackgroundImportSurvivesACrash(t *testing.T) {
	dir, addr, sandboxAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	env := []string{"APPWHEEL_JOB_TIMEOUT=4s"}
	d := startDevIn(t, dir, addr, sandboxAddr, env...)
	d.cli("sandbox", "seed-existing", "--users", "30")
	status := func() (st struct {
		ImportID, State               string
		Seen, Linked, Skipped, Failed int
	}) {
		out := d.cli("apps", "import-status", d.facts.AppID, "--json")
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
			t.Fatalf("import-status printed %q: %v", out, err)
		}
		return st
	}
	// Started from the app's backend, through the Go SDK.
	started, err := d.client.StartCustomerImport(ctx(t), client.CustomerImportParams{MetadataKey: "user_id"})
	if err != nil || !started.Background || started.State == client.ImportFinished {
		t.Fatalf("StartCustomerImport: %+v, %v; want a background import under way", started, err)
	}
	eventuallyWithin(t, 30*time.Second, "three users linked", func() bool { return status().Linked >= 3 })
	d.kill()
	before := status()
	if before.State == "finished" {
		t.Fatalf("the import finished before the kill: %+v", before)
	}

	d = startDevIn(t, dir, addr, sandboxAddr, env...)
	var after = before
	eventuallyWithin(t, time.Minute, "the import finished after the restart", func() bool {
		after = status()
		return after.State == "finished"
	})
	if got, err := d.client.CustomerImportStatus(ctx(t)); err != nil || got.ImportID != started.ImportID || got.State != client.ImportFinished {
		t.Errorf("CustomerImportStatus: %+v, %v; want import %s finished", got, err, started.ImportID)
	}
	if after.ImportID != before.ImportID || after.Seen != 30 || after.Failed != 0 ||
		after.Linked+after.Skipped != 30 || after.Skipped > 1 {
		t.Errorf("killed with %+v, after the restart: %+v; want the same import finished, at most one user found linked already", before, after)
	}
	for i := 1; i <= 30; i++ {
		user := fmt.Sprintf("existing-%d", i)
		found := d.customersWhere("user_id", user)
		if len(found) != 1 || found[0]["metadata"].(map[string]any)["appwheel_app_user_id"] != user {
			t.Errorf("%s: customers %v; want one, tagged for it", user, found)
		}
	}
	if n := len(d.customersWhere("appwheel_app_id", d.facts.AppID)); n != 30 {
		t.Errorf("%d customers tagged for the app, want 30: none created", n)
	}
}
