package http_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/signature"
)

// Hostile callers across tenants and users: every /v1 endpoint, credentials,
// Idempotency-Keys, webhook deliveries and the operational endpoints.

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
				// Linking another tenant's or user's customer.
				{"b links a's customer", b, "b/u9", "POST", "/v1/stripe/customer-links", `{"appUserId":"u9","customerId":"` + w.cusA1 + `"}`, [][2]int{hNotFound}, nil, false},
				{"a/u9 links u1's customer", a, "a/u9", "POST", "/v1/stripe/customer-links", `{"appUserId":"u9","customerId":"` + w.cusA1 + `"}`, [][2]int{{409, appwheel.ECONFLICT}}, nil, false},
				{"a/u1 links u2's customer", a, "a/u1", "POST", "/v1/stripe/customer-links", `{"appUserId":"u1","customerId":"` + w.cusA2 + `"}`, [][2]int{{409, appwheel.ECONFLICT}}, nil, false},
				{"link a payment method id", a, "a/u9", "POST", "/v1/stripe/customer-links", `{"appUserId":"u9","customerId":"` + w.pmA1 + `"}`, [][2]int{hInvalid}, nil, true},
				// The app's latest import: neither has one here (that an app
				// never sees another's is TestCustomerImportsPerApp's).
				{"b reads its latest import", b, "b/u1", "GET", latestPath, "", [][2]int{hNotFound}, nil, true},
				{"a reads its latest import", a, "a/u1", "GET", latestPath, "", [][2]int{hNotFound}, nil, true},
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
			for _, n := range []string{"DetachPaymentMethod", "SetDefaultPaymentMethod", "CreateCustomer", "CreateCheckoutSession", "CreateSetupIntent", "TagCustomer"} {
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
