package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/signature"

	_ "modernc.org/sqlite"
)

// runCLI runs one command line in-process and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	stdout, _, err := runCLIOutputs(t, args...)
	return stdout, err
}

// runCLIOutputs runs one command line in-process and returns its stdout
// and stderr.
func runCLIOutputs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("appwheel %s: %v", strings.Join(args, " "), err)
	}
	return out
}

type created struct {
	AppID     string `json:"appId"`
	Platform  string `json:"platform"`
	AppSecret string `json:"appSecret"`
}

func TestAppsCommands(t *testing.T) {
	dir := t.TempDir()
	data := "--data-dir=" + dir
	const stripeKey = "sk_test_51ABCDEFghijklmnop"
	var app created
	out := mustRun(t, "apps", "create", data, "--json", "--name", "shop", "--platform", "stripe",
		"--stripe-secret-key", stripeKey, "--stripe-webhook-secret", "whsec_abc",
		"--redirect-host", "Shop.Example.com", "--redirect-host", "m.example.com")
	if err := json.Unmarshal([]byte(out), &app); err != nil {
		t.Fatalf("create --json printed %q: %v", out, err)
	}
	if !strings.HasPrefix(app.AppID, "app_") || app.Platform != "stripe" || len(app.AppSecret) < 40 {
		t.Fatalf("created = %+v", app)
	}

	// The key file was made private, and no secret is stored in the clear.
	info, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("master.key mode = %o, want 600", info.Mode().Perm())
	}
	for _, f := range []string{"appwheel.db", "appwheel.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		for _, secret := range []string{app.AppSecret, stripeKey, "whsec_abc"} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s holds a secret in the clear", f)
			}
		}
	}

	show := mustRun(t, "apps", "show", data, app.AppID)
	for _, want := range []string{app.AppID, "shop", "sk_test_…mnop", "shop.example.com,m.example.com"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, app.AppSecret) || strings.Contains(show, stripeKey) {
		t.Errorf("show prints a secret:\n%s", show)
	}
	if list := mustRun(t, "apps", "list", data); !strings.Contains(list, app.AppID) {
		t.Errorf("list lacks the app:\n%s", list)
	}

	var rotated created
	out = mustRun(t, "apps", "rotate-secret", data, "--json", "--grace", "1h", app.AppID)
	if err := json.Unmarshal([]byte(out), &rotated); err != nil {
		t.Fatal(err)
	}
	if rotated.AppID != app.AppID || rotated.AppSecret == app.AppSecret {
		t.Errorf("rotated = %+v; want the same app with a new secret", rotated)
	}

	var views []appView
	if err := json.Unmarshal([]byte(mustRun(t, "apps", "disable", data, "--json", app.AppID)), &views); err != nil {
		t.Fatal(err)
	}
	if len(views) != 1 || !views[0].Disabled {
		t.Errorf("after disable: %+v", views)
	}
}

func TestAppsErrors(t *testing.T) {
	data := "--data-dir=" + t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"apps", "create", data, "--name", "x", "--stripe-secret-key", "pk_test_1"}, "sk_"},
		{[]string{"apps", "create", data, "--name", "x", "--platform", "apple", "--stripe-secret-key", "sk_test_1"}, "platform"},
		{[]string{"apps", "create", data, "--name", "x", "--stripe-secret-key", "sk_test_1", "--redirect-host", "https://x.com/a"}, "bare host"},
		{[]string{"apps", "show", data, "app_missing"}, "not found"},
		{[]string{"apps", "show", data}, "one app ID"},
		{[]string{"apps", "rotate-secret", data, "--grace", "-1h", "app_x"}, "negative"},
		{[]string{"nope"}, "unknown command"},
		{[]string{"dev", data, "--sandbox-search-delay", "2m"}, "--sandbox-search-delay 2m0s: give a duration from 0 to 1m"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runCLI(t, tt.args...)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.want)) {
				t.Errorf("error = %v; want one mentioning %q", err, tt.want)
			}
		})
	}
}

