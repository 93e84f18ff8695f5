package sandbox_test

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/appwheel/appwheel/sandbox"
)

func TestStateSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/sandbox.json"
	const key = "sk_test_persisted_secret_key"
	e := newEnv(t, func(c *sandbox.Config) { c.StatePath = path })
	cid, pm := e.customerWithCard(t, key, "pm_card_visa")
	price := e.price(t, key, "pro")
	sub := str(e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price)), "id")
	if _, err := e.sb.Advance(key, 31*day); err != nil {
		t.Fatal(err)
	}
	e.call(t, key, "POST", "/v1/customers", vals("email", "idem@example.com"), "Idempotency-Key", "persisted-key")
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), key) {
		t.Errorf("the snapshot contains the secret key")
	}

	// A new sandbox on the same file, with another BaseURL.
	e2 := newEnv(t, func(c *sandbox.Config) { c.StatePath = path })
	got := e2.mustCall(t, 200, key, "GET", "/v1/customers/"+cid, nil)
	if str(got, "invoice_settings.default_payment_method") != pm {
		t.Errorf("got default %q, want %s", str(got, "invoice_settings.default_payment_method"), pm)
	}
	s := e2.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+sub, nil)
	if str(s, "status") != "active" {
		t.Errorf("got subscription %s, want active", str(s, "status"))
	}
	ins := e2.invoices(t, key, cid)
	if len(ins) != 2 || !strings.HasPrefix(str(ins[0], "invoice_pdf"), e2.srv.URL+"/invoices/") {
		t.Errorf("got %d invoices with pdf %q, want 2 with URLs on the new server", len(ins), str(ins[0], "invoice_pdf"))
	}
	clock := e2.mustCall(t, 200, key, "GET", "/_sandbox/clock", nil)
	if want := start.Add(31 * day).Unix(); num(clock, "now") != want {
		t.Errorf("got clock %d, want %d (the advance kept)", num(clock, "now"), want)
	}
	replay := e2.call(t, key, "POST", "/v1/customers", vals("email", "idem@example.com"), "Idempotency-Key", "persisted-key")
	if replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("got no replay of an idempotency key across the restart")
	}
	entries, _ := os.ReadDir(strings.TrimSuffix(path, "/sandbox.json"))
	if len(entries) != 1 {
		t.Errorf("got %d files next to the snapshot, want only it (no temp files left)", len(entries))
	}
}

// TestConcurrentRequests hammers one account from several goroutines; run
// with -race it checks the locking.
func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, func(c *sandbox.Config) { c.StatePath = t.TempDir() + "/s.json" })
	const key = "sk_test_concurrent"
	e.keys(t, key)
	price := e.price(t, key, "pro")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cid, _ := e.customerWithCard(t, key, "pm_card_visa")
			e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price))
			if i%2 == 0 {
				e.sb.Advance(key, day)
			}
			e.mustCall(t, 200, key, "GET", "/v1/invoices", vals("customer", cid))
		}()
	}
	wg.Wait()
	if n := len(e.mustCall(t, 200, key, "GET", "/v1/customers", vals("limit", "100"))["data"].([]any)); n != 8 {
		t.Errorf("got %d customers, want 8", n)
	}
}
