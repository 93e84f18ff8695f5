package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/signature"
)

// tenantPick draws every app and every user of it equally often: the
// draws 0 … apps×users−1 are each pair once.
func TestTenantPick(t *testing.T) {
	const napps, users = 7, 3
	seen := map[[2]int]int{}
	perApp := make([]int, napps)
	for k := range napps * users {
		a, u := tenantPick(k, users)
		if a < 0 || a >= napps || u < 0 || u >= users {
			t.Fatalf("tenantPick(%d, %d) = %d, %d: out of range", k, users, a, u)
		}
		seen[[2]int{a, u}]++
		perApp[a]++
	}
	if len(seen) != napps*users {
		t.Errorf("got %d distinct pairs, want %d", len(seen), napps*users)
	}
	for a, n := range perApp {
		if n != users {
			t.Errorf("app %d drawn %d times, want %d", a, n, users)
		}
	}
}

// Every request is signed with the app it reads: the server looks the app
// up by X-AppWheel-App-Id and checks the signature with that app's secret.
func TestTenantReadsSignWithTheirApp(t *testing.T) {
	d := &tenantData{users: []string{"u-0", "u-1"}}
	secrets := map[string]string{}
	for a := range 5 {
		app := &appwheel.App{ID: fmt.Sprintf("app_%d", a), Platform: appwheel.PlatformStripe, Secret: fmt.Sprintf("secret-%d", a)}
		d.apps = append(d.apps, app)
		secrets[app.ID] = app.Secret
	}
	mk := tenantReads("http://127.0.0.1:1", d, invoicesTarget)
	w := newGenerator(1).workers[0]
	apps := map[string]bool{}
	for range 200 {
		req, err := mk(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		id := req.Header.Get(signature.HeaderAppID)
		secret, ok := secrets[id]
		if !ok {
			t.Fatalf("request for unknown app %q (headers %v)", id, req.Header)
		}
		apps[id] = true
		unix, err := strconv.ParseInt(req.Header.Get(signature.HeaderTimestamp), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want := signature.Sign(secret, unix, req.Method, req.URL.RequestURI(), nil, req.Header.Get(signature.HeaderNonce))
		if got := req.Header.Get(signature.HeaderSignature); got != want {
			t.Fatalf("app %s: signature %q, want %q (signed with its own secret)", id, got, want)
		}
		if u := req.URL.Query().Get("appUserId"); u != "u-0" && u != "u-1" {
			t.Fatalf("user %q", u)
		}
	}
	if len(apps) != len(d.apps) {
		t.Errorf("200 requests reached %d of %d apps", len(apps), len(d.apps))
	}
}

func tenantLine(id string, rate float64, p50, p99 time.Duration, errs int) *line {
	return &line{id: id, rate: rate, hasRate: true, res: &result{requests: 1000, errors: errs, lat: []time.Duration{p50, p50, p99}}}
}

// The ratio rows: multi-tenant throughput ≥ single ÷ 1.2, p50 and p99 ≤
// 1.2× single's, no errors.
func TestSetTenantRatio(t *testing.T) {
	single := tenantLine("2a", 1200, 10*time.Millisecond, 50*time.Millisecond, 0)
	for _, tc := range []struct {
		name          string
		single, multi *line
		verdict       string
		rate, p50     string
	}{
		{"equal", single, tenantLine("9a", 1200, 10*time.Millisecond, 50*time.Millisecond, 0), "met", "×1.00", "×1.00"},
		{"at the bounds", single, tenantLine("9a", 1000, 12*time.Millisecond, 60*time.Millisecond, 0), "met", "×0.83", "×1.20"},
		{"slower", single, tenantLine("9a", 900, 12*time.Millisecond, 60*time.Millisecond, 0), "not met (throughput ×0.75)", "×0.75", "×1.20"},
		{"p50 over", single, tenantLine("9a", 1200, 13*time.Millisecond, 50*time.Millisecond, 0), "not met (p50 ×1.30)", "×1.00", "×1.30"},
		{"p99 just over", single, tenantLine("9a", 1200, 10*time.Millisecond, 60100*time.Microsecond, 0), "not met (p99 ×1.2020)", "×1.00", "×1.00"},
		{"errors", single, tenantLine("9a", 1200, 10*time.Millisecond, 50*time.Millisecond, 3), "not met (errors)", "×1.00", "×1.00"},
		{"faster", single, tenantLine("9a", 2400, 5*time.Millisecond, 25*time.Millisecond, 0), "met", "×2.00", "×0.50"},
		{"no single row", nil, tenantLine("9a", 1200, 10*time.Millisecond, 50*time.Millisecond, 0), "not measured", "", ""},
		{"no multi row", single, &line{id: "9a"}, "not measured", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ratio := &line{id: "9c"}
			setTenantRatio(ratio, tc.single, tc.multi, "9a over 20 users, 2a over 10")
			if ratio.verdict != tc.verdict {
				t.Errorf("verdict %q, want %q (note %q)", ratio.verdict, tc.verdict, ratio.note)
			}
			if ratio.rateText != tc.rate || ratio.p50 != tc.p50 {
				t.Errorf("throughput %q, p50 %q; want %q, %q", ratio.rateText, ratio.p50, tc.rate, tc.p50)
			}
			if tc.rate != "" && !strings.Contains(ratio.note, "9a over 20 users, 2a over 10") {
				t.Errorf("note %q does not say what the rows spread over", ratio.note)
			}
		})
	}
}

// The multi-tenant database: every app's users read back through the
// SQLite store as a single app's users written through the store API
// (seedMirrorUser) do, and the apps' secrets open with the master key.
func TestSeedTenants(t *testing.T) {
	ctx := context.Background()
	const napps, users = 3, 2
	d, err := seedTenants(ctx, t.TempDir(), napps, users)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.apps) != napps || len(d.users) != users {
		t.Fatalf("%d apps, %d users; want %d, %d", len(d.apps), len(d.users), napps, users)
	}
	db, svc, err := openStore(ctx, d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	ref, refSvc, err := openStore(ctx, t.TempDir()+"/ref.db")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	refApp, err := refSvc.Create(ctx, apps.CreateParams{
		Name: "bench-mirror", Platform: appwheel.PlatformStripe, StripeSecretKey: stripeKey,
		StripeWebhookSecret: webhookSecret, ReadMode: appwheel.ReadMirror,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The reference's times: seedTenants took time.Now() a moment ago;
	// CustomerState and the snapshots carry times, so compare the rows'
	// shapes with times ignored and the counts exactly.
	now, synced, version := seedTimes(time.Now())
	for i, user := range d.users {
		if err := seedMirrorUser(ctx, ref, refApp.ID, user, i, now, synced, version); err != nil {
			t.Fatal(err)
		}
	}

	for _, app := range d.apps {
		got, err := svc.App(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != app.Secret || got.ReadMode != appwheel.ReadMirror {
			t.Errorf("app %s: secret or read mode differs from the one created", app.ID)
		}
		for _, user := range d.users {
			st, err := db.CustomerState(ctx, app.ID, user)
			if err != nil {
				t.Fatalf("app %s user %s: %v", app.ID, user, err)
			}
			want, err := ref.CustomerState(ctx, refApp.ID, user)
			if err != nil {
				t.Fatal(err)
			}
			if st.CustomerID != want.CustomerID || st.DefaultPaymentMethodID != want.DefaultPaymentMethodID || st.SyncedAt.IsZero() {
				t.Errorf("app %s user %s: state %+v, want %+v", app.ID, user, st, want)
			}
			methods, err := db.PaymentMethodsOf(ctx, app.ID, st.CustomerID)
			if err != nil {
				t.Fatal(err)
			}
			wantMethods, err := ref.PaymentMethodsOf(ctx, refApp.ID, st.CustomerID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantMethods, methods, cmpopts.IgnoreFields(appwheel.PaymentMethod{}, "Created", "Raw")); diff != "" || len(methods) != methodsPerUser {
				t.Errorf("app %s user %s: %d methods (-store API +bulk):\n%s", app.ID, user, len(methods), diff)
			}
			for k := range methods {
				if len(methods[k].Raw) != len(wantMethods[k].Raw) {
					t.Errorf("app %s user %s: card %d is %d bytes of JSON, want %d", app.ID, user, k, len(methods[k].Raw), len(wantMethods[k].Raw))
				}
			}
			page, err := db.InvoicesOf(ctx, app.ID, appwheel.ListInvoicesParams{CustomerID: st.CustomerID, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Invoices) != 20 || !page.HasMore {
				t.Errorf("app %s user %s: %d invoices, hasMore %v; want 20, true", app.ID, user, len(page.Invoices), page.HasMore)
			}
			hist, err := db.StatusHistory(ctx, app.ID, []string{userSub(0), userSub(1)})
			if err != nil {
				t.Fatal(err)
			}
			if len(hist[userSub(0)]) != 2 || len(hist[userSub(1)]) != 2 {
				t.Errorf("app %s: status history %v, want two statuses per subscription", app.ID, hist)
			}
		}
	}
}

func TestParseFlagsTenants(t *testing.T) {
	o, err := parseFlags([]string{"-rows", "mirror,9"}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.rows) != "map[mirror:true tenants:true]" {
		t.Errorf("rows %v", o.rows)
	}
	if o.tenantApps != 1000 || o.tenantUsers != defaultTenantUsers {
		t.Errorf("-tenant-apps %d, -tenant-users %d; want 1000, %d", o.tenantApps, o.tenantUsers, defaultTenantUsers)
	}
	if o, err := parseFlags([]string{"-rows", "tenants", "-tenant-apps", "5", "-tenant-users", "1000"}, &strings.Builder{}); err != nil || o.tenantApps != 5 || o.tenantUsers != 1000 {
		t.Errorf("-tenant-apps 5 -tenant-users 1000: %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-tenant-apps", "0"}, {"-tenant-users", "0"}} {
		if _, err := parseFlags(bad, &strings.Builder{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestReached(t *testing.T) {
	for _, tc := range []struct {
		requests, users int
		want            float64
	}{{0, 10, 0}, {1, 1, 1}, {1, 10, 0.1}, {2, 2, 0.75}, {20000, 20000, 1 - 0.36788}} {
		if got := reached(tc.requests, tc.users); math.Abs(got-tc.want) > 1e-4 {
			t.Errorf("reached(%d, %d) = %.5f, want %.5f", tc.requests, tc.users, got, tc.want)
		}
	}
}
