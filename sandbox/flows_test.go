package sandbox_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// eventTypes lists the account's event types, oldest first.
func (e *env) eventTypes(t *testing.T, key string) []string {
	t.Helper()
	list := e.mustCall(t, 200, key, "GET", "/v1/events", vals("limit", "100"))
	var out []string
	for _, ev := range list["data"].([]any) {
		out = append(out, ev.(map[string]any)["type"].(string))
	}
	slices.Reverse(out)
	return out
}

// containsInOrder reports whether want appears in got in order.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestSetupIntentFlow(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_setup"
	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")

	t.Run("confirm with pm_card_visa attaches a new card", func(t *testing.T) {
		si := e.mustCall(t, 200, key, "POST", "/v1/setup_intents", vals("customer", cid, "payment_method_types[]", "card", "usage", "off_session"))
		if got := str(si, "status"); got != "requires_payment_method" {
			t.Fatalf("got status %s, want requires_payment_method", got)
		}
		si = e.mustCall(t, 200, key, "POST", "/v1/setup_intents/"+str(si, "id")+"/confirm", vals("payment_method", "pm_card_visa"))
		pmID := str(si, "payment_method")
		if str(si, "status") != "succeeded" || !strings.HasPrefix(pmID, "pm_") || pmID == "pm_card_visa" {
			t.Fatalf("got status %s payment method %q, want succeeded with a new pm_", str(si, "status"), pmID)
		}
		pm := e.mustCall(t, 200, key, "GET", "/v1/payment_methods/"+pmID, nil)
		if str(pm, "customer") != cid {
			t.Errorf("got customer %q, want %s", str(pm, "customer"), cid)
		}
		types := e.eventTypes(t, key)
		if want := []string{"customer.created", "setup_intent.created", "payment_method.attached", "setup_intent.succeeded"}; !containsInOrder(types, want) {
			t.Errorf("got events %v, want %v in order", types, want)
		}
	})

	t.Run("declined cards answer 402 and attach nothing", func(t *testing.T) {
		tests := []struct{ token, declineCode string }{
			{"pm_card_chargeDeclined", "generic_decline"},
			{"pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"},
		}
		for _, tt := range tests {
			t.Run(tt.token, func(t *testing.T) {
				c := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")
				si := e.mustCall(t, 200, key, "POST", "/v1/setup_intents", vals("customer", c, "payment_method_types[0]", "card"))
				a := e.call(t, key, "POST", "/v1/setup_intents/"+str(si, "id")+"/confirm", vals("payment_method", tt.token))
				if a.Status != http.StatusPaymentRequired || a.errorField(t, "type") != "card_error" ||
					a.errorField(t, "code") != "card_declined" || a.errorField(t, "decline_code") != tt.declineCode {
					t.Fatalf("got %d %s, want 402 card_error card_declined %s", a.Status, a.Body, tt.declineCode)
				}
				if got := get(a.json(t), "error.setup_intent.last_setup_error.decline_code"); got != tt.declineCode {
					t.Errorf("got error.setup_intent.last_setup_error.decline_code %v, want %s", got, tt.declineCode)
				}
				si = e.mustCall(t, 200, key, "GET", "/v1/setup_intents/"+str(si, "id"), nil)
				if str(si, "status") != "requires_payment_method" || str(si, "last_setup_error.decline_code") != tt.declineCode ||
					get(si, "payment_method") != nil {
					t.Errorf("got %v, want requires_payment_method with last_setup_error", si)
				}
				pms := e.mustCall(t, 200, key, "GET", "/v1/customers/"+c+"/payment_methods", nil)
				if n := len(pms["data"].([]any)); n != 0 {
					t.Errorf("got %d payment methods attached, want 0", n)
				}
				if types := e.eventTypes(t, key); types[len(types)-1] != "setup_intent.setup_failed" {
					t.Errorf("got last event %s, want setup_intent.setup_failed", types[len(types)-1])
				}
			})
		}
	})

	t.Run("each use of a token is a new payment method of the same card", func(t *testing.T) {
		a := e.mustCall(t, 200, key, "POST", "/v1/payment_methods/pm_card_visa/attach", vals("customer", cid))
		b := e.mustCall(t, 200, key, "POST", "/v1/payment_methods/pm_card_visa/attach", vals("customer", cid))
		if str(a, "id") == str(b, "id") || str(a, "card.fingerprint") != str(b, "card.fingerprint") {
			t.Errorf("got %s (%s) and %s (%s), want two IDs, one fingerprint", str(a, "id"), str(a, "card.fingerprint"), str(b, "id"), str(b, "card.fingerprint"))
		}
		list := e.mustCall(t, 200, key, "GET", "/v1/payment_methods", vals("customer", cid, "type", "card", "limit", "2"))
		if got := str(list, "data.0.id"); got != str(b, "id") || list["has_more"] != true {
			t.Errorf("got first %s has_more %v, want the newest %s and more", got, list["has_more"], str(b, "id"))
		}
	})

	t.Run("the publishable key confirms only with the client secret", func(t *testing.T) {
		si := e.mustCall(t, 200, key, "POST", "/v1/setup_intents", vals("customer", cid, "payment_method_types[0]", "card"))
		pk := e.keys(t, key).Publishable
		a := e.call(t, pk, "POST", "/v1/setup_intents/"+str(si, "id")+"/confirm", vals("payment_method", "pm_card_visa"))
		if a.Status != 400 || a.errorField(t, "param") != "client_secret" {
			t.Errorf("got %d %s, want 400 on client_secret", a.Status, a.Body)
		}
		if a := e.call(t, pk, "GET", "/v1/customers/"+cid, nil); a.Status != 401 {
			t.Errorf("got %d reading a customer with a publishable key, want 401", a.Status)
		}
	})
}

