// Package e2e runs the whole product as a user would: the appwheel binary
// in dev mode (the API on SQLite beside the Stripe sandbox), driven through
// the Go SDK, the sandbox's Stripe API, its hosted checkout page and, in one
// test, headless Chromium.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

// binary is the appwheel binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "appwheel-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "appwheel")
	build := exec.Command("go", "build", "-o", binary, "github.com/appwheel/appwheel/cmd/appwheel")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building appwheel:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// devFacts is dev.json as appwheel dev writes it.
type devFacts struct {
	AppID           string            `json:"appId"`
	Platform        string            `json:"platform"`
	AppSecret       string            `json:"appSecret"`
	BaseURL         string            `json:"baseUrl"`
	StripeAPIBase   string            `json:"stripeApiBase"`
	StripeSecretKey string            `json:"stripeSecretKey"`
	Prices          map[string]string `json:"prices"`
	NotifySecret    string            `json:"notifySecret"`
}

// proc is one appwheel process a test runs.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer   // its output
	done chan struct{} // closed when it has exited
}

// startProc runs the binary with args, env added to the test's
// environment, waits until it answers /readyz on addr, and stops it with
// SIGINT when the test ends (SIGKILL after 15 s); name says what it is in
// failures.
func startProc(t *testing.T, name, addr string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	go func() { exitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("%s did not stop on SIGINT", name)
		}
		if t.Failed() {
			t.Logf("%s (pid %d) output:\n%s", name, p.cmd.Process.Pid, p.logs.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %v\n%s", name, exitErr, p.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready:\n%s", name, p.logs.String())
		}
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// dev is a running `appwheel dev`.
type dev struct {
	*proc
	t       *testing.T
	dataDir string
	facts   devFacts
	client  *client.Client
}

// syncBuffer collects the process's output; tests read it while it writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDev runs `appwheel dev` on a free port with a fresh data directory,
// waits until it serves, and stops it when the test ends.
func startDev(t *testing.T) *dev {
	t.Helper()
	return startDevIn(t, t.TempDir(), freeAddr(t), freeAddr(t))
}

// startDevIn runs `appwheel dev` with the given data directory and
// addresses (a restart passes the same ones again).
func startDevIn(t *testing.T, dataDir, addr, sandboxAddr string, env ...string) *dev {
	t.Helper()
	return startDevWith(t, []string{"--addr", addr, "--sandbox-addr", sandboxAddr, "--data-dir", dataDir}, env...)
}

// startDevWith runs `appwheel dev` with args, which name its --addr and
// --data-dir.
func startDevWith(t *testing.T, args []string, env ...string) *dev {
	t.Helper()
	flag := func(name string) string { return args[slices.Index(args, name)+1] }
	d := &dev{t: t, dataDir: flag("--data-dir")}
	d.proc = startProc(t, "appwheel dev", flag("--addr"), env, append([]string{"dev"}, args...)...)
	raw, err := os.ReadFile(filepath.Join(d.dataDir, "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &d.facts); err != nil {
		t.Fatal(err)
	}
	d.client = client.New(d.facts.AppID, d.facts.Platform, d.facts.AppSecret, client.WithBaseURL(d.facts.BaseURL))
	return d
}

// cli runs an appwheel command against this dev server's data directory.
func (d *dev) cli(args ...string) string {
	d.t.Helper()
	args = append(args, "--data-dir", d.dataDir)
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("appwheel %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// stripe calls the sandbox's Stripe API with the demo app's secret key, as
// Stripe.js or a backend would call Stripe, and decodes the JSON answer.
func (d *dev) stripe(method, path string, form url.Values) (int, map[string]any) {
	d.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, d.facts.StripeAPIBase+path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.facts.StripeSecretKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// eventually polls cond until it holds or 15 s pass: what Stripe does
// reaches the mirror through webhooks, a moment later.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 15*time.Second, what, cond)
}

func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
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

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}
