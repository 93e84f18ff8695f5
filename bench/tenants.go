package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/appwheel/appwheel/sqlite"
	"golang.org/x/sync/errgroup"
)

// Multi-tenant: the mirror reads of rows 2a and 2b again, on a SQLite
// database of -tenant-apps mirror-mode apps with -tenant-users synced
// users each, every user with the data of the single-app rows (3 cards, a
// subscription, 25 invoices: mirrorTables, the rows seedMirrorUser writes
// through the store). Each request picks one of the apps × users
// uniformly, so apps and users alike are spread evenly, and is signed
// with its own app's secret. Rows 9c and 9d compare them with 2a and 2b of
// the same run: issue 13 asks for the multi-tenant figures within 1.2× of
// the single-app ones.
//
// The apps are created through apps.Service.Create, as seedMain does,
// since their secrets are sealed with the master key; the users' rows are
// written in bulk (multi-row INSERTs of storerow's column lists, as for
// the scale rows), all apps in one transaction.

// tenantMaxRatio is the target: multi-tenant throughput at least the
// single-app one ÷ 1.2, its p50 and p99 at most 1.2× the single-app ones.
const tenantMaxRatio = 1.2

// defaultTenantUsers is -tenant-users' default: with 1,000 apps, 20,000
// users and 500,000 invoices, a database of 315 MB seeded in about 9 s on
// the 2-core machine of BENCHMARKS.md (10 users: 158 MB, 4 s; 50: 787 MB,
// 27 s). Issue 13's full 1,000 × 1,000 is fifty times the default.
const defaultTenantUsers = 20

// servePageCacheMB is serve's default --page-cache-mb, which the harness
// leaves alone: the rendered pages each server keeps.
const servePageCacheMB = 64

// tenantData is what the multi-tenant database holds.
type tenantData struct {
	path  string
	apps  []*appwheel.App // mirror mode, secrets opened
	users []string        // each app's users: u-0 … u-(-tenant-users − 1)
}

// seedTenants creates napps mirror-mode apps through the app service and
// users synced users in each, with the single-app rows' data per user.
func seedTenants(ctx context.Context, dir string, napps, users int) (*tenantData, error) {
	d := &tenantData{path: filepath.Join(dir, mainDatabaseFile)}
	db, svc, err := openStore(ctx, d.path)
	if err != nil {
		return nil, err
	}
	for a := range napps {
		app, err := svc.Create(ctx, apps.CreateParams{
			Name: fmt.Sprintf("bench-tenant-%04d", a), Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey,
			StripeWebhookSecret: webhookSecret, ReadMode: appwheel.ReadMirror,
		})
		if err != nil {
			db.Close()
			return nil, err
		}
		d.apps = append(d.apps, app)
	}
	db.Close()
	for i := range users {
		d.users = append(d.users, fmt.Sprintf("u-%d", i))
	}
	ids := make([]string, len(d.apps))
	for a, app := range d.apps {
		ids[a] = app.ID
	}
	if err := insertTablesSQLite(ctx, d.path, tenantTables(storerow.Codec{Times: sqlite.Times{}}, ids, time.Now(), users)); err != nil {
		return nil, err
	}
	return d, nil
}

// tenantTables are mirrorTables for each app of appIDs, users users each,
// one table of every app's rows per table, app after app: row k of a table
// is row k mod n of app k div n's, n being one app's rows of it. Every app
// has the same users, u-0 … u-(users−1), and the same Stripe ids: the
// store's keys all begin with the app.
func tenantTables(c storerow.Codec, appIDs []string, at time.Time, users int) []scaleTable {
	per := make([][]scaleTable, len(appIDs))
	for a, id := range appIDs {
		per[a] = mirrorTables(c, id, at, users)
	}
	var tables []scaleTable
	for t, first := range per[0] {
		n := first.n
		tables = append(tables, scaleTable{first.name, first.columns, n * len(appIDs), func(k int) []any {
			return per[k/n][t].row(k % n)
		}})
	}
	return tables
}

// tenantPick is the app and the user of the request drawn k, uniform in
// [0, apps × users): each of the apps × users pairs once, so every app is
// drawn as often as every other, and every user of it as often.
func tenantPick(k, users int) (app, user int) { return k / users, k % users }

