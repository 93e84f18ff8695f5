package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSandboxSubscribe runs appwheel dev in-process and subscribes users
// as an app's backend would: on the customer's default card or on --card,
// never on a card the command picks itself.
func TestSandboxSubscribe(t *testing.T) {
	dir := t.TempDir()
	dev := startDev(t, dir)
	ctx := t.Context()
	sc := &sandboxClient{base: dev.StripeAPIBase, key: dev.StripeSecretKey, http: &http.Client{Timeout: 10 * time.Second}}
	stripe := func(path string, form url.Values) string {
		t.Helper()
		var out struct {
			ID string `json:"id"`
		}
		if err := sc.do(ctx, "POST", path, form, &out); err != nil {
			t.Fatal(err)
		}
		return out.ID
	}
	// customer makes a user's customer with cards (test tokens) and no
	// default, straight at the sandbox: AppWheel ignores customers it did
	// not make, so it does not pick a default for this one.
	customer := func(user string, tokens ...string) (id string, cards []string) {
		t.Helper()
		id = stripe("/v1/customers", url.Values{"metadata[appwheel_app_user_id]": {user}})
		for _, tok := range tokens {
			cards = append(cards, stripe("/v1/payment_methods/"+tok+"/attach", url.Values{"customer": {id}}))
		}
		return id, cards
	}
	subscribe := func(args ...string) (stdout, stderr string, err error) {
		t.Helper()
		return runCLIOutputs(t, append([]string{"sandbox", "subscribe", "--data-dir", dir, "--price", "monthly"}, args...)...)
	}

	// No card at all: refused, with or without a customer, --card or not.
	customer("nocard")
	for _, args := range [][]string{{"--user", "nocard"}, {"--user", "stranger"}, {"--user", "nocard", "--card", "pm_card_visa"}} {
		if _, _, err := subscribe(args...); err == nil || err.Error() != "user "+args[1]+" has no payment method: add one first" {
			t.Errorf("%v: err = %v", args, err)
		}
	}

	// Cards but no default: sent as a backend would, with a warning; the
	// sandbox refuses it as Stripe does, having nothing to charge.
	_, u1 := customer("u1", "pm_card_visa", "pm_card_chargeCustomerFail")
	visa, failing := u1[0], u1[1]
	_, stderr, err := subscribe("--user", "u1")
	if !strings.Contains(stderr, "has no default payment method") || !strings.Contains(stderr, "--card") {
		t.Errorf("no default: stderr %q lacks the warning", stderr)
	}
	if err == nil || !strings.Contains(err.Error(), "no attached payment source or default payment method") {
		t.Errorf("no default: err = %v; want the sandbox's refusal", err)
	}

	// --card is the card charged: the failing one leaves the subscription
	// incomplete, the good one makes it active.
	for _, tt := range []struct{ card, status string }{{failing, "incomplete"}, {visa, "active"}} {
		out, stderr, err := subscribe("--card", tt.card, "--user", "u1")
		if err != nil || stderr != "" {
			t.Fatalf("--card %s: %v, stderr %q", tt.card, err, stderr)
		}
		id, status, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(out), "subscription "), " for u1: ")
		if !ok || status != tt.status {
			t.Errorf("--card %s printed %q; want status %s", tt.card, out, tt.status)
		}
		var sub struct {
			DefaultPaymentMethod string `json:"default_payment_method"`
		}
		if err := sc.do(ctx, "GET", "/v1/subscriptions/"+id, nil, &sub); err != nil || sub.DefaultPaymentMethod != tt.card {
			t.Errorf("subscription %s: default_payment_method %q, err %v; want %s", id, sub.DefaultPaymentMethod, err, tt.card)
		}
	}

	// Another user's card is refused by the sandbox, whose message is shown.
	u2, u2cards := customer("u2", "pm_card_visa")
	if _, _, err := subscribe("--user", "u1", "--card", u2cards[0]); err == nil ||
		!strings.Contains(err.Error(), "does not have a payment method with the ID "+u2cards[0]) {
		t.Errorf("foreign card: err = %v", err)
	}

	// The customer's default is charged without --card, and no warning.
	stripe("/v1/customers/"+u2, url.Values{"invoice_settings[default_payment_method]": {u2cards[0]}})
	out, stderr, err := subscribe("--user", "u2")
	if err != nil || stderr != "" || !strings.HasSuffix(strings.TrimSpace(out), "for u2: active") {
		t.Errorf("u2 on its default: %q, stderr %q, err %v", out, stderr, err)
	}
}