func TestCheckoutPage(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_checkout"
	cid := str(e.mustCall(t, 200, key, "POST", "/v1/customers", vals("email", "jenny@example.com")), "id")
	newSession := func(t *testing.T) map[string]any {
		t.Helper()
		return e.mustCall(t, 200, key, "POST", "/v1/checkout/sessions", vals("mode", "setup", "customer", cid,
			"success_url", "https://app.example/ok?session={CHECKOUT_SESSION_ID}", "cancel_url", "https://app.example/cancel",
			"payment_method_types[0]", "card"))
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	submit := func(t *testing.T, pageURL string, form url.Values) (int, string, string) {
		t.Helper()
		res, err := noRedirect.PostForm(pageURL, form)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header.Get("Location"), readBody(t, res)
	}
	card := func(number string) url.Values {
		return vals("cardNumber", number, "cardExpiry", "12 / 34", "cardCvc", "123", "billingName", "Jenny Rosen")
	}
	attached := func(t *testing.T) int {
		t.Helper()
		return len(e.mustCall(t, 200, key, "GET", "/v1/customers/"+cid+"/payment_methods", nil)["data"].([]any))
	}

	t.Run("GET shows the card form, labelled a sandbox", func(t *testing.T) {
		s := newSession(t)
		if want := e.srv.URL + "/checkout/" + str(s, "id"); str(s, "url") != want {
			t.Fatalf("got url %q, want %q", str(s, "url"), want)
		}
		res, err := http.Get(str(s, "url"))
		if err != nil {
			t.Fatal(err)
		}
		page := readBody(t, res)
		for _, want := range []string{`id="cardNumber"`, `name="cardNumber"`, `id="cardExpiry"`, `id="cardCvc"`, `id="billingName"`,
			`id="submit"`, `id="error"`, `id="cancel"`, `href="https://app.example/cancel"`, "for development and tests only", "jenny@example.com"} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		if res.StatusCode != 200 || strings.Contains(page, "http://") && strings.Contains(page, "<link") {
			t.Errorf("got status %d, want 200 and no external assets", res.StatusCode)
		}
	})

	t.Run("a test card saves the card and redirects", func(t *testing.T) {
		s := newSession(t)
		before := attached(t)
		status, loc, body := submit(t, str(s, "url"), card("4242 4242 4242 4242"))
		if want := "https://app.example/ok?session=" + str(s, "id"); status != http.StatusSeeOther || loc != want {
			t.Fatalf("got %d to %q, want 303 to %q: %s", status, loc, want, body)
		}
		got := e.mustCall(t, 200, key, "GET", "/v1/checkout/sessions/"+str(s, "id"), vals("expand[]", "setup_intent.payment_method"))
		if str(got, "status") != "complete" || str(got, "setup_intent.status") != "succeeded" ||
			str(got, "setup_intent.payment_method.customer") != cid || str(got, "setup_intent.payment_method.billing_details.name") != "Jenny Rosen" ||
			num(got, "setup_intent.payment_method.card.exp_year") != 2034 || get(got, "url") != nil {
			t.Errorf("got %v, want complete with a succeeded setup intent and the card attached", got)
		}
		if n := attached(t); n != before+1 {
			t.Errorf("got %d cards, want %d", n, before+1)
		}
		types := e.eventTypes(t, key)
		if want := []string{"payment_method.attached", "setup_intent.succeeded", "checkout.session.completed"}; !containsInOrder(types, want) {
			t.Errorf("got events %v, want %v in order", types, want)
		}
		status, _, body = submit(t, str(s, "url"), card("4242424242424242"))
		if status != http.StatusConflict || !strings.Contains(body, "is complete") || strings.Contains(body, `id="cardNumber"`) {
			t.Errorf("got %d, want 409 saying the session is complete, without the form", status)
		}
	})

	t.Run("expiry forms", func(t *testing.T) {
		for _, exp := range []string{"12/34", "1234", "12 / 2034", "7/30", "072030"} {
			s := newSession(t)
			status, _, body := submit(t, str(s, "url"), vals("cardNumber", "5555-5555-5555-4444", "cardExpiry", exp, "cardCvc", "123", "billingName", "J"))
			if status != http.StatusSeeOther {
				t.Errorf("expiry %q: got %d, want 303: %s", exp, status, body)
			}
		}
	})

	t.Run("errors are shown on the page and attach nothing", func(t *testing.T) {
		tests := []struct {
			name       string
			form       url.Values
			wantStatus int
			wantText   string
		}{
			{"declined", card("4000 0000 0000 0002"), http.StatusPaymentRequired, "Your card was declined."},
			{"insufficient funds", card("4000000000009995"), http.StatusPaymentRequired, "insufficient funds"},
			{"not a test card", card("4111 1111 1111 1112"), http.StatusBadRequest, "Your card number is invalid."},
			{"unknown test card", card("4012 8888 8888 1881"), http.StatusBadRequest, "not one of the sandbox&#39;s test cards"},
			{"bad expiry", vals("cardNumber", "4242424242424242", "cardExpiry", "13/30", "cardCvc", "123", "billingName", "J"), http.StatusBadRequest, "expiration month is invalid"},
			{"past expiry", vals("cardNumber", "4242424242424242", "cardExpiry", "01/25", "cardCvc", "123", "billingName", "J"), http.StatusBadRequest, "in the past"},
			{"incomplete expiry", vals("cardNumber", "4242424242424242", "cardExpiry", "12/3", "cardCvc", "123", "billingName", "J"), http.StatusBadRequest, "incomplete"},
			{"amex needs 4 cvc digits", vals("cardNumber", "3782 822463 10005", "cardExpiry", "12/34", "cardCvc", "123", "billingName", "J"), http.StatusBadRequest, "security code"},
			{"no name", vals("cardNumber", "4242424242424242", "cardExpiry", "12/34", "cardCvc", "123"), http.StatusBadRequest, "cardholder"},
			{"no cvc", vals("cardNumber", "4242424242424242", "cardExpiry", "01/30", "billingName", "J"), http.StatusBadRequest, "security code"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newSession(t)
				before := attached(t)
				status, _, body := submit(t, str(s, "url"), tt.form)
				if status != tt.wantStatus || !strings.Contains(body, `id="error"`) || !strings.Contains(body, tt.wantText) {
					t.Errorf("got %d, want %d with %q in the error element: %s", status, tt.wantStatus, tt.wantText, body)
				}
				if n := attached(t); n != before {
					t.Errorf("got %d cards, want still %d", n, before)
				}
				if got := str(e.mustCall(t, 200, key, "GET", "/v1/checkout/sessions/"+str(s, "id"), nil), "status"); got != "open" {
					t.Errorf("got session %s, want still open", got)
				}
			})
		}
	})

	t.Run("an expired session takes no card", func(t *testing.T) {
		s := newSession(t)
		e.mustCall(t, 200, key, "POST", "/v1/checkout/sessions/"+str(s, "id")+"/expire", nil)
		pageURL := e.srv.URL + "/checkout/" + str(s, "id")
		status, _, body := submit(t, pageURL, card("4242424242424242"))
		if status != http.StatusConflict || !strings.Contains(body, "expired") {
			t.Errorf("got %d, want 409 saying it expired", status)
		}
	})

	t.Run("sessions expire after 24 hours", func(t *testing.T) {
		s := newSession(t)
		if _, err := e.sb.Advance(key, 25*time.Hour); err != nil {
			t.Fatal(err)
		}
		got := e.mustCall(t, 200, key, "GET", "/v1/checkout/sessions/"+str(s, "id"), vals("expand[]", "setup_intent"))
		if str(got, "status") != "expired" || str(got, "setup_intent.status") != "canceled" {
			t.Errorf("got %s with setup intent %s, want expired and canceled", str(got, "status"), str(got, "setup_intent.status"))
		}
	})
}
