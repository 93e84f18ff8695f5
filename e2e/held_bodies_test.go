package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
	"github.com/appwheel/appwheel/signature"
)

// Held bodies against the real process: a hundred POSTs that announce
// 1 MiB bodies, send most of one and then stall, measured in the server's
// resident memory (/proc/PID/status). An outside probe once raised
// `appwheel dev` from 48 to 155 MiB RSS with 100 such requests; now a
// request's credential headers are checked before its body is read, and
// the bodies being read hold at most a budget of 32 MiB (docs/api.md,
// "Authentication"; http/bodies.go).
const (
	heldConns = 100
	// heldLength is each request's Content-Length: the largest body the
	// API takes, which is also what each reserves of the budget.
	heldLength = 1 << 20
	// heldSent is how much of it is sent before the client stalls: nearly
	// all, so that a body being read holds about what it reserved, and
	// the budget, not the stall, is what bounds the server's memory.
	heldSent = heldLength - 4<<10
	// bodiesBudget is the documented bound on bodies in flight, kept here
	// rather than taken from the http package so that the binary is held
	// to the documentation.
	bodiesBudget = 32 << 20
	// bodiesWait is how long a request waits for room in the budget
	// before it is answered 1006 (docs/api.md).
	bodiesWait = 5 * time.Second
)

// TestHeldBodiesUnauthenticatedMemory: 100 POSTs whose credential headers
// fail (none at all, an unknown AppID, a stale timestamp, no nonce on a
// write) with 1 MiB bodies that stall after 1020 KiB are each answered
// 401 (1002), or 429 (1006) once the address has spent its failures, while
// the body is still unfinished, and the connection is closed: the body is
// never read. The server's RSS, and its peak, stay within 8 MiB of the
// baseline: 100 connections' goroutines and buffers are a few KiB each,
// while a server that read these bodies first would hold ~100 MiB (32 MiB
// within the budget). A signed GET is answered promptly meanwhile.
func TestHeldBodiesUnauthenticatedMemory(t *testing.T) {
	d, pid := startMeasuredDev(t)
	base := warmUp(t, d, pid)
	now := time.Now().Unix()
	target := "/v1/stripe/payment-methods"
	bad := []func(i int) string{
		func(i int) string { return "" },
		func(i int) string {
			return rawSignedHeaders("app_unknown", d.facts.AppSecret, now, target, heldBody(), fmt.Sprintf("u%d", i))
		},
		func(i int) string {
			return rawSignedHeaders(d.facts.AppID, d.facts.AppSecret, now-3600, target, heldBody(), fmt.Sprintf("s%d", i))
		},
		func(i int) string {
			return rawSignedHeaders(d.facts.AppID, d.facts.AppSecret, now, target, heldBody(), "")
		},
	}
	conns := make([]*heldConn, heldConns)
	for i := range conns {
		conns[i] = holdPost(t, d, target, bad[i%len(bad)](i), time.Now().Add(5*time.Second))
	}

	// Measured while the client holds all of them open, their bodies sent
	// but for the last 4 KiB.
	during := sampleMem(t, pid, time.Second)
	checkResponsive(t, d)
	checkGrowth(t, "unauthenticated", base, during, 8<<20)

	// Every one is answered while its body is unfinished: 401, or 429 once
	// the failures from this address are past their budget (20).
	counts := map[int]int{}
	for i, hc := range conns {
		a := <-hc.answer
		if a.err != nil {
			t.Fatalf("request %d, body stalled at %d of %d bytes: %v; want an answer without the body", i, heldSent, heldLength, a.err)
		}
		if !(a.resp.StatusCode == 401 && a.code == 1002 || a.resp.StatusCode == 429 && a.code == 1006) {
			t.Fatalf("request %d: HTTP %d, code %d; want 401 (1002) or 429 (1006)", i, a.resp.StatusCode, a.code)
		}
		counts[a.resp.StatusCode]++
		// The server does not read the rest of the body: it closes.
		if !a.resp.Close || !a.closed {
			t.Errorf("request %d: connection not closed after the answer (Connection: close %v), so the server would read the body next", i, a.resp.Close)
		}
	}
	t.Logf("answers: %d × 401, %d × 429", counts[401], counts[429])
	if counts[401] == 0 {
		t.Errorf("no 401 among the answers")
	}
}