// TestSandboxSeedExisting runs appwheel dev in-process and seeds customers
// as an app's own backend made them before AppWheel: the app's user_id in
// their metadata and none of AppWheel's, cards, some customer defaults,
// subscriptions on one of their cards whose first invoices are paid.
func TestSandboxSeedExisting(t *testing.T) {
	dir := t.TempDir()
	dev := startDev(t, dir)
	ctx := t.Context()
	sc := &sandboxClient{base: dev.StripeAPIBase, key: dev.StripeSecretKey, http: &http.Client{Timeout: 10 * time.Second}}
	seed := func(args ...string) (string, error) {
		t.Helper()
		return runCLI(t, append([]string{"sandbox", "seed-existing", "--data-dir", dir}, args...)...)
	}

	// --users out of range is a usage error, with a dev running or not.
	for _, args := range [][]string{{"--users", "0"}, {"--users", "10001"}, {"--users", "-3"}, {}, {"--users", "0", "--data-dir", t.TempDir()}} {
		_, err := seed(args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "needs --users N, from 1 to 10000") {
			t.Errorf("%v: err = %v (exit %d); want a usage error", args, err, exitCode(err))
		}
	}

	type customer struct {
		ID              string            `json:"id"`
		Email           string            `json:"email"`
		Metadata        map[string]string `json:"metadata"`
		InvoiceSettings struct {
			DefaultPaymentMethod string `json:"default_payment_method"`
		} `json:"invoice_settings"`
	}
	// seeded is the sandbox's customers with a metadata user_id, by it.
	seeded := func() map[string]customer {
		t.Helper()
		var list struct {
			Data []customer `json:"data"`
		}
		if err := sc.do(ctx, "GET", "/v1/customers?limit=100", nil, &list); err != nil {
			t.Fatal(err)
		}
		byUser := map[string]customer{}
		for _, c := range list.Data {
			if u, ok := c.Metadata["user_id"]; ok {
				byUser[u] = c
			}
		}
		return byUser
	}

	out, err := seed("--users", "5")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"seeded 5 customers (3 with a default card), 9 cards, 4 subscriptions (3 monthly, 1 yearly; 4 active) with 4 paid invoices",
		"existing-1 … existing-5", "apps import " + dev.AppID + " --metadata-key user_id --data-dir " + shellQuote(dir)} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("output has %d lines, want the summary and the import hint:\n%s", n, out)
	}

	customers := seeded()
	if len(customers) != 5 {
		t.Fatalf("%d customers with a user_id, want 5: %v", len(customers), customers)
	}
	cards := map[string][]string{} // by customer
	for i := 1; i <= 5; i++ {
		user := fmt.Sprintf("existing-%d", i)
		c, ok := customers[user]
		if !ok {
			t.Errorf("no customer for %s", user)
			continue
		}
		for k := range c.Metadata {
			if strings.HasPrefix(k, "appwheel_") {
				t.Errorf("%s has AppWheel's metadata %s", user, k)
			}
		}
		if c.Email != user+"@example.com" {
			t.Errorf("%s: email %q", user, c.Email)
		}
		var pms struct {
			Data []struct {
				ID   string `json:"id"`
				Card struct {
					Brand string `json:"brand"`
				} `json:"card"`
			} `json:"data"`
		}
		if err := sc.do(ctx, "GET", "/v1/customers/"+c.ID+"/payment_methods?limit=100", nil, &pms); err != nil {
			t.Fatal(err)
		}
		if want := 1 + (i-1)%3; len(pms.Data) != want {
			t.Errorf("%s has %d cards, want %d", user, len(pms.Data), want)
		}
		for _, pm := range pms.Data {
			cards[c.ID] = append(cards[c.ID], pm.ID)
		}
		// Odd users have a customer default, one of their cards; even ones none.
		if d := c.InvoiceSettings.DefaultPaymentMethod; (i%2 == 1) != (d != "") || (d != "" && !slices.Contains(cards[c.ID], d)) {
			t.Errorf("%s: customer default %q, cards %v", user, d, cards[c.ID])
		}
	}

	// Every user but the fifth is subscribed, on one of its own cards, to
	// the monthly price (the third to the yearly one); each first invoice
	// is paid.
	var subs struct {
		Data []struct {
			Customer             string `json:"customer"`
			Status               string `json:"status"`
			DefaultPaymentMethod string `json:"default_payment_method"`
			Items                struct {
				Data []struct {
					Price struct {
						ID string `json:"id"`
					} `json:"price"`
				} `json:"data"`
			} `json:"items"`
		} `json:"data"`
	}
	if err := sc.do(ctx, "GET", "/v1/subscriptions?status=all&limit=100", nil, &subs); err != nil {
		t.Fatal(err)
	}
	subscribed := map[string]string{} // customer to price
	for _, s := range subs.Data {
		if s.Status != "active" || !slices.Contains(cards[s.Customer], s.DefaultPaymentMethod) || len(s.Items.Data) != 1 {
			t.Errorf("subscription of %s: %+v", s.Customer, s)
			continue
		}
		subscribed[s.Customer] = s.Items.Data[0].Price.ID
	}
	want := map[string]string{}
	for i, price := range map[int]string{1: "monthly", 2: "monthly", 3: "yearly", 4: "monthly"} {
		want[customers[fmt.Sprintf("existing-%d", i)].ID] = dev.Prices[price]
	}
	if len(subs.Data) != 4 || !maps.Equal(subscribed, want) {
		t.Errorf("subscriptions (customer: price) %v, want %v", subscribed, want)
	}
	var paid struct {
		Data []struct {
			Customer string `json:"customer"`
		} `json:"data"`
	}
	if err := sc.do(ctx, "GET", "/v1/invoices?status=paid&limit=100", nil, &paid); err != nil {
		t.Fatal(err)
	}
	if len(paid.Data) != 4 {
		t.Errorf("%d paid invoices, want 4", len(paid.Data))
	}

	// The same users again are refused, naming the first, and nothing is
	// created; another prefix seeds more.
	if _, err := seed("--users", "7"); exitCode(err) != 1 || !strings.Contains(err.Error(), "(5, the first existing-1: "+customers["existing-1"].ID+")") ||
		!strings.Contains(err.Error(), "--user-prefix") {
		t.Errorf("seeding existing-1…7 again: err = %v", err)
	}
	if n := len(seeded()); n != 5 {
		t.Errorf("a refused seed left %d customers, want 5", n)
	}
	// Only PREFIX1 … PREFIXN count: fresh-3 is refused when N ≥ 3 only.
	var other struct {
		ID string `json:"id"`
	}
	if err := sc.do(ctx, "POST", "/v1/customers", url.Values{"metadata[user_id]": {"fresh-3"}}, &other); err != nil {
		t.Fatal(err)
	}
	if _, err := seed("--users", "3", "--user-prefix", "fresh-"); err == nil || !strings.Contains(err.Error(), "(1, the first fresh-3: "+other.ID+")") {
		t.Errorf("seeding fresh-1…3 with fresh-3 there: err = %v", err)
	}
	if out, err := seed("--users", "2", "--user-prefix", "fresh-"); err != nil || !strings.Contains(out, "seeded 2 customers") {
		t.Errorf("seeding fresh-1…2: %q, err %v", out, err)
	}
	got := slices.Sorted(maps.Keys(seeded()))
	if want := []string{"existing-1", "existing-2", "existing-3", "existing-4", "existing-5", "fresh-1", "fresh-2", "fresh-3"}; !slices.Equal(got, want) {
		t.Errorf("users %v, want %v", got, want)
	}
}

