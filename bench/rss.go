package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The server's memory: the peak resident set size of its process over a
// measured phase, from /proc/PID/status. VmHWM, the kernel's high-water
// mark of VmRSS, is kept since the process started, so read alone after a
// row it is the peak of every row and start-up before it too. The harness
// resets it at the start of the measured phase instead (writing 5 to
// /proc/PID/clear_refs, which sets VmHWM to the current VmRSS) and reads it
// at the end: the peak of that phase alone, every page counted, no
// sampling. Memory the process still holds from before (Go returns freed
// heap to the system only slowly) counts in that peak, as it is resident
// while the row runs. Where the reset is refused, the harness samples
// VmRSS every rssSampleEvery and takes the largest, which may miss a spike
// between samples, and says so. Only the server process is counted: not
// PostgreSQL's own processes, not the load generator.

const rssSampleEvery = 50 * time.Millisecond

// memPeak is a process's peak RSS over one phase.
type memPeak struct {
	bytes   int64
	sampled bool   // VmRSS sampled, not the reset VmHWM
	err     string // why there is no number
}

func (m memPeak) known() bool { return m.err == "" && m.bytes > 0 }

// String is the peak in MiB, as the table shows it.
func (m memPeak) String() string {
	if !m.known() {
		return ""
	}
	return fmt.Sprintf("%.1f MiB", float64(m.bytes)/(1<<20))
}

// rssWatch follows one process over one phase.
type rssWatch struct {
	pid   int
	reset bool // VmHWM was reset at the start: it is the phase's peak
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	max   int64 // the largest VmRSS sampled, when not reset
	err   error
}

// watchRSS starts following pid's RSS; pid 0 (no process) watches nothing.
func watchRSS(pid int) *rssWatch {
	w := &rssWatch{pid: pid}
	if pid == 0 {
		w.err = errors.New("no process")
		return w
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err == nil {
		w.reset = true
		return w
	}
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(rssSampleEvery)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				w.sample()
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *rssWatch) sample() {
	v, err := procStatus(w.pid, "VmRSS")
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.max = max(w.max, v)
}

// peak ends the watch and returns the phase's peak.
func (w *rssWatch) peak() memPeak {
	if w.pid == 0 {
		return memPeak{err: w.err.Error()}
	}
	if w.reset {
		v, err := procStatus(w.pid, "VmHWM")
		if err != nil {
			return memPeak{err: err.Error()}
		}
		return memPeak{bytes: v}
	}
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.max == 0 {
		msg := "no sample"
		if w.err != nil {
			msg = w.err.Error()
		}
		return memPeak{err: msg}
	}
	return memPeak{bytes: w.max, sampled: true}
}

// procStatus returns one "kB" field of /proc/PID/status in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return statusField(f, field)
}

// statusField reads "Field:   1234 kB" from a /proc/PID/status and returns
// it in bytes.
func statusField(r io.Reader, field string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc status: %s is %q", field, rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc status: %s: %w", field, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc status: no %s", field)
}

// maxRSSGrowth is the memory target: a read row run twice as long on the
// same server peaks within 10 % of the first run.
const maxRSSGrowth = 1.10

// rssGrowth compares a row's peak with the peak of its run twice as long:
// the ratio, and whether it meets maxRSSGrowth.
func rssGrowth(first, second memPeak) (float64, bool) {
	if !first.known() || !second.known() {
		return 0, false
	}
	r := float64(second.bytes) / float64(first.bytes)
	return r, r <= maxRSSGrowth
}
