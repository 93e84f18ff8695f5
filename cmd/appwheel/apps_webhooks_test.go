package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAppsWebhooks: endpoints added, listed, rotated, disabled and removed
// through the CLI, and the URLs a server must not reach refused unless the
// operator allows private addresses.
func TestAppsWebhooks(t *testing.T) {
	dir := t.TempDir()
	data := "--data-dir=" + dir
	id := appIDFrom(t, mustRun(t, "apps", "create", data, "--json", "--name", "shop", "--stripe-secret-key", "sk_test_51ABCDEFghijklmnop"))

	// What serve refuses: loopback, private and link-local addresses, the
	// cloud metadata address, and plain http.
	for _, url := range []string{"https://127.0.0.1/x", "https://10.0.0.8/x", "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "http://127.0.0.1:3000/x", "http://example.com/x"} {
		_, err := runCLI(t, "apps", "webhooks", "add", id, data, "--url", url)
		if err == nil {
			t.Errorf("add --url %s: accepted without --allow-private-webhook-urls", url)
		}
	}
	if _, err := runCLI(t, "apps", "webhooks", "add", id, data, "--url", "https://169.254.169.254/"); err == nil || !strings.Contains(err.Error(), "--allow-private-webhook-urls") {
		t.Errorf("the refusal does not name the flag that allows it: %v", err)
	}
	if _, err := runCLI(t, "apps", "webhooks", "add", "app_nope", data, "--url", "https://127.0.0.1/x", "--allow-private-webhook-urls"); err == nil || !strings.Contains(err.Error(), "app_nope") {
		t.Errorf("add to an unknown app: %v", err)
	}

	var added struct {
		endpointView
		Secret string `json:"secret"`
	}
	out := mustRun(t, "apps", "webhooks", "add", id, data, "--json", "--allow-private-webhook-urls",
		"--url", "http://127.0.0.1:3000/events", "--events", "invoice.paid,invoice.payment_failed")
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatalf("add --json printed %q: %v", out, err)
	}
	if !strings.HasPrefix(added.ID, "we_") || !strings.HasPrefix(added.Secret, "awhsec_") || added.URL != "http://127.0.0.1:3000/events" ||
		strings.Join(added.Events, ",") != "invoice.paid,invoice.payment_failed" {
		t.Fatalf("added %+v", added)
	}
	if _, err := runCLI(t, "apps", "webhooks", "add", id, data, "--allow-private-webhook-urls", "--url", "http://127.0.0.1:3000/x", "--events", "invoice.bogus"); err == nil || !strings.Contains(err.Error(), "invoice.bogus") {
		t.Errorf("an unknown event type: %v", err)
	}

	list := mustRun(t, "apps", "webhooks", "list", id, data)
	if !strings.Contains(list, added.ID) || strings.Contains(list, added.Secret) {
		t.Errorf("list shows %q: want the endpoint, never its secret", list)
	}
	rotated := mustRun(t, "apps", "webhooks", "rotate-secret", id, added.ID, data, "--json")
	if !strings.Contains(rotated, "awhsec_") || strings.Contains(rotated, added.Secret) {
		t.Errorf("rotate-secret printed %q, want a new secret", rotated)
	}
	var disabled []endpointView
	json.Unmarshal([]byte(mustRun(t, "apps", "webhooks", "disable", id, added.ID, data, "--json")), &disabled)
	if len(disabled) != 1 || !disabled[0].Disabled || disabled[0].DisabledReason != "operator" {
		t.Errorf("disable printed %+v", disabled)
	}
	if out := mustRun(t, "apps", "webhooks", "deliveries", id, data, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("deliveries of an app that sent nothing: %q", out)
	}
	if _, err := runCLI(t, "apps", "webhooks", "redeliver", "evt_nope", data); err == nil {
		t.Error("redeliver of an unknown event succeeded")
	}
	mustRun(t, "apps", "webhooks", "remove", id, added.ID, data)
	if _, err := runCLI(t, "apps", "webhooks", "remove", id, added.ID, data); err == nil {
		t.Error("removing a removed endpoint succeeded")
	}
}
