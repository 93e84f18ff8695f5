package e2e_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"
)

// addBySetupIntent adds a card the way a front end with Stripe.js does:
// AppWheel creates the SetupIntent, the browser confirms it with a payment
// method (a test token here). It returns the confirm call's status and body.
func (d *dev) addBySetupIntent(user, token string) (int, map[string]any) {
	d.t.Helper()
	setup, err := d.client.CreatePaymentMethod(ctx(d.t), client.CreatePaymentMethodParams{AppUserID: user, Type: client.TypeSetupIntent})
	if err != nil {
		d.t.Fatal(err)
	}
	if !strings.HasPrefix(setup.ClientSecret, setup.SetupIntentID+"_secret_") || setup.CheckoutURL != "" {
		d.t.Fatalf("setup = %+v", setup)
	}
	return d.stripe("POST", "/v1/setup_intents/"+setup.SetupIntentID+"/confirm", url.Values{"payment_method": {token}})
}

// mustAddCard adds a card by SetupIntent and returns its pm_ id.
func (d *dev) mustAddCard(user, token string) string {
	d.t.Helper()
	status, si := d.addBySetupIntent(user, token)
	if status != 200 || si["status"] != "succeeded" {
		d.t.Fatalf("confirm %s: HTTP %d %v", token, status, si)
	}
	pm, _ := si["payment_method"].(string)
	if !strings.HasPrefix(pm, "pm_") {
		d.t.Fatalf("confirmed setup intent has payment_method %v", si["payment_method"])
	}
	// The front end tells the app, which lists the user's cards: the new
	// one shows at once (and is the default if it is the first).
	if list := d.methods(user); !slices.ContainsFunc(list.Methods, func(m client.PaymentMethod) bool { return m.ID == pm }) {
		d.t.Fatalf("card %s not listed right after it was added: %+v", pm, list.Methods)
	}
	return pm
}

// checkout opens a checkout session for user and submits the hosted page's
// form with a card number, without following the redirect.
func (d *dev) checkout(user, cardNumber string) (setup *client.PaymentMethodSetup, resp *http.Response, page string) {
	d.t.Helper()
	setup, err := d.client.CreatePaymentMethod(ctx(d.t), client.CreatePaymentMethodParams{
		AppUserID: user, Type: client.TypeCheckout,
		SuccessURL: d.facts.BaseURL + "/healthz?session={CHECKOUT_SESSION_ID}",
		CancelURL:  d.facts.BaseURL + "/healthz?cancelled=1",
	})
	if err != nil {
		d.t.Fatal(err)
	}
	if !strings.HasPrefix(setup.CheckoutURL, d.facts.StripeAPIBase+"/") {
		d.t.Fatalf("checkoutUrl %q is not on the sandbox", setup.CheckoutURL)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get, err := noRedirect.Get(setup.CheckoutURL)
	if err != nil {
		d.t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != 200 {
		d.t.Fatalf("GET checkout page: HTTP %d", get.StatusCode)
	}
	resp, err = noRedirect.PostForm(setup.CheckoutURL, url.Values{
		"cardNumber": {cardNumber}, "cardExpiry": {"12 / 34"}, "cardCvc": {"123"}, "billingName": {"Jenny Rosen"},
	})
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return setup, resp, b.String()
}

func (d *dev) methods(user string) *client.PaymentMethodList {
	d.t.Helper()
	list, err := d.client.PaymentMethods(ctx(d.t), user)
	if err != nil {
		d.t.Fatal(err)
	}
	return list
}

func TestSetupIntentFlow(t *testing.T) {
	d := startDev(t)
	pm := d.mustAddCard("u1", "pm_card_visa")

	list := d.methods("u1")
	if len(list.Methods) != 1 || list.Methods[0].ID != pm {
		t.Fatalf("methods = %+v; want just %s", list.Methods, pm)
	}
	card := list.Methods[0].Card
	if card == nil || card.Brand != "visa" || card.Last4 != "4242" || card.ExpYear < time.Now().Year() || card.Fingerprint == "" {
		t.Errorf("card = %+v", card)
	}

	// A declined card: Stripe's 402 card_error, and nothing is added.
	status, body := d.addBySetupIntent("u1", "pm_card_chargeDeclined")
	errObj, _ := body["error"].(map[string]any)
	if status != 402 || errObj["type"] != "card_error" || errObj["decline_code"] == nil {
		t.Errorf("declined confirm: HTTP %d %v; want 402 card_error with a decline_code", status, body)
	}
	if n := len(d.methods("u1").Methods); n != 1 {
		t.Errorf("after a decline: %d methods, want 1", n)
	}
}

func TestCheckoutFlow(t *testing.T) {
	d := startDev(t)
	setup, resp, _ := d.checkout("u1", "4242 4242 4242 4242")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: HTTP %d, want 303", resp.StatusCode)
	}
	if want := d.facts.BaseURL + "/healthz?session=" + setup.CheckoutID; resp.Header.Get("Location") != want {
		t.Errorf("redirect to %q, want %q", resp.Header.Get("Location"), want)
	}
	list := d.methods("u1")
	if len(list.Methods) != 1 || list.Methods[0].Card == nil || list.Methods[0].Card.Last4 != "4242" {
		t.Fatalf("methods after checkout = %+v", list.Methods)
	}

	_, resp, page := d.checkout("u1", "4000 0000 0000 0002")
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(strings.ToLower(page), "declined") {
		t.Errorf("declined card: HTTP %d, page without the decline", resp.StatusCode)
	}
	if n := len(d.methods("u1").Methods); n != 1 {
		t.Errorf("after a declined checkout: %d methods, want 1", n)
	}
}

func TestDefaultAndGuardedRemoval(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	older := d.mustAddCard("u1", "pm_card_visa")
	newer := d.mustAddCard("u1", "pm_card_mastercard")
	if _, err := d.client.SetDefaultPaymentMethod(c, "u1", older); err != nil {
		t.Fatal(err)
	}
	if got := d.methods("u1").DefaultMethodID; got != older {
		t.Fatalf("default = %q, want %q", got, older)
	}
	d.cli("sandbox", "subscribe", "--user", "u1", "--price", "monthly")

	removed, err := d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: older})
	if err != nil {
		t.Fatal(err)
	}
	if removed.NewDefaultMethodID != newer {
		t.Errorf("newDefaultMethodId = %q, want %q", removed.NewDefaultMethodID, newer)
	}
	_, err = d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: newer})
	if !client.IsLastMethod(err) {
		t.Fatalf("removing the last method of an active subscription: err = %v, want 1005", err)
	}
	if _, err := d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: newer, Force: true}); err != nil {
		t.Fatalf("forced removal: %v", err)
	}
	if n := len(d.methods("u1").Methods); n != 0 {
		t.Errorf("%d methods left, want 0", n)
	}
}

