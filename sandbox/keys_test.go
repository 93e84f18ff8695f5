package sandbox_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel/sandbox"
)

// TestKeys: the API accepts exactly the keys the sandbox issued, each for
// what Stripe lets that kind of key do, and the keys outlive a restart.
func TestKeys(t *testing.T) {
	path := t.TempDir() + "/state.json"
	e := newEnv(t, func(c *sandbox.Config) { c.StatePath = path })
	const secret = "sk_test_keys"
	k := e.keys(t, secret)

	t.Run("issuing is idempotent and the other keys do not show the secret", func(t *testing.T) {
		again := e.keys(t, secret)
		if again != k {
			t.Errorf("got %+v, then %+v: want the same keys", k, again)
		}
		if !strings.HasPrefix(k.Publishable, "pk_test_") || !strings.HasPrefix(k.Restricted, "rk_test_") {
			t.Errorf("got %+v, want pk_test_ and rk_test_ keys", k)
		}
		if strings.Contains(k.Publishable, "keys") || strings.Contains(k.Restricted, "keys") || k.Publishable[8:] == k.Restricted[8:] {
			t.Errorf("got %+v: the derived keys must not carry the secret's suffix nor each other's", k)
		}
		if _, err := e.sb.Issue("pk_test_x"); err == nil {
			t.Error("Issue took a publishable key as a secret key")
		}
	})

	t.Run("a key never issued is refused as Stripe refuses it", func(t *testing.T) {
		for _, key := range []string{"sk_test_neverissued", "rk_test_neverissued", "pk_test_neverissued", "sk_live_abcdefgh1234"} {
			a := do(t, e.srv.URL, key, "GET", "/v1/customers", nil)
			msg := a.errorField(t, "message")
			if a.Status != 401 || a.errorField(t, "type") != "invalid_request_error" ||
				!strings.HasPrefix(msg, "Invalid API Key provided: "+key[:8]+"****"+key[len(key)-4:]) || strings.Contains(msg, key) {
				t.Errorf("%s: got %d %s, want 401 invalid_request_error naming the key masked", key, a.Status, a.Body)
			}
		}
		if _, err := e.sb.Advance("sk_test_neverissued", 0); err == nil {
			t.Error("Advance accepted a key never issued")
		}
		if _, err := e.sb.EnsurePrice("sk_test_neverissued", sandbox.PriceSpec{LookupKey: "x", ProductName: "x", Currency: "usd", Interval: "month", UnitAmount: 1}); err == nil {
			t.Error("EnsurePrice accepted a key never issued")
		}
	})

	t.Run("a publishable key reaches only what Stripe.js may", func(t *testing.T) {
		if a := do(t, e.srv.URL, k.Publishable, "GET", "/v1/customers", nil); a.Status != 401 {
			t.Errorf("got %d %s listing customers with the publishable key, want 401", a.Status, a.Body)
		}
	})

	t.Run("a restricted key does what its permissions allow, and no more", func(t *testing.T) {
		cus := do(t, e.srv.URL, k.Restricted, "POST", "/v1/customers", vals("email", "a@example.com"))
		if cus.Status != 200 {
			t.Fatalf("got %d %s creating a customer with the restricted key, want 200", cus.Status, cus.Body)
		}
		// The same account as the secret key's.
		if a := e.mustCall(t, 200, secret, "GET", "/v1/customers/"+str(cus.json(t), "id"), nil); str(a, "email") != "a@example.com" {
			t.Errorf("got %v through the secret key, want the customer the restricted key made", a)
		}
		if a := do(t, e.srv.URL, k.Restricted, "GET", "/v1/prices", nil); a.Status != 200 {
			t.Errorf("got %d %s reading prices, want 200 (read access)", a.Status, a.Body)
		}
		a := do(t, e.srv.URL, k.Restricted, "POST", "/v1/products", vals("name", "Pro"))
		if msg := a.errorField(t, "message"); a.Status != 403 || !strings.Contains(msg, "Having the 'rak_product_write' permission") ||
			!strings.Contains(msg, "on account 'acct_") || strings.Contains(msg, k.Restricted) {
			t.Errorf("got %d %s creating a product, want 403 naming rak_product_write and not the key", a.Status, a.Body)
		}
		if a := do(t, e.srv.URL, k.Restricted, "GET", "/v1/subscriptions", nil); a.Status != 200 {
			t.Errorf("got %d %s listing subscriptions, want 200", a.Status, a.Body)
		}
		if a := do(t, e.srv.URL, k.Restricted, "GET", "/v1/payment_intents", nil); a.Status != 403 || !strings.Contains(a.errorField(t, "message"), "'rak_payment_intent_read'") {
			t.Errorf("got %d %s listing payment intents, want 403 naming rak_payment_intent_read", a.Status, a.Body)
		}
		if a := do(t, e.srv.URL, k.Restricted, "GET", "/v1/nothing_here", nil); a.Status != 404 {
			t.Errorf("got %d %s for an unknown URL, want 404", a.Status, a.Body)
		}
	})

	t.Run("issued keys are kept across a restart, and only they", func(t *testing.T) {
		if err := e.sb.Close(); err != nil {
			t.Fatal(err)
		}
		sb := sandbox.New(sandbox.Config{StatePath: path})
		if err := sb.Open(); err != nil {
			t.Fatal(err)
		}
		defer sb.Close()
		e.sb = sb
		for _, key := range []string{secret, k.Restricted} {
			if a := do(t, e.srv.URL, key, "GET", "/v1/customers", nil); a.Status != 200 {
				t.Errorf("%s after a restart: got %d %s, want 200", key[:8], a.Status, a.Body)
			}
		}

		// An account of a state file from before keys were issued (made
		// by the first use of any key) is not issued until Issue.
		if err := sb.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		old := regexp.MustCompile(`"(publishable|restricted)_key_hash":"[0-9a-f]+",?`).ReplaceAll(raw, nil)
		if bytes.Equal(old, raw) {
			t.Fatal("the state file has no key hashes to remove")
		}
		if err := os.WriteFile(path, old, 0o600); err != nil {
			t.Fatal(err)
		}
		e.sb = sandbox.New(sandbox.Config{StatePath: path})
		if err := e.sb.Open(); err != nil {
			t.Fatal(err)
		}
		defer e.sb.Close()
		if a := do(t, e.srv.URL, secret, "GET", "/v1/customers", nil); a.Status != 401 {
			t.Errorf("a key of an old state file: got %d %s, want 401 until issued", a.Status, a.Body)
		}
		if again := e.keys(t, secret); again != k {
			t.Errorf("issued again: got %+v, want %+v", again, k)
		}
		if a := do(t, e.srv.URL, secret, "GET", "/v1/customers", nil); a.Status != 200 || len(get(a.json(t), "data").([]any)) != 1 {
			t.Errorf("issued again: got %d %s, want 200 and the account's customer", a.Status, a.Body)
		}
	})
}

