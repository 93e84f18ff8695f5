package http_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
	"github.com/appwheel/appwheel/stripe"
)

// Hostile callers: another tenant, another user, ids of the wrong kind,
// path tricks, bodies built to hurt the parser, redirect URLs built to
// escape the allow-list, huge headers and floods.

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
	hOK        = [2]int{200, 0}
	hInvalid   = [2]int{400, appwheel.EINVALID}
	hForbidden = [2]int{403, appwheel.EFORBIDDEN}
	hNotFound  = [2]int{404, appwheel.ENOTFOUND}
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

// TestHostileCrossTenantEveryEndpoint probes every /v1 endpoint as another
// app, another user and with ids of the wrong kind or shape: each is
// answered as if the object did not exist, leaks nothing of its owner, and
// changes nothing at Stripe.
func TestHostileCrossTenantEveryEndpoint(t *testing.T) {
	for _, mode := range []string{"live", "mirror"} {
		t.Run(mode, func(t *testing.T) {
			w := newHWorld(t, mode == "mirror")
			e := w.e
			a, b := w.a, w.b
			del := func(id, user string) string { return pmPath + "/" + id + "?appUserId=" + user }
			def := func(id string) string { return pmPath + "/" + id + "/default" }
			type probe struct {
				name       string
				app        *appwheel.App
				who        string // the caller, for what it must not see
				method     string
				target     string
				body       string
				want       [][2]int
				ids        []string // exactly these ids listed (nil: no check)
				noneStripe bool     // no Stripe call may be made
			}
			probes := []probe{
				// The lists show the caller's own user only.
				{"b lists its u1's methods", b, "b/u1", "GET", pmPath + "?appUserId=u1", "", [][2]int{hOK}, []string{w.pmB1}, false},
				{"a lists u2's methods", a, "a/u2", "GET", pmPath + "?appUserId=u2", "", [][2]int{hOK}, []string{w.pmA2}, false},
				{"b lists its u1's invoices", b, "b/u1", "GET", "/v1/stripe/invoices?appUserId=u1", "", [][2]int{hOK}, []string{w.inB1}, false},
				{"a lists u2's invoices", a, "a/u2", "GET", "/v1/stripe/invoices?appUserId=u2", "", [][2]int{hOK}, []string{w.inA2}, false},
				{"b lists its u1's subscriptions", b, "b/u1", "GET", "/v1/stripe/subscriptions?appUserId=u1", "", [][2]int{hOK}, []string{}, false},
				{"a lists u2's subscriptions", a, "a/u2", "GET", "/v1/stripe/subscriptions?appUserId=u2", "", [][2]int{hOK}, []string{}, false},
				// A cursor of another tenant's or user's invoice.
				{"b pages from a's invoice", b, "b/u1", "GET", "/v1/stripe/invoices?appUserId=u1&startingAfter=" + w.inA1, "", [][2]int{hInvalid}, nil, false},
				{"a/u2 pages from u1's invoice", a, "a/u2", "GET", "/v1/stripe/invoices?appUserId=u2&startingAfter=" + w.inA1, "", [][2]int{hInvalid}, nil, false},
				{"cursor of the wrong kind", a, "a/u1", "GET", "/v1/stripe/invoices?appUserId=u1&startingAfter=" + w.subA1, "", [][2]int{hInvalid}, nil, true},
				{"cursor with a slash", a, "a/u1", "GET", "/v1/stripe/invoices?appUserId=u1&startingAfter=in_x%2f..%2f" + w.inA1, "", [][2]int{hInvalid}, nil, true},
				// appUserIds that look like u1 are other users.
				{"U1 is not u1", a, "a/u2", "GET", pmPath + "?appUserId=U1", "", [][2]int{hOK}, []string{}, false},
				{"u1 with a space is not u1", a, "a/u2", "GET", pmPath + "?appUserId=u1%20", "", [][2]int{hOK}, []string{}, false},
				{"u1 with a slash is not u1", a, "a/u2", "GET", "/v1/stripe/invoices?appUserId=u1%2f", "", [][2]int{hOK}, []string{}, false},
				{"traversal to u1", a, "a/u2", "GET", "/v1/stripe/invoices?appUserId=..%2fu1", "", [][2]int{hOK}, []string{}, false},
				{"fullwidth u1", a, "a/u2", "GET", pmPath + "?appUserId=%EF%BD%95%EF%BC%91", "", [][2]int{hOK}, []string{}, false},
				{"u1 NUL", a, "a/u2", "GET", pmPath + "?appUserId=u1%00", "", [][2]int{hInvalid}, nil, true},
				{"two appUserIds", a, "a/u2", "GET", pmPath + "?appUserId=u2&appUserId=u1", "", [][2]int{hInvalid}, nil, true},
				{"appUserId in another case", a, "a/u2", "GET", pmPath + "?appuserid=u1", "", [][2]int{hInvalid}, nil, true},
				// Removing or promoting a method of another tenant or user.
				{"b removes a's method", b, "b/u1", "DELETE", del(w.pmA1, "u1"), "", [][2]int{hNotFound}, nil, false},
				{"b removes a's method, force", b, "b/u1", "DELETE", del(w.pmA1, "u1") + "&force=true", "", [][2]int{hNotFound}, nil, false},
				{"a/u1 removes u2's method", a, "a/u1", "DELETE", del(w.pmA2, "u1"), "", [][2]int{hNotFound}, nil, false},
				{"a/u2 removes u1's method", a, "a/u2", "DELETE", del(w.pmA1, "u2") + "&force=true", "", [][2]int{hNotFound}, nil, false},
				{"a removes b's method", a, "a/u1", "DELETE", del(w.pmB1, "u1"), "", [][2]int{hNotFound}, nil, false},
				{"a removes a method of a user it never had", a, "a/u1", "DELETE", del(w.pmA1, "nobody"), "", [][2]int{hNotFound}, nil, false},
				{"b defaults a's method", b, "b/u1", "POST", def(w.pmA1), `{"appUserId":"u1"}`, [][2]int{hNotFound}, nil, false},
				{"a/u2 defaults u1's method", a, "a/u2", "POST", def(w.pmA1b), `{"appUserId":"u2"}`, [][2]int{hNotFound}, nil, false},
				{"a/u1 defaults u2's method", a, "a/u1", "POST", def(w.pmA2), `{"appUserId":"u1"}`, [][2]int{hNotFound}, nil, false},
			}
			// Ids of the wrong kind or shape as methodId: refused before
			// Stripe is asked, or not routed at all.
			for _, id := range []string{w.cusA1, w.subA1, w.inA1, "seti_123", "cs_test_123", "evt_123", "price_monthly",
				"pm_", "PM_123", "pm-123", "pm_1.2", "pm_" + strings.Repeat("x", 253), "pm_1%00", "pm_1%20", "pm_1%3BappUserId=u2",
				"pm_1%3FappUserId%3Du2", "pm_%C3%A9", "pm_1%0d%0aX-Injected:%201"} {
				probes = append(probes,
					probe{"remove " + id, a, "a/u1", "DELETE", del(id, "u1"), "", [][2]int{hInvalid}, nil, true},
					probe{"default " + id, a, "a/u1", "POST", def(id), `{"appUserId":"u1"}`, [][2]int{hInvalid}, nil, true})
			}
			// Path tricks: percent-encoded slashes and dots, traversal.
			for _, id := range []string{"..%2f..%2fcustomers%2f" + w.cusA1, "..%2F" + w.pmA2, "%2e%2e%2f" + w.pmA1, "%2e%2e", "..",
				w.pmA1 + "%2fdefault", w.pmA1 + "%2f..%2f" + w.pmA2, "%252e%252e%252f" + w.pmA1, w.pmA1 + "%5c..%5c" + w.pmA2,
				".%2e/" + w.pmA1, "pm_1/..", "./" + w.pmA1, "%70%6d_1%2f"} {
				probes = append(probes,
					probe{"remove " + id, a, "a/u1", "DELETE", del(id, "u1"), "", [][2]int{hInvalid, hNotFound, {405, appwheel.EINVALID}}, nil, true},
					probe{"default " + id, a, "a/u1", "POST", def(id), `{"appUserId":"u1"}`, [][2]int{hInvalid, hNotFound, {405, appwheel.EINVALID}}, nil, true})
			}
			for _, p := range probes {
				t.Run(p.name, func(t *testing.T) {
					before := e.Stripe.TotalCalls()
					r := e.do(p.app, req{method: p.method, target: p.target, body: p.body})
					hWant(t, r, p.want...)
					if n := e.Stripe.TotalCalls() - before; p.noneStripe && n != 0 {
						t.Errorf("%d Stripe calls, want none", n)
					}
					// An id the caller sent may be named back; nothing else of
					// another user or tenant may be.
					var forbidden []string
					for _, id := range w.foreignTo[p.who] {
						if !strings.Contains(p.target, id) && !strings.Contains(p.body, id) {
							forbidden = append(forbidden, id)
						}
					}
					hNoLeak(t, r, forbidden)
					hNoLeak(t, r, w.secretsAndKeys["secrets"])
					if p.ids != nil && r.Code == 0 {
						if got := hIDs(t, r); strings.Join(got, ",") != strings.Join(p.ids, ",") {
							t.Errorf("listed %v, want %v", got, p.ids)
						}
					}
				})
			}

			// Nothing was detached, and no default moved.
			for _, n := range []string{"DetachPaymentMethod", "SetDefaultPaymentMethod", "CreateCustomer", "CreateCheckoutSession", "CreateSetupIntent"} {
				if c := e.Stripe.Calls(n); c != 0 {
					t.Errorf("%s called %d times by the probes", n, c)
				}
			}
			ctx := context.Background()
			for _, own := range []struct {
				app     *appwheel.App
				pm, cus string
			}{{a, w.pmA1, w.cusA1}, {a, w.pmA1b, w.cusA1}, {a, w.pmA2, w.cusA2}, {b, w.pmB1, w.cusB1}} {
				pm, err := e.Stripe.PaymentMethod(ctx, own.app.Stripe, own.pm)
				if err != nil || pm.CustomerID != own.cus {
					t.Errorf("method %s: %+v, %v; want it still attached to %s", own.pm, pm, err, own.cus)
				}
			}
			if cus, err := e.Stripe.Customer(ctx, a.Stripe, w.cusA1); err != nil || cus.DefaultPaymentMethodID != w.pmA1 {
				t.Errorf("a/u1's default = %+v, %v; want %s", cus, err, w.pmA1)
			}
			// And the owners still see their own.
			r := e.do(a, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0)
			if got := hIDs(t, r); len(got) != 2 {
				t.Errorf("a/u1's methods = %v, want %s and %s", got, w.pmA1b, w.pmA1)
			}
		})
	}
}