func TestRenewalsMakeInvoices(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	d.mustAddCard("u1", "pm_card_visa")
	d.mustAddCard("u2", "pm_card_amex")
	d.cli("sandbox", "subscribe", "--user", "u1", "--price", "monthly")
	d.cli("sandbox", "subscribe", "--user", "u2", "--price", "yearly")
	d.cli("sandbox", "advance", "--days", "31")

	for _, tt := range []struct {
		user, price, period string
		invoices            int
	}{
		{"u1", d.facts.Prices["monthly"], "P1M", 2},
		{"u2", d.facts.Prices["yearly"], "P1Y", 1},
	} {
		var page *client.InvoicePage
		eventually(t, tt.user+"'s paid invoices in the mirror", func() bool {
			var err error
			if page, err = d.client.Invoices(c, client.InvoicesParams{AppUserID: tt.user}); err != nil {
				t.Fatal(err)
			}
			paid := 0
			for _, inv := range page.Invoices {
				if inv.InvoiceStatus == "paid" {
					paid++
				}
			}
			return paid == tt.invoices
		})
		if len(page.Invoices) != tt.invoices {
			t.Fatalf("%s: %d invoices, want %d", tt.user, len(page.Invoices), tt.invoices)
		}
		for i, inv := range page.Invoices {
			if inv.ProductID != tt.price || inv.ProductPeriod != tt.period || inv.InvoiceStatus != "paid" || inv.OrderStatus != 1 ||
				!strings.HasPrefix(inv.OriginOrderID, "sub_") || inv.PaidAt == "0" {
				t.Errorf("%s invoice %d = %+v", tt.user, i, inv)
			}
			if anchor, _ := strconv.ParseInt(inv.BillingCycleAnchor, 10, 64); anchor <= 0 {
				t.Errorf("%s invoice %d: billingCycleAnchor %q, want the next charge time", tt.user, i, inv.BillingCycleAnchor)
			}
			for _, link := range []string{inv.InvoicePDF, inv.HostedInvoiceURL} {
				resp, err := http.Get(link)
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("%s: GET %s: %v %v", tt.user, link, resp, err)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}
		if len(page.Invoices) == 2 && page.Invoices[0].Created < page.Invoices[1].Created {
			t.Errorf("%s: invoices not newest first", tt.user)
		}
	}
}

func TestDeclinedRenewal(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	good := d.mustAddCard("u1", "pm_card_visa")
	d.cli("sandbox", "subscribe", "--user", "u1", "--price", "monthly")
	failing := d.mustAddCard("u1", "pm_card_chargeCustomerFail")
	if _, err := d.client.SetDefaultPaymentMethod(c, "u1", failing); err != nil {
		t.Fatal(err)
	}
	if _, err := d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: good}); err != nil {
		t.Fatal(err)
	}
	d.cli("sandbox", "advance", "--days", "31")

	var page *client.InvoicePage
	eventually(t, "the declined renewal in the mirror", func() bool {
		// The subscription first: invoices read after it show at least the
		// status it had, the mirror only moving forward.
		subs, err := d.client.Subscriptions(c, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if page, err = d.client.Invoices(c, client.InvoicesParams{AppUserID: "u1"}); err != nil {
			t.Fatal(err)
		}
		return len(page.Invoices) == 2 && page.Invoices[0].InvoiceStatus == "open" && len(subs) == 1 && subs[0].Status == "past_due"
	})
	renewal, first := page.Invoices[0], page.Invoices[1]
	if renewal.InvoiceStatus != "open" || renewal.PaidAt != "0" || renewal.OrderStatus != 3 {
		t.Errorf("declined renewal = %+v; want open, unpaid, orderStatus 3 (past_due)", renewal)
	}
	if first.InvoiceStatus != "paid" {
		t.Errorf("first invoice = %+v; want paid", first)
	}
	subs, err := d.client.Subscriptions(c, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Status != "past_due" || subs[0].OrderStatus != 3 {
		t.Errorf("subscriptions = %+v; want one past_due", subs)
	}
}

// stripeCalls reads appwheel_stripe_requests_total, summed, from /metrics.
func (d *dev) stripeCalls() float64 {
	d.t.Helper()
	resp, err := http.Get(d.facts.BaseURL + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		d.t.Fatal(err)
	}
	total, lines := 0.0, 0
	for line := range strings.Lines(b.String()) {
		if !strings.HasPrefix(line, "appwheel_stripe_requests_total{") {
			continue
		}
		lines++
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			d.t.Fatalf("metrics line %q: %v", line, err)
		}
		total += v
	}
	// Every operation and outcome is initialised at start: no line means
	// the metric was not read, and a comparison of totals would prove nothing.
	if lines == 0 {
		d.t.Fatal("no appwheel_stripe_requests_total in /metrics")
	}
	return total
}