// tenantReads reads target(user) of a pair drawn uniformly, signed with
// the pair's app.
func tenantReads(base string, d *tenantData, target func(user string) string) makeRequest {
	pairs := len(d.apps) * len(d.users)
	return func(ctx context.Context, w *worker) (*http.Request, error) {
		a, u := tenantPick(w.rng.IntN(pairs), len(d.users))
		return signedRequest(ctx, base, d.apps[a], http.MethodGet, target(d.users[u]), nil)
	}
}

func methodsTarget(user string) string  { return "/v1/stripe/payment-methods?appUserId=" + user }
func invoicesTarget(user string) string { return "/v1/stripe/invoices?appUserId=" + user + "&limit=20" }

// tenantRows seeds the multi-tenant database, serves it, and runs rows 9a
// and 9b on it; 9c and 9d compare them with 2a and 2b (b.lines, when they
// ran). single are the bodies the single-app mirror served, nil when it
// did not run.
func (b *bench) tenantRows(ctx context.Context, single *sampleBodies) {
	opt := b.opt
	pairs := opt.tenantApps * opt.tenantUsers
	setup := fmt.Sprintf("%s mirror apps × %s users, SQLite, %d conns", thousands(opt.tenantApps), thousands(opt.tenantUsers), opt.conns)
	pm := &line{id: "9a", what: "paymentMethod from the mirror (3 cards), multi-tenant", setup: setup}
	inv := &line{id: "9b", what: "invoices from the mirror (page of 20), multi-tenant", setup: setup}
	pmRatio := &line{id: "9c", what: "multi-tenant/single-app paymentMethod (SQLite)", setup: "9a ÷ 2a", target: tenantTarget()}
	invRatio := &line{id: "9d", what: "multi-tenant/single-app invoices (SQLite)", setup: "9b ÷ 2b", target: tenantTarget()}
	b.lines = append(b.lines, pm, inv, pmRatio, invRatio)
	spread := func(multi, single string) string {
		return fmt.Sprintf("%s over %s users of %s apps, %s over %s users of one app", multi, thousands(pairs), thousands(opt.tenantApps), single, thousands(opt.users))
	}
	defer func() {
		setTenantRatio(pmRatio, b.find("2a"), pm, spread("9a", "2a"))
		setTenantRatio(invRatio, b.find("2b"), inv, spread("9b", "2b"))
	}()
	if single == nil {
		single = &sampleBodies{}
	}
	failed := func(err error) {
		pm.note, inv.note = "failed: "+err.Error(), "failed: "+err.Error()
	}

	dir := filepath.Join(b.tmp, "tenants")
	logf("seeding the multi-tenant database: %s apps × %s synced users × (3 cards, 1 subscription, %d invoices), apps through the app service, users in SQL",
		thousands(opt.tenantApps), thousands(opt.tenantUsers), invoicesPerUser)
	t0 := time.Now()
	d, err := seedTenants(ctx, dir, opt.tenantApps, opt.tenantUsers)
	if err != nil {
		failed(fmt.Errorf("seeding: %w", err))
		return
	}
	seeded, size := time.Since(t0), fileSize(d.path)
	logf("seeded in %v (%s MB)", seeded.Round(time.Millisecond), thousands(int(size>>20)))
	pm.setup += fmt.Sprintf(", database %s MB", thousands(int(size>>20)))
	inv.setup = pm.setup
	s, err := b.startServe(ctx, "tenants", dir)
	if err != nil {
		failed(err)
		return
	}
	defer func() {
		s.stop(30 * time.Second)
		if !opt.keep {
			os.RemoveAll(dir)
		}
	}()

	// A check that the mirror answers for the first app and the last, and
	// that its bodies are the size of the single-app ones.
	var sizes [2]int
	for i, c := range []struct {
		line   *line
		target func(string) string
		single []byte
	}{{pm, methodsTarget, single.paymentMethods}, {inv, invoicesTarget, single.invoices}} {
		for _, app := range []*appwheel.App{d.apps[0], d.apps[len(d.apps)-1]} {
			body, err := fetchOnce(ctx, s.base, app, c.target(d.users[0]))
			if err != nil {
				failed(fmt.Errorf("app %s: GET %s: %w", app.ID, c.target(d.users[0]), err))
				return
			}
			sizes[i] = len(body)
			if c.single != nil && len(body) != len(c.single) && c.line.note == "" {
				c.line.note = fmt.Sprintf("its body is %d bytes, the single-app row's %d", len(body), len(c.single))
			}
		}
	}

	for i, r := range []struct {
		line    *line
		single  string
		slug    string
		target  func(string) string
		reading string
	}{{pm, "2a", "9a-tenants-paymentMethod", methodsTarget, "payment methods"}, {inv, "2b", "9b-tenants-invoices", invoicesTarget, "invoice pages"}} {
		logf("row %s: reading each of the %s users once first", r.line.id, thousands(pairs))
		swept, err := sweepTenants(ctx, s.base, d, r.target, opt.conns)
		if err != nil {
			r.line.note = "failed: reading each user once: " + err.Error()
			continue
		}
		b.measure(ctx, r.line, s, opt.conns, r.slug, true, tenantReads(s.base, d, r.target))
		if ctx.Err() != nil {
			return
		}
		r.line.note = strings.TrimPrefix(r.line.note+"; "+spreadNote(r.line, r.single, b.find(r.single), r.reading, opt, pairs, sizes[i], swept), "; ")
	}
	b.notes = append(b.notes, fmt.Sprintf("9a–9b: seeding %s apps × %s users (%s users, %s invoices) took %v; database %s MB",
		thousands(opt.tenantApps), thousands(opt.tenantUsers), thousands(pairs), thousands(pairs*invoicesPerUser), seeded.Round(100*time.Millisecond), thousands(int(size>>20))))
}

