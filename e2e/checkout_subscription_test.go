package e2e_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appwheel/appwheel/client"
)

// TestCheckoutSubscriptionInBrowser is an app's own subscription code on
// the sandbox: its backend opens a Checkout Session in subscription mode
// for the customer AppWheel made for a user, the user subscribes on the
// hosted page in a real browser, and AppWheel's mirror, fed by the
// sandbox's webhooks, then shows the subscription, its paid invoice and
// the card.
func TestCheckoutSubscriptionInBrowser(t *testing.T) {
	exe := chromium(t)
	d := startDev(t)
	const user = "checkout-subscriber"
	setup, err := d.client.CreatePaymentMethod(ctx(t), client.CreatePaymentMethodParams{AppUserID: user, Type: client.TypeSetupIntent})
	if err != nil {
		t.Fatal(err)
	}
	_, si := d.stripe("GET", "/v1/setup_intents/"+setup.SetupIntentID, nil)
	cus, _ := si["customer"].(string)
	status, cs := d.stripe("POST", "/v1/checkout/sessions", url.Values{
		"mode": {"subscription"}, "customer": {cus},
		"line_items[0][price]": {d.facts.Prices["monthly"]}, "line_items[0][quantity]": {"1"},
		"success_url": {d.facts.BaseURL + "/healthz?session={CHECKOUT_SESSION_ID}"},
	})
	pageURL, _ := cs["url"].(string)
	if status != 200 || pageURL == "" {
		t.Fatalf("creating the session: %d %v", status, cs)
	}

	browser := newBrowser(t, exe).ctx
	if err := chromedp.Do(browser, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#cardNumber"))); err != nil {
		t.Fatalf("opening the checkout page: %v", err)
	}
	plan, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS("#plan")))
	if err != nil || !strings.Contains(plan, "$9.99 / month") {
		t.Errorf("the page's plan reads %q (%v), want the monthly price", plan, err)
	}
	if err := chromedp.Do(browser, typeCard("4242 4242 4242 4242")...); err != nil {
		t.Fatalf("typing the card: %v", err)
	}
	if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS("#submit"))); err != nil {
		t.Fatalf("submitting: %v", err)
	}
	var landed string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if landed, err = chromedp.Run(browser, chromedp.Location()); err == nil && strings.Contains(landed, "/healthz") {
			break
		}
	}
	if want := d.facts.BaseURL + "/healthz?session=" + cs["id"].(string); landed != want {
		t.Fatalf("landed on %q, want %q", landed, want)
	}

	c := ctx(t)
	eventually(t, "the subscription, its paid invoice and the card in AppWheel's mirror", func() bool {
		subs, err := d.client.Subscriptions(c, user)
		if err != nil || len(subs) != 1 || subs[0].Status != "active" || subs[0].ProductName != "Pro" {
			return false
		}
		page, err := d.client.Invoices(c, client.InvoicesParams{AppUserID: user})
		if err != nil || len(page.Invoices) != 1 || page.Invoices[0].InvoiceStatus != "paid" || page.Invoices[0].AmountPaid != 999 {
			return false
		}
		methods, err := d.client.PaymentMethods(c, user)
		return err == nil && len(methods.Methods) == 1 && methods.Methods[0].Card != nil && methods.Methods[0].Card.Last4 == "4242" &&
			subs[0].PaymentMethodID == methods.Methods[0].ID
	})
}
