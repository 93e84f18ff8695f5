package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
	"github.com/appwheel/appwheel/portal"
)

// The billing page over the real API server, SQLite and the billing
// service, with the fake Stripe provider.

// base is the public URL the portal's links point at; requests to it go to
// the test server.
const base = "https://billing.example.test"

type env struct {
	*apitest.Env
	portal *portal.Service
	t      *testing.T
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.Env = apitest.New(t, func(c *appwheelhttp.Config) {
		p, err := portal.New(portal.Config{Billing: c.Billing, Apps: c.Apps, Key: bytes.Repeat([]byte{7}, 32), BaseURL: base, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		e.portal, c.Portal = p, p
	})
	return e
}

// response is one answer of the portal.
type response struct {
	status int
	header http.Header
	body   string
}

// send makes a request to a portal URL (under base), following no redirect.
func (e *env) send(method, u string, form url.Values, header ...string) response {
	e.t.Helper()
	target, ok := strings.CutPrefix(u, base)
	if !ok {
		e.t.Fatalf("URL %q is not under %s", u, base)
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.Server.URL+target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// session creates a session link for user.
func (e *env) session(app *appwheel.App, user, locale string) string {
	e.t.Helper()
	s, err := e.portal.CreateSession(context.Background(), app, portal.SessionParams{
		AppUserID: user, ReturnURL: "https://shop.example.com/account", Locale: locale,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s.URL
}

// open opens a session link and returns the page it leads to.
func (e *env) open(app *appwheel.App, user, locale string, header ...string) (pageURL string, page response) {
	e.t.Helper()
	r := e.send("GET", e.session(app, user, locale), nil, header...)
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("opening the link: status %d, want 303\n%s", r.status, r.body)
	}
	pageURL = r.header.Get("Location")
	page = e.send("GET", pageURL, nil, header...)
	if page.status != http.StatusOK {
		e.t.Fatalf("the page: status %d\n%s", page.status, page.body)
	}
	return pageURL, page
}

// customer gives user a Stripe customer, as adding a first card does.
func (e *env) customer(app *appwheel.App, user string) string {
	e.t.Helper()
	cus := e.Stripe.AddCustomer(app.Stripe, app.ID, user)
	if _, err := e.Store.PutCustomer(context.Background(), app.ID, user, cus.ID, e.Clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	return cus.ID
}

// userWithCards gives user a customer with cards ("brand last4" each), the
// first its default.
func (e *env) userWithCards(app *appwheel.App, user string, cards ...string) (string, []*appwheel.PaymentMethod) {
	e.t.Helper()
	cus := e.customer(app, user)
	var pms []*appwheel.PaymentMethod
	for _, c := range cards {
		brand, last4, _ := strings.Cut(c, " ")
		pms = append(pms, e.Stripe.AttachCard(app.Stripe, cus, brand, last4))
	}
	if len(pms) > 0 {
		if err := e.Stripe.SetDefaultPaymentMethod(context.Background(), app.Stripe, cus, pms[0].ID, ""); err != nil {
			e.t.Fatal(err)
		}
	}
	return cus, pms
}

// wantNothingDetached fails when a card was detached at Stripe.
func (e *env) wantNothingDetached(t *testing.T) {
	t.Helper()
	if n := e.Stripe.Calls("DetachPaymentMethod"); n != 0 {
		t.Errorf("%d detach calls, want 0", n)
	}
}

var (
	actionRe = regexp.MustCompile(`action="([^"]+)"`)
	csrfRe   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// form returns the URL and anti-forgery token of a page's form whose action
// ends in suffix.
func form(t *testing.T, page, suffix string) (action, csrf string) {
	t.Helper()
	for _, m := range actionRe.FindAllStringSubmatch(page, -1) {
		if strings.HasSuffix(m[1], suffix) {
			action = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	c := csrfRe.FindStringSubmatch(page)
	if action == "" || c == nil {
		t.Fatalf("no form posting to …%s on the page:\n%s", suffix, page)
	}
	return action, c[1]
}

func wantContains(t *testing.T, r response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Errorf("the page (status %d) lacks %q:\n%s", r.status, p, r.body)
		}
	}
}

func TestPageShowsCardsSubscriptionsAndInvoices(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	cus, _ := e.userWithCards(app, "u1", "visa 4242", "mastercard 4444")
	end := time.Date(2031, 1, 15, 0, 0, 0, 0, time.UTC).Unix()
	sub := e.Stripe.AddSubscription(app.Stripe, cus, appwheel.Subscription{PriceID: "price_pro", PriceNickname: "Pro", Interval: "month", IntervalCount: 1, CurrentPeriodEnd: end})
	e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{
		CustomerID: cus, SubscriptionID: sub.ID, PriceID: "price_pro", Number: "INV-0001", Status: "paid",
		AmountDue: 1234, AmountPaid: 1234, Currency: "usd", InvoicePDF: "https://files.example/in.pdf",
		HostedInvoiceURL: "https://invoices.example/in", Created: time.Date(2030, 12, 15, 0, 0, 0, 0, time.UTC).Unix(),
	})

	_, page := e.open(app, "u1", "en")
	wantContains(t, page, `<html lang="en">`, "Visa •••• 4242", "Mastercard •••• 4444", "Default",
		"Pro (monthly)", "Active", // a price with a nickname is shown by it
		"Jan 15, 2031 · $12.34", // the next charge: date and the last invoice's amount
		"Dec 15, 2030", "INV-0001", "$12.34", "Paid", `href="https://files.example/in.pdf"`,
		`href="https://shop.example.com/account"`)
	if n := strings.Count(page.body, `badge-default`); n != 1 {
		t.Errorf("%d cards marked default, want 1", n)
	}
	// The subscription charges the default card.
	if !regexp.MustCompile(`class="sub-card">Visa •••• 4242<`).MatchString(page.body) {
		t.Errorf("the subscription does not say it charges the Visa:\n%s", page.body)
	}

	csp := page.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(page.body, "<script") {
		t.Errorf("the page allows or has inline script/style: %q", csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := page.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

func TestPageInTheUsersLanguage(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	cus := e.customer(app, "u1")
	e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{
		CustomerID: cus, Number: "INV-7", Status: "open", AmountDue: 500000, Currency: "jpy",
		Created: time.Date(2030, 3, 9, 0, 0, 0, 0, time.UTC).Unix(),
	})
	for _, c := range []struct {
		name, locale, acceptLanguage string
		want                         []string
	}{
		{"session zh-CN", "zh-CN", "en-US", []string{`<html lang="zh-CN">`, "付款方式", "2030年3月9日", "JP¥500,000", "待支付"}},
		{"browser zh", "", "zh-TW,zh;q=0.9,en;q=0.5", []string{`<html lang="zh-CN">`, "发票"}},
		{"session en over a Chinese browser", "en", "zh-CN", []string{`<html lang="en">`, "Payment methods", "Mar 9, 2030", "¥500,000", "Due"}},
		{"browser fr: English", "", "fr-FR,fr;q=0.9", []string{`<html lang="en">`, "Invoices"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, page := e.open(app, "u1", c.locale, "Accept-Language", c.acceptLanguage)
			wantContains(t, page, c.want...)
		})
	}
}

func TestRemovingAnotherUsersCardIsRefused(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	mine := e.customer(app, "u1")
	e.Stripe.AttachCard(app.Stripe, mine, "visa", "4242")
	theirs := e.customer(app, "u2")
	victim := e.Stripe.AttachCard(app.Stripe, theirs, "visa", "1881")

	_, page := e.open(app, "u1", "en")
	action, csrf := form(t, page.body, "/add")
	removeURL := strings.TrimSuffix(action, "/add") + "/remove"
	r := e.send("POST", removeURL, url.Values{"csrf": {csrf}, "pm": {victim.ID}})
	if r.status != http.StatusNotFound {
		t.Fatalf("removing u2's card from u1's page: status %d, want 404\n%s", r.status, r.body)
	}
	wantContains(t, r, "Card not found")
	// Nor does its confirmation page show it.
	if c := e.send("GET", strings.TrimSuffix(action, "/add")+"/confirm?action=remove&pm="+victim.ID, nil); c.status != http.StatusNotFound {
		t.Errorf("confirming u2's card on u1's page: status %d, want 404", c.status)
	}
	methods, err := e.Stripe.PaymentMethods(context.Background(), app.Stripe, theirs)
	if err != nil || len(methods) != 1 || methods[0].ID != victim.ID {
		t.Fatalf("u2's cards = %v (%v), want %s still attached", methods, err, victim.ID)
	}
	e.wantNothingDetached(t)
}

func TestFormsNeedTheirAntiForgeryToken(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	cus := e.customer(app, "u1")
	card := e.Stripe.AttachCard(app.Stripe, cus, "visa", "4242")
	e.Stripe.AttachCard(app.Stripe, cus, "visa", "1111")

	pageURL, _ := e.open(app, "u1", "en")
	confirm := e.send("GET", pageURL+"/confirm?action=remove&pm="+card.ID, nil)
	wantContains(t, confirm, "Remove Visa •••• 4242?")
	action, csrf := form(t, confirm.body, "/remove")
	_, otherVisitCSRF := form(t, func() string { _, p := e.open(app, "u1", "en"); return p.body }(), "/add")
	if otherVisitCSRF == csrf {
		t.Fatal("two visits have the same anti-forgery token")
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", url.Values{"pm": {card.ID}}, nil},
		{"another visit's token", url.Values{"pm": {card.ID}, "csrf": {otherVisitCSRF}}, nil},
		{"a forged token", url.Values{"pm": {card.ID}, "csrf": {strings.Repeat("A", len(csrf))}}, nil},
		{"posted cross-site", url.Values{"pm": {card.ID}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.send("POST", action, c.form, c.header...)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403\n%s", r.status, r.body)
			}
			wantContains(t, r, "This form was not sent from the billing page")
		})
	}
	e.wantNothingDetached(t)
	// The page's own form works.
	r := e.send("POST", action, url.Values{"pm": {card.ID}, "csrf": {csrf}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("the page's own form: status %d, want 303\n%s", r.status, r.body)
	}
	after := e.send("GET", r.header.Get("Location"), nil)
	wantContains(t, after, "The card was removed.", "Visa •••• 1111")
	if strings.Contains(after.body, "4242") {
		t.Errorf("the removed card is still listed:\n%s", after.body)
	}
}

func TestExpiredTamperedAndDisabledLinks(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	e.customer(app, "u1")

	friendly := func(t *testing.T, r response) {
		t.Helper()
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "This link is no longer valid") ||
			!strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("status %d, type %q, want 404 and the friendly page\n%s", r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	t.Run("tampered", func(t *testing.T) {
		link := e.session(app, "u1", "")
		i := len(base+"/portal/") + 20
		flipped := link[:i] + string("AB"[map[bool]int{true: 1, false: 0}[link[i] == 'A']]) + link[i+1:]
		friendly(t, e.send("GET", flipped, nil))
		friendly(t, e.send("GET", base+"/portal/not-a-token", nil))
	})
	t.Run("an opening link is not a visit", func(t *testing.T) {
		link := e.session(app, "u1", "")
		friendly(t, e.send("GET", strings.Replace(link, "/portal/", "/portal/v/", 1), nil))
	})
	t.Run("expired link", func(t *testing.T) {
		link := e.session(app, "u1", "")
		e.Clock.Advance(portal.DefaultOpenTTL + time.Second)
		friendly(t, e.send("GET", link, nil))
	})
	t.Run("a visit lasts while the user acts", func(t *testing.T) {
		pageURL, _ := e.open(app, "u1", "")
		e.Clock.Advance(50 * time.Minute)
		page := e.send("GET", pageURL, nil)
		if page.status != http.StatusOK {
			t.Fatalf("after 50 idle minutes: status %d", page.status)
		}
		action, _ := form(t, page.body, "/add")
		renewed := strings.TrimSuffix(action, "/add")
		e.Clock.Advance(50 * time.Minute) // 100 minutes in, 50 after the last step
		if r := e.send("GET", renewed, nil); r.status != http.StatusOK {
			t.Fatalf("the renewed visit after 50 more minutes: status %d", r.status)
		}
		friendly(t, e.send("GET", pageURL, nil)) // the first token: 100 minutes idle
		e.Clock.Advance(portal.DefaultVisitTTL)
		friendly(t, e.send("GET", renewed, nil))
	})
	t.Run("disabled app", func(t *testing.T) {
		pageURL, _ := e.open(app, "u1", "")
		if _, err := e.Apps.SetDisabled(context.Background(), app.ID, true); err != nil {
			t.Fatal(err)
		}
		defer e.Apps.SetDisabled(context.Background(), app.ID, false)
		friendly(t, e.send("GET", pageURL, nil))
	})
}

func TestTheLastCardOfALiveSubscriptionStays(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	cus, cards := e.userWithCards(app, "u1", "visa 4242")
	card := cards[0]
	e.Stripe.AddSubscription(app.Stripe, cus, appwheel.Subscription{PriceID: "price_pro", Interval: "month", IntervalCount: 1, CurrentPeriodEnd: time.Now().Add(20 * 24 * time.Hour).Unix()})

	pageURL, page := e.open(app, "u1", "en")
	action, csrf := form(t, page.body, "/add")
	confirm := e.send("GET", pageURL+"/confirm?action=remove&pm="+card.ID, nil)
	wantContains(t, confirm, "It is the only card your active subscription can be charged to", "Add another card first", "/add")
	if strings.Contains(confirm.body, "/remove\"") {
		t.Errorf("the blocked confirmation still offers to remove:\n%s", confirm.body)
	}
	// Posted anyway, the billing service refuses by its own rule.
	r := e.send("POST", strings.TrimSuffix(action, "/add")+"/remove", url.Values{"csrf": {csrf}, "pm": {card.ID}})
	if r.status != http.StatusConflict {
		t.Fatalf("removing the last card: status %d, want 409\n%s", r.status, r.body)
	}
	wantContains(t, r, "This card cannot be removed yet", "Add a card")
	e.wantNothingDetached(t)
}

func TestRemovingTheDefaultMovesTheSubscription(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	cus, cards := e.userWithCards(app, "u1", "visa 4242", "mastercard 4444")
	visa := cards[0]
	e.Stripe.AddSubscription(app.Stripe, cus, appwheel.Subscription{PriceID: "price_pro", Interval: "year", IntervalCount: 1, CurrentPeriodEnd: time.Now().Add(200 * 24 * time.Hour).Unix()})

	pageURL, _ := e.open(app, "u1", "en")
	confirm := e.send("GET", pageURL+"/confirm?action=remove&pm="+visa.ID, nil)
	wantContains(t, confirm, "price_pro (yearly) will be charged to Mastercard •••• 4444 instead.")
	action, csrf := form(t, confirm.body, "/remove")
	r := e.send("POST", action, url.Values{"csrf": {csrf}, "pm": {visa.ID}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303\n%s", r.status, r.body)
	}
	after := e.send("GET", r.header.Get("Location"), nil)
	wantContains(t, after, "The card was removed. price_pro (yearly) is now charged to Mastercard •••• 4444.")
	if !strings.Contains(after.body, `class="sub-card">Mastercard •••• 4444<`) {
		t.Errorf("the subscription row does not show the Mastercard:\n%s", after.body)
	}
}

func TestMakeDefault(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	_, cards := e.userWithCards(app, "u1", "visa 4242", "mastercard 4444")
	mc := cards[1]
	pageURL, _ := e.open(app, "u1", "en")
	confirm := e.send("GET", pageURL+"/confirm?action=default&pm="+mc.ID, nil)
	wantContains(t, confirm, "Make Mastercard •••• 4444 your default card?")
	action, csrf := form(t, confirm.body, "/default")
	r := e.send("POST", action, url.Values{"csrf": {csrf}, "pm": {mc.ID}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303\n%s", r.status, r.body)
	}
	after := e.send("GET", r.header.Get("Location"), nil)
	wantContains(t, after, "Your default card was changed.")
	if !regexp.MustCompile(`(?s)data-pm="` + mc.ID + `">.{0,200}badge-default`).MatchString(after.body) {
		t.Errorf("the Mastercard is not marked default:\n%s", after.body)
	}
}

func TestAddACardGoesToCheckoutAndBack(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	_, page := e.open(app, "u1", "en")
	action, csrf := form(t, page.body, "/add")
	r := e.send("POST", action, url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303\n%s", r.status, r.body)
	}
	sessions := e.Stripe.CheckoutSessions(app.Stripe)
	if len(sessions) != 1 || r.header.Get("Location") != sessions[0].URL {
		t.Fatalf("redirected to %q; checkout sessions %+v", r.header.Get("Location"), sessions)
	}
	// Checkout sends the user back to the page, though the app allows
	// only its own hosts: the page's own URLs are allowed.
	success := sessions[0].Params.SuccessURL
	if !strings.HasPrefix(success, base+"/portal/v/") {
		t.Fatalf("success URL %q is not the page", success)
	}
	e.Stripe.CompleteSetup(app.Stripe, sessions[0].SetupIntentID, "visa", "4242")
	back := e.send("GET", success, nil)
	wantContains(t, back, "Your card was added.", "Visa •••• 4242", "badge-default")
}

func TestTheAppsLook(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	if _, err := e.Apps.SetBranding(context.Background(), app.ID, appwheel.Branding{
		DisplayName: "Shop <Pro>", LogoURL: "https://cdn.shop.example/logo.png", AccentColor: "#0A7",
		FrameAncestors: []string{"https://shop.example.com"},
	}); err != nil {
		t.Fatal(err)
	}
	_, page := e.open(app, "u1", "en")
	wantContains(t, page, "Shop &lt;Pro&gt;", `src="https://cdn.shop.example/logo.png"`, "--accent: #00aa77")
	csp := page.header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`<style nonce="([^"]+)">`).FindStringSubmatch(page.body)
	if nonce == nil || !strings.Contains(csp, "'nonce-"+nonce[1]+"'") {
		t.Errorf("the accent's style element is not the policy's nonce: %q\n%s", csp, page.body)
	}
	for _, want := range []string{"img-src 'self' https://cdn.shop.example", "frame-ancestors https://shop.example.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if xfo := page.header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options = %q, want none where the app allows its origin to frame the page", xfo)
	}
}

func TestCreateSessionRefuses(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	for _, c := range []struct {
		name string
		p    portal.SessionParams
		code int
	}{
		{"return URL elsewhere", portal.SessionParams{AppUserID: "u1", ReturnURL: "https://evil.example/"}, appwheel.EFORBIDDEN},
		{"no return URL", portal.SessionParams{AppUserID: "u1"}, appwheel.EINVALID},
		{"no user", portal.SessionParams{ReturnURL: "https://shop.example.com/"}, appwheel.EINVALID},
		{"unknown locale", portal.SessionParams{AppUserID: "u1", ReturnURL: "https://shop.example.com/", Locale: "fr"}, appwheel.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.portal.CreateSession(context.Background(), app, c.p)
			if got := appwheel.ErrorCode(err); got != c.code {
				t.Fatalf("error %v (code %d), want code %d", err, got, c.code)
			}
		})
	}
}

func TestASyncedUsersPageCostsNoStripeCall(t *testing.T) {
	e := newEnv(t)
	app := e.NewMirrorApp("m")
	cus, _ := e.userWithCards(app, "u1", "visa 4242")
	e.Stripe.AddSubscription(app.Stripe, cus, appwheel.Subscription{PriceID: "price_pro", Interval: "month", IntervalCount: 1, CurrentPeriodEnd: time.Now().Add(10 * 24 * time.Hour).Unix()})
	e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: cus, Number: "INV-1", Status: "paid", AmountDue: 900, AmountPaid: 900, Currency: "usd"})

	pageURL, first := e.open(app, "u1", "en") // the user's first read fills the mirror
	wantContains(t, first, "Visa •••• 4242", "price_pro (monthly)", "INV-1")
	e.Stripe.ResetCalls()
	again := e.send("GET", pageURL, nil)
	wantContains(t, again, "Visa •••• 4242", "price_pro (monthly)", "INV-1", "$9.00")
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("rendering a synced user's page made %d Stripe calls, want 0", n)
	}
}

func TestAnotherUsersInvoiceCursorShowsNothingOfTheirs(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a", "shop.example.com")
	mine := e.customer(app, "u1")
	theirs := e.customer(app, "u2")
	for i := range 12 { // two pages of u1's
		e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: mine, Number: fmt.Sprintf("MINE-%02d", i), Status: "paid", AmountDue: 100, AmountPaid: 100, Currency: "usd"})
	}
	other := e.Stripe.AddInvoice(app.Stripe, appwheel.Invoice{CustomerID: theirs, Number: "THEIRS-1", Status: "paid", AmountDue: 100, AmountPaid: 100, Currency: "usd"})

	pageURL, first := e.open(app, "u1", "en")
	wantContains(t, first, "MINE-11", "Older invoices")
	older := regexp.MustCompile(`class="older" href="([^"]+)"`).FindStringSubmatch(first.body)
	if older == nil {
		t.Fatalf("no link to older invoices:\n%s", first.body)
	}
	second := e.send("GET", strings.ReplaceAll(older[1], "&amp;", "&"), nil)
	wantContains(t, second, "MINE-01", "Newest invoices")
	if strings.Contains(second.body, "MINE-11") {
		t.Errorf("the older page repeats the newest invoice")
	}
	edited := e.send("GET", pageURL+"?after="+other.ID, nil)
	if edited.status != http.StatusOK || strings.Contains(edited.body, "THEIRS") {
		t.Fatalf("a cursor of u2's invoice: status %d, shows u2's invoices or fails\n%s", edited.status, edited.body)
	}
	wantContains(t, edited, "MINE-11") // the newest page instead
}
