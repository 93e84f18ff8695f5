package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/appwheel/appwheel/postgres"
)

// The scale rows' PostgreSQL variant runs only when the binary supports
// APPWHEEL_DATABASE_URL=postgres://… (its `serve -h` says so). Each size
// gets a fresh schema in -postgres-url's database; `appwheel migrate`
// creates the tables in it and `appwheel apps create` the app, so the
// schema is the binary's own, and the bulk data is the stores' rows written
// with COPY, the same rows as the SQLite variant's.

// postgresSupported reports whether the binary's serve accepts a
// PostgreSQL database URL, from its help text.
func (b *bench) postgresSupported(ctx context.Context) (bool, error) {
	cmd := exec.CommandContext(ctx, b.bin, "serve", "-h")
	cmd.Env = baseEnv()
	out, _ := cmd.CombinedOutput() // -h exits 2
	if len(out) == 0 {
		return false, fmt.Errorf("appwheel serve -h printed nothing")
	}
	return bytes.Contains(bytes.ToLower(out), []byte("postgres")), nil
}

func (b *bench) postgresRows(ctx context.Context, probes int) []*line {
	ok, err := b.postgresSupported(ctx)
	if err != nil || !ok {
		l := &line{id: "7d", what: notSupported, setup: "`appwheel serve -h` does not mention PostgreSQL"}
		if err != nil {
			l.note = err.Error()
		}
		return []*line{l}
	}
	setup := fmt.Sprintf("PostgreSQL, %d conns, reads over %d users with %d invoices each", b.opt.scaleConns, probes, probeInvoices)
	small := &line{id: "7d", what: fmt.Sprintf("invoices (page of 20), %s invoices over 100,000 users", thousands(b.opt.smallInvoices)), setup: setup}
	large := &line{id: "7e", what: fmt.Sprintf("invoices (page of 20), %s invoices over 100,000 users", thousands(b.opt.largeInvoices)), setup: setup}
	ratio := &line{id: "7f", what: "scale ratio large/small (PostgreSQL)", setup: "7e ÷ 7d", target: "≤ 1.5×"}
	for _, l := range []*struct {
		line     *line
		invoices int
		name     string
	}{{small, b.opt.smallInvoices, "small"}, {large, b.opt.largeInvoices, "large"}} {
		if err := b.scalePostgres(ctx, l.line, l.name, l.invoices, probes); err != nil {
			l.line.note = "failed: " + err.Error()
		}
		if ctx.Err() != nil {
			break
		}
	}
	setRatio(ratio, small, large)
	return []*line{small, large, ratio}
}

// pgSchema is a fresh schema of -postgres-url's database, with the
// binary's tables in it and one mirror-mode app.
type pgSchema struct {
	name    string
	url     string // -postgres-url with search_path set to the schema
	dataDir string // serve's data directory beside it
	app     *appwheel.App
	keep    bool
}

// freshSchema creates the schema appwheel_bench_NAME (dropping one left
// from an earlier run), its tables by `appwheel migrate` and a mirror-mode
// app by `appwheel apps create`. Drop it once the server on it has
// stopped.
func (b *bench) freshSchema(ctx context.Context, name, appName string) (*pgSchema, error) {
	p := &pgSchema{name: "appwheel_bench_" + name, dataDir: filepath.Join(b.tmp, "pg-"+name), keep: b.opt.keep}
	var err error
	if p.url, err = withSearchPath(b.opt.postgresURL, p.name); err != nil {
		return nil, err
	}
	admin, err := pgx.Connect(ctx, b.opt.postgresURL)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", b.opt.postgresURL, err)
	}
	_, err = admin.Exec(ctx, fmt.Sprintf(`DROP SCHEMA IF EXISTS %[1]s CASCADE; CREATE SCHEMA %[1]s`, p.name))
	admin.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("fresh schema %s: %w", p.name, err)
	}
	if err := b.fillSchema(ctx, p, appName); err != nil {
		p.drop(ctx)
		return nil, err
	}
	return p, nil
}