// A bad value in the environment fails the command that uses the field,
// at start and naming the variable.
func TestBadConfigIsAnError(t *testing.T) {
	tests := []struct {
		command, env, value, want string
	}{
		{"serve", "APPWHEEL_STRIPE_TIMEOUT", "soon", "APPWHEEL_STRIPE_TIMEOUT"},
		{"serve", "APPWHEEL_STRIPE_MAX_RETRIES", "-1", "APPWHEEL_STRIPE_MAX_RETRIES"},
		{"serve", "APPWHEEL_ADDR", "8080", "addr"},
		{"dev", "APPWHEEL_ADDR", "8080", "APPWHEEL_ADDR"},
		{"serve", "APPWHEEL_LOG_LEVEL", "loud", "log-level"},
		{"dev", "APPWHEEL_LOG_LEVEL", "loud", "APPWHEEL_LOG_LEVEL"},
		{"serve", "APPWHEEL_MASTER_KEY", "short", "master key"},
		{"apps list", "APPWHEEL_MASTER_KEY", "short", "APPWHEEL_MASTER_KEY"},
		{"migrate", "APPWHEEL_DB_MAX_CONNS", "0", "db-max-conns"},
		{"apps list", "APPWHEEL_DB_MAX_CONNS", "many", "APPWHEEL_DB_MAX_CONNS"},
		{"migrate", "APPWHEEL_DB_STATEMENT_TIMEOUT", "-1s", "APPWHEEL_DB_STATEMENT_TIMEOUT"},
		{"serve", "APPWHEEL_JOB_TIMEOUT", "never", "APPWHEEL_JOB_TIMEOUT"},
		{"dev", "APPWHEEL_JOB_TIMEOUT", "0s", "APPWHEEL_JOB_TIMEOUT"},
		{"serve", "APPWHEEL_STRIPE_API_BASE", "localhost:12111", "default-stripe-api-base"},
		{"serve", "APPWHEEL_RATE_LIMIT", "fast", "APPWHEEL_RATE_LIMIT"},
		{"serve", "APPWHEEL_PUBLIC_URL", "pay.example.com", "public-url"},
		{"serve", "APPWHEEL_PORTAL_LINK_TTL", "0s", "APPWHEEL_PORTAL_LINK_TTL"},
		{"serve", "APPWHEEL_PORTAL_VISIT_TTL", "an hour", "APPWHEEL_PORTAL_VISIT_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			dir := filepath.Join(t.TempDir(), "data")
			// Cancelled: were the value taken, the command would stop at once.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := run(ctx, append(strings.Fields(tt.command), "--data-dir", dir), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v; want one mentioning %q", err, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data directory was created")
			}
		})
	}
	t.Run("MASTER_KEY and MASTER_KEY_FILE", func(t *testing.T) {
		t.Setenv("APPWHEEL_MASTER_KEY", strings.Repeat("ab", 32))
		t.Setenv("APPWHEEL_MASTER_KEY_FILE", "/dev/null")
		if _, err := runCLI(t, "apps", "list", "--data-dir", t.TempDir()); err == nil {
			t.Error("no error for both set")
		}
	})
}

func TestMigrateTwice(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "migrate", "--data-dir="+dir)
	mustRun(t, "migrate", "--data-dir="+dir)
	db, err := sql.Open("sqlite", filepath.Join(dir, "appwheel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Both the store's tables and River's are there.
	for _, table := range []string{"apps", "customers", "invoices", "river_job", "river_leader"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: count %d, err %v; want it created", table, n, err)
		}
	}
}

