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
)

// The scale rows' PostgreSQL variant runs only when the binary supports
// APPWHEEL_DATABASE_URL=postgres://… (its `serve -h` says so). Each size
// gets a fresh schema in -postgres-url's database; `appwheel migrate`
// creates the tables in it and `appwheel apps create` the app, so the
// schema is the binary's own, and the bulk data is generated in SQL
// (generate_series) like the SQLite variant's.

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
		l := &line{id: "7d", what: "PostgreSQL: not supported by this build", setup: "`appwheel serve -h` does not mention PostgreSQL"}
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

func (b *bench) scalePostgres(ctx context.Context, l *line, name string, invoices, probes int) error {
	schema := "appwheel_bench_" + name
	dbURL, err := withSearchPath(b.opt.postgresURL, schema)
	if err != nil {
		return err
	}
	logf("PostgreSQL: fresh schema %s, %s invoices over %s users", schema, thousands(invoices), thousands(scaleUsers))
	admin, err := pgx.Connect(ctx, b.opt.postgresURL)
	if err != nil {
		return fmt.Errorf("connect %s: %w", b.opt.postgresURL, err)
	}
	_, err = admin.Exec(ctx, fmt.Sprintf(`DROP SCHEMA IF EXISTS %[1]s CASCADE; CREATE SCHEMA %[1]s`, schema))
	admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("fresh schema %s: %w", schema, err)
	}
	if !b.opt.keep {
		// The database is shared: leave nothing behind (after serve stops,
		// deferred below).
		defer dropSchema(context.WithoutCancel(ctx), b.opt.postgresURL, schema)
	}
	dataDir := filepath.Join(b.tmp, "pg-"+name)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	env := append(baseEnv(), "APPWHEEL_DATABASE_URL="+dbURL, "APPWHEEL_DATA_DIR="+dataDir, "APPWHEEL_MASTER_KEY="+benchMasterKey, "APPWHEEL_LOG_LEVEL=warn")
	if out, err := b.appwheel(ctx, env, "migrate"); err != nil {
		return fmt.Errorf("appwheel migrate: %w\n%s", err, out)
	}
	out, err := b.appwheel(ctx, env, "apps", "create", "--json", "--name", "bench-scale", "--platform", appwheel.PlatformStripe,
		"--stripe-secret-key", stripeKey, "--stripe-webhook-secret", webhookSecret, "--read-mode", appwheel.ReadMirror)
	if err != nil {
		return fmt.Errorf("appwheel apps create: %w\n%s", err, out)
	}
	var created struct{ AppID, Platform, AppSecret string }
	if err := json.Unmarshal(out, &created); err != nil {
		return fmt.Errorf("appwheel apps create printed %q: %w", out, err)
	}
	app := &appwheel.App{ID: created.AppID, Platform: created.Platform, Secret: created.AppSecret}

	t0 := time.Now()
	if err := seedPostgres(ctx, dbURL, app.ID, invoices, probes); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	logf("seeded in %v", time.Since(t0).Round(time.Millisecond))
	s, err := b.startServe(ctx, "pg-"+name, dataDir, "APPWHEEL_DATABASE_URL="+dbURL)
	if err != nil {
		return err
	}
	defer s.stop(30 * time.Second)
	var users []string
	for i := range probes {
		users = append(users, fmt.Sprintf("u-%d", i))
	}
	b.measure(ctx, l, s, b.opt.scaleConns, "7-scale-postgres-"+name, true, invoicesOf(s.base, app, users))
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

