package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
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
	return []string{l.id, l.what, l.setup, rate, p50, p99, errs, stripe, l.target, l.verdict}
}

func (b *bench) find(id string) *line {
	for _, l := range b.lines {
		if l.id == id {
			return l
		}
	}
	return nil
}

// judge fills the targets of the mirror rows, which depend on the ceiling.
func (b *bench) judge() []string {
	var summary []string
	at64 := ""
	if b.opt.conns != 64 {
		at64 = fmt.Sprintf(" (measured at %d conns; the target is defined at 64)", b.opt.conns)
	}
	for _, pair := range [][2]string{{"2a", "1a"}, {"2b", "1b"}} {
		l, ceil := b.find(pair[0]), b.find(pair[1])
		if l == nil || l.res == nil {
			continue
		}
		var parts, failed []string
		if ceil != nil && ceil.hasRate && ceil.rate > 0 {
			x := l.rate / ceil.rate
			ok := x >= 0.5
			parts = append(parts, fmt.Sprintf("throughput %.2f× ceiling %s (target ≥ 0.5×): %s", x, pair[1], metIf(ok)))
			if !ok {
				failed = append(failed, fmt.Sprintf("throughput %.2f×", x))
			}
		} else {
			parts = append(parts, "throughput vs ceiling: not measured (run row 1 too)")
			failed = append(failed, "no ceiling")
		}
		p99ok := l.res.pct(99) < 5*time.Millisecond
		parts = append(parts, fmt.Sprintf("p99 %s (target < 5 ms at 64 conns)%s: %s", ms(l.res.pct(99)), at64, metIf(p99ok)))
		if !p99ok {
			failed = append(failed, "p99")
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
		l.target = "≥ 0.5× ceiling; p99 < 5 ms; 0 Stripe calls"
		l.verdict = "met"
		if len(failed) > 0 {
			l.verdict = "not met (" + strings.Join(failed, ", ") + ")"
		}
		summary = append(summary, fmt.Sprintf("- %s %s: %s", l.id, l.what, strings.Join(parts, "; ")))
	}
	if l := b.find("5b"); l != nil {
		rate := "not measured"
		if l.hasRate {
			rate = thousands(int(l.rate+0.5)) + " events/s"
		}
		summary = append(summary, fmt.Sprintf("- 5b webhook ingestion applied end to end: %s (target ≥ 2,000/s): %s", rate, l.verdict))
	}
	for _, id := range []string{"7c", "7f"} {
		if l := b.find(id); l != nil {
			summary = append(summary, fmt.Sprintf("- %s %s: p50 %s, p99 %s (target ≤ 1.5×): %s", id, l.what, orDash(l.p50), orDash(l.p99), l.verdict))
		}
	}
	if l := b.find("7d"); l != nil && l.res == nil && strings.HasPrefix(l.what, "PostgreSQL: not supported") {
		summary = append(summary, "- PostgreSQL: not supported by this build")
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

// report is the Markdown the run prints and writes to -out.
func (b *bench) report() string {
	slices.SortStableFunc(b.lines, func(x, y *line) int { return strings.Compare(x.id, y.id) })
	summary := b.judge()
	var sb strings.Builder
	fmt.Fprintf(&sb, "## AppWheel benchmark, %s\n\n", b.started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&sb, "- commit: %s\n", gitDescribe(b.root))
	fmt.Fprintf(&sb, "- machine: %s/%s, %d CPUs, %s; load average at start %s, at the end %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), b.loadAtStart, loadAvg())
	fmt.Fprintf(&sb, "- command: `go run ./bench %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&sb, "- each row: %v warm-up, then %v measured; closed loop, every request signed (random nonce); latency from sending the request to reading the whole body\n",
		b.opt.warmup, b.opt.duration)
	fmt.Fprintf(&sb, "- Stripe calls/req: `appwheel_stripe_requests_total` from /metrics, before and after the measured phase, over the requests (5a/5b: over the accepted events, once all are applied)\n")
	if b.stripeMockErr != nil {
		fmt.Fprintf(&sb, "- stripe-mock: not running (%v); Stripe calls went to %s and fail\n", b.stripeMockErr, deadStripe)
	}
	sb.WriteString("\n| # | measurement | setup | requests/s | p50 | p99 | errors | Stripe calls/req | target | verdict |\n")
	sb.WriteString("|---|---|---|--:|--:|--:|--:|--:|---|---|\n")
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