// TestHeldBodiesSignedMemory: 100 POSTs signed as the SDK signs them (each
// its own nonce) with 1 MiB bodies that stall after 1020 KiB: 32 (the
// 32 MiB budget at 1 MiB each) are admitted and their bodies read, the
// other 68 wait and, after 5 s, are answered 429 (1006) with their bodies
// unread. The server's RSS, and its peak, stay within 48 MiB of the
// baseline: the budget's 32 MiB of body plus 16 MiB for the connections,
// the read buffers' slack and the garbage collector's headroom (the old
// server, reading all 100, grew by ~100 MiB); and a signed GET is
// answered promptly while the budget is spent.
func TestHeldBodiesSignedMemory(t *testing.T) {
	d, pid := startMeasuredDev(t)
	base := warmUp(t, d, pid)
	target := "/v1/stripe/payment-methods"
	start := time.Now()
	conns := make([]*heldConn, heldConns)
	for i := range conns {
		conns[i] = holdPost(t, d, target, rawSignedHeaders(d.facts.AppID, d.facts.AppSecret, time.Now().Unix(), target, heldBody(), fmt.Sprintf("held-%d", i)),
			start.Add(bodiesWait+3*time.Second))
	}

	// Within the wait, every request is either being read or waiting for
	// room: memory is at its height.
	during := sampleMem(t, pid, time.Until(start.Add(bodiesWait-time.Second)))
	checkResponsive(t, d)

	// Those that found no room are refused at the end of the wait; those
	// being read wait for the rest of their bodies, unanswered.
	admitted := bodiesBudget / heldLength
	refused, waiting := 0, 0
	for i, hc := range conns {
		switch a := <-hc.answer; {
		case timedOut(a.err):
			waiting++
		case a.err != nil:
			t.Fatalf("request %d: %v", i, a.err)
		case a.resp.StatusCode == 429 && a.code == 1006:
			refused++
			if !a.resp.Close || !a.closed {
				t.Errorf("request %d: connection not closed after the refusal (Connection: close %v), so the server would read the body next", i, a.resp.Close)
			}
		default:
			t.Fatalf("request %d, body stalled at %d of %d bytes: HTTP %d, code %d; want 429 (1006) or no answer yet", i, heldSent, heldLength, a.resp.StatusCode, a.code)
		}
	}
	t.Logf("answers: %d × 429 after the %v wait, %d still being read", refused, bodiesWait, waiting)
	if waiting != admitted || refused != heldConns-admitted {
		t.Errorf("%d refused and %d being read; want %d and %d (a %d MiB budget of 1 MiB bodies)", refused, waiting, heldConns-admitted, admitted, bodiesBudget>>20)
	}
	checkResponsive(t, d)
	checkGrowth(t, "signed", base, during, 48<<20)
}

// startMeasuredDev starts `appwheel dev` and returns it with its PID,
// whose /proc/PID/status gives its memory (Linux only).
func startMeasuredDev(t *testing.T) (*dev, int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("measures the server's RSS in /proc/PID/status: Linux only, not %s", runtime.GOOS)
	}
	d := startDev(t)
	return d, d.cmd.Process.Pid
}

// mem is a process's resident memory: now and its peak, in bytes.
type mem struct{ rss, hwm int64 }

func readMem(t *testing.T, pid int) mem {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var m mem
	for line := range strings.Lines(string(raw)) {
		name, value, _ := strings.Cut(line, ":")
		field := strings.Fields(value)
		if len(field) != 2 || field[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(field[0], 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/status: %q", pid, line)
		}
		switch name {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.hwm = kb << 10
		}
	}
	if m.rss == 0 || m.hwm == 0 {
		t.Fatalf("/proc/%d/status has no VmRSS or VmHWM:\n%s", pid, raw)
	}
	return m
}

// sampleMem reads the memory every 100 ms for d and returns the highest
// RSS seen with the peak at the end.
func sampleMem(t *testing.T, pid int, d time.Duration) mem {
	t.Helper()
	var top mem
	for end := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		m := readMem(t, pid)
		top = mem{rss: max(top.rss, m.rss), hwm: m.hwm}
		if time.Now().After(end) {
			return top
		}
	}
}