// TestStripeVersion: the sandbox serves one API version and says so in
// every answer; it answers an earlier version of the same release train
// (stripe-go v85's) alike, and refuses a later one or another train's
// rather than answer it in shapes of the wrong version.
func TestStripeVersion(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_version"
	for _, v := range []string{"", stripe.APIVersion, sandbox.APIVersion} {
		a := e.call(t, key, "GET", "/v1/customers", nil, "Stripe-Version", v)
		if a.Status != 200 || a.Header.Get("Stripe-Version") != sandbox.APIVersion {
			t.Errorf("Stripe-Version %q: got %d, version %q, want 200 and %s", v, a.Status, a.Header.Get("Stripe-Version"), sandbox.APIVersion)
		}
	}
	for _, v := range []string{"2026-11-18.endive", "2026-12-30.dahlia", "2025-03-31.basil", "dahlia", "2026-13-01.dahlia"} {
		a := e.call(t, key, "GET", "/v1/customers", nil, "Stripe-Version", v)
		if msg := a.errorField(t, "message"); a.Status != 400 || a.errorField(t, "type") != "invalid_request_error" ||
			!strings.Contains(msg, sandbox.APIVersion) || !strings.Contains(msg, v) || a.Header.Get("Stripe-Version") != sandbox.APIVersion {
			t.Errorf("%s: got %d %s (Stripe-Version %q), want 400 naming both versions, answered as %s", v, a.Status, a.Body, a.Header.Get("Stripe-Version"), sandbox.APIVersion)
		}
	}
}
