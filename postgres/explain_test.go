package postgres_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/postgres"
	"github.com/jackc/pgx/v5"
)

// The EXPLAIN check's data set: one app, 100,000 users, 1,000,000 invoices.
// The first user (cus_000000) is a "whale" with 10,000 invoices; the others
// have about 10 each, spread over the table as invoices arrive over time.
// Each user has 2 or 3 payment methods, and 20,000 detached methods gather
// under the empty customer ID.
const (
	explainApp      = "app_explain"
	explainInvoices = 1_000_000
	explainUsers    = 100_000
	whaleInvoices   = 10_000
	typicalCustomer = "cus_042424"
	whaleCustomer   = "cus_000000"
)

// explainSeed fills the schema in SQL, so a million rows take seconds. IDs
// are Stripe-like (random order), so both indexes grow by random inserts as
// in production; created rises with the row number.
var explainSeed = []struct{ name, sql string }{
	{"invoices", fmt.Sprintf(`
		INSERT INTO invoices (app_id, id, customer_id, subscription_id, price_id, number, status,
			customer_email, invoice_pdf, hosted_invoice_url, amount_due, amount_paid, currency,
			created, period_start, period_end, paid_at, service_period_start, service_period_end,
			price_interval, price_interval_count, version)
		SELECT '%[1]s', id, cus, 'sub_' || u, 'price_monthly', 'NR-' || i, 'paid',
			'user' || u || '@example.com',
			'https://pay.stripe.com/invoice/acct_1Explain/' || id || '/pdf',
			'https://invoice.stripe.com/i/acct_1Explain/' || id,
			1999, 1999, 'usd', c, c - 2592000, c, c + 3600, c, c + 2592000, 'month', 1, c * 1000000
		FROM generate_series(1, %[2]d) i,
			LATERAL (SELECT CASE WHEN i <= %[3]d THEN 0 ELSE 1 + i %% %[4]d END AS u,
				1600000000::bigint + i * 37 AS c) x,
			LATERAL (SELECT 'in_1' || substr(md5(i::text), 1, 23) AS id,
				'cus_' || lpad(u::text, 6, '0') AS cus) y`,
		explainApp, explainInvoices, whaleInvoices, explainUsers-1)},
	{"payment methods", fmt.Sprintf(`
		INSERT INTO payment_methods (app_id, id, customer_id, type, created, raw, version)
		SELECT '%[1]s', id, cus, 'card', c,
			convert_to(format('{"id":"%%s","object":"payment_method","type":"card","created":%%s,'
				'"customer":"%%s","card":{"brand":"visa","last4":"%%s","exp_month":12,"exp_year":2030}}',
				id, c, cus, lpad((i %% 10000)::text, 4, '0')), 'UTF8'),
			c * 1000000
		FROM generate_series(1, %[2]d) i,
			LATERAL (SELECT 1600000000::bigint + i * 61 AS c) x,
			LATERAL (SELECT 'pm_1' || substr(md5('pm' || i), 1, 23) AS id,
				CASE WHEN i > %[3]d THEN '' ELSE 'cus_' || lpad((i %% %[4]d)::text, 6, '0') END AS cus) y`,
		explainApp, explainUsers*5/2+20_000, explainUsers*5/2, explainUsers)},
	{"ANALYZE", `ANALYZE invoices, payment_methods`},
}

// explainCase is one statement a list read runs, and the index its plan
// must use.
type explainCase struct {
	name  string
	query string
	args  []any
	index string
	// cursor marks the lookup of StartingAfter, by primary key, which
	// then filters on the customer (one row).
	cursor bool
	// rowCompare marks the keyset pages: the (created, id) cursor must be
	// part of the index condition, so the scan seeks to it.
	rowCompare bool
}

