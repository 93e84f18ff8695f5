package http_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
)

// Hostile callers: another tenant, another user, ids of the wrong kind,
// path tricks, bodies built to hurt the parser, redirect URLs built to
// escape the allow-list, huge headers and floods. The tests are in
// hostile_*_test.go by theme; this file holds the world they share and
// their assertions.

// hWorld is two apps, a and b, with users whose ids collide: a/u1 (two
// cards, a live subscription, an invoice), a/u2 (a card, an invoice) and
// b/u1 (a card, an invoice).
type hWorld struct {
	e                         *env
	a, b                      *appwheel.App
	cusA1, cusA2, cusB1       string
	pmA1, pmA1b, pmA2, pmB1   string
	subA1                     string
	inA1, inA2, inB1          string
	mirror                    bool
	secretsAndKeys, foreignTo map[string][]string
}

// hUser creates app's user through the API, as a first
// createPaymentMethod does, and returns the user's Stripe customer.
func (e *env) hUser(app *appwheel.App, user string) string {
	e.t.Helper()
	e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"` + user + `","type":"setupIntent"}`}).want(e.t, 200, 0)
	return e.Customer(app, user)
}

func newHWorld(t *testing.T, mirror bool) *hWorld {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	w := &hWorld{e: e, mirror: mirror}
	if mirror {
		w.a, w.b = e.NewMirrorApp("a"), e.NewMirrorApp("b")
	} else {
		w.a, w.b = e.NewApp("a"), e.NewApp("b")
	}
	w.cusA1, w.cusA2, w.cusB1 = e.hUser(w.a, "u1"), e.hUser(w.a, "u2"), e.hUser(w.b, "u1")
	s := e.Stripe
	w.pmA1 = s.AttachCard(w.a.Stripe, w.cusA1, "visa", "4242").ID
	w.pmA1b = s.AttachCard(w.a.Stripe, w.cusA1, "mastercard", "4444").ID
	w.pmA2 = s.AttachCard(w.a.Stripe, w.cusA2, "visa", "1111").ID
	w.pmB1 = s.AttachCard(w.b.Stripe, w.cusB1, "amex", "0005").ID
	// Every user with a card has a default, so that no read has a default
	// to settle (billing's settleDefault): the probes then must change nothing.
	for _, d := range []struct {
		acct           appwheel.StripeAccount
		customer, card string
	}{{w.a.Stripe, w.cusA1, w.pmA1}, {w.a.Stripe, w.cusA2, w.pmA2}, {w.b.Stripe, w.cusB1, w.pmB1}} {
		if err := s.SetDefaultPaymentMethod(ctx, d.acct, d.customer, d.card, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.subA1 = s.AddSubscription(w.a.Stripe, w.cusA1, appwheel.Subscription{
		Status: "active", PriceID: "price_monthly", Interval: "month", IntervalCount: 1,
		CurrentPeriodEnd: e.Clock.Now().Add(30 * 24 * time.Hour).Unix(),
	}).ID
	w.inA1 = s.AddInvoice(w.a.Stripe, appwheel.Invoice{CustomerID: w.cusA1, SubscriptionID: w.subA1, PriceID: "price_monthly",
		Status: "paid", Currency: "usd", AmountDue: 999, AmountPaid: 999}).ID
	w.inA2 = s.AddInvoice(w.a.Stripe, appwheel.Invoice{CustomerID: w.cusA2, Status: "open", Currency: "usd", AmountDue: 500}).ID
	w.inB1 = s.AddInvoice(w.b.Stripe, appwheel.Invoice{CustomerID: w.cusB1, Status: "paid", Currency: "eur", AmountDue: 100, AmountPaid: 100}).ID
	if mirror {
		// Past the setup window, reads come from the mirror: fill it.
		e.Clock.Advance(time.Hour)
		for _, app := range []*appwheel.App{w.a, w.b} {
			if err := e.Billing.ReconcileApp(ctx, app, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	// What each caller must never see: the other tenant's and the other
	// user's ids, and anybody's secrets.
	w.foreignTo = map[string][]string{
		"a/u1": {w.cusA2, w.pmA2, w.inA2, w.cusB1, w.pmB1, w.inB1, w.b.ID},
		"a/u2": {w.cusA1, w.pmA1, w.pmA1b, w.subA1, w.inA1, w.cusB1, w.pmB1, w.inB1, w.b.ID},
		"b/u1": {w.cusA1, w.cusA2, w.pmA1, w.pmA1b, w.pmA2, w.subA1, w.inA1, w.inA2, w.a.ID},
	}
	w.secretsAndKeys = map[string][]string{"secrets": {w.a.Secret, w.b.Secret, w.a.Stripe.SecretKey, w.b.Stripe.SecretKey}}
	e.Stripe.ResetCalls()
	return w
}

// hNoLeak fails when a response names anything in forbidden.
func hNoLeak(t *testing.T, r response, forbidden []string) {
	t.Helper()
	all := string(r.Data) + r.Msg + string(r.Stripe)
	for _, f := range forbidden {
		if f != "" && strings.Contains(all, f) {
			t.Errorf("response leaks %q: data %s, message %q", f, r.Data, r.Msg)
		}
	}
}

// hWant checks a response against any of the allowed (status, code) pairs.
func hWant(t *testing.T, r response, allowed ...[2]int) {
	t.Helper()
	for _, a := range allowed {
		if r.Status == a[0] && r.Code == a[1] {
			if a[1] != 0 && string(r.Data) != "null" {
				t.Errorf("failure data = %s, want null", r.Data)
			}
			if r.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id header")
			}
			return
		}
	}
	t.Errorf("got HTTP %d code %d (%q), want one of %v", r.Status, r.Code, r.Msg, allowed)
}

var (
	hOK       = [2]int{200, 0}
	hInvalid  = [2]int{400, appwheel.EINVALID}
	hNotFound = [2]int{404, appwheel.ENOTFOUND}
)

// hIDs returns the ids in a list of payment methods, invoices or
// subscriptions.
func hIDs(t *testing.T, r response) []string {
	t.Helper()
	var data struct {
		Methods       []struct{ ID string }      `json:"methods"`
		Invoices      []struct{ OrderID string } `json:"invoices"`
		Subscriptions []struct{ ID string }      `json:"subscriptions"`
	}
	r.decode(t, &data)
	ids := []string{}
	for _, m := range data.Methods {
		ids = append(ids, m.ID)
	}
	for _, in := range data.Invoices {
		ids = append(ids, in.OrderID)
	}
	for _, s := range data.Subscriptions {
		ids = append(ids, s.ID)
	}
	return ids
}
