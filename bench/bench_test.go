package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/postgres"
	"github.com/appwheel/appwheel/stripe"
)

// These tests check the harness's own pieces quickly; they run no load.

func TestSumMetric(t *testing.T) {
	text := `# HELP appwheel_stripe_requests_total Stripe API calls
# TYPE appwheel_stripe_requests_total counter
appwheel_stripe_requests_total{operation="get_customer",outcome="ok"} 3
appwheel_stripe_requests_total{operation="list_invoices",outcome="ok"} 4.5
appwheel_stripe_requests_total_other 100
appwheel_http_requests_total{route="x",code="0"} 7
`
	got, err := sumMetric(strings.NewReader(text), "appwheel_stripe_requests_total")
	if err != nil || got != 7.5 {
		t.Fatalf("sumMetric = %v, %v; want 7.5", got, err)
	}
	if _, err := sumMetric(strings.NewReader("x 1\n"), "appwheel_stripe_requests_total"); err == nil {
		t.Fatal("a missing metric is not an error")
	}
}

func TestPercentiles(t *testing.T) {
	r := &result{}
	for i := 1; i <= 100; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	if p := r.pct(50); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := r.pct(99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if p := r.pct(100); p != 100*time.Millisecond {
		t.Errorf("p100 = %v", p)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1000000: "1,000,000", -12345: "-12,345"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// The scale seed: the invoice count is exact, every probe user has 25
// invoices, and the store reads a probe user's page as AppWheel will.
func TestSeedScale(t *testing.T) {
	ctx := context.Background()
	const users, total = 300, 2000
	probes := probeUsers(total)
	d, err := seedScale(ctx, t.TempDir(), total, probes, users)
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := openStore(ctx, d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ro, err := openReadOnly(d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var n, customers, subs int
	if err := ro.QueryRow(`SELECT (SELECT COUNT(*) FROM invoices), (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM subscriptions)`).Scan(&n, &customers, &subs); err != nil {
		t.Fatal(err)
	}
	if n != total || customers != users || subs != users {
		t.Fatalf("%d invoices, %d customers, %d subscriptions; want %d, %d, %d", n, customers, subs, total, users, users)
	}
	for _, u := range []string{d.probes[0], d.probes[len(d.probes)-1]} {
		st, err := db.CustomerState(ctx, d.app.ID, u)
		if err != nil || st.SyncedAt.IsZero() {
			t.Fatalf("probe user %s: %+v, %v", u, st, err)
		}
		page, err := db.InvoicesOf(ctx, d.app.ID, appwheel.ListInvoicesParams{CustomerID: st.CustomerID, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Invoices) != 20 || !page.HasMore || page.Invoices[0].PriceInterval != "month" || page.Invoices[0].SubscriptionID == "" {
			t.Fatalf("probe user %s: %d invoices, hasMore %v, first %+v", u, len(page.Invoices), page.HasMore, page.Invoices[0])
		}
		var mine int
		if err := ro.QueryRow(`SELECT COUNT(*) FROM invoices WHERE customer_id = ?`, st.CustomerID).Scan(&mine); err != nil || mine != probeInvoices {
			t.Fatalf("probe user %s has %d invoices, want %d (%v)", u, mine, probeInvoices, err)
		}
	}
}

// The PostgreSQL scale seed writes the same rows, which the PostgreSQL
// store reads as AppWheel will.
func TestSeedPostgres(t *testing.T) {
	ctx := context.Background()
	const users, total = 300, 2000
	probes := probeUsers(total)
	url := pgtest.NewSchema(t)
	db := postgres.NewDB(url, postgres.Options{})
	if err := db.Open(ctx); err != nil { // migrates, as `appwheel migrate` does
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateApp(ctx, &appwheel.AppRecord{ID: "app_scale", SealedSecret: []byte("s"), SealedStripeSecretKey: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	if err := seedPostgres(ctx, url, "app_scale", total, probes, users); err != nil {
		t.Fatal(err)
	}
	var n, customers, subs int
	if err := db.Pool().QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM invoices), (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM subscriptions)`).Scan(&n, &customers, &subs); err != nil {
		t.Fatal(err)
	}
	if n != total || customers != users || subs != users {
		t.Fatalf("%d invoices, %d customers, %d subscriptions; want %d, %d, %d", n, customers, subs, total, users, users)
	}
	st, err := db.CustomerState(ctx, "app_scale", fmt.Sprintf("u-%d", probes-1))
	if err != nil || st.SyncedAt.IsZero() {
		t.Fatalf("last probe user: %+v, %v", st, err)
	}
	page, err := db.InvoicesOf(ctx, "app_scale", appwheel.ListInvoicesParams{CustomerID: st.CustomerID, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Invoices) != 20 || !page.HasMore || page.Invoices[0].PriceInterval != "month" || page.Invoices[0].PaidAt == 0 {
		t.Fatalf("last probe user: %d invoices, hasMore %v, first %+v", len(page.Invoices), page.HasMore, page.Invoices[0])
	}
	subsOf, err := db.SubscriptionsOf(ctx, "app_scale", st.CustomerID)
	if err != nil || len(subsOf) != 1 || subsOf[0].Status != "active" {
		t.Fatalf("last probe user's subscriptions: %+v, %v", subsOf, err)
	}
}

// The webhook events the harness sends verify with the app's secret and
// decode to a new card and a new invoice of a seeded user.
func TestWebhookEvents(t *testing.T) {
	now := time.Now()
	pm := paymentMethodAttached("evt_bm000_0000001", "pm_bm000_0000001", mirrorCustomer(7), now.Unix(), 1)
	inv := invoicePaid("evt_bm000_0000002", "in_bm000_0000002", mirrorCustomer(7), userSub(7), 7, now.Unix())
	for _, payload := range [][]byte{pm, inv} {
		ev, err := stripe.VerifyEvent(payload, signStripe(payload, webhookSecret, now), webhookSecret)
		if err != nil {
			t.Fatalf("verify: %v\n%s", err, payload)
		}
		if !strings.HasPrefix(ev.ID, eventPrefix("m")) {
			t.Errorf("event id %s is outside the measured phase's range", ev.ID)
		}
		se, err := stripe.DecodeEvent(payload)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case se.PaymentMethod != nil:
			if se.PaymentMethod.CustomerID != mirrorCustomer(7) || se.PaymentMethod.Type != "card" {
				t.Errorf("payment method %+v", se.PaymentMethod)
			}
		case se.Invoice != nil:
			i := se.Invoice
			if i.CustomerID != mirrorCustomer(7) || i.SubscriptionID != userSub(7) || i.PriceID != benchPrice || i.Status != "paid" || i.PaidAt == 0 {
				t.Errorf("invoice %+v", i)
			}
		default:
			t.Errorf("event %s decoded to nothing", ev.ID)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-rows", "1,mirror,7"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.rows) != "map[ceiling:true mirror:true scale:true]" {
		t.Errorf("rows %v", o.rows)
	}
	if _, err := parseFlags([]string{"-rows", "6"}, &strings.Builder{}); err == nil {
		t.Error("row 6 accepted")
	}
	if _, err := parseFlags([]string{"-rows", "nope"}, &strings.Builder{}); err == nil {
		t.Error("unknown row accepted")
	}
}
