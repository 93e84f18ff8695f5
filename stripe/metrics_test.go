package stripe_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

// counter returns appwheel_stripe_requests_total{operation, outcome} from reg.
func counter(t *testing.T, reg *prometheus.Registry, operation, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "appwheel_stripe_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["operation"] == operation && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no appwheel_stripe_requests_total{operation=%q,outcome=%q}", operation, outcome)
	return 0
}

func TestMetrics(t *testing.T) {
	tests := []struct {
		name      string
		replies   []reply
		call      func(*stripe.Provider) error
		operation string
		outcome   string
	}{
		{"ok", []reply{{status: 200, body: `{"id":"pm_123","object":"payment_method"}`}}, getPaymentMethod, "get_payment_method", "ok"},
		{"not found", []reply{{status: 404, body: stripeError("invalid_request_error", "resource_missing", "No such")}}, getPaymentMethod, "get_payment_method", "not_found"},
		{"declined", []reply{{status: 402, body: stripeError("card_error", "card_declined", "Declined")}}, createSetupIntent, "create_setup_intent", "stripe_error"},
		{"unavailable", []reply{serverError}, setDefault, "set_default_payment_method", "unavailable"},
		{"rate limited then ok, counted once", []reply{rateLimited, {status: 200, body: okBody}}, createSetupIntent, "create_setup_intent", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t, tt.replies...)
			h := newHarness(t, f.URL)
			_ = tt.call(h.p)
			if got := counter(t, h.reg, tt.operation, tt.outcome); got != 1 {
				t.Errorf("got %s{%s} = %v, want 1", tt.operation, tt.outcome, got)
			}
			// Every series starts at zero, so one call moves exactly one.
			var total float64
			families, _ := h.reg.Gather()
			for _, mf := range families {
				for _, m := range mf.GetMetric() {
					total += m.GetCounter().GetValue()
				}
			}
			if total != 1 {
				t.Errorf("got all series summing to %v, want 1", total)
			}
		})
	}

	t.Run("canceled", func(t *testing.T) {
		f := newFakeStripe(t, reply{status: 200, body: okBody})
		h := newHarness(t, f.URL)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _ = h.p.Customer(ctx, acct, "cus_1")
		if got := counter(t, h.reg, "get_customer", "canceled"); got != 1 {
			t.Errorf("got get_customer{canceled} = %v, want 1", got)
		}
	})

	t.Run("one count per page", func(t *testing.T) {
		f := newFakeStripe(t,
			reply{status: 200, body: fixture(t, "subscriptions_page1.json")},
			reply{status: 200, body: fixture(t, "subscriptions_page2.json")})
		h := newHarness(t, f.URL)
		if _, err := h.p.Subscriptions(context.Background(), acct, "cus_1"); err != nil {
			t.Fatal(err)
		}
		if got := counter(t, h.reg, "list_subscriptions", "ok"); got != 2 {
			t.Errorf("got list_subscriptions{ok} = %v, want 2", got)
		}
	})
}

// TestMetricsSharedRegistry checks that two Providers can share a registry
// (they share the counter), that every series exists from the start, and
// that the metric passes Prometheus's linter.
//
// prometheus/testutil is not used: it needs github.com/kylelemons/godebug,
// which is not in go.sum; promlint and Gather do the same job here.
func TestMetricsSharedRegistry(t *testing.T) {
	f := newFakeStripe(t, reply{status: 200, body: `{"id":"cus_1","object":"customer"}`})
	reg := prometheus.NewRegistry()
	for range 2 {
		p := stripe.New(stripe.Options{APIBase: f.URL, Registerer: reg})
		if _, err := p.Customer(context.Background(), appwheel.StripeAccount{SecretKey: "sk_test_1"}, "cus_1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := counter(t, reg, "get_customer", "ok"); got != 2 {
		t.Errorf("got get_customer{ok} = %v, want 2", got)
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 1 {
		t.Fatalf("got %d metric families, want 1", len(families))
	}
	if n := len(families[0].GetMetric()); n != 80 {
		t.Errorf("got %d series, want 80 (16 operations × 5 outcomes, all initialised)", n)
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