// The banner's sandbox commands work as printed: with the data directory
// when it is not the default, and pasted in a shell as this binary's own
// command line. dev ignores the database settings: it is SQLite in its
// data directory.
func TestDevBannerCommands(t *testing.T) {
	t.Setenv("APPWHEEL_DATABASE_URL", "mysql://ignored")
	dir := filepath.Join(t.TempDir(), "my dev")
	var stdout lockedBuffer
	startDevOutput(t, dir, &stdout)
	self := selfCommand(os.Executable, exec.LookPath)
	var lines []string
	for line := range strings.Lines(stdout.String()) {
		if line, ok := strings.CutPrefix(strings.TrimSpace(line), self+" "); ok {
			lines = append(lines, line)
		}
	}
	want := []string{
		"sandbox --data-dir " + shellQuote(dir) + " subscribe --user u1 --price monthly",
		"sandbox --data-dir " + shellQuote(dir) + " advance --days 31",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("banner's commands (after %q):\n%q\nwant\n%q\nbanner:\n%s", self, lines, want, stdout.String())
	}
	// Run as a shell splits them.
	for i, line := range lines {
		_, err := runCLI(t, shellSplit(t, line)...)
		if i == 0 && (err == nil || !strings.Contains(err.Error(), "user u1 has no payment method")) {
			t.Errorf("%s: err = %v; want the sandbox's answer for a user without cards", line, err)
		}
		if i == 1 && err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "appwheel.db")); err != nil {
		t.Errorf("dev did not use DATA_DIR/appwheel.db: %v", err)
	}
}