// TestHostileCredentialsAcrossTenants mixes one app's id with another's
// secret: always 1002, whoever's data is asked for.
func TestHostileCredentialsAcrossTenants(t *testing.T) {
	w := newHWorld(t, false)
	e := w.e
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	ts := e.Clock.Now().Unix()
	for name, h := range map[string]map[string]string{
		"basic a with b's secret": {"Authorization": basic(w.a.ID, w.b.Secret), signature.HeaderPlatform: "stripe"},
		"basic b, header a":       {"Authorization": basic(w.b.ID, w.b.Secret), signature.HeaderAppID: w.a.ID, signature.HeaderPlatform: "stripe"},
		"basic a, empty secret":   {"Authorization": basic(w.a.ID, ""), signature.HeaderPlatform: "stripe"},
		"basic a, secret prefix":  {"Authorization": basic(w.a.ID, w.a.Secret[:len(w.a.Secret)-1]), signature.HeaderPlatform: "stripe"},
		"signed by b as a": {
			signature.HeaderAppID: w.a.ID, signature.HeaderPlatform: "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderSignature: signature.Sign(w.b.Secret, ts, "GET", pmPath+"?appUserId=u1", nil, ""),
		},
		"signed by a's Stripe key": {
			signature.HeaderAppID: w.a.ID, signature.HeaderPlatform: "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderSignature: signature.Sign(w.a.Stripe.SecretKey, ts, "GET", pmPath+"?appUserId=u1", nil, ""),
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.raw("GET", pmPath+"?appUserId=u1", "", h).want(t, 401, appwheel.EUNAUTHENTICATED)
			hNoLeak(t, r, append(w.foreignTo["b/u1"], w.secretsAndKeys["secrets"]...))
		})
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0", n)
	}
}