// spreadNote says what the row spread its requests over, beside its
// single-app row's (singleID; single is that row, nil when it did not
// run), how that sits with the server's rendered pages, and how much of
// the users the warm-ups reached; swept is how long reading each user once
// took, before the row's warm-up.
func spreadNote(l *line, singleID string, single *line, reading string, opt *options, pairs, body int, swept time.Duration) string {
	s := fmt.Sprintf("requests spread uniformly over %s users (%s apps × %s), each signed with its app's secret; %s spreads over %s users of one app",
		thousands(pairs), thousands(opt.tenantApps), thousands(opt.tenantUsers), singleID, thousands(opt.users))
	if body > 0 {
		s += fmt.Sprintf("; the server keeps rendered pages per user (%d MiB, --page-cache-mb): one user's %s are %s bytes, %s users' %s MiB, %s's %s users' %s MiB",
			servePageCacheMB, reading, thousands(body), thousands(pairs), mib(pairs*body), singleID, thousands(opt.users), mib(opt.users*body))
		if reading == "invoice pages" {
			s += "; a user's first invoice page is also kept in the database (kept_pages), read back when memory does not hold it"
		}
	}
	s += fmt.Sprintf("; before its warm-up each of the %s users was read once (%v), so that no measured read is a user's first, as none of %s's is", thousands(pairs), swept.Round(100*time.Millisecond), singleID)
	if l.warm != nil {
		s += fmt.Sprintf("; the warm-up sent %s requests, reaching some %.0f%% of the users", thousands(l.warm.requests), 100*reached(l.warm.requests, pairs))
		if single != nil && single.warm != nil {
			s += fmt.Sprintf(" (%s's: %s, %.0f%% of its users)", singleID, thousands(single.warm.requests), 100*reached(single.warm.requests, opt.users))
		}
	}
	return s
}