// seedPostgres generates the scale data in the schema of dbURL, as
// scaleSQL does for SQLite. Time columns are written as the schema has
// them: timestamptz, or integer microseconds.
func seedPostgres(ctx context.Context, dbURL, appID string, total, probes int) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	colType := func(table, column string) (string, error) {
		var t string
		err := conn.QueryRow(ctx, `SELECT data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, table, column).Scan(&t)
		if err == pgx.ErrNoRows {
			return "", nil
		}
		return t, err
	}
	ts := func(table, column, param string) (string, error) {
		t, err := colType(table, column)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(t, "timestamp") {
			return "to_timestamp(" + param + "::bigint / 1e6)", nil
		}
		return param + "::bigint", nil
	}
	createdAt, err := ts("customers", "created_at", "$3")
	if err != nil {
		return err
	}
	syncedAt, err := ts("customers", "synced_at", "$5")
	if err != nil {
		return err
	}
	priceTerms, err := colType("invoices", "price_interval")
	if err != nil {
		return err
	}
	termCols, termVals := "", ""
	if priceTerms != "" {
		termCols, termVals = ", price_interval, price_interval_count", ", 'month', 1"
	}

	at := time.Now()
	now := at.Unix()
	created := at.Add(-seedSyncedAgo).UnixMicro()
	version := at.Add(-seedVersionOffset).UnixMicro()
	probeTotal := probes * probeInvoices
	others := scaleUsers - probes
	invoiceInsert := `INSERT INTO invoices (app_id, id, customer_id, subscription_id, price_id, number, status,
		customer_email, invoice_pdf, hosted_invoice_url, amount_due, amount_paid, currency,
		created, period_start, period_end, paid_at, service_period_start, service_period_end, version` + termCols + `) `
	// $1 app, $2 price, $3 base created, $4 month, $5 version; k, u, j as in scaleSQL.
	invoiceSelect := `SELECT $1::text, 'in_s' || lpad(k::text, 8, '0'), 'cus_s' || lpad(u::text, 7, '0'), 'sub_s' || lpad(u::text, 7, '0'), $2::text,
		'S' || lpad(u::text, 7, '0') || '-' || lpad(j::text, 5, '0'), 'paid', 'u' || u || '@example.com',
		'https://pay.stripe.com/invoice/acct_1Bench/test_in_s' || lpad(k::text, 8, '0') || '/pdf',
		'https://invoice.stripe.com/i/acct_1Bench/test_in_s' || lpad(k::text, 8, '0'),
		999, 999, 'usd', $3::bigint - j * $4::bigint, $3::bigint - (j + 1) * $4::bigint, $3::bigint - j * $4::bigint,
		$3::bigint - j * $4::bigint + 60, $3::bigint - j * $4::bigint, $3::bigint - (j - 1) * $4::bigint, $5::bigint` + termVals
	stmts := []stmt{
		{"customers", `INSERT INTO customers (app_id, app_user_id, stripe_customer_id, created_at,
			default_payment_method_id, deleted, version, synced_at)
			SELECT $1::text, 'u-' || u, 'cus_s' || lpad(u::text, 7, '0'), ` + createdAt + `, '', false, $4::bigint, ` + syncedAt + `
			FROM generate_series(0, $2::bigint - 1) AS u`,
			[]any{appID, scaleUsers, created, version, created}},
		{"subscriptions", `INSERT INTO subscriptions (app_id, id, customer_id, status, price_id, interval,
			interval_count, current_period_end, cancel_at_period_end, created, version)
			SELECT $1::text, 'sub_s' || lpad(u::text, 7, '0'), 'cus_s' || lpad(u::text, 7, '0'), 'active', $3::text, 'month', 1,
			$4::bigint, false, $5::bigint, $6::bigint FROM generate_series(0, $2::bigint - 1) AS u`,
			[]any{appID, scaleUsers, benchPrice, now + 15*day, now - 400*day, version}},
		{"subscription history", `INSERT INTO subscription_status_history (app_id, subscription_id, at, status)
			SELECT $1::text, 'sub_s' || lpad(u::text, 7, '0'), $3::bigint, 'active' FROM generate_series(0, $2::bigint - 1) AS u`,
			[]any{appID, scaleUsers, version}},
		{"the probe users' invoices", invoiceInsert + invoiceSelect + `
			FROM generate_series(0, $6::bigint - 1) AS k, LATERAL (SELECT k / $7::bigint AS u, k % $7::bigint AS j) AS x`,
			[]any{appID, benchPrice, now - 15*day, month, version, probeTotal, probeInvoices}},
		{"the other invoices", invoiceInsert + invoiceSelect + `
			FROM generate_series($6::bigint, $7::bigint - 1) AS k,
			LATERAL (SELECT $8::bigint + (k - $6::bigint) % $9::bigint AS u, (k - $6::bigint) / $9::bigint AS j) AS x`,
			[]any{appID, benchPrice, now - 15*day, month, version, probeTotal, total, probes, others}},
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// What autovacuum would soon do on a real database.
	_, err = conn.Exec(ctx, `ANALYZE`)
	return err
}