// warmUp makes a few ordinary requests, so that what they first allocate
// (connections, the database's pages, the sandbox) is in the baseline,
// and returns the baseline.
func warmUp(t *testing.T, d *dev, pid int) mem {
	t.Helper()
	c := ctx(t)
	for i := range 5 {
		if _, err := d.client.CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: fmt.Sprintf("warm%d", i), Type: client.TypeSetupIntent}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.client.PaymentMethods(c, fmt.Sprintf("warm%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	return readMem(t, pid)
}

// checkGrowth logs the figures and fails if the RSS while held, or the
// peak, is more than limit above the baseline's RSS.
func checkGrowth(t *testing.T, name string, base, during mem, limit int64) {
	t.Helper()
	mib := func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	t.Logf("%s: baseline RSS %s (peak %s); held: RSS %s (+%s), peak %s (+%s); limit +%s",
		name, mib(base.rss), mib(base.hwm), mib(during.rss), mib(during.rss-base.rss), mib(during.hwm), mib(during.hwm-base.rss), mib(limit))
	if g := during.rss - base.rss; g > limit {
		t.Errorf("%s: RSS grew by %s while %d bodies were held, want at most %s", name, mib(g), heldConns, mib(limit))
	}
	if g := during.hwm - base.rss; g > limit {
		t.Errorf("%s: peak RSS %s above the baseline, want at most %s", name, mib(g), mib(limit))
	}
}

// checkResponsive: a signed GET, which has no body to wait for, is
// answered within 2 s.
func checkResponsive(t *testing.T, d *dev) {
	t.Helper()
	start := time.Now()
	if _, err := d.client.PaymentMethods(ctx(t), "warm0"); err != nil {
		t.Errorf("signed GET while bodies are held: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("signed GET while bodies are held took %v, want under 2 s", took)
	}
}

// heldBody is the body each request announces: a valid request padded
// with spaces to heldLength, so that a signed one is genuine, only slow.
var heldBody = sync.OnceValue(func() []byte {
	b := []byte(`{"appUserId":"held","type":"setupIntent"}`)
	return append(b, bytes.Repeat([]byte(" "), heldLength-len(b))...)
})

// rawSignedHeaders are the credential headers as the SDK writes them
// (package client), over the whole body; an empty nonce is left out.
func rawSignedHeaders(appID, secret string, ts int64, target string, body []byte, nonce string) string {
	h := fmt.Sprintf("%s: %s\r\n%s: stripe\r\n%s: %d\r\n%s: %s\r\n",
		signature.HeaderAppID, appID, signature.HeaderPlatform, signature.HeaderTimestamp, ts,
		signature.HeaderSignature, signature.Sign(secret, ts, "POST", target, body, nonce))
	if nonce != "" {
		h += signature.HeaderNonce + ": " + nonce + "\r\n"
	}
	return h
}

// heldConn is a raw POST whose body stalls after heldSent bytes, and its
// answer once read.
type heldConn struct{ answer chan heldAnswer }

// heldAnswer is what the server answered a held request by the deadline:
// the response, its envelope's code, and whether the server then closed
// the connection; or err (a timeout: no answer yet).
type heldAnswer struct {
	resp   *http.Response
	code   int
	closed bool
	err    error
}

// holdPost dials the API, sends the request's head with credentials, and
// from one goroutine the first heldSent bytes of its body (a server that
// has answered and closed may refuse them: that write's error is
// ignored); from another it reads the answer as soon as it comes, until
// deadline. Read at once, because a server that closes a connection with
// unread body bytes resets it, and a reset drops what the client had not
// read yet. The connection is closed when the test ends.
func holdPost(t *testing.T, d *dev, target, credentials string, deadline time.Time) *heldConn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.facts.BaseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n",
		target, conn.RemoteAddr(), heldLength, credentials)
	conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { conn.Write(heldBody()[:heldSent]) })
	hc := &heldConn{answer: make(chan heldAnswer, 1)}
	wg.Go(func() { hc.answer <- readAnswer(bufio.NewReader(conn)) })
	return hc
}

func readAnswer(br *bufio.Reader) heldAnswer {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return heldAnswer{err: err}
	}
	var env struct {
		Code *int `json:"code"`
	}
	err = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if err != nil || env.Code == nil {
		return heldAnswer{err: fmt.Errorf("HTTP %d: not an envelope: %v", resp.StatusCode, err)}
	}
	// After its answer the server ends the connection: EOF, or a reset.
	_, err = br.ReadByte()
	return heldAnswer{resp: resp, code: *env.Code, closed: err != nil && !timedOut(err)}
}

// timedOut reports whether err is a read's deadline passing.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