// TestHostileIdempotencyKeysAcrossTenants: an Idempotency-Key is the
// app's own; another app (or another user's request) with the same key
// never gets the first app's stored response.
func TestHostileIdempotencyKeysAcrossTenants(t *testing.T) {
	e := newEnv(t)
	a, b := e.NewApp("a"), e.NewApp("b")
	body := `{"appUserId":"u1","type":"setupIntent"}`
	key := map[string]string{"Idempotency-Key": "order-1"}
	first := e.do(a, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 200, 0)
	var fromA appwheel.PaymentMethodSetup
	first.decode(t, &fromA)

	// Same key, same body, other app: its own SetupIntent, no replay.
	r := e.do(b, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 200, 0)
	var fromB appwheel.PaymentMethodSetup
	r.decode(t, &fromB)
	if r.Header.Get("Idempotent-Replayed") != "" || fromB.SetupIntentID == fromA.SetupIntentID || strings.Contains(string(r.Data), fromA.ClientSecret) {
		t.Errorf("app b got app a's response: %s (a: %s)", r.Data, first.Data)
	}
	// Same key, another user of the same app: refused, not replayed.
	r = e.do(a, req{method: "POST", target: pmPath, body: `{"appUserId":"u2","type":"setupIntent"}`, headers: key}).want(t, 409, appwheel.EIDEMPOTENCY)
	hNoLeak(t, r, []string{fromA.SetupIntentID, fromA.ClientSecret})
	// The same key on DELETE, for the same app: refused too (a different request).
	r = e.do(a, req{method: "DELETE", target: pmPath + "/pm_123?appUserId=u1", headers: key}).want(t, 409, appwheel.EIDEMPOTENCY)
	hNoLeak(t, r, []string{fromA.SetupIntentID, fromA.ClientSecret})
}

// TestHostileWebhooksAcrossTenants: a delivery signed with one app's secret
// is refused at another app's endpoint, and an app's (correctly signed)
// events about another tenant's customer change nothing of that tenant.
func TestHostileWebhooksAcrossTenants(t *testing.T) {
	w := newHWorld(t, true)
	e := w.e
	now := e.Clock.Now().Unix()
	attachB := apitest.StripeEvent(t, "evt_hostile_1", "payment_method.attached", now, cardObject("pm_intruder", w.cusB1, now, "visa", "6666"), nil)

	// Signed with a's secret, sent to b's endpoint: 400, nothing recorded.
	e.webhook(w.b.ID, attachB, signNow(attachB, w.a.Stripe.WebhookSecret)).want(t, 400, appwheel.EINVALID)
	e.wantNotRecorded(t, w.b.ID, "evt_hostile_1")
	e.wantNotRecorded(t, w.a.ID, "evt_hostile_1")
	// Path tricks on the app id: no route.
	for _, target := range []string{webhookPath + "..%2f" + w.b.ID, webhookPath + "%2e%2e", webhookPath + w.b.ID + "%2f..%2f" + w.a.ID,
		webhookPath + w.b.ID + "/", webhookPath + "nope"} {
		r := e.raw("POST", target, string(attachB), map[string]string{"Stripe-Signature": signNow(attachB, w.b.Stripe.WebhookSecret)})
		hWant(t, r, hNotFound, hInvalid)
		e.wantNotRecorded(t, w.b.ID, "evt_hostile_1")
	}

	// Signed correctly by a, about b's customer: recorded for a, ignored.
	before := e.Stripe.TotalCalls()
	e.webhook(w.a.ID, attachB, signNow(attachB, w.a.Stripe.WebhookSecret)).want(t, 200, 0)
	custB := apitest.StripeEvent(t, "evt_hostile_2", "customer.updated", now, apitest.StripeCustomer(w.cusB1, "pm_intruder", now, nil), nil)
	e.webhook(w.a.ID, custB, signNow(custB, w.a.Stripe.WebhookSecret)).want(t, 200, 0)
	detachB := apitest.StripeEvent(t, "evt_hostile_3", "payment_method.detached", now+1, cardObject(w.pmB1, "", now, "amex", "0005"),
		map[string]any{"customer": w.cusB1})
	e.webhook(w.a.ID, detachB, signNow(detachB, w.a.Stripe.WebhookSecret)).want(t, 200, 0)
	// a's own customer, a method of b's tenant: the method is not a's.
	stealB := apitest.StripeEvent(t, "evt_hostile_4", "payment_method.attached", now+1, cardObject(w.pmB1, w.cusA1, now, "amex", "0005"), nil)
	e.webhook(w.a.ID, stealB, signNow(stealB, w.a.Stripe.WebhookSecret)).want(t, 200, 0)
	_ = before

	rb := e.do(w.b, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0)
	if got := hIDs(t, rb); strings.Join(got, ",") != w.pmB1 {
		t.Errorf("b/u1's methods = %v, want only %s: a's events reached b's mirror", got, w.pmB1)
	}
	var listB appwheel.PaymentMethodList
	rb.decode(t, &listB)
	if listB.DefaultMethodID == "pm_intruder" {
		t.Errorf("b/u1's default became a's event's pm_intruder")
	}
	ra := e.do(w.a, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0)
	hNoLeak(t, ra, []string{"pm_intruder"})
}

// lateStripe lets a billing service be built before the fake Stripe it
// talks to exists.
type lateStripe struct{ appwheel.Stripe }