// TestExplain plans InvoicesOf and PaymentMethodsOf on a million invoices
// and checks that each statement is one index scan of the index made for
// it: no Seq Scan, no Sort, no Filter (except the customer check of the
// cursor lookup). Both the custom plan and the generic plan that a cached
// prepared statement may switch to are checked.
//
// With APPWHEEL_WRITE_EXPLAIN=1 it writes the plans to EXPLAIN.md.
// Seeding takes about 20 s, so -short skips it.
func TestExplain(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a million invoices; skipped with -short")
	}
	// Seeding runs for longer than a request may.
	db := openDB(t, pgtest.NewSchema(t), postgres.Options{StatementTimeout: 10 * time.Minute})
	ctx := t.Context()
	if err := db.CreateApp(ctx, &appwheel.AppRecord{
		ID: explainApp, Name: "EXPLAIN", Platform: appwheel.PlatformStripe,
		SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k"), ReadMode: appwheel.ReadMirror,
	}); err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	var seeded []string
	for _, s := range explainSeed {
		start := time.Now()
		tag, err := db.Pool().Exec(ctx, s.sql)
		if err != nil {
			t.Fatalf("seeding %s: %v", s.name, err)
		}
		line := fmt.Sprintf("%s: %s in %.1f s", s.name, tag, time.Since(start).Seconds())
		t.Log(line)
		seeded = append(seeded, line)
	}

	// The cursors: the 5th newest invoice of a typical user, and the
	// 5,000th of the whale, half way through its 1,000 pages of 10.
	cursor := func(customer string, n int) (int64, string) {
		t.Helper()
		var created int64
		var id string
		if err := db.Pool().QueryRow(ctx, `SELECT created, id FROM invoices
			WHERE app_id = $1 AND customer_id = $2 ORDER BY created DESC, id DESC OFFSET $3 LIMIT 1`,
			explainApp, customer, n-1).Scan(&created, &id); err != nil {
			t.Fatalf("cursor %d of %s: %v", n, customer, err)
		}
		return created, id
	}
	typicalCreated, typicalID := cursor(typicalCustomer, 5)
	whaleCreated, whaleID := cursor(whaleCustomer, 5000)

	const limit = 10 + 1 // InvoicesOf reads one row more than it returns
	cases := []explainCase{
		{name: "InvoicesOf, first page", query: postgres.InvoicesFirstPageQuery,
			args: []any{explainApp, typicalCustomer, limit}, index: "invoices_by_customer"},
		{name: "InvoicesOf, cursor lookup", query: postgres.InvoiceCursorQuery,
			args: []any{explainApp, typicalID, typicalCustomer}, index: "invoices_pkey", cursor: true},
		{name: "InvoicesOf, page after the cursor", query: postgres.InvoicesNextPageQuery,
			args: []any{explainApp, typicalCustomer, limit, typicalCreated, typicalID}, index: "invoices_by_customer", rowCompare: true},
		{name: "InvoicesOf, whale's first page", query: postgres.InvoicesFirstPageQuery,
			args: []any{explainApp, whaleCustomer, limit}, index: "invoices_by_customer"},
		{name: "InvoicesOf, whale's page 501", query: postgres.InvoicesNextPageQuery,
			args: []any{explainApp, whaleCustomer, limit, whaleCreated, whaleID}, index: "invoices_by_customer", rowCompare: true},
		{name: "PaymentMethodsOf", query: postgres.PaymentMethodsOfQuery,
			args: []any{explainApp, typicalCustomer}, index: "payment_methods_by_customer"},
	}

	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	type result struct {
		explainCase
		plans map[string][]string // by plan_cache_mode
	}
	var results []result
	for i, c := range cases {
		r := result{explainCase: c, plans: map[string][]string{}}
		stmt := fmt.Sprintf("explain_%d", i)
		if _, err := conn.Exec(ctx, `PREPARE `+stmt+` AS `+c.query); err != nil {
			t.Fatalf("%s: PREPARE: %v", c.name, err)
		}
		execute := `EXECUTE ` + stmt + `(` + literals(t, c.args) + `)`
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := conn.Exec(ctx, `SET plan_cache_mode = `+mode); err != nil {
				t.Fatal(err)
			}
			// Once to warm the cache: the timings are of a steady state.
			if _, err := conn.Exec(ctx, execute); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			rows, err := conn.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+execute)
			if err != nil {
				t.Fatalf("%s: EXPLAIN: %v", c.name, err)
			}
			plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatalf("%s: EXPLAIN: %v", c.name, err)
			}
			r.plans[mode] = plan
			t.Logf("%s (%s):\n%s", c.name, mode, strings.Join(plan, "\n"))
			checkPlan(t, c, mode, plan)
		}
		results = append(results, r)
	}

	if os.Getenv("APPWHEEL_WRITE_EXPLAIN") == "" || t.Failed() {
		return
	}
	var version string
	if err := conn.QueryRow(ctx, `SELECT version()`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Query plans of the PostgreSQL store's list reads

Generated by TestExplain (postgres/explain_test.go) on %s with

    cd /work/main && APPWHEEL_WRITE_EXPLAIN=1 go test ./postgres/ -run TestExplain -count=1 -v

on %s, %d CPUs, default server settings.
Do not edit by hand: rerun the command.

## Data set

One app; %d users; %d invoices: the whale %s has %d, the others about 10 each,
spread over the table as invoices arrive over time; 2 or 3 payment methods per user plus
20,000 detached ones. Stripe-like random IDs. Seeded with INSERT … SELECT FROM generate_series:

`, time.Now().UTC().Format("2006-01-02"), version, runtime.NumCPU(),
		explainUsers, explainInvoices, whaleCustomer, whaleInvoices)
	for _, s := range seeded {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	fmt.Fprintf(&b, `
Each statement is the store's own text (the constants behind InvoicesOf and PaymentMethodsOf),
prepared, run once to warm the cache, then run under EXPLAIN (ANALYZE, BUFFERS), both as a
custom plan (what the first executions of a pgx-cached statement get) and as the generic
plan (what PostgreSQL may switch a cached statement to after five executions). The test
fails unless every plan is an Index Scan of the index named, with no Seq Scan, no Sort and
no Filter (the cursor lookup alone filters its one row on the customer), and unless the keyset
pages seek to the cursor with the row comparison in the Index Cond.

## Summary

| Statement | Index | Rows | Buffers (custom) | Execution (custom) | Execution (generic) |
|---|---|---|---|---|---|
`)
	for _, r := range results {
		custom, generic := r.plans["force_custom_plan"], r.plans["force_generic_plan"]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.name, r.index,
			actualRows(custom), field(custom, "Buffers: ", ""),
			field(custom, "Execution Time: ", ""), field(generic, "Execution Time: ", ""))
	}
	b.WriteString("\n## Plans\n")
	for _, r := range results {
		fmt.Fprintf(&b, "\n### %s\n\n```sql\n%s\n```\n", r.name, r.query)
		fmt.Fprintf(&b, "\nwith %s\n", literals(t, r.args))
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			fmt.Fprintf(&b, "\n%s:\n\n```\n%s\n```\n", mode, strings.Join(r.plans[mode], "\n"))
		}
	}
	if err := os.WriteFile("EXPLAIN.md", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkPlan fails the test unless plan is what c wants.
func checkPlan(t *testing.T, c explainCase, mode string, plan []string) {
	t.Helper()
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "Index Scan using "+c.index+" on ") &&
		!strings.Contains(text, "Index Only Scan using "+c.index+" on ") {
		t.Errorf("%s (%s): want an Index Scan using %s, got plan:\n%s", c.name, mode, c.index, text)
	}
	for _, bad := range []string{"Seq Scan", "Sort", "Bitmap"} {
		if strings.Contains(text, bad) {
			t.Errorf("%s (%s): want no %s, got plan:\n%s", c.name, mode, bad, text)
		}
	}
	if strings.Contains(text, "Filter:") && !c.cursor {
		t.Errorf("%s (%s): want no Filter, got plan:\n%s", c.name, mode, text)
	}
	if c.rowCompare && !strings.Contains(text, "AND (ROW(created, id) < ROW(") {
		t.Errorf("%s (%s): want the cursor in the Index Cond, got plan:\n%s", c.name, mode, text)
	}
}

// literals renders args as SQL literals for EXECUTE; they are the test's
// own strings and integers.
func literals(t *testing.T, args []any) string {
	t.Helper()
	var s []string
	for _, a := range args {
		switch v := a.(type) {
		case string:
			s = append(s, "'"+strings.ReplaceAll(v, "'", "''")+"'")
		case int:
			s = append(s, strconv.Itoa(v))
		case int64:
			s = append(s, strconv.FormatInt(v, 10))
		default:
			t.Fatalf("literal of %T", a)
		}
	}
	return strings.Join(s, ", ")
}

// actualRows returns the rows the plan's top node returned.
func actualRows(plan []string) string {
	if len(plan) == 0 {
		return ""
	}
	_, after, _ := strings.Cut(plan[0], "actual time=")
	_, after, _ = strings.Cut(after, "rows=")
	rows, _, _ := strings.Cut(after, " ")
	return rows
}

// field returns what follows the first occurrence of prefix in plan, up to
// end ("" for the rest of the line).
func field(plan []string, prefix, end string) string {
	for _, line := range plan {
		_, after, ok := strings.Cut(line, prefix)
		if !ok {
			continue
		}
		if end != "" {
			after, _, _ = strings.Cut(after, end)
		}
		return strings.TrimSpace(after)
	}
	return ""
}
