package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/appwheel/appwheel/internal/stripemock"
)

// This file runs the processes of a benchmark: the appwheel binary (built
// once), stripe-mock, and the ceiling server. All of them listen on
// 127.0.0.1 only.

// moduleRoot is the directory of the go.mod of the module bench belongs to.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the harness from inside the appwheel module (go run ./bench)")
	}
	return filepath.Dir(gomod), nil
}

// pprofHook is added to cmd/appwheel, for the benchmark's build only and
// through -overlay (the repository is not touched), when -cpuprofile-dir is
// given: it serves net/http/pprof on APPWHEEL_BENCH_PPROF_ADDR, a listener
// of its own, so that the harness can take a CPU profile of the server over
// exactly the measured window of each row.
const pprofHook = `package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("APPWHEEL_BENCH_PPROF_ADDR"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
`

// buildAppwheel builds cmd/appwheel into dir and returns the binary's path.
func buildAppwheel(ctx context.Context, root, dir string, withPprof bool) (string, error) {
	bin := filepath.Join(dir, "appwheel")
	args := []string{"build", "-o", bin}
	if withPprof {
		hook := filepath.Join(dir, "bench_pprof_hook.go")
		if err := os.WriteFile(hook, []byte(pprofHook), 0o600); err != nil {
			return "", err
		}
		overlay, err := json.Marshal(map[string]map[string]string{"Replace": {
			filepath.Join(root, "cmd", "appwheel", "zz_bench_pprof_hook.go"): hook,
		}})
		if err != nil {
			return "", err
		}
		ov := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ov, overlay, 0o600); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ov)
	}
	args = append(args, "./cmd/appwheel")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/appwheel: %w\n%s", err, out)
	}
	return bin, nil
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

// proc is a child process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    string // where its output goes
}

func startProc(name, logPath string, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.exited) }()
	return p, nil
}

// pid is the process's id, 0 when there is none.
func (p *proc) pid() int {
	if p == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// stop sends SIGTERM and waits for the process to exit, killing it after
// grace.
func (p *proc) stop(grace time.Duration) {
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail returns the last lines of the process's output, for error messages.
func (p *proc) tail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// waitHTTP polls url until it answers 200, the process exits, or timeout.
func waitHTTP(ctx context.Context, p *proc, url string, header http.Header, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		if res, err := c.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before answering; its output ends:\n%s", p.name, p.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer %s within %v; its output ends:\n%s", p.name, url, timeout, p.tail())
}

// server is a running appwheel serve (or the ceiling server).
type server struct {
	*proc
	base      string // http://127.0.0.1:port
	pprofAddr string // "" when not profiling
}

// benchMasterKey seals the apps' secrets in every benchmark database; fixed,
// so a kept data directory can be served again.
// It is hex("bench-only-master-key-not-secret").
const benchMasterKey = "62656e63682d6f6e6c792d6d61737465722d6b65792d6e6f742d736563726574"

// baseEnv is the environment of the harness without any APPWHEEL_*
// variable, so the caller's own configuration cannot change a run.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "APPWHEEL_") {
			env = append(env, kv)
		}
	}
	return env
}

// startServe starts `appwheel serve` on a free port with dataDir, the fixed
// master key, a rate limit that never interferes, warn-level logs, and
// extraEnv (APPWHEEL_STRIPE_API_BASE, APPWHEEL_DATABASE_URL).
func (b *bench) startServe(ctx context.Context, name, dataDir string, extraEnv ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	env := append(baseEnv(),
		"APPWHEEL_ADDR="+addr,
		"APPWHEEL_DATA_DIR="+dataDir,
		"APPWHEEL_MASTER_KEY="+benchMasterKey,
		"APPWHEEL_RATE_LIMIT=1e9",
		"APPWHEEL_RATE_BURST=1000000000",
		"APPWHEEL_LOG_LEVEL=warn",
	)
	if b.stripeMockURL != "" {
		env = append(env, "APPWHEEL_STRIPE_API_BASE="+b.stripeMockURL)
	}
	env = append(env, extraEnv...)
	s := &server{base: "http://" + addr}
	if b.opt.cpuprofileDir != "" {
		if s.pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		env = append(env, "APPWHEEL_BENCH_PPROF_ADDR="+s.pprofAddr)
	}
	if s.proc, err = startProc("appwheel serve ("+name+")", filepath.Join(b.tmp, "serve-"+name+".log"), env, b.bin, "serve"); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, s.proc, s.base+"/readyz", nil, 60*time.Second); err != nil {
		s.stop(5 * time.Second)
		return nil, err
	}
	return s, nil
}

// startStripeMock starts stripe-mock on free loopback ports, its output
// going to stripe-mock.log in the work directory, and returns it and the
// log file, to close once it has stopped. bin "" looks for it on PATH and
// in $(go env GOPATH)/bin.
func (b *bench) startStripeMock(ctx context.Context, bin string) (*stripemock.Mock, *os.File, error) {
	logFile, err := os.Create(filepath.Join(b.tmp, "stripe-mock.log"))
	if err != nil {
		return nil, nil, err
	}
	mock, err := stripemock.StartWith(ctx, stripemock.Options{Bin: bin, Log: logFile})
	if err != nil {
		logFile.Close()
		return nil, nil, err
	}
	return mock, logFile, nil
}

// stripeCalls scrapes the server's /metrics and returns
// appwheel_stripe_requests_total summed over every operation and outcome.
func stripeCalls(ctx context.Context, base string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: HTTP %d", res.StatusCode)
	}
	return sumMetric(res.Body, "appwheel_stripe_requests_total")
}

// sumMetric sums the samples of one metric in Prometheus' text format.
func sumMetric(r io.Reader, name string) (float64, error) {
	var sum float64
	found := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		// "name{labels} value" or "name value"; labels hold no spaces here.
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("no %s in /metrics", name)
	}
	return sum, nil
}

// takeProfile takes a CPU profile of length d from a net/http/pprof
// listener and writes it to path. It runs beside the measured phase.
func takeProfile(ctx context.Context, pprofAddr string, d time.Duration, path string) error {
	secs := max(1, int(math.Round(d.Seconds())))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs), nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: time.Duration(secs+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return fmt.Errorf("pprof: HTTP %d: %s", res.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
