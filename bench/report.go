package main

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// line is one row of the table.
type line struct {
	id, what, setup string
	unit            string // of the rate: requests/s unless said

	res      *result
	rate     float64
	hasRate  bool
	rateText string // instead of rate
	p50, p99 string // instead of res's

	stripe     float64 // Stripe calls per request
	hasStripe  bool
	stripeText string // instead of stripe

	mem      memPeak // the server's peak RSS over the measured phase
	memCheck bool    // a read row: -rss-check runs it again, twice as long
	again    phase   // that second run
	warm     *result // the warm-up, when there was one

	applyTarget float64 // events applied per second (5b, 5d)

	target, verdict string
	note            string
	profile         string
}

func metIf(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func (l *line) cells() []string {
	rate := l.rateText
	if rate == "" && l.hasRate {
		rate = thousands(int(l.rate + 0.5))
		if l.unit != "" {
			rate += " " + l.unit
		}
	}
	p50, p99, errs := l.p50, l.p99, ""
	if l.res != nil {
		if p50 == "" {
			p50 = ms(l.res.pct(50))
		}
		if p99 == "" {
			p99 = ms(l.res.pct(99))
		}
		errs = thousands(l.res.errors)
		if l.res.errors > 0 && l.res.requests > 0 {
			errs += fmt.Sprintf(" (%.1f%%)", 100*float64(l.res.errors)/float64(l.res.requests))
		}
		errs += fmt.Sprintf(" of %s", thousands(l.res.requests))
	}
	stripe := l.stripeText
	if l.hasStripe {
		stripe = fmt.Sprintf("%.2f", l.stripe)
	}
	mem := l.mem.String()
	if mem != "" && l.mem.sampled {
		mem += " (sampled)"
	}
	return []string{l.id, l.what, l.setup, rate, p50, p99, errs, stripe, mem, l.target, l.verdict}
}

func (b *bench) find(id string) *line {
	for _, l := range b.lines {
		if l.id == id {
			return l
		}
	}
	return nil
}

// readTarget is a mirror read's target, against the ceiling row of a body
// of the same size in the same run: a share of its throughput and a
// multiple of its p99, at 64 connections, and no Stripe call.
type readTarget struct {
	row, ceiling string
	minRate      float64 // × the ceiling's requests/s, at least
	maxP99       float64 // × the ceiling's p99, at most
}

// readTargets are issue 13's: SQLite at half the ceiling, PostgreSQL (a
// network round trip per query) at 0.3×.
var readTargets = []readTarget{
	{"2a", "1a", 0.5, 2}, {"2b", "1b", 0.5, 2},
	{"2c", "1a", 0.3, 3}, {"2d", "1b", 0.3, 3},
}

func (t readTarget) String() string {
	return fmt.Sprintf("≥ %g× ceiling; p99 ≤ %g× ceiling's; 0 Stripe calls", t.minRate, t.maxP99)
}

// judgeRead fills a read row's target and verdict from its ceiling row of
// the same run (nil when it did not run) and returns its entry of the
// Targets list. conns is the run's -conns.
func judgeRead(l, ceil *line, t readTarget, conns int) string {
	l.target = t.String()
	if l.res == nil {
		l.verdict = "not measured"
		return fmt.Sprintf("- %s %s: not measured (see the notes)", l.id, l.what)
	}
	at64 := ""
	if conns != 64 {
		at64 = fmt.Sprintf("; measured at %d conns, the target is defined at 64", conns)
	}
	var parts, failed []string
	if ceil != nil && ceil.res != nil && ceil.hasRate && ceil.rate > 0 {
		x := l.rate / ceil.rate
		ok := x >= t.minRate
		parts = append(parts, fmt.Sprintf("throughput %s× ceiling %s (target ≥ %g×): %s", ratioText(x, t.minRate), t.ceiling, t.minRate, metIf(ok)))
		if !ok {
			failed = append(failed, fmt.Sprintf("throughput %s×", ratioText(x, t.minRate)))
		}
	} else {
		parts = append(parts, "throughput vs ceiling: not measured (run row 1 too)")
		failed = append(failed, "no ceiling")
	}
	p99 := l.res.pct(99)
	if ceil != nil && ceil.res != nil && ceil.res.pct(99) > 0 {
		c99 := ceil.res.pct(99)
		x := float64(p99) / float64(c99)
		ok := x <= t.maxP99
		parts = append(parts, fmt.Sprintf("p99 %s, %s× %s's %s (target ≤ %g×%s): %s", ms(p99), ratioText(x, t.maxP99), t.ceiling, ms(c99), t.maxP99, at64, metIf(ok)))
		if !ok {
			failed = append(failed, fmt.Sprintf("p99 %s×", ratioText(x, t.maxP99)))
		}
	} else {
		parts = append(parts, fmt.Sprintf("p99 %s vs ceiling: not measured (run row 1 too)", ms(p99)))
		if !slices.Contains(failed, "no ceiling") {
			failed = append(failed, "no ceiling")
		}
	}
	stripeOK := l.hasStripe && l.stripe == 0
	parts = append(parts, fmt.Sprintf("Stripe calls per read %s (target 0): %s", stripeText(l), metIf(stripeOK)))
	if !stripeOK {
		failed = append(failed, "Stripe calls")
	}
	if l.res.errors > 0 {
		parts = append(parts, fmt.Sprintf("%d errors", l.res.errors))
		failed = append(failed, "errors")
	}
	if l.again.res != nil {
		l.target += "; RSS not growing"
		switch x, ok := rssGrowth(l.mem, l.again.mem); {
		case !l.mem.known() || !l.again.mem.known():
			failed = append(failed, "memory unknown")
		case !ok:
			failed = append(failed, fmt.Sprintf("memory ×%.2f", x))
		}
	}
	l.verdict = "met"
	if len(failed) > 0 {
		l.verdict = "not met (" + strings.Join(failed, ", ") + ")"
	}
	return fmt.Sprintf("- %s %s: %s", l.id, l.what, strings.Join(parts, "; "))
}

// ratioText is x with two decimals, or four when two would print the
// bound it misses or meets by less (0.2997 against 0.3 is not "0.30").
func ratioText(x, bound float64) string {
	if s := fmt.Sprintf("%.2f", x); s != fmt.Sprintf("%.2f", bound) || x == bound {
		return s
	}
	return fmt.Sprintf("%.4f", x)
}

// memoryEntry is the Targets list's entry of a read row's memory when
// -rss-check ran it twice.
func memoryEntry(l *line, d time.Duration) string {
	first, second := l.mem, l.again.mem
	x, ok := rssGrowth(first, second)
	ratio := "unknown"
	if first.known() && second.known() {
		ratio = fmt.Sprintf("×%.2f", x)
	}
	return fmt.Sprintf("- %s memory: server peak RSS %s over %v (%s requests), then %s over %v more (%s requests): %s (target ≤ %.2f×, not growing with the requests served): %s",
		l.id, orDash(first.String()), d, thousands(l.res.requests), orDash(second.String()), 2*d, thousands(l.again.res.requests), ratio, maxRSSGrowth, metIf(ok))
}

// notSupported is the what of a row standing for PostgreSQL rows the
// binary cannot run.
const notSupported = "PostgreSQL: not supported by this build"

// judge fills the targets that depend on other rows and returns the
// Targets list.
func (b *bench) judge() []string {
	var summary, unsupported, peaks []string
	for _, l := range b.lines {
		if l.what == notSupported {
			unsupported = append(unsupported, map[string]string{"2c": "2c–2d", "5c": "5c–5d", "7d": "7d–7f"}[l.id])
		}
	}
	for _, t := range readTargets {
		l := b.find(t.row)
		if l == nil || l.what == notSupported {
			continue
		}
		summary = append(summary, judgeRead(l, b.find(t.ceiling), t, b.opt.conns))
		switch {
		case l.again.res != nil:
			summary = append(summary, memoryEntry(l, b.opt.duration))
		case l.mem.known():
			peaks = append(peaks, l.id+" "+l.mem.String())
		}
	}
	if len(peaks) > 0 {
		summary = append(summary, fmt.Sprintf("- memory, server peak RSS during the read rows: %s; growth not checked (run with -rss-check: each read row again, twice as long, target ≤ %.2f×)",
			strings.Join(peaks, ", "), maxRSSGrowth))
	}
	for _, id := range []string{"5b", "5d"} {
		l := b.find(id)
		if l == nil || l.applyTarget == 0 {
			continue
		}
		rate := "not measured"
		if l.hasRate {
			rate = thousands(int(l.rate+0.5)) + " events/s"
		}
		what := "webhook ingestion applied end to end"
		if strings.HasSuffix(l.what, ", PostgreSQL") {
			what += " (PostgreSQL)"
		}
		summary = append(summary, fmt.Sprintf("- %s %s: %s (target ≥ %s/s): %s", id, what, rate, thousands(int(l.applyTarget)), l.verdict))
	}
	for _, id := range []string{"7c", "7f"} {
		if l := b.find(id); l != nil {
			summary = append(summary, fmt.Sprintf("- %s %s: p50 %s, p99 %s (target ≤ 1.5×): %s", id, l.what, orDash(l.p50), orDash(l.p99), l.verdict))
		}
	}
	summary = append(summary, b.tenantEntries()...)
	if len(unsupported) > 0 {
		summary = append(summary, fmt.Sprintf("- %s: rows %s not run", notSupported, strings.Join(unsupported, ", ")))
	}
	return summary
}

func stripeText(l *line) string {
	if !l.hasStripe {
		return "unknown"
	}
	return fmt.Sprintf("%.2f", l.stripe)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// compareRows orders rows by number, then letter: 9d before 10.
func compareRows(x, y *line) int {
	num := func(id string) (int, string) {
		i := 0
		for i < len(id) && id[i] >= '0' && id[i] <= '9' {
			i++
		}
		n, _ := strconv.Atoi(id[:i])
		return n, id[i:]
	}
	xn, xs := num(x.id)
	yn, ys := num(y.id)
	return cmp.Or(cmp.Compare(xn, yn), strings.Compare(xs, ys))
}

// report is the Markdown the run prints and writes to -out.
func (b *bench) report() string {
	slices.SortStableFunc(b.lines, compareRows)
	summary := b.judge()
	var sb strings.Builder
	fmt.Fprintf(&sb, "## AppWheel benchmark, %s\n\n", b.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&sb, "- commit: %s\n", gitDescribe(b.root))
	fmt.Fprintf(&sb, "- machine: %s/%s, %d CPUs, %s; load average at start %s, at the end %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), b.loadAtStart, loadAvg())
	fmt.Fprintf(&sb, "- command: `go run ./bench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&sb, "- each row: %v warm-up, then %v measured; closed loop, every request signed (random nonce); latency from sending the request to reading the whole body\n",
		b.opt.warmup, b.opt.duration)
	fmt.Fprintf(&sb, "- Stripe calls/req: `appwheel_stripe_requests_total` from /metrics, before and after the measured phase, over the requests (5a–5d: over the accepted events, once all are applied)\n")
	fmt.Fprintf(&sb, "- peak RSS: of the server process alone (not PostgreSQL's, not the load generator's) over the measured phase: VmHWM of /proc/PID/status, reset to the current RSS at the phase's start (clear_refs), so the peak of that phase, not since start\n")
	if b.stripeMockErr != nil {
		fmt.Fprintf(&sb, "- stripe-mock: not running (%v); Stripe calls went to %s and fail\n", b.stripeMockErr, deadStripe)
	}
	sb.WriteString("\n| # | measurement | setup | requests/s | p50 | p99 | errors | Stripe calls/req | peak RSS | target | verdict |\n")
	sb.WriteString("|---|---|---|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, l := range b.lines {
		c := l.cells()
		for i := range c {
			c[i] = strings.ReplaceAll(c[i], "|", `\|`)
		}
		fmt.Fprintf(&sb, "| %s |\n", strings.Join(c, " | "))
	}
	if len(summary) > 0 {
		sb.WriteString("\nTargets:\n\n")
		sb.WriteString(strings.Join(summary, "\n"))
		sb.WriteString("\n")
	}
	var notes []string
	for _, l := range b.lines {
		if l.note != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s", l.id, oneLine(l.note)))
		}
	}
	for _, n := range b.notes {
		notes = append(notes, "- "+oneLine(n))
	}
	if len(notes) > 0 {
		sb.WriteString("\nNotes:\n\n")
		sb.WriteString(strings.Join(notes, "\n"))
		sb.WriteString("\n")
	}
	var profiles []string
	for _, l := range b.lines {
		if l.profile != "" {
			profiles = append(profiles, fmt.Sprintf("- %s: `go tool pprof -top %s`", l.id, l.profile))
		}
	}
	if len(profiles) > 0 {
		sb.WriteString("\nCPU profiles of the server (measured phase only):\n\n")
		sb.WriteString(strings.Join(profiles, "\n"))
		sb.WriteString("\n")
	}
	return sb.String()
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func gitDescribe(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		rev += " (with uncommitted changes)"
	}
	return rev
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