// shellSplit splits line into words as sh does (line has no newline).
func shellSplit(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `eval "set -- $1"; for a in "$@"; do printf '%s\n' "$a"; done`, "sh", line).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// lockedBuffer is a bytes.Buffer for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDev runs appwheel dev in-process on free ports with dir as its data
// directory until the test ends, and returns what it wrote to dev.json.
func startDev(t *testing.T, dir string) *devFile {
	t.Helper()
	return startDevOutput(t, dir, io.Discard)
}

// startDevOutput is startDev with dev's standard output written to stdout.
func startDevOutput(t *testing.T, dir string, stdout io.Writer) *devFile {
	t.Helper()
	addr, sandboxAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data-dir", dir, "--addr", addr, "--sandbox-addr", sandboxAddr}, stdout, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev returned %v after shutdown", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("dev did not shut down")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("dev exited: %v", err)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("dev not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dev devFile
	if err := json.Unmarshal(raw, &dev); err != nil {
		t.Fatal(err)
	}
	return &dev
}

// TestDevKeys: dev.json lists the sandbox account's three keys, which the
// sandbox accepts for what each kind of key may do; a key dev did not
// issue is refused.
func TestDevKeys(t *testing.T) {
	dir := t.TempDir()
	dev := startDev(t, dir)
	status := func(key, method, path string) int {
		t.Helper()
		req, err := http.NewRequest(method, dev.StripeAPIBase+path, strings.NewReader("name=Pro"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, c := range []struct {
		key, method, path string
		want              int
	}{
		{dev.StripeSecretKey, "GET", "/v1/customers", 200},
		{dev.StripeRestrictedKey, "GET", "/v1/customers", 200},
		{dev.StripeRestrictedKey, "POST", "/v1/products", 403},
		{dev.StripePublishableKey, "GET", "/v1/customers", 401},
		{"sk_test_dev_notissued", "GET", "/v1/customers", 401},
	} {
		if got := status(c.key, c.method, c.path); got != c.want {
			t.Errorf("%s… %s %s: got %d, want %d", c.key[:8], c.method, c.path, got, c.want)
		}
	}
	if !strings.HasPrefix(dev.StripePublishableKey, "pk_test_") || !strings.HasPrefix(dev.StripeRestrictedKey, "rk_test_") {
		t.Errorf("dev.json keys: %q, %q", dev.StripePublishableKey, dev.StripeRestrictedKey)
	}
}