// settledStripeCalls waits until background work (webhook events and their
// re-fetches) stops calling Stripe, and returns the total then.
func (d *dev) settledStripeCalls() float64 {
	d.t.Helper()
	var settled float64
	eventually(d.t, "Stripe calls to settle", func() bool {
		a := d.stripeCalls()
		time.Sleep(300 * time.Millisecond)
		settled = d.stripeCalls()
		return a == settled
	})
	return settled
}

// TestSyncedReadsMakeNoStripeCall shows with the Stripe-call metric that
// once a user's mirror is synced (and no setup is pending), reads of
// payment methods, invoices and subscriptions make no Stripe call.
func TestSyncedReadsMakeNoStripeCall(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	d.mustAddCard("u1", "pm_card_visa")
	d.cli("sandbox", "subscribe", "--user", "u1", "--price", "monthly")
	eventually(t, "the subscription and its invoice in the mirror", func() bool {
		page, err := d.client.Invoices(c, client.InvoicesParams{AppUserID: "u1"})
		return err == nil && len(page.Invoices) == 1 && page.Invoices[0].InvoiceStatus == "paid"
	})
	// The webhook saying the setup finished ends the pending window; wait
	// until background work (event re-fetches) has settled.
	before := d.settledStripeCalls()
	// The setup and the subscription called Stripe: a zero here would mean
	// the metric was not read at all, and the check below could not fail.
	if before == 0 {
		t.Fatal("appwheel_stripe_requests_total is 0 after calls that reach Stripe")
	}
	for range 5 {
		if _, err := d.client.PaymentMethods(c, "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.client.Invoices(c, client.InvoicesParams{AppUserID: "u1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.client.Subscriptions(c, "u1"); err != nil {
			t.Fatal(err)
		}
	}
	if after := d.stripeCalls(); after != before {
		t.Errorf("appwheel_stripe_requests_total went from %v to %v over 15 synced reads; want no change", before, after)
	}
}
