package stripe_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The contract tests run the Provider against the official stripe-mock,
// which validates every request against Stripe's published OpenAPI spec and
// answers with its fixtures. One stripe-mock serves the whole test binary:
// started on first need, killed by TestMain.

// requireStripeMockEnv, when set (CI sets it to 1), turns a missing
// stripe-mock from a skip into a failure.
const requireStripeMockEnv = "APPWHEEL_REQUIRE_STRIPE_MOCK"

var errNoStripeMock = errors.New("stripe-mock not found on PATH or in $(go env GOPATH)/bin; install it with: go install github.com/stripe/stripe-mock@v0.203.0")

// stripeMock is the running stripe-mock, shared by the tests.
var stripeMock struct {
	once   sync.Once
	url    string
	err    error
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cmd := stripeMock.cmd; cmd != nil {
		_ = cmd.Process.Kill()
		<-stripeMock.exited
	}
	os.Exit(code)
}

// stripeMockURL returns the base URL of a running stripe-mock, starting it
// on first use. Without the binary it skips the test, or fails it when
// APPWHEEL_REQUIRE_STRIPE_MOCK is set.
func stripeMockURL(tb testing.TB) string {
	tb.Helper()
	stripeMock.once.Do(func() {
		stripeMock.url, stripeMock.err = startStripeMock()
	})
	switch err := stripeMock.err; {
	case errors.Is(err, errNoStripeMock) && os.Getenv(requireStripeMockEnv) == "":
		tb.Skipf("%v (set %s to make this a failure)", err, requireStripeMockEnv)
	case err != nil:
		tb.Fatalf("stripe-mock: %v", err)
	}
	return stripeMock.url
}

// findStripeMock looks for the binary on PATH, then in $(go env GOBIN) and
// every $(go env GOPATH)/bin, where `go install` puts it.
func findStripeMock() (string, error) {
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
	return "", errNoStripeMock
}

// startStripeMock starts stripe-mock on free loopback ports and waits until
// it answers. A port taken between picking and binding makes stripe-mock
// exit; then it tries again with other ports.
func startStripeMock() (string, error) {
	bin, err := findStripeMock()
	if err != nil {
		return "", err
	}
	var lastErr error
	for range 3 {
		httpAddr, err1 := freeAddr()
		httpsAddr, err2 := freeAddr()
		if err := errors.Join(err1, err2); err != nil {
			return "", err
		}
		out := &syncBuffer{}
		cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			return "", err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()

		url := "http://" + httpAddr
		if err := waitForStripeMock(url, exited); err != nil {
			_ = cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w; output:\n%s", err, out.String())
			continue
		}
		stripeMock.cmd, stripeMock.exited = cmd, exited
		return url, nil
	}
	return "", lastErr
}

// waitForStripeMock polls url until stripe-mock answers, it exits, or 20s pass.
func waitForStripeMock(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url+"/v1/customers/cus_ping", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("stripe-mock exited before answering")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("stripe-mock did not answer within 20s")
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

// syncBuffer is a bytes.Buffer safe for a process's concurrent writes.
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
