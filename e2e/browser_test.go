package e2e_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appwheel/appwheel/client"
)

// chromium finds headless Chromium (Debian's package). Without it the test
// is skipped, unless APPWHEEL_REQUIRE_CHROMIUM is set (scripts/test sets
// it after installing Chromium), when it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("APPWHEEL_REQUIRE_CHROMIUM") != "" {
		t.Fatal("Chromium not found and APPWHEEL_REQUIRE_CHROMIUM is set")
	}
	t.Skip("Chromium not found (apt-get install chromium)")
	return ""
}

// typeCard fills the sandbox's Checkout page with a test card.
func typeCard(number string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.CSS("#cardNumber"), number),
		chromedp.SendKeys(chromedp.CSS("#cardExpiry"), "12 / 34"),
		chromedp.SendKeys(chromedp.CSS("#cardCvc"), "123"),
		chromedp.SendKeys(chromedp.CSS("#billingName"), "Jenny Rosen"),
	}
}

// TestCheckoutPageInBrowser opens the checkoutUrl AppWheel hands out in a
// real browser, types a test card, submits, lands on the successUrl and
// then finds the card through paymentMethod.
func TestCheckoutPageInBrowser(t *testing.T) {
	exe := chromium(t)
	d := startDev(t)
	setup, err := d.client.CreatePaymentMethod(ctx(t), client.CreatePaymentMethodParams{
		AppUserID: "browser-user", Type: client.TypeCheckout,
		SuccessURL: d.facts.BaseURL + "/healthz?session={CHECKOUT_SESSION_ID}",
		CancelURL:  d.facts.BaseURL + "/healthz?cancelled=1",
	})
	if err != nil {
		t.Fatal(err)
	}

	browser := newBrowser(t, exe).ctx

	if err := chromedp.Do(browser,
		chromedp.Navigate(setup.CheckoutURL),
		chromedp.WaitVisible(chromedp.CSS("#cardNumber")),
	); err != nil {
		t.Fatalf("opening the checkout page: %v", err)
	}
	title, err := chromedp.Run(browser, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(browser, typeCard("4242 4242 4242 4242")...); err != nil {
		t.Fatalf("typing the card: %v", err)
	}
	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS("#submit"))); err != nil {
		t.Fatalf("submitting: %v", err)
	}
	// The browser follows the redirect to the successUrl.
	var landed string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if landed, err = chromedp.Run(browser, chromedp.Location()); err == nil && strings.Contains(landed, "/healthz") {
			break
		}
	}
	if dir := os.Getenv("APPWHEEL_SCREENSHOTS"); dir != "" {
		os.WriteFile(dir+"/checkout.jpg", shot, 0o644)
	}
	if !strings.Contains(strings.ToLower(title), "sandbox") {
		t.Errorf("page title %q does not say it is the sandbox", title)
	}
	if want := d.facts.BaseURL + "/healthz?session=" + setup.CheckoutID; landed != want {
		t.Errorf("landed on %q, want %q", landed, want)
	}
	list := d.methods("browser-user")
	if len(list.Methods) != 1 || list.Methods[0].Card == nil || list.Methods[0].Card.Last4 != "4242" {
		t.Errorf("methods after the browser checkout = %+v", list.Methods)
	}
}
