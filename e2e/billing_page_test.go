package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/appwheel/appwheel/client"
)

// TestBillingPageInBrowser walks the hosted billing page in headless
// Chromium against `appwheel dev`, as a user would: add two cards through
// the sandbox's Checkout, make the second the default, get subscribed,
// remove the default (the subscription moves to the other card), be
// refused the last card, see the renewal's invoice and follow its PDF link;
// then the Chinese page and a phone's width. With APPWHEEL_SCREENSHOTS set
// (scripts/screenshots) it saves the page's screenshots there.
func TestBillingPageInBrowser(t *testing.T) {
	exe := chromium(t)
	d := startDev(t)
	const user = "page-user"
	b := newBrowser(t, exe)

	b.open(d.portalLink(user, "en"))
	b.wantText("Payment methods", "No card yet")

	// The first card, through the sandbox's hosted Checkout.
	b.addCard("4242 4242 4242 4242")
	b.wantText("Your card was added.", "Visa •••• 4242")
	if got := b.defaultCard(); got != "Visa •••• 4242" {
		t.Fatalf("default card %q, want the first card", got)
	}
	b.addCard("5555 5555 5555 4444")
	b.wantText("Your card was added.", "Mastercard •••• 4444", "Visa •••• 4242")

	// Make the Mastercard the default: a confirmation, then the outcome.
	b.click(`a[aria-label="Make Mastercard •••• 4444 the default card"]`)
	b.wantText("Make Mastercard •••• 4444 your default card?")
	b.click(`form.actions button[type=submit]`)
	b.wantText("Your default card was changed.")
	if got := b.defaultCard(); got != "Mastercard •••• 4444" {
		t.Fatalf("default card %q after making the Mastercard default", got)
	}

	// The app's backend subscribes the user; the page shows the card charged.
	d.cli("sandbox", "subscribe", "--user", user, "--price", "monthly")
	b.reloadUntil("the subscription", func() bool { return b.count("tr.subscription") == 1 })
	if got := b.text("tr.subscription .sub-card"); got != "Mastercard •••• 4444" {
		t.Fatalf("the subscription charges %q, want the Mastercard", got)
	}
	if got := b.text("tr.subscription td:first-child"); got != "Pro (monthly)" {
		t.Errorf("the subscription's plan reads %q, want the price's nickname and its period", got)
	}
	paidInvoices := b.count("tr.invoice a.invoice-pdf")

	// Removing the default moves the subscription to the Visa, and says so.
	b.click(`a[aria-label="Remove Mastercard •••• 4444"]`)
	b.wantText("Remove Mastercard •••• 4444?", "will be charged to Visa •••• 4242 instead.")
	b.click(`form.actions button[type=submit]`)
	b.wantText("The card was removed.", "is now charged to Visa •••• 4242.")
	if got := b.text("tr.subscription .sub-card"); got != "Visa •••• 4242" {
		t.Fatalf("after the removal the subscription charges %q, want the Visa", got)
	}
	if strings.Contains(b.text("ul.cards"), "4444") {
		t.Fatal("the removed card is still listed")
	}

	// The last card of a live subscription: refused, with the reason and
	// the way out.
	b.click(`a[aria-label="Remove Visa •••• 4242"]`)
	b.wantText("It is the only card your active subscription can be charged to", "Add another card first")
	if b.count(`form.actions button[type=submit]`) != 0 {
		t.Fatal("the blocked confirmation still offers to remove the card")
	}
	b.click(`a.button.secondary`) // Cancel
	b.wantText("Visa •••• 4242")

	// A month on: the renewal's invoice, and its PDF link works.
	d.cli("sandbox", "advance", "--days", "31")
	b.reloadUntil("the renewal's invoice, paid", func() bool { return b.count("tr.invoice a.invoice-pdf") > paidInvoices })
	pdf := b.attr("tr.invoice:first-child a.invoice-pdf", "href") // the newest
	if !strings.Contains(pdf, "/invoice-links/") {
		t.Fatalf("the invoice's PDF link %q is not AppWheel's own", pdf)
	}
	resp, err := http.Get(pdf)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("the invoice's PDF link %s: status %d, type %q", pdf, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	shots := b.screenshots()
	shots.take("en-desktop")

	// A phone's width: nothing wider than the screen.
	b.viewport(390, 844)
	b.reload()
	if w := b.eval(`document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("at a phone's width the page is %v px wider than the screen", w)
	}
	shots.take("en-phone")

	// The Chinese page.
	b.viewport(1280, 900)
	b.open(d.portalLink(user, "zh-CN"))
	b.wantText("付款方式", "订阅", "发票", "Visa •••• 4242", "生效中")
	if lang := b.attr("html", "lang"); lang != "zh-CN" {
		t.Errorf(`<html lang=%q>, want "zh-CN"`, lang)
	}
	shots.take("zh-desktop")
	b.viewport(390, 844)
	b.reload()
	shots.take("zh-phone")

	// What protects the page, as a plain client sees it.
	page, err := http.Get(d.portalLink(user, ""))
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	csp := page.Header.Get("Content-Security-Policy")
	if page.StatusCode != 200 || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		page.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the page: status %d, CSP %q, X-Frame-Options %q", page.StatusCode, csp, page.Header.Get("X-Frame-Options"))
	}
}

// portalLink is a session link for user, made as the app's backend makes it.
func (d *dev) portalLink(user, locale string) string {
	d.t.Helper()
	s, err := d.client.CreatePortalSession(ctx(d.t), client.PortalSessionParams{
		AppUserID: user, ReturnURL: d.facts.BaseURL + "/healthz", Locale: locale,
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return s.URL
}

// browser is a headless Chromium tab, failing its test on any error.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, exe string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first run starts the browser, which lives as long as the context
	// it ran on: this one, not a step's shorter-lived child.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *browser) open(u string) {
	b.t.Helper()
	b.do("opening "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("h1")))
}

func (b *browser) reload() {
	b.t.Helper()
	b.do("reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1")))
}

// click clicks the element sel and waits for the next page.
func (b *browser) click(sel string) {
	b.t.Helper()
	before := b.location()
	b.do("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
	for deadline := time.Now().Add(15 * time.Second); b.location() == before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatalf("clicking %s led nowhere", sel)
		}
	}
	b.do("waiting for the page after "+sel, chromedp.WaitVisible(chromedp.CSS("h1")))
}

func (b *browser) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// addCard adds a card through the page's button and the sandbox's Checkout.
func (b *browser) addCard(number string) {
	b.t.Helper()
	b.do("opening Checkout",
		chromedp.Click(chromedp.CSS(`form[action$="/add"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#cardNumber")))
	b.do("typing the card", typeCard(number)...)
	b.do("submitting the card", chromedp.Click(chromedp.CSS("#submit")))
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(b.location(), "done=added"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatalf("Checkout did not send the user back to the page (at %s)", b.location())
		}
	}
	b.do("the page after Checkout", chromedp.WaitVisible(chromedp.CSS("h1")))
}

// text is the text of the first element sel, "" when there is none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return b.evalString(fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent.trim()`, sel))
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return b.evalString(fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute(%q) || ""`, sel, name))
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	return int(b.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
}

// defaultCard is the label of the card marked default.
func (b *browser) defaultCard() string {
	b.t.Helper()
	return b.evalString(`(() => { const d = document.querySelector("li.card .badge-default"); return d ? d.closest("li").querySelector(".card-label").textContent : "" })()`)
}

func (b *browser) eval(js string) float64 {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (b *browser) evalString(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// wantText fails unless the page's text has every part.
func (b *browser) wantText(parts ...string) {
	b.t.Helper()
	body := b.text("body")
	for _, p := range parts {
		if !strings.Contains(body, p) {
			b.t.Fatalf("the page at %s lacks %q; it says:\n%s", b.location(), p, body)
		}
	}
}

// reloadUntil reloads the page until cond holds: what Stripe does reaches
// the mirror through webhooks, a moment later.
func (b *browser) reloadUntil(what string, cond func() bool) {
	b.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s; the page says:\n%s", what, b.text("body"))
		}
		b.reload()
	}
}

func (b *browser) viewport(w, h int64) {
	b.t.Helper()
	b.do("setting the viewport", chromedp.EmulateViewport(w, h))
}

// screenshots saves full-page screenshots under APPWHEEL_SCREENSHOTS, as
// portal-NAME.png; without it, it does nothing.
type screenshots struct {
	b   *browser
	dir string
}

func (b *browser) screenshots() screenshots {
	return screenshots{b: b, dir: os.Getenv("APPWHEEL_SCREENSHOTS")}
}

func (s screenshots) take(name string) {
	s.b.t.Helper()
	if s.dir == "" {
		return
	}
	png, err := chromedp.Run(s.b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "portal-"+name+".png"), png, 0o644); err != nil {
		s.b.t.Fatal(err)
	}
}