// TestHostileInvoiceLinks: invoice links are capabilities signed by
// AppWheel; a tampered, spliced, truncated, expired or traversing token is
// 404 in the envelope, and makes no Stripe call.
func TestHostileInvoiceLinks(t *testing.T) {
	late := &lateStripe{}
	ae := apitest.New(t, func(c *appwheelhttp.Config) {
		c.Billing = billing.New(billing.Config{
			Store: c.Store.(billing.Store), Stripe: late, Apps: c.Apps, DecodeEvent: stripe.DecodeEvent, Now: c.Now,
			BackgroundRate: 1000, LinkBaseURL: "http://links.test", LinkKey: bytes.Repeat([]byte{7}, 32),
		})
	})
	late.Stripe = ae.Stripe
	e := &env{Env: ae, t: t}
	ctx := context.Background()
	a, b := e.NewMirrorApp("a"), e.NewMirrorApp("b")
	pdfA, pdfB := "https://pay.stripe.test/a.pdf", "https://pay.stripe.test/b.pdf"
	cusA, cusB := e.hUser(a, "u1"), e.hUser(b, "u1")
	inA := e.Stripe.AddInvoice(a.Stripe, appwheel.Invoice{CustomerID: cusA, Status: "paid", InvoicePDF: pdfA, HostedInvoiceURL: pdfA + ".html"}).ID
	inB := e.Stripe.AddInvoice(b.Stripe, appwheel.Invoice{CustomerID: cusB, Status: "paid", InvoicePDF: pdfB, HostedInvoiceURL: pdfB + ".html"}).ID
	e.Clock.Advance(time.Hour)
	for _, app := range []*appwheel.App{a, b} {
		if err := e.Billing.ReconcileApp(ctx, app, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	token := func(app *appwheel.App) string {
		var list appwheel.OrderList
		e.do(app, req{method: "GET", target: "/v1/stripe/invoices?appUserId=u1"}).want(t, 200, 0).decode(t, &list)
		if len(list.Invoices) != 1 {
			t.Fatalf("invoices = %+v", list)
		}
		tok, ok := strings.CutPrefix(list.Invoices[0].InvoicePDF, "http://links.test/invoice-links/")
		if !ok {
			t.Fatalf("invoicePdf = %q, want an AppWheel link", list.Invoices[0].InvoicePDF)
		}
		return tok
	}
	tokA, tokB := token(a), token(b)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	follow := func(t *testing.T, tok string) (int, string, response) {
		t.Helper()
		resp, err := noRedirect.Get(e.Server.URL + "/invoice-links/" + tok)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var r response
		if resp.StatusCode != http.StatusFound {
			r = response{Status: resp.StatusCode, Header: resp.Header}
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("HTTP %d body is not an envelope: %q", resp.StatusCode, body)
			}
		}
		return resp.StatusCode, resp.Header.Get("Location"), r
	}
	if status, loc, _ := follow(t, tokA); status != 302 || loc != pdfA {
		t.Fatalf("a's link: HTTP %d to %q, want 302 to %s", status, loc, pdfA)
	}
	payloadA, macA, _ := strings.Cut(tokA, ".")
	payloadB, macB, _ := strings.Cut(tokB, ".")
	rawA, err := base64.RawURLEncoding.DecodeString(payloadA)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	swap := func(old, new string) string { return enc(strings.Replace(string(rawA), old, new, 1)) + "." + macA }
	e.Stripe.ResetCalls()
	for name, tok := range map[string]string{
		"a's payload naming b":       swap(a.ID, b.ID),
		"a's payload naming b's inv": swap(inA, inB),
		"a's payload, hosted kind":   swap(".pdf.", ".hosted."),
		"a's payload, later expiry":  enc(string(rawA)+"9") + "." + macA,
		"b's payload, a's mac":       payloadB + "." + macA,
		"a's payload, b's mac":       payloadA + "." + macB,
		"truncated mac":              payloadA + "." + macA[:len(macA)-2],
		"no mac":                     payloadA,
		"empty mac":                  payloadA + ".",
		"padded base64":              payloadA + "=." + macA,
		"traversal":                  "..%2f..%2fhealthz",
		"dots":                       "%2e%2e",
		"huge":                       strings.Repeat("A", 60000) + "." + macA,
		"nul":                        payloadA + "%00." + macA,
	} {
		t.Run(name, func(t *testing.T) {
			status, loc, r := follow(t, tok)
			if status == 302 {
				t.Fatalf("followed to %q", loc)
			}
			hWant(t, r, hNotFound)
			hNoLeak(t, r, []string{pdfA, pdfB, inA, inB})
		})
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("forged links made %d Stripe calls, want 0", n)
	}
	// A disabled app's links stop working; so do expired ones.
	if _, err := e.Apps.SetDisabled(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	if status, loc, _ := follow(t, tokB); status != 404 {
		t.Errorf("disabled app's link: HTTP %d to %q, want 404", status, loc)
	}
	e.Clock.Advance(billing.InvoiceLinkTTL + time.Hour)
	if status, loc, _ := follow(t, tokA); status != 404 {
		t.Errorf("expired link: HTTP %d to %q, want 404", status, loc)
	}
}

// TestHostileOperationalEndpointsLeakNothing: the unauthenticated
// endpoints show no tenant's ids or secrets.
func TestHostileOperationalEndpointsLeakNothing(t *testing.T) {
	w := newHWorld(t, false)
	e := w.e
	e.do(w.a, req{method: "GET", target: pmPath + "?appUserId=u1"}).want(t, 200, 0)
	e.do(w.b, req{method: "DELETE", target: pmPath + "/" + w.pmA1 + "?appUserId=u1"}).want(t, 404, appwheel.ENOTFOUND)
	forbidden := append([]string{w.a.ID, w.b.ID, w.cusA1, w.pmA1, w.inA1}, w.secretsAndKeys["secrets"]...)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := e.Server.Client().Get(e.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
		}
		for _, f := range forbidden {
			if bytes.Contains(body, []byte(f)) {
				t.Errorf("GET %s shows %q", path, f)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Bodies built to hurt the parser

func nested(open, close string, depth int, inner string) string {
	return strings.Repeat(open, depth) + inner + strings.Repeat(close, depth)
}

// TestHostileBodies: deeply nested and oversized JSON is refused with 400
// (413 past 1 MiB), quickly, without a panic or a Stripe call.
func TestHostileBodies(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	mirror := e.NewMirrorApp("m")
	const depth = 100_000
	tests := []struct {
		name   string
		target string
		body   string
		status int
	}{
		{"100k nested arrays", pmPath, nested("[", "]", depth, ""), 400},
		{"100k nested objects", pmPath, nested(`{"a":`, "}", depth, "1"), 400},
		{"100k nested arrays in appUserId", pmPath, `{"appUserId":` + nested("[", "]", depth, `"u1"`) + `,"type":"setupIntent"}`, 400},
		{"100k nested objects in an unknown key", pmPath, `{"appUserId":"u1","type":"setupIntent","x":` + nested(`{"a":`, "}", depth, "1") + `}`, 400},
		{"100k unterminated arrays", pmPath, strings.Repeat("[", depth), 400},
		{"10001 nested arrays, one over encoding/json's limit", pmPath, `{"appUserId":"u1","type":"setupIntent","x":` + nested("[", "]", 10001, "") + `}`, 400},
		{"nested default body", pmPath + "/pm_123/default", nested("[", "]", depth, ""), 400},
		{"900 KB appUserId", pmPath, `{"appUserId":"` + strings.Repeat("x", 900_000) + `","type":"setupIntent"}`, 400},
		{"50k duplicate keys", pmPath, "{" + strings.Repeat(`"appUserId":"u1",`, 50_000) + `"type":"checkout"}`, 400},
		{"1 MiB of whitespace", pmPath, strings.Repeat(" ", appwheelhttp.MaxBodyBytes), 400},
		{"1 MiB + 1 of a valid request", pmPath, `{"appUserId":"u1","type":"setupIntent"}` + strings.Repeat(" ", appwheelhttp.MaxBodyBytes-38), 413},
		{"4 MiB", pmPath, strings.Repeat("[", 4<<20), 413},
		{"huge number", pmPath, `{"appUserId":"u1","type":"setupIntent","x":1` + strings.Repeat("0", 500_000) + `}`, 400},
		{"huge exponent", pmPath, `{"appUserId":1e999999999}`, 400},
		{"many unicode escapes", pmPath, `{"appUserId":"` + strings.Repeat(`\ud83d\ude00`, 60_000) + `","type":"setupIntent"}`, 400},
		{"lone surrogates", pmPath, `{"appUserId":"` + strings.Repeat(`\ud800`, 10) + `","type":"setupIntent"}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			start := time.Now()
			r := e.do(app, req{method: "POST", target: tt.target, body: tt.body})
			took := time.Since(start)
			hWant(t, r, [2]int{tt.status, map[int]int{200: 0, 400: appwheel.EINVALID, 413: appwheel.EINVALID}[tt.status]})
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if n := e.Stripe.TotalCalls() - before; tt.status != 200 && n != 0 {
				t.Errorf("%d Stripe calls for a refused body", n)
			}
			if len(r.Msg) > 200 {
				t.Errorf("message echoes the body: %d bytes", len(r.Msg))
			}
		})
	}
	// The limit is inclusive: exactly 1 MiB is read.
	exact := `{"appUserId":"u1","type":"setupIntent"}` + strings.Repeat(" ", appwheelhttp.MaxBodyBytes-39)
	if len(exact) != appwheelhttp.MaxBodyBytes {
		t.Fatalf("exact body is %d bytes", len(exact))
	}
	e.do(app, req{method: "POST", target: pmPath, body: exact}).want(t, 200, 0)

	// The webhook endpoint: nested, oversized, signed correctly.
	for name, payload := range map[string]string{
		"nested arrays":  nested("[", "]", depth, ""),
		"nested objects": `{"id":"evt_deep","object":"event","type":"x","data":{"object":` + nested(`{"a":`, "}", depth, "1") + `}}`,
	} {
		t.Run("webhook "+name, func(t *testing.T) {
			start := time.Now()
			e.webhook(mirror.ID, []byte(payload), signNow([]byte(payload), mirror.Stripe.WebhookSecret)).want(t, 400, appwheel.EINVALID)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			e.wantNotRecorded(t, mirror.ID, "evt_deep")
		})
	}
	// A 413 closes the connection (the rest of the body is never read).
	conn, err := net.Dial("tcp", e.Server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", pmPath, 2<<20, strings.Repeat("[", 2<<20))
	head, _ := io.ReadAll(io.LimitReader(conn, 1024))
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 413 ")) || !bytes.Contains(head, []byte("\r\nConnection: close\r\n")) || !bytes.Contains(head, []byte(`"code":1001`)) {
		t.Errorf("2 MiB body: %q, want 413 with Connection: close and code 1001", head)
	}

	big := `{"id":"evt_big","object":"event","type":"x","pad":"` + strings.Repeat("x", appwheelhttp.MaxBodyBytes) + `"}`
	e.webhook(mirror.ID, []byte(big), signNow([]byte(big), mirror.Stripe.WebhookSecret)).want(t, 413, appwheel.EINVALID)
	e.wantNotRecorded(t, mirror.ID, "evt_big")
}

// TestHostileDuplicateJSONKeys: encoding/json lets the last of repeated
// keys win, and AppWheel accepts that; but the value validated is always
// the value used, and a repeated key never slips past validation.
func TestHostileDuplicateJSONKeys(t *testing.T) {
	e := newEnv(t)
	open := e.NewApp("open")
	shop := e.NewApp("shop", "shop.example.com")
	ok, evil := "https://shop.example.com/ok", "https://evil.example.net/phish"
	ctx := context.Background()
	tests := []struct {
		name   string
		app    *appwheel.App
		body   string
		want   [2]int
		user   string // the user a customer must exist for afterwards ("" none)
		notFor string // and must not exist for
	}{
		{"bad value last", open, `{"appUserId":"u1","appUserId":"\u0000","type":"setupIntent"}`, hInvalid, "", "u1"},
		{"bad value first", open, `{"appUserId":"\u0000","appUserId":"d1","type":"setupIntent"}`, hOK, "d1", "\x00"},
		{"type flipped to checkout", open, `{"type":"setupIntent","appUserId":"u1","type":"checkout"}`, hInvalid, "", "u1"},
		{"type flipped to setupIntent", open, `{"type":"checkout","appUserId":"d2","type":"setupIntent"}`, hOK, "d2", ""},
		{"wrong type, then right", open, `{"appUserId":1,"appUserId":"u1","type":"setupIntent"}`, hInvalid, "", "u1"},
		{"right type, then wrong", open, `{"appUserId":"u1","appUserId":{},"type":"setupIntent"}`, hInvalid, "", "u1"},
		{"null does not unset", open, `{"appUserId":"d3","appUserId":null,"type":"setupIntent"}`, hOK, "d3", ""},
		{"case variant", open, `{"appUserId":"u1","AppUserId":"u2","type":"setupIntent"}`, hInvalid, "", "u1"},
		{"escaped name", open, `{"appUserId":"d4","app\u0055serId":"d5","type":"setupIntent"}`, hOK, "d5", "d4"},
		{"evil url last", shop, `{"appUserId":"u1","type":"checkout","successUrl":"` + ok + `","successUrl":"` + evil + `","cancelUrl":"` + ok + `"}`, hForbidden, "", "u1"},
		{"evil cancel last", shop, `{"appUserId":"u1","type":"checkout","successUrl":"` + ok + `","cancelUrl":"` + ok + `","cancelUrl":"` + evil + `"}`, hForbidden, "", "u1"},
		{"evil url first", shop, `{"appUserId":"d6","type":"checkout","successUrl":"` + evil + `","successUrl":"` + ok + `","cancelUrl":"` + ok + `"}`, hOK, "d6", ""},
		{"control url last", shop, `{"appUserId":"u1","type":"checkout","successUrl":"` + ok + `","successUrl":"` + ok + `\r\nX: y","cancelUrl":"` + ok + `"}`, hInvalid, "", "u1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			sessions := len(e.Stripe.CheckoutSessions(tt.app.Stripe))
			r := e.do(tt.app, req{method: "POST", target: pmPath, body: tt.body})
			hWant(t, r, tt.want)
			if tt.want != hOK {
				if n := e.Stripe.TotalCalls() - before; n != 0 {
					t.Errorf("%d Stripe calls for a refused body", n)
				}
			}
			if tt.user != "" {
				if _, err := e.Store.CustomerID(ctx, tt.app.ID, tt.user); err != nil {
					t.Errorf("no customer for %q: %v", tt.user, err)
				}
			}
			if tt.notFor != "" {
				if id, err := e.Store.CustomerID(ctx, tt.app.ID, tt.notFor); err == nil {
					t.Errorf("customer %s made for %q", id, tt.notFor)
				}
			}
			// What Stripe was asked for is what was validated.
			if all := e.Stripe.CheckoutSessions(tt.app.Stripe); len(all) > sessions {
				if got := all[len(all)-1].Params; got.SuccessURL != ok || got.CancelURL != ok {
					t.Errorf("session made with %q / %q, want %q", got.SuccessURL, got.CancelURL, ok)
				}
			}
		})
	}
	// On the default endpoint the last appUserId is the one checked.
	w := newHWorld(t, false)
	w.e.do(w.a, req{method: "POST", target: pmPath + "/" + w.pmA1 + "/default", body: `{"appUserId":"u1","appUserId":"u2"}`}).want(t, 404, appwheel.ENOTFOUND)
	if n := w.e.Stripe.Calls("SetDefaultPaymentMethod"); n != 0 {
		t.Errorf("SetDefaultPaymentMethod calls = %d, want 0", n)
	}
}

// ---------------------------------------------------------------------------
// Redirect URLs

// TestHostileRedirectURLs: checkout URLs that would inject headers, run
// script, or leave the app's allowed hosts are refused with 1001 or 1003
// before any Stripe call, in either position; what is accepted reaches
// Stripe byte for byte.
func TestHostileRedirectURLs(t *testing.T) {
	e := newEnv(t)
	shop := e.NewApp("shop", "shop.example.com")
	open := e.NewApp("open")
	good := "https://shop.example.com/ok"
	const (
		inv = appwheel.EINVALID
		frb = appwheel.EFORBIDDEN
	)
	tests := []struct {
		name string
		url  string
		shop int // code for the app with an allow-list
		open int // code for the app without one; -1: not asserted
	}{
		{"CRLF", good + "\r\nSet-Cookie: a=b", inv, inv},
		{"LF", good + "\nLocation: https://evil.com", inv, inv},
		{"CR in host", "https://shop.example.com\r\n.evil.com/", inv, inv},
		{"NUL in host", "https://shop.example.com\x00.evil.com/", inv, inv},
		{"encoded CRLF in host", "https://shop.example.com%0d%0aSet-Cookie:a=b/", inv, inv},
		{"encoded slash in host", "https://shop.example.com%2f.evil.com/", inv, inv},
		{"tab in host", "https://shop.example.com\t.evil.com/", inv, inv},
		{"leading space", " " + good, inv, inv},
		{"leading tab", "\t" + good, inv, inv},
		{"C1 control", good + "\u0085", inv, inv},
		{"DEL", good + "\x7f", inv, inv},
		{"backslash userinfo", "https://evil.com\\@shop.example.com/", inv, inv},
		{"backslash host", "https://shop.example.com\\.evil.com/", inv, inv},
		{"backslashes for slashes", "https:\\\\evil.com/", inv, inv},
		{"slash backslash", "https:/\\evil.com/", inv, inv},
		{"javascript", "javascript:alert(document.cookie)", inv, inv},
		{"javascript with host", "JavaScript://shop.example.com/%0aalert(1)", inv, inv},
		{"data", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", inv, inv},
		{"vbscript", "vbscript:msgbox(1)", inv, inv},
		{"file", "file:///etc/passwd", inv, inv},
		{"ftp", "ftp://shop.example.com/", inv, inv},
		{"protocol-relative", "//evil.com/x", inv, inv},
		{"triple slash", "///evil.com/x", inv, inv},
		{"one slash", "http:/evil.com", inv, inv},
		{"no slash", "http:evil.com", inv, inv},
		{"no host", "https:///ok", inv, inv},
		{"scheme only", "https://", inv, inv},
		{"relative", "/ok", inv, inv},
		{"userinfo with allowed host", "https://shop.example.com@evil.com/", inv, inv},
		{"userinfo on allowed host", "https://user:pass@shop.example.com/", inv, inv},
		{"encoded userinfo", "https://evil.com%2f@shop.example.com/", inv, inv},
		{"IDN homograph", "https://ѕhop.example.com/", inv, inv},
		{"ideographic full stop", "https://shop.example.com。evil.com/", inv, inv},
		{"fullwidth host", "https://ｓｈｏｐ.example.com/", inv, inv},
		{"unicode host", "https://bücher.example/", inv, inv},
		{"too long", good + "?" + strings.Repeat("a", 2100), inv, inv},
		{"very long host", "https://" + strings.Repeat("a", 2100) + ".com/", inv, inv},
		{"long host", "https://" + strings.Repeat("a.", 150) + "com/", inv, inv}, // 303 bytes: not a DNS name
		{"fragment @", "https://evil.com#@shop.example.com", frb, 0},
		{"query @", "https://evil.com?@shop.example.com", frb, 0},
		{"suffix domain", "https://shop.example.com.evil.com/", frb, 0},
		{"prefix domain", "https://evilshop.example.com/", frb, 0},
		{"allowed host in path", "https://evil.com/shop.example.com", frb, 0},
		{"punycode", "https://xn--shp-0ma.example.com/", frb, 0},
		{"trailing dot", "https://shop.example.com./ok", frb, 0},
		{"IPv6 loopback", "https://[::1]/", frb, 0},
		{"IPv4 loopback", "http://127.0.0.1/", frb, 0},
		{"metadata address", "http://169.254.169.254/latest/meta-data/", frb, 0},
		// Accepted: these are the allowed host, and the percent-encoded
		// CR/LF stays encoded (it never becomes a header line).
		{"uppercase", "HTTPS://SHOP.EXAMPLE.COM/OK", 0, 0},
		{"port", "https://shop.example.com:8443/ok", 0, 0},
		{"encoded CRLF in path", good + "%0d%0aSet-Cookie:%20a=b", 0, 0},
		{"encoded CRLF in query", good + "?next=%0d%0aLocation:%20https://evil.com", 0, 0},
	}
	for _, tt := range tests {
		for _, app := range []*appwheel.App{shop, open} {
			want := tt.shop
			if app == open {
				want = tt.open
			}
			if want < 0 {
				continue
			}
			for _, field := range []string{"successUrl", "cancelUrl"} {
				t.Run(fmt.Sprintf("%s/%s/%s", tt.name, app.Name, field), func(t *testing.T) {
					params := map[string]string{"appUserId": "u1", "type": "checkout", "successUrl": good, "cancelUrl": good}
					params[field] = tt.url
					body, err := json.Marshal(params)
					if err != nil {
						t.Fatal(err)
					}
					before := e.Stripe.TotalCalls()
					sessions := len(e.Stripe.CheckoutSessions(app.Stripe))
					r := e.do(app, req{method: "POST", target: pmPath, body: string(body)})
					switch want {
					case 0:
						r.want(t, 200, 0)
						all := e.Stripe.CheckoutSessions(app.Stripe)
						if len(all) != sessions+1 {
							t.Fatalf("%d sessions made, want 1", len(all)-sessions)
						}
						got := all[len(all)-1].Params
						if sent := map[string]string{"successUrl": got.SuccessURL, "cancelUrl": got.CancelURL}[field]; sent != tt.url {
							t.Errorf("Stripe got %s %q, want %q unchanged", field, sent, tt.url)
						}
					default:
						r.want(t, map[int]int{inv: 400, frb: 403}[want], want)
						if !strings.Contains(r.Msg, field) {
							t.Errorf("message %q does not name %s", r.Msg, field)
						}
						if n := e.Stripe.TotalCalls() - before; n != 0 {
							t.Errorf("%d Stripe calls for a refused URL", n)
						}
					}
				})
			}
		}
	}
	// The same URLs are ignored (never sent to Stripe) for a SetupIntent.
	r := e.do(shop, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent","successUrl":"javascript:alert(1)","cancelUrl":"//evil.com"}`})
	r.want(t, 200, 0)
}

// ---------------------------------------------------------------------------
// Headers

// TestHostileHeaders: huge and malformed header values are refused in the
// envelope (or, past net/http's own limit, by net/http), never echoed into
// a response header, and never reach Stripe.
func TestHostileHeaders(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	huge := strings.Repeat("A", 512<<10) // under net/http's default 1 MiB of headers
	signed := func(extra map[string]string) map[string]string {
		e.Clock.Advance(time.Second)
		ts := e.Clock.Now().Unix()
		h := map[string]string{
			signature.HeaderAppID:     app.ID,
			signature.HeaderPlatform:  "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderNonce:     "n1",
			signature.HeaderSignature: signature.Sign(app.Secret, ts, "POST", pmPath, []byte(`{"appUserId":"u1","type":"setupIntent"}`), "n1"),
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	body := `{"appUserId":"u1","type":"setupIntent"}`
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		code    int
	}{
		{"huge app id", signed(map[string]string{signature.HeaderAppID: huge}), 401, appwheel.EUNAUTHENTICATED},
		{"huge platform", signed(map[string]string{signature.HeaderPlatform: huge}), 403, appwheel.EFORBIDDEN},
		{"huge timestamp", signed(map[string]string{signature.HeaderTimestamp: strings.Repeat("9", 512<<10)}), 401, appwheel.EUNAUTHENTICATED},
		{"huge signature", signed(map[string]string{signature.HeaderSignature: "v1=" + huge}), 401, appwheel.EUNAUTHENTICATED},
		{"huge nonce", signed(map[string]string{signature.HeaderNonce: huge}), 401, appwheel.EUNAUTHENTICATED},
		{"huge Basic auth", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(app.ID+":"+huge)), signature.HeaderPlatform: "stripe"}, 401, appwheel.EUNAUTHENTICATED},
		{"huge Idempotency-Key", signed(map[string]string{"Idempotency-Key": huge}), 400, appwheel.EINVALID},
		{"Idempotency-Key of 256", signed(map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}), 400, appwheel.EINVALID},
		{"Idempotency-Key with unicode", signed(map[string]string{"Idempotency-Key": "ключ"}), 400, appwheel.EINVALID},
		{"many app ids", signed(map[string]string{signature.HeaderAppID: app.ID + ", " + app.ID}), 401, appwheel.EUNAUTHENTICATED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			start := time.Now()
			r := e.raw("POST", pmPath, body, tt.headers).want(t, tt.status, tt.code)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if n := e.Stripe.TotalCalls() - before; n != 0 {
				t.Errorf("%d Stripe calls", n)
			}
			for k, vs := range r.Header {
				for _, v := range vs {
					if len(v) > 1024 {
						t.Errorf("response header %s is %d bytes: a request header echoed", k, len(v))
					}
				}
			}
			hNoLeak(t, r, []string{app.Secret, app.Stripe.SecretKey})
		})
	}

	// X-Request-Id: a well-formed one is kept, anything else replaced.
	for _, id := range []string{huge, "<script>alert(1)</script>", "short", "id\u2028with-separator", "abc%0d%0aSet-Cookie:x", strings.Repeat("a", 65)} {
		r := e.raw("GET", "/healthz", "", map[string]string{"X-Request-Id": id}).want(t, 200, 0)
		if got := r.Header.Get("X-Request-Id"); got == id || len(got) > 64 {
			t.Errorf("X-Request-Id %.40q… echoed as %.40q", id, got)
		}
	}
	kept := "trace-0123456789_ABC"
	if got := e.raw("GET", "/healthz", "", map[string]string{"X-Request-Id": kept}).want(t, 200, 0).Header.Get("X-Request-Id"); got != kept {
		t.Errorf("X-Request-Id = %q, want %q kept", got, kept)
	}

	// Raw CR/LF in a header value never reaches AppWheel: net/http refuses
	// the request with its own 400.
	conn, err := net.Dial("tcp", e.Server.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abcdefgh\rSet-Cookie: y=z\r\n\r\n")
	reply, _ := io.ReadAll(io.LimitReader(conn, 4096))
	if bytes.Contains(reply, []byte("Set-Cookie")) {
		t.Errorf("a bare CR in a request header reached the response: %q", reply)
	}

	// Past net/http's header limit the server answers 431 itself (not in
	// the envelope: AppWheel never sees the request), and keeps serving.
	hr, _ := http.NewRequest("GET", e.Server.URL+listTarget, nil)
	hr.Header.Set(signature.HeaderAppID, strings.Repeat("A", 2<<20))
	resp, err := e.Server.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("2 MiB header: HTTP %d, want 431 from net/http", resp.StatusCode)
	}
	e.do(app, req{method: "GET", target: listTarget}).want(t, 200, 0)
}

// ---------------------------------------------------------------------------
// Floods

// TestHostileFlood: one app's flood is answered with 1006 and a
// Retry-After that is honoured, while another app keeps getting 200; a
// flood of forged requests in an app's name does not spend its budget;
// and a rate-limited request's Idempotency-Key is not burnt.
func TestHostileFlood(t *testing.T) {
	// The harness clock moves a second per signed request: at 0.1/s a
	// request refills a tenth of a token.
	e := &env{Env: apitest.New(t, func(c *appwheelhttp.Config) { c.RateLimit, c.RateBurst = 0.1, 5 }), t: t}
	flood, calm := e.NewApp("flood"), e.NewApp("calm")

	// Forged requests in flood's name: 401 each, and its bucket is intact.
	ts := e.Clock.Now().Unix()
	for i := range 50 {
		e.raw("GET", listTarget, "", map[string]string{
			signature.HeaderAppID: flood.ID, signature.HeaderPlatform: "stripe",
			signature.HeaderTimestamp: strconv.FormatInt(ts, 10),
			signature.HeaderSignature: signature.Sign("guess-"+strconv.Itoa(i), ts, "GET", listTarget, nil, ""),
		}).want(t, 401, appwheel.EUNAUTHENTICATED)
	}

	okCount, limited := 0, 0
	var retryAfter string
	for i := range 40 {
		r := e.do(flood, req{method: "GET", target: listTarget})
		switch r.Code {
		case 0:
			okCount++
		case appwheel.ERATELIMITED:
			r.want(t, 429, appwheel.ERATELIMITED)
			limited++
			retryAfter = r.Header.Get("Retry-After")
			if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 || n > 10 {
				t.Fatalf("Retry-After = %q, want 1–10 seconds", retryAfter)
			}
		default:
			t.Fatalf("request %d: HTTP %d code %d (%q)", i, r.Status, r.Code, r.Msg)
		}
		if i%10 == 0 { // within calm's own budget: a token every 10 s
			e.do(calm, req{method: "GET", target: listTarget}).want(t, 200, 0)
		}
	}
	// 40 requests over 44 s of the server's clock: the burst of 5 (the
	// forged requests spent none of it) and about 4 refills.
	if okCount < 5 || okCount > 5+40/10+1 || limited == 0 {
		t.Fatalf("served %d, limited %d; want 5–10 served and the rest limited", okCount, limited)
	}
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0", n)
	}

	// A limited POST with an Idempotency-Key: not stored, so the same key
	// works once the wait is over.
	body := `{"appUserId":"u1","type":"setupIntent"}`
	key := map[string]string{"Idempotency-Key": "flood-1"}
	r := e.do(flood, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 429, appwheel.ERATELIMITED)
	wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	e.Clock.Advance(time.Duration(wait) * time.Second) // do() adds one more
	e.do(flood, req{method: "POST", target: pmPath, body: body, headers: key}).want(t, 200, 0)
	if n := e.Stripe.Calls("CreateSetupIntent"); n != 1 {
		t.Errorf("CreateSetupIntent calls = %d, want 1", n)
	}
	e.do(calm, req{method: "GET", target: listTarget}).want(t, 200, 0)
}

// TestHostileMessagesBoundEchoedInput: a message names the parameter that
// is wrong, but should not copy an attacker's megabyte back into every
// response (and into whatever logs the SDK user keeps).
func TestHostileMessagesBoundEchoedInput(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	big := strings.Repeat("x", 900_000)
	ts := e.Clock.Now().Unix()
	for name, r := range map[string]response{
		"type":          e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"` + big + `"}`}),
		"unknown key":   e.do(app, req{method: "POST", target: pmPath, body: `{"appUserId":"u1","type":"setupIntent","` + big + `":1}`}),
		"unknown query": e.do(app, req{method: "GET", target: listTarget + "&" + big[:60_000] + "=1"}),
		"unknown app":   e.raw("GET", listTarget, "", map[string]string{signature.HeaderAppID: big[:60_000], signature.HeaderPlatform: "stripe", signature.HeaderTimestamp: "1", signature.HeaderSignature: "v1=00"}),
		"platform":      e.raw("GET", listTarget, "", map[string]string{signature.HeaderAppID: app.ID, signature.HeaderPlatform: big[:60_000], signature.HeaderTimestamp: strconv.FormatInt(ts, 10), signature.HeaderSignature: signature.Sign(app.Secret, ts, "GET", listTarget, nil, "")}),
	} {
		if r.Code == 0 {
			t.Errorf("%s: accepted", name)
		}
		if len(r.Msg) > 1024 {
			t.Errorf("%s: message is %d bytes, want at most 1 KiB", name, len(r.Msg))
		}
	}
}

// TestHostileRedirectHostNotADNSName: a redirect URL whose host cannot
// exist (a label over 63 bytes, a name over 253, a port over 65535) is a
// parameter error the API could answer itself; today, for an app without
// an allow-list, it is sent on to Stripe.
func TestHostileRedirectHostNotADNSName(t *testing.T) {
	e := newEnv(t)
	open := e.NewApp("open")
	good := "https://shop.example.com/ok"
	for name, u := range map[string]string{
		"label of 64":   "https://" + strings.Repeat("a", 64) + ".example.com/",
		"label of 2000": "https://" + strings.Repeat("a", 2000) + ".com/",
		"name of 300":   "https://" + strings.Repeat("a.", 150) + "com/",
		"port 99999999": "https://shop.example.com:99999999/ok",
		"empty label":   "https://shop..example.com/ok",
	} {
		t.Run(name, func(t *testing.T) {
			before := e.Stripe.TotalCalls()
			body, _ := json.Marshal(map[string]string{"appUserId": "u1", "type": "checkout", "successUrl": u, "cancelUrl": good})
			e.do(open, req{method: "POST", target: pmPath, body: string(body)}).want(t, 400, appwheel.EINVALID)
			if n := e.Stripe.TotalCalls() - before; n != 0 {
				t.Errorf("%d Stripe calls", n)
			}
		})
	}
}