// sweepTenants reads target of every (app, user) pair once, on conns
// connections, and returns how long it took. The single-app rows' warm-up
// reads every one of their -users users many times over; one of many
// tenants' users it reaches only in part (some 40 % of 20,000 at -warmup
// 2s), and a user's first read renders what later reads are served from
// memory, so without this the multi-tenant rows would measure first reads
// the single-app rows do not.
func sweepTenants(ctx context.Context, base string, d *tenantData, target func(string) string, conns int) (time.Duration, error) {
	pairs := len(d.apps) * len(d.users)
	var next atomic.Int64
	t0 := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	for range conns {
		g.Go(func() error {
			for k := int(next.Add(1) - 1); k < pairs; k = int(next.Add(1) - 1) {
				a, u := tenantPick(k, len(d.users))
				if _, err := fetchOnce(ctx, base, d.apps[a], target(d.users[u])); err != nil {
					return fmt.Errorf("app %s, GET %s: %w", d.apps[a].ID, target(d.users[u]), err)
				}
			}
			return nil
		})
	}
	err := g.Wait()
	return time.Since(t0), err
}

// reached is the share of users that requests drawn uniformly reach, in
// expectation: 1 − (1 − 1/users)^requests.
func reached(requests, users int) float64 {
	return 1 - math.Pow(1-1/float64(users), float64(requests))
}

func mib(n int) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

func tenantTarget() string {
	return fmt.Sprintf("throughput ≥ single ÷ %g; p50, p99 ≤ %g× single's", tenantMaxRatio, tenantMaxRatio)
}

// setTenantRatio fills a ratio row from the single-app row (nil when it did
// not run) and the multi-tenant one: multi-tenant throughput ÷ single-app
// throughput in the requests/s column, p50 and p99 multi ÷ single.
// spread says which users each row spread over, for the note.
func setTenantRatio(ratio, single, multi *line, spread string) {
	switch {
	case multi.res == nil || multi.res.requests == 0:
		ratio.verdict, ratio.note = "not measured", "not measured: "+multi.id+" did not run"
		return
	case single == nil || single.res == nil || single.res.requests == 0 || single.rate <= 0:
		ratio.verdict, ratio.note = "not measured", "not measured: run the single-app rows in the same run too (-rows mirror,tenants)"
		return
	}
	rate := multi.rate / single.rate
	r50 := float64(multi.res.pct(50)) / float64(single.res.pct(50))
	r99 := float64(multi.res.pct(99)) / float64(single.res.pct(99))
	ratio.rateText = "×" + ratioText(rate, 1/tenantMaxRatio)
	ratio.p50, ratio.p99 = "×"+ratioText(r50, tenantMaxRatio), "×"+ratioText(r99, tenantMaxRatio)
	var failed []string
	if rate < 1/tenantMaxRatio {
		failed = append(failed, "throughput "+ratio.rateText)
	}
	if r50 > tenantMaxRatio {
		failed = append(failed, "p50 "+ratio.p50)
	}
	if r99 > tenantMaxRatio {
		failed = append(failed, "p99 "+ratio.p99)
	}
	if single.res.errors > 0 || multi.res.errors > 0 {
		failed = append(failed, "errors")
	}
	ratio.verdict = "met"
	if len(failed) > 0 {
		ratio.verdict = "not met (" + strings.Join(failed, ", ") + ")"
	}
	ratio.note = fmt.Sprintf("%s ÷ %s: throughput %s ÷ %s req/s (target ≥ ×%.2f), p50 %s ÷ %s, p99 %s ÷ %s (target ≤ ×%g)",
		multi.id, single.id, thousands(int(multi.rate+0.5)), thousands(int(single.rate+0.5)), 1/tenantMaxRatio,
		ms(multi.res.pct(50)), ms(single.res.pct(50)), ms(multi.res.pct(99)), ms(single.res.pct(99)), tenantMaxRatio)
	if spread != "" {
		ratio.note += "; " + spread
	}
}

// tenantEntries are the Targets list's entries of rows 9c and 9d.
func (b *bench) tenantEntries() []string {
	var entries []string
	for _, id := range []string{"9c", "9d"} {
		if l := b.find(id); l != nil {
			entries = append(entries, fmt.Sprintf("- %s %s: throughput %s, p50 %s, p99 %s (target: throughput ≥ ×%.2f, p50 and p99 ≤ ×%g): %s",
				id, l.what, orDash(l.rateText), orDash(l.p50), orDash(l.p99), 1/tenantMaxRatio, tenantMaxRatio, l.verdict))
		}
	}
	return entries
}
