package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// importRows are row 8: customers linked per second by `appwheel apps
// import` against the sandbox of an `appwheel dev`, whose Stripe account
// holds customers made as an app's own backend would have
// (`sandbox seed-existing`). 8a is the import at the default Stripe budget
// of 20 calls/s per app, which bounds it; 8b the same import of as many
// more customers with the budget out of the way (1,000 calls/s), what the
// importer and the sandbox do on their own.
func (b *bench) importRows(ctx context.Context) {
	n := b.opt.importUsers
	setup := fmt.Sprintf("SQLite, the sandbox, %d customers with cards and subscriptions", n)
	budget := &line{id: "8a", what: "apps import --metadata-key, default Stripe budget (20 calls/s)", setup: setup}
	free := &line{id: "8b", what: "apps import --metadata-key, Stripe budget 1,000 calls/s", setup: setup}
	b.lines = append(b.lines, budget, free)
	if err := b.importRun(ctx, n, budget, free); err != nil {
		for _, l := range []*line{budget, free} {
			if !l.hasRate {
				l.note = "failed: " + err.Error()
			}
		}
	}
}

func (b *bench) importRun(ctx context.Context, n int, budget, free *line) error {
	dir := filepath.Join(b.tmp, "import")
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	sandboxAddr, err := freeAddr()
	if err != nil {
		return err
	}
	dev, err := startProc("appwheel dev", filepath.Join(b.tmp, "dev.log"), baseEnv(), b.bin,
		"dev", "--addr", addr, "--sandbox-addr", sandboxAddr, "--data-dir", dir, "--log-level", "warn")
	if err != nil {
		return err
	}
	defer dev.stop(10 * time.Second)
	if err := waitHTTP(ctx, dev, "http://"+addr+"/readyz", nil, 60*time.Second); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "dev.json"))
	if err != nil {
		return err
	}
	var facts struct {
		AppID string `json:"appId"`
	}
	if err := json.Unmarshal(raw, &facts); err != nil {
		return err
	}
	cli := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, b.bin, append(args, "--data-dir", dir)...)
		cmd.Env = baseEnv()
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("appwheel %s: %w", strings.Join(args, " "), err)
		}
		return string(out), nil
	}
	for _, l := range []struct {
		line   *line
		prefix string
		rate   string
	}{{budget, "existing-", "20"}, {free, "more-", "1000"}} {
		logf("row %s: seeding %d existing customers in the sandbox", l.line.id, n)
		if _, err := cli("sandbox", "seed-existing", "--users", fmt.Sprint(n), "--user-prefix", l.prefix); err != nil {
			return err
		}
		logf("row %s: %s", l.line.id, l.line.what)
		start := time.Now()
		out, err := cli("apps", "import", facts.AppID, "--metadata-key", "user_id", "--stripe-background-rate", l.rate, "--json")
		took := time.Since(start)
		if err != nil {
			return err
		}
		var st struct{ Seen, Linked, Skipped, Failed int }
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			return fmt.Errorf("apps import printed %q: %w", out, err)
		}
		if st.Linked != n || st.Failed != 0 {
			return fmt.Errorf("apps import: %+v, want %d linked", st, n)
		}
		l.line.rate, l.line.hasRate = float64(st.Linked)/took.Seconds(), true
		l.line.rateText = fmt.Sprintf("%.1f customers/s", l.line.rate)
		l.line.p50 = fmt.Sprintf("%.1f s total", took.Seconds())
		l.line.note = fmt.Sprintf("%d customers seen, %d linked, %d skipped (linked before or naming no user)", st.Seen, st.Linked, st.Skipped)
	}
	return nil
}
