package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