// TestServe runs the server, makes a signed request, and shuts it down as
// SIGTERM would (by ending its context).
func TestServe(t *testing.T) {
	dir := t.TempDir()
	var app created
	if err := json.Unmarshal([]byte(mustRun(t, "apps", "create", "--data-dir", dir, "--json", "--name", "n",
		"--stripe-secret-key", "sk_test_never_logged")), &app); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--addr", addr, "--portal-link-ttl", "2m"}, &logs, io.Discard)
	}()
	waitReady(t, "http://"+addr+"/readyz")

	// The billing page's links open for --portal-link-ttl.
	before := time.Now().Unix()
	session, err := client.New(app.AppID, "stripe", app.AppSecret, client.WithBaseURL("http://"+addr)).CreatePortalSession(ctx,
		client.PortalSessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/account"})
	if err != nil {
		t.Fatalf("CreatePortalSession: %v", err)
	}
	if expires, _ := strconv.ParseInt(session.ExpiresAt, 10, 64); expires < before+120 || expires > time.Now().Unix()+120 {
		t.Errorf("the portal link expires at %s, want 2 minutes after %d (--portal-link-ttl 2m)", session.ExpiresAt, before)
	}

	target := "/v1/stripe/payment-methods?appUserId=u1"
	ts := time.Now().Unix()
	req, _ := http.NewRequest("GET", "http://"+addr+target, nil)
	req.Header.Set(signature.HeaderAppID, app.AppID)
	req.Header.Set(signature.HeaderPlatform, "stripe")
	req.Header.Set(signature.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(signature.HeaderSignature, signature.Sign(app.AppSecret, ts, "GET", target, nil, ""))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := strings.TrimSpace(string(body)), `{"code":0,"data":{"methods":[],"defaultMethodId":""},"message":"success"}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	requestID := resp.Header.Get("X-Request-Id")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}

	// JSON logs, the request id on the request's line, no secrets.
	var sawRequest bool
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["msg"] == "request" && rec["request_id"] == requestID && rec["route"] == "GET /v1/stripe/payment-methods" {
			sawRequest = true
		}
	}
	if !sawRequest {
		t.Errorf("no access log line with request_id %s:\n%s", requestID, logs.String())
	}
	for _, secret := range []string{app.AppSecret, "sk_test_never_logged"} {
		if strings.Contains(logs.String(), secret) {
			t.Error("the log holds a secret")
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not ready", url)
}

func appIDFrom(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, `"appId":"`)
	if i < 0 {
		t.Fatalf("no appId in %q", out)
	}
	rest := out[i+len(`"appId":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// A database URL that names no supported database is refused at start,
// before anything is created (issue 10: "mysql://x" became a SQLite file
// named "mysql:/x").
func TestDatabaseURL(t *testing.T) {
	t.Chdir(t.TempDir()) // where a URL taken for a relative path would land
	dir := t.TempDir()
	check := func(args []string, env string) {
		t.Helper()
		if env != "" {
			t.Setenv("APPWHEEL_DATABASE_URL", env)
		}
		_, err := runCLI(t, args...)
		for _, want := range []string{"--database-url", "APPWHEEL_DATABASE_URL", "postgres://", "sqlite:PATH"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("appwheel %v (APPWHEEL_DATABASE_URL=%q): err = %v; want one mentioning %q", args, env, err, want)
			}
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error shows the URL's password: %v", err)
		}
	}
	check([]string{"serve", "--data-dir", dir, "--database-url", "mysql://x"}, "")
	check([]string{"migrate", "--data-dir", dir, "--database-url", "mysql://root:secret@db/app"}, "")
	check([]string{"apps", "list", "--data-dir", dir}, "mysql://x")
	check([]string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0"}, "sqlserver://x")
	check([]string{"migrate", "--data-dir", dir}, "sqlite:")
	for _, d := range []string{dir, "."} {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Errorf("refused database URLs created %v in %s", entries, d)
		}
	}

	// The SQLite forms all name a file.
	t.Setenv("APPWHEEL_DATABASE_URL", "")
	for i, form := range []string{"", "sqlite:", "sqlite://", "file:"} {
		path := filepath.Join(dir, fmt.Sprintf("db%d.db", i))
		mustRun(t, "migrate", "--data-dir", dir, "--database-url", form+path)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("--database-url %s%s: %v", form, path, err)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("SQLite URLs created %v in the working directory", entries)
	}
}

// A bad listen address is refused before any file is created (issue 10:
// dev --addr 127.0.0.1:99999 created master.key and the database first),
// and so is one that is taken.
func TestBadAddrCreatesNothing(t *testing.T) {
	taken := freeAddrHeld(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"dev", "--addr", "127.0.0.1:99999"}, `--addr (APPWHEEL_ADDR) "127.0.0.1:99999": want HOST:PORT`},
		{[]string{"dev", "--addr", "127.0.0.1:http"}, "--addr"},
		{[]string{"dev", "--addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:-1"}, "--sandbox-addr"},
		{[]string{"dev", "--addr", "127.0.0.1:0", "--sandbox-addr", "nohost"}, "--sandbox-addr"},
		{[]string{"serve", "--addr", "127.0.0.1:65536"}, "--addr"},
		{[]string{"serve", "--addr", taken}, "address already in use"},
		{[]string{"dev", "--addr", taken}, "address already in use"},
		{[]string{"dev", "--addr", "127.0.0.1:0", "--sandbox-addr", taken}, "--sandbox-addr"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := runCLI(t, append(tt.args, "--data-dir", dir)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("appwheel %v: err = %v; want one mentioning %q", tt.args, err, tt.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			entries, _ := os.ReadDir(dir)
			t.Errorf("appwheel %v created the data directory: %v", tt.args, entries)
		}
	}
	t.Setenv("APPWHEEL_ADDR", "127.0.0.1:99999")
	for _, command := range []string{"serve", "dev"} {
		dir := filepath.Join(t.TempDir(), "data")
		if _, err := runCLI(t, command, "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "APPWHEEL_ADDR") {
			t.Errorf("%s with APPWHEEL_ADDR=127.0.0.1:99999: err = %v", command, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s with APPWHEEL_ADDR=127.0.0.1:99999 created the data directory", command)
		}
	}
}

// freeAddrHeld is an address that is taken until the test ends.
func freeAddrHeld(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
