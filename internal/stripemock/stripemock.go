// Package stripemock runs the official stripe-mock
// (github.com/stripe/stripe-mock), which validates every request against
// Stripe's published OpenAPI spec and answers with its fixtures, for the
// contract tests and the benchmark harness. It listens on loopback only.
package stripemock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the stripe-mock the tests use; scripts/test installs it
// (TestScriptPinsVersion keeps its STRIPE_MOCK_VERSION the same).
const Version = "v0.203.0"

// ErrNotFound is Find's error when the binary is in none of the places it
// looks.
var ErrNotFound = errors.New("stripe-mock not found on PATH or in $(go env GOPATH)/bin; install it with: go install github.com/stripe/stripe-mock@" + Version)

// ErrSpecNotFound is SpecPath's error when the module cache lacks the spec.
var ErrSpecNotFound = errors.New("stripe-mock's OpenAPI spec not found in $(go env GOMODCACHE); fetch it with: go install github.com/stripe/stripe-mock@" + Version)

// RequireEnv, when set (CI sets it to 1), makes a missing stripe-mock fail
// the tests that need it instead of skipping them.
const RequireEnv = "APPWHEEL_REQUIRE_STRIPE_MOCK"

const (
	startTimeout = 30 * time.Second // for stripe-mock to answer once started
	stopGrace    = 5 * time.Second  // between SIGTERM and SIGKILL
)

// Find looks for the stripe-mock binary on PATH, then in $(go env GOBIN)
// and every $(go env GOPATH)/bin, where `go install` puts it. It returns
// ErrNotFound when it is in none of them.
func Find() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, gp := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(gp, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Options adjust Start.
type Options struct {
	// Bin is the stripe-mock binary; "" uses Find's.
	Bin string
	// Log, when set, receives stripe-mock's output for as long as it runs.
	// Without it the output is kept only until stripe-mock answers, for
	// the error should it not.
	Log io.Writer
}

// Mock is a running stripe-mock.
type Mock struct {
	// URL is its HTTP base URL, e.g. http://127.0.0.1:41234.
	URL string

	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
	once   sync.Once
}

// Start starts stripe-mock, as found by Find, on free loopback ports and
// waits until it answers. Its error wraps ErrNotFound when there is no
// binary.
func Start(ctx context.Context) (*Mock, error) {
	return StartWith(ctx, Options{})
}

// StartWith is Start with options. A port taken between picking it and
// stripe-mock binding it makes stripe-mock exit; then StartWith tries again
// with other ports, three times in all.
func StartWith(ctx context.Context, opt Options) (*Mock, error) {
	bin := opt.Bin
	if bin == "" {
		var err error
		if bin, err = Find(); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for range 3 {
		m, err := start(ctx, bin, opt.Log)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// start makes one attempt of StartWith.
func start(ctx context.Context, bin string, log io.Writer) (*Mock, error) {
	httpAddr, err1 := freeAddr()
	httpsAddr, err2 := freeAddr()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	out := &startupOutput{log: log}
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	m := &Mock{URL: "http://" + httpAddr, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.exited) }()
	if err := m.wait(ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("%w; output:\n%s", err, out.done())
	}
	out.done()
	return m, nil
}

// wait polls the mock until it answers, it exits, ctx ends, or
// startTimeout passes.
func (m *Mock) wait(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/v1/customers/cus_ping", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer sk_test_123")
		if res, err := client.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-m.exited:
			return errors.New("stripe-mock exited before answering")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("stripe-mock did not answer within %v", startTimeout)
}

// Close stops stripe-mock: SIGTERM, then SIGKILL if it has not exited
// within 5s. It waits for the exit; closing again does nothing.
func (m *Mock) Close() error {
	m.once.Do(func() {
		select {
		case <-m.exited:
			return
		default:
		}
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.exited:
		case <-time.After(stopGrace):
			_ = m.cmd.Process.Kill()
			<-m.exited
		}
	})
	return nil
}

// ForTest starts a stripe-mock for tb, stopped when tb ends, and returns
// its URL. Without the binary it skips tb, or fails it when RequireEnv is
// set; see SkipOrFatal.
func ForTest(tb testing.TB) string {
	tb.Helper()
	m, err := Start(tb.Context())
	if err != nil {
		SkipOrFatal(tb, err)
	}
	tb.Cleanup(func() { m.Close() })
	return m.URL
}

// SpecPath returns the path of the OpenAPI spec stripe-mock Version serves
// (Stripe's, as it ships in embedded/openapi/spec3.json), in the module
// cache, where `go install` leaves the module. Without it, it skips tb, or
// fails it when RequireEnv is set; see SkipOrFatal.
func SpecPath(tb testing.TB) string {
	tb.Helper()
	p, err := FindSpec()
	if err != nil {
		SkipOrFatal(tb, err)
	}
	return p
}

// FindSpec is SpecPath's lookup, done once per process (it runs the go
// command): the spec's path, or ErrSpecNotFound.
var FindSpec = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "github.com", "stripe", "stripe-mock@"+Version, "embedded", "openapi", "spec3.json")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %v", ErrSpecNotFound, err)
	}
	return p, nil
})

// SkipOrFatal ends tb for err, an error of Start or SpecPath: it skips tb
// when stripe-mock is missing (ErrNotFound, ErrSpecNotFound) unless
// RequireEnv is set, and fails it otherwise.
func SkipOrFatal(tb testing.TB, err error) {
	tb.Helper()
	if (errors.Is(err, ErrNotFound) || errors.Is(err, ErrSpecNotFound)) && os.Getenv(RequireEnv) == "" {
		tb.Skipf("%v (set %s to make this a failure)", err, RequireEnv)
	}
	tb.Fatalf("stripe-mock: %v", err)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startupOutput takes stripe-mock's output, safe for its concurrent
// writes: it copies it to log, if any, and keeps it in memory until done is
// called, so that a long run's request log does not pile up.
type startupOutput struct {
	log      io.Writer
	mu       sync.Mutex
	buf      bytes.Buffer
	finished bool
}

func (o *startupOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.finished {
		o.buf.Write(p)
	}
	if o.log != nil {
		return o.log.Write(p)
	}
	return len(p), nil
}

// done stops keeping the output and returns what was kept.
func (o *startupOutput) done() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.finished = true
	s := o.buf.String()
	o.buf = bytes.Buffer{}
	return s
}
