package sandbox_test

import (
	"strconv"
	"testing"
	"time"
)

// TestTrials: a subscription with trial_period_days or trial_end is
// trialing with a free first invoice, hears trial_will_end three days
// before the end, and at the end is charged the first period: active when
// paid, past_due when the card declines, canceled when it was to cancel
// without a card.
func TestTrials(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_trials"
	e.keys(t, key)
	price := e.price(t, key, "pro_monthly")
	created := start.Unix()

	cid, pm := e.customerWithCard(t, key, "pm_card_visa")
	sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price, "trial_period_days", "14"))
	trialEnd := created + 14*86400
	if str(sub, "status") != "trialing" || num(sub, "trial_start") != created || num(sub, "trial_end") != trialEnd ||
		num(sub, "billing_cycle_anchor") != trialEnd || num(sub, "items.data.0.current_period_end") != trialEnd {
		t.Fatalf("got %v, want trialing until %d, billing from then", sub, trialEnd)
	}
	first := e.mustCall(t, 200, key, "GET", "/v1/invoices/"+str(sub, "latest_invoice"), nil)
	if str(first, "status") != "paid" || num(first, "amount_due") != 0 || str(first, "lines.data.0.description") != "Trial period for Pro" {
		t.Errorf("got first invoice %v, want a paid $0 trial invoice", first)
	}

	// A declining card and a subscription to cancel without one.
	declining, _ := e.customerWithCard(t, key, "pm_card_chargeCustomerFail")
	failing := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", declining, "items[0][price]", price,
		"trial_end", strconv.FormatInt(trialEnd, 10)))
	bare := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")
	canceling := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", bare, "items[0][price]", price,
		"trial_period_days", "14", "trial_settings[end_behavior][missing_payment_method]", "cancel"))
	if str(canceling, "status") != "trialing" {
		t.Fatalf("got %v, want a trial without a card", canceling)
	}

	if _, err := e.sb.Advance(key, 11*24*time.Hour+time.Minute); err != nil {
		t.Fatal(err)
	}
	will := e.mustCall(t, 200, key, "GET", "/v1/events", vals("type", "customer.subscription.trial_will_end"))
	if n := len(get(will, "data").([]any)); n != 3 || num(will, "data.0.created") != trialEnd-3*86400 {
		t.Errorf("got %d trial_will_end events (first at %d), want 3 at %d", n, num(will, "data.0.created"), trialEnd-3*86400)
	}
	if _, err := e.sb.Advance(key, 3*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), nil)
	renewal := e.mustCall(t, 200, key, "GET", "/v1/invoices/"+str(got, "latest_invoice"), nil)
	if str(got, "status") != "active" || num(got, "items.data.0.current_period_start") != trialEnd ||
		str(renewal, "status") != "paid" || num(renewal, "amount_paid") != 999 || str(renewal, "billing_reason") != "subscription_cycle" ||
		str(renewal, "default_payment_method") != pm {
		t.Errorf("after the trial: got %v with invoice %v, want active and the first period paid on the card", got, renewal)
	}
	if got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(failing, "id"), nil); str(got, "status") != "past_due" {
		t.Errorf("declined after the trial: got %s, want past_due", str(got, "status"))
	}
	if got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(canceling, "id"), nil); str(got, "status") != "canceled" || num(got, "ended_at") != trialEnd {
		t.Errorf("no card after the trial with cancel: got %v, want canceled at %d", got, trialEnd)
	}

	for _, c := range []struct {
		params []string
		param  string
	}{
		{[]string{"trial_period_days", "7", "trial_end", strconv.FormatInt(trialEnd, 10)}, "trial_end"},
		{[]string{"trial_period_days", "731"}, "trial_period_days"},
		{[]string{"trial_end", "1"}, "trial_end"},
		{[]string{"trial_end", "tomorrow"}, "trial_end"},
	} {
		a := e.call(t, key, "POST", "/v1/subscriptions", vals(append([]string{"customer", cid, "items[0][price]", price}, c.params...)...))
		if a.Status != 400 || a.errorField(t, "param") != c.param {
			t.Errorf("%v: got %d %s, want 400 on %s", c.params, a.Status, a.Body, c.param)
		}
	}
}