func (b *bench) fillSchema(ctx context.Context, p *pgSchema, appName string) error {
	if err := os.MkdirAll(p.dataDir, 0o700); err != nil {
		return err
	}
	env := append(baseEnv(), "APPWHEEL_DATABASE_URL="+p.url, "APPWHEEL_DATA_DIR="+p.dataDir, "APPWHEEL_MASTER_KEY="+benchMasterKey, "APPWHEEL_LOG_LEVEL=warn")
	if out, err := b.appwheel(ctx, env, "migrate"); err != nil {
		return fmt.Errorf("appwheel migrate: %w\n%s", err, out)
	}
	out, err := b.appwheel(ctx, env, "apps", "create", "--json", "--name", appName, "--platform", appwheel.PlatformStripe,
		"--stripe-secret-key", stripeKey, "--stripe-webhook-secret", webhookSecret, "--read-mode", appwheel.ReadMirror)
	if err != nil {
		return fmt.Errorf("appwheel apps create: %w\n%s", err, out)
	}
	var created struct{ AppID, Platform, AppSecret string }
	if err := json.Unmarshal(out, &created); err != nil {
		return fmt.Errorf("appwheel apps create printed %q: %w", out, err)
	}
	p.app = &appwheel.App{ID: created.AppID, Platform: created.Platform, Secret: created.AppSecret}
	return nil
}

// drop removes the schema, unless -keep: the database is shared, so the
// harness leaves nothing behind.
func (p *pgSchema) drop(ctx context.Context) {
	if !p.keep {
		dropSchema(context.WithoutCancel(ctx), p.url, p.name)
	}
}

// servePostgres starts appwheel serve on the schema.
func (b *bench) servePostgres(ctx context.Context, p *pgSchema) (*server, error) {
	return b.startServe(ctx, "pg-"+strings.TrimPrefix(p.name, "appwheel_bench_"), p.dataDir, "APPWHEEL_DATABASE_URL="+p.url)
}

func (b *bench) scalePostgres(ctx context.Context, l *line, name string, invoices, probes int) error {
	logf("PostgreSQL: fresh schema appwheel_bench_%s, %s invoices over %s users", name, thousands(invoices), thousands(scaleUsers))
	p, err := b.freshSchema(ctx, name, "bench-scale")
	if err != nil {
		return err
	}
	defer p.drop(ctx) // after serve stops, deferred below
	t0 := time.Now()
	if err := seedPostgres(ctx, p.url, scaleTables(storerow.Codec{Times: postgres.Times{}}, p.app.ID, time.Now(), invoices, probes, scaleUsers)); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	logf("seeded in %v", time.Since(t0).Round(time.Millisecond))
	s, err := b.servePostgres(ctx, p)
	if err != nil {
		return err
	}
	defer s.stop(30 * time.Second)
	var users []string
	for i := range probes {
		users = append(users, fmt.Sprintf("u-%d", i))
	}
	b.measure(ctx, l, s, b.opt.scaleConns, "7-scale-postgres-"+name, true, invoicesOf(s.base, p.app, users))
	return nil
}

func dropSchema(ctx context.Context, dbURL, schema string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		logf("PostgreSQL: dropping schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP SCHEMA IF EXISTS %s CASCADE`, schema)); err != nil {
		logf("PostgreSQL: dropping schema %s: %v", schema, err)
	}
}

// appwheel runs the built binary once and returns its standard output.
func (b *bench) appwheel(ctx context.Context, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return append(out, stderr.Bytes()...), err
	}
	return out, nil
}

// withSearchPath sets search_path in a postgres:// URL.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("-postgres-url: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// seedPostgres writes tables (the scale rows, scaleTables, as for SQLite,
// or the main database's mirror, mirrorTables) into the schema of dbURL,
// with COPY, in one transaction.
func seedPostgres(ctx context.Context, dbURL string, tables []scaleTable) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, table := range tables {
		if err := insertPostgres(ctx, tx, table); err != nil {
			return fmt.Errorf("%s: %w", table.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// What autovacuum would soon do on a real database.
	_, err = conn.Exec(ctx, `ANALYZE`)
	return err
}
