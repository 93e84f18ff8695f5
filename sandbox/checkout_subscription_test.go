package sandbox_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCheckoutSubscription: a Checkout Session in subscription mode shows
// the plan on its page and, when the card is submitted, starts the
// subscription on that card (for the session's customer, or a new one),
// its first invoice paid; a declined card starts nothing.
func TestCheckoutSubscription(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_cosub"
	e.keys(t, key)
	price := e.price(t, key, "pro_monthly")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	submit := func(t *testing.T, pageURL, number string) (int, string, string) {
		t.Helper()
		res, err := noRedirect.PostForm(pageURL, vals("cardNumber", number, "cardExpiry", "12 / 34", "cardCvc", "123", "billingName", "Jenny Rosen"))
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header.Get("Location"), readBody(t, res)
	}
	session := func(t *testing.T, params ...string) map[string]any {
		t.Helper()
		return e.mustCall(t, 200, key, "POST", "/v1/checkout/sessions", vals(append([]string{"mode", "subscription",
			"line_items[0][price]", price, "line_items[0][quantity]", "1",
			"success_url", "https://app.example/ok?session={CHECKOUT_SESSION_ID}"}, params...)...))
	}

	t.Run("a new customer subscribes on the page", func(t *testing.T) {
		cs := session(t, "customer_email", "new@example.com", "subscription_data[metadata][plan]", "pro")
		if str(cs, "mode") != "subscription" || num(cs, "amount_total") != 999 || str(cs, "payment_status") != "unpaid" ||
			get(cs, "setup_intent") != nil || get(cs, "internal") != nil {
			t.Fatalf("got %v, want an unpaid 9.99 subscription session without setup intent or bookkeeping", cs)
		}
		res, err := http.Get(str(cs, "url"))
		if err != nil {
			t.Fatal(err)
		}
		if page := readBody(t, res); !strings.Contains(page, "1 × Pro (at $9.99 / month)") || !strings.Contains(page, ">Subscribe</button>") {
			t.Errorf("the page does not show the plan and a Subscribe button:\n%s", page)
		}
		status, loc, body := submit(t, str(cs, "url"), "4242 4242 4242 4242")
		if status != http.StatusSeeOther || loc != "https://app.example/ok?session="+str(cs, "id") {
			t.Fatalf("got %d %q %s, want 303 to success_url", status, loc, body)
		}
		done := e.mustCall(t, 200, key, "GET", "/v1/checkout/sessions/"+str(cs, "id"), vals("expand[]", "subscription"))
		sub := get(done, "subscription").(map[string]any)
		cus := e.mustCall(t, 200, key, "GET", "/v1/customers/"+str(done, "customer"), nil)
		inv := e.mustCall(t, 200, key, "GET", "/v1/invoices/"+str(done, "invoice"), nil)
		if str(done, "status") != "complete" || str(done, "payment_status") != "paid" || str(cus, "email") != "new@example.com" ||
			str(sub, "status") != "active" || str(sub, "metadata.plan") != "pro" || str(sub, "customer") != str(cus, "id") ||
			str(inv, "status") != "paid" || num(inv, "amount_paid") != 999 || str(sub, "default_payment_method") == "" {
			t.Errorf("got session %v, subscription %v, invoice %v: want complete, paid, active on the card", done, sub, inv)
		}
		pm := e.mustCall(t, 200, key, "GET", "/v1/payment_methods/"+str(sub, "default_payment_method"), nil)
		if str(pm, "customer") != str(cus, "id") || str(pm, "card.last4") != "4242" {
			t.Errorf("got %v, want the card attached to the new customer", pm)
		}
		evs := e.mustCall(t, 200, key, "GET", "/v1/events", vals("type", "checkout.session.completed", "limit", "1"))
		if str(evs, "data.0.data.object.subscription") != str(sub, "id") {
			t.Errorf("got %v, want checkout.session.completed naming the subscription", get(evs, "data.0.data.object"))
		}
	})

	t.Run("a declined card starts nothing", func(t *testing.T) {
		cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", vals("email", "declined@example.com")), "id")
		cs := session(t, "customer", cid)
		status, _, body := submit(t, str(cs, "url"), "4000 0000 0000 0341")
		if status != http.StatusPaymentRequired || !strings.Contains(body, "declined") {
			t.Errorf("got %d, want 402 with the decline on the page:\n%s", status, body)
		}
		subs := e.mustCall(t, 200, key, "GET", "/v1/subscriptions", vals("customer", cid, "status", "all"))
		if n := len(get(subs, "data").([]any)); n != 0 || str(e.mustCall(t, 200, key, "GET", "/v1/checkout/sessions/"+str(cs, "id"), nil), "status") != "open" {
			t.Errorf("got %d subscriptions, want none and the session still open", n)
		}
		status, _, _ = submit(t, str(cs, "url"), "4242424242424242")
		if status != http.StatusSeeOther {
			t.Errorf("got %d retrying with a good card, want 303", status)
		}
	})

	t.Run("with a trial", func(t *testing.T) {
		cs := session(t, "customer_email", "trial@example.com", "subscription_data[trial_period_days]", "7")
		res, err := http.Get(str(cs, "url"))
		if err != nil {
			t.Fatal(err)
		}
		if page := readBody(t, res); !strings.Contains(page, "7 days free") || num(cs, "amount_total") != 0 {
			t.Errorf("got amount_total %d and a page without the trial:\n%s", num(cs, "amount_total"), page)
		}
		if status, _, body := submit(t, str(cs, "url"), "4242424242424242"); status != http.StatusSeeOther {
			t.Fatalf("got %d %s", status, body)
		}
		done := e.mustCall(t, 200, key, "GET", "/v1/checkout/sessions/"+str(cs, "id"), vals("expand[]", "subscription"))
		if str(done, "subscription.status") != "trialing" || str(done, "payment_status") != "no_payment_required" {
			t.Errorf("got %v, want a trialing subscription and no payment", done)
		}
	})

	for _, c := range []struct {
		name   string
		params url.Values
		param  string
	}{
		{"no line items", vals("mode", "subscription", "success_url", "https://a.example/ok"), "line_items"},
		{"an unknown price", vals("mode", "subscription", "success_url", "https://a.example/ok", "line_items[0][price]", "price_nope"), "line_items[0][price]"},
		{"setup_intent_data", vals("mode", "subscription", "success_url", "https://a.example/ok", "line_items[0][price]", price, "setup_intent_data[description]", "x"), "setup_intent_data"},
		{"line_items in setup mode", vals("mode", "setup", "currency", "usd", "success_url", "https://a.example/ok", "line_items[0][price]", price), "line_items"},
		{"payment mode", vals("mode", "payment", "success_url", "https://a.example/ok"), "mode"},
	} {
		t.Run("refused: "+c.name, func(t *testing.T) {
			if a := e.call(t, key, "POST", "/v1/checkout/sessions", c.params); a.Status != 400 || a.errorField(t, "param") != c.param {
				t.Errorf("got %d %s, want 400 on %s", a.Status, a.Body, c.param)
			}
		})
	}
}
