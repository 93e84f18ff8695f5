package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/internal/fakestripe"
	"github.com/appwheel/appwheel/sqlite"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fixedNow is the service's clock in every test.
var fixedNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// env is a billing.Service over a real SQLite store and the fake Stripe,
// with two apps on two different Stripe accounts.
type env struct {
	db   *sqlite.DB
	fake *fakestripe.Fake
	svc  *billing.Service
	appA *appwheel.App
	appB *appwheel.App
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(filepath.Join(tb.TempDir(), "t.db"))
	if err := db.Open(ctx); err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	e := &env{db: db, fake: fakestripe.New()}
	e.appA = e.addApp(tb, &appwheel.App{
		ID: "app_a", Name: "App A", Platform: appwheel.PlatformStripe,
		Secret: "secret_a", Stripe: appwheel.StripeAccount{SecretKey: "sk_test_app_a"},
	})
	e.appB = e.addApp(tb, &appwheel.App{
		ID: "app_b", Name: "App B", Platform: appwheel.PlatformStripe,
		Secret: "secret_b", Stripe: appwheel.StripeAccount{SecretKey: "sk_test_app_b"},
	})
	e.svc = billing.New(billing.Config{Store: db, Stripe: e.fake, Now: func() time.Time { return fixedNow }})
	return e
}

// addApp registers app in the store, which customers reference, and returns
// it. The sealed secrets are placeholders: the billing service never reads
// the app from the store, it is handed the App.
func (e *env) addApp(tb testing.TB, app *appwheel.App) *appwheel.App {
	tb.Helper()
	err := e.db.CreateApp(context.Background(), &appwheel.AppRecord{
		ID: app.ID, Name: app.Name, Platform: app.Platform,
		SealedSecret:          []byte("sealed:" + app.Secret),
		SealedStripeSecretKey: []byte("sealed:" + app.Stripe.SecretKey),
		RedirectHosts:         app.RedirectHosts,
		CreatedAt:             fixedNow, UpdatedAt: fixedNow,
	})
	if err != nil {
		tb.Fatalf("CreateApp(%s): %v", app.ID, err)
	}
	return app
}

// customer seeds a Stripe customer for (app, user), as a first
// createPaymentMethod leaves it, and maps it in the store.
func (e *env) customer(tb testing.TB, app *appwheel.App, user string) string {
	tb.Helper()
	cus := e.fake.AddCustomer(app.Stripe, app.ID, user)
	got, err := e.db.PutCustomer(context.Background(), app.ID, user, cus.ID, fixedNow)
	if err != nil || got != cus.ID {
		tb.Fatalf("PutCustomer(%s, %s, %s): got %q, %v; want %q, nil", app.ID, user, cus.ID, got, err, cus.ID)
	}
	return cus.ID
}

// cards attaches n cards to a customer, oldest first, and returns their ids.
func (e *env) cards(tb testing.TB, app *appwheel.App, customerID string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.fake.AttachCard(app.Stripe, customerID, "visa", fmt.Sprintf("%04d", 4242+i)).ID
	}
	return ids
}

// storedCustomer returns the store's customer of (app, user), "" when none.
func (e *env) storedCustomer(tb testing.TB, app *appwheel.App, user string) string {
	tb.Helper()
	id, err := e.db.CustomerID(context.Background(), app.ID, user)
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND {
		return ""
	}
	if err != nil {
		tb.Fatalf("CustomerID(%s, %s): %v", app.ID, user, err)
	}
	return id
}

// defaultOf returns the fake's default payment method of a customer. It
// counts no Stripe call.
func (e *env) defaultOf(tb testing.TB, app *appwheel.App, customerID string) string {
	tb.Helper()
	for _, c := range e.fake.Customers(app.Stripe) {
		if c.ID == customerID {
			return c.DefaultPaymentMethodID
		}
	}
	tb.Fatalf("no customer %s in the fake's account of %s", customerID, app.ID)
	return ""
}

// setDefault sets a customer's default in the fake, without counting the call.
func (e *env) setDefault(tb testing.TB, app *appwheel.App, customerID, methodID string) {
	tb.Helper()
	if err := e.fake.SetDefaultPaymentMethod(context.Background(), app.Stripe, customerID, methodID, ""); err != nil {
		tb.Fatalf("seed default %s of %s: %v", methodID, customerID, err)
	}
	e.fake.ResetCalls()
}

// attachedTo returns the customer a payment method is attached to, "" when
// none. It counts one PaymentMethod call: check call counts before.
func (e *env) attachedTo(tb testing.TB, app *appwheel.App, methodID string) string {
	tb.Helper()
	pm, err := e.fake.PaymentMethod(context.Background(), app.Stripe, methodID)
	if err != nil {
		tb.Fatalf("fake PaymentMethod(%s): %v", methodID, err)
	}
	return pm.CustomerID
}

// wantCode fails unless err carries the given contract code.
func wantCode(tb testing.TB, err error, want int) {
	tb.Helper()
	if got := appwheel.ErrorCode(err); got != want {
		tb.Fatalf("got error %v (code %d), want code %d", err, got, want)
	}
}

// wantNoStripeCalls fails when any Stripe call was made.
func wantNoStripeCalls(tb testing.TB, f *fakestripe.Fake) {
	tb.Helper()
	if got := f.TotalCalls(); got != 0 {
		tb.Errorf("got %d Stripe calls, want 0", got)
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("marshal %T: %v", v, err)
	}
	return string(b)
}

// methodIDs returns the ids of the raw Stripe payment methods.
func methodIDs(tb testing.TB, raws []json.RawMessage) []string {
	tb.Helper()
	ids := []string{}
	for _, raw := range raws {
		var pm struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &pm); err != nil {
			tb.Fatalf("unmarshal payment method %s: %v", raw, err)
		}
		ids = append(ids, pm.ID)
	}
	return ids
}

func checkoutParams(user string) billing.CreatePaymentMethodParams {
	return billing.CreatePaymentMethodParams{
		AppUserID:  user,
		Type:       appwheel.AddByCheckout,
		SuccessURL: "https://shop.example.com/done?session={CHECKOUT_SESSION_ID}",
		CancelURL:  "https://shop.example.com/cancel",
	}
}

func setupIntentParams(user string) billing.CreatePaymentMethodParams {
	return billing.CreatePaymentMethodParams{AppUserID: user, Type: appwheel.AddBySetupIntent}
}

// ---------------------------------------------------------------------------
// createPaymentMethod

func TestCreatePaymentMethodCheckout(t *testing.T) {
	e := newEnv(t)
	p := checkoutParams("user_1")

	got, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, p)
	if err != nil {
		t.Fatalf("CreatePaymentMethod: got error %v, want nil", err)
	}
	sessions := e.fake.CheckoutSessions(e.appA.Stripe)
	if len(sessions) != 1 {
		t.Fatalf("got %d checkout sessions, want 1", len(sessions))
	}
	want := &appwheel.PaymentMethodSetup{CheckoutURL: sessions[0].URL, CheckoutID: sessions[0].ID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("setup mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.CheckoutID, "cs_") || !strings.HasPrefix(got.CheckoutURL, "https://") {
		t.Errorf("got checkoutId %q, checkoutUrl %q; want cs_… and https://…", got.CheckoutID, got.CheckoutURL)
	}
	wantParams := appwheel.CreateCheckoutSessionParams{
		CustomerID: e.storedCustomer(t, e.appA, "user_1"),
		SuccessURL: p.SuccessURL,
		CancelURL:  p.CancelURL,
		AppID:      e.appA.ID,
		AppUserID:  "user_1",
	}
	if diff := cmp.Diff(wantParams, sessions[0].Params,
		cmpopts.IgnoreFields(appwheel.CreateCheckoutSessionParams{}, "IdempotencyKey")); diff != "" {
		t.Errorf("checkout session params mismatch (-want +got):\n%s", diff)
	}
	if n := len(e.fake.SetupIntents(e.appA.Stripe)); n != 0 {
		t.Errorf("got %d setup intents, want 0", n)
	}
	// All four keys are always present.
	wantJSON := fmt.Sprintf(`{"checkoutUrl":%q,"checkoutId":%q,"setupIntentId":"","clientSecret":""}`, got.CheckoutURL, got.CheckoutID)
	if gotJSON := mustJSON(t, got); gotJSON != wantJSON {
		t.Errorf("got JSON %s, want %s", gotJSON, wantJSON)
	}
}

func TestCreatePaymentMethodSetupIntent(t *testing.T) {
	e := newEnv(t)

	got, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, setupIntentParams("user_1"))
	if err != nil {
		t.Fatalf("CreatePaymentMethod: got error %v, want nil", err)
	}
	intents := e.fake.SetupIntents(e.appA.Stripe)
	if len(intents) != 1 {
		t.Fatalf("got %d setup intents, want 1", len(intents))
	}
	want := &appwheel.PaymentMethodSetup{SetupIntentID: intents[0].ID, ClientSecret: intents[0].ClientSecret}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("setup mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.SetupIntentID, "seti_") || !strings.HasPrefix(got.ClientSecret, got.SetupIntentID+"_secret_") {
		t.Errorf("got setupIntentId %q, clientSecret %q; want seti_… and <id>_secret_…", got.SetupIntentID, got.ClientSecret)
	}
	wantParams := appwheel.CreateSetupIntentParams{
		CustomerID: e.storedCustomer(t, e.appA, "user_1"),
		AppID:      e.appA.ID,
		AppUserID:  "user_1",
	}
	if diff := cmp.Diff(wantParams, intents[0].Params,
		cmpopts.IgnoreFields(appwheel.CreateSetupIntentParams{}, "IdempotencyKey")); diff != "" {
		t.Errorf("setup intent params mismatch (-want +got):\n%s", diff)
	}
	if n := len(e.fake.CheckoutSessions(e.appA.Stripe)); n != 0 {
		t.Errorf("got %d checkout sessions, want 0", n)
	}
	wantJSON := fmt.Sprintf(`{"checkoutUrl":"","checkoutId":"","setupIntentId":%q,"clientSecret":%q}`, got.SetupIntentID, got.ClientSecret)
	if gotJSON := mustJSON(t, got); gotJSON != wantJSON {
		t.Errorf("got JSON %s, want %s", gotJSON, wantJSON)
	}
}

func TestCreatePaymentMethodCreatesCustomerOnce(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	if _, err := e.svc.CreatePaymentMethod(ctx, e.appA, checkoutParams("user_1")); err != nil {
		t.Fatalf("first CreatePaymentMethod: %v", err)
	}
	if _, err := e.svc.CreatePaymentMethod(ctx, e.appA, setupIntentParams("user_1")); err != nil {
		t.Fatalf("second CreatePaymentMethod: %v", err)
	}

	if got := e.fake.Calls("CreateCustomer"); got != 1 {
		t.Errorf("got %d CreateCustomer calls, want 1", got)
	}
	customers := e.fake.Customers(e.appA.Stripe)
	if len(customers) != 1 {
		t.Fatalf("got %d customers, want 1", len(customers))
	}
	cusID := customers[0].ID
	if got := e.storedCustomer(t, e.appA, "user_1"); got != cusID {
		t.Errorf("store maps user_1 to %q, want %q", got, cusID)
	}
	wantMeta := map[string]string{fakestripe.MetadataAppID: "app_a", fakestripe.MetadataAppUserID: "user_1"}
	if diff := cmp.Diff(wantMeta, e.fake.CustomerMetadata(e.appA.Stripe, cusID)); diff != "" {
		t.Errorf("customer metadata mismatch (-want +got):\n%s", diff)
	}
	if got := e.fake.CheckoutSessions(e.appA.Stripe)[0].Params.CustomerID; got != cusID {
		t.Errorf("checkout session for customer %q, want %q", got, cusID)
	}
	if got := e.fake.SetupIntents(e.appA.Stripe)[0].Params.CustomerID; got != cusID {
		t.Errorf("setup intent for customer %q, want %q", got, cusID)
	}
}

func TestCreatePaymentMethodUsesExistingCustomer(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	e.fake.ResetCalls()

	if _, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, setupIntentParams("user_1")); err != nil {
		t.Fatalf("CreatePaymentMethod: %v", err)
	}
	if got := e.fake.Calls("CreateCustomer"); got != 0 {
		t.Errorf("got %d CreateCustomer calls, want 0", got)
	}
	if got := e.fake.SetupIntents(e.appA.Stripe)[0].Params.CustomerID; got != cusID {
		t.Errorf("setup intent for customer %q, want %q", got, cusID)
	}
}

func TestCreatePaymentMethodCustomerPerAppAndUser(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	calls := []struct {
		app  *appwheel.App
		user string
	}{
		{e.appA, "user_1"},
		{e.appA, "user_2"},
		{e.appB, "user_1"}, // the same appUserId in another app is another user
	}
	seen := map[string]bool{}
	for _, c := range calls {
		if _, err := e.svc.CreatePaymentMethod(ctx, c.app, setupIntentParams(c.user)); err != nil {
			t.Fatalf("CreatePaymentMethod(%s, %s): %v", c.app.ID, c.user, err)
		}
		id := e.storedCustomer(t, c.app, c.user)
		if id == "" || seen[id] {
			t.Errorf("%s/%s: got customer %q, want a new one", c.app.ID, c.user, id)
		}
		seen[id] = true
		meta := e.fake.CustomerMetadata(c.app.Stripe, id)
		if meta[fakestripe.MetadataAppID] != c.app.ID || meta[fakestripe.MetadataAppUserID] != c.user {
			t.Errorf("%s/%s: got customer metadata %v in the app's own account", c.app.ID, c.user, meta)
		}
	}
	if got := len(e.fake.Customers(e.appA.Stripe)); got != 2 {
		t.Errorf("got %d customers in app A's account, want 2", got)
	}
	if got := len(e.fake.Customers(e.appB.Stripe)); got != 1 {
		t.Errorf("got %d customers in app B's account, want 1", got)
	}
}

func TestCreatePaymentMethodValidation(t *testing.T) {
	const allowed = "shop.example.com"
	tests := []struct {
		name      string
		hosts     []string // the app's RedirectHosts
		mutate    func(p *billing.CreatePaymentMethodParams)
		wantCode  int
		wantParam string // named in the message
	}{
		{"EmptyAppUserID", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "" }, appwheel.EINVALID, "appUserId"},
		{"AppUserID129Chars", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = strings.Repeat("u", 129) }, appwheel.EINVALID, "appUserId"},
		{"AppUserID129Runes", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = strings.Repeat("é", 129) }, appwheel.EINVALID, "appUserId"},
		{"AppUserIDNUL", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "user\x00" }, appwheel.EINVALID, "appUserId"},
		{"AppUserIDNewline", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "user\n1" }, appwheel.EINVALID, "appUserId"},
		{"AppUserIDDEL", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "user\x7f" }, appwheel.EINVALID, "appUserId"},
		{"AppUserIDC1Control", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "user\u0085" }, appwheel.EINVALID, "appUserId"},
		{"AppUserIDInvalidUTF8", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "user\xff" }, appwheel.EINVALID, "appUserId"},
		{"EmptyType", nil, func(p *billing.CreatePaymentMethodParams) { p.Type = "" }, appwheel.EINVALID, "type"},
		{"UnknownType", nil, func(p *billing.CreatePaymentMethodParams) { p.Type = "card" }, appwheel.EINVALID, "type"},
		{"TypeWrongCase", nil, func(p *billing.CreatePaymentMethodParams) { p.Type = "Checkout" }, appwheel.EINVALID, "type"},
		{"MissingSuccessURL", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "" }, appwheel.EINVALID, "successUrl"},
		{"MissingCancelURL", nil, func(p *billing.CreatePaymentMethodParams) { p.CancelURL = "" }, appwheel.EINVALID, "cancelUrl"},
		{"RelativeURL", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "/done" }, appwheel.EINVALID, "successUrl"},
		{"NoSchemeURL", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "shop.example.com/done" }, appwheel.EINVALID, "successUrl"},
		{"SchemeRelativeURL", nil, func(p *billing.CreatePaymentMethodParams) { p.CancelURL = "//shop.example.com/cancel" }, appwheel.EINVALID, "cancelUrl"},
		{"JavascriptURL", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "javascript:alert(document.cookie)" }, appwheel.EINVALID, "successUrl"},
		{"DataURL", nil, func(p *billing.CreatePaymentMethodParams) { p.CancelURL = "data:text/html,<script>alert(1)</script>" }, appwheel.EINVALID, "cancelUrl"},
		{"FTPURL", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "ftp://shop.example.com/done" }, appwheel.EINVALID, "successUrl"},
		{"EmptyHost", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https:///done" }, appwheel.EINVALID, "successUrl"},
		{"PortOnlyHost", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://:443/done" }, appwheel.EINVALID, "successUrl"},
		{"UserInfo", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://user:pass@shop.example.com/done" }, appwheel.EINVALID, "successUrl"},
		{"UserInfoHostSpoof", []string{allowed}, func(p *billing.CreatePaymentMethodParams) {
			p.CancelURL = "https://shop.example.com@evil.example/cancel"
		}, appwheel.EINVALID, "cancelUrl"},
		{"Space", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://shop.example.com/a b" }, appwheel.EINVALID, "successUrl"},
		{"Backslash", []string{allowed}, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = `https://evil.example\@shop.example.com/` }, appwheel.EINVALID, "successUrl"},
		{"ControlChar", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://shop.example.com/\r\nx" }, appwheel.EINVALID, "successUrl"},
		{"URLOver2048Bytes", nil, func(p *billing.CreatePaymentMethodParams) {
			p.SuccessURL = "https://shop.example.com/" + strings.Repeat("a", 2049-len("https://shop.example.com/"))
		}, appwheel.EINVALID, "successUrl"},
		{"HostNotAllowed", []string{allowed}, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://evil.example/done" }, appwheel.EFORBIDDEN, "successUrl"},
		{"CancelHostNotAllowed", []string{allowed}, func(p *billing.CreatePaymentMethodParams) { p.CancelURL = "https://evil.example/cancel" }, appwheel.EFORBIDDEN, "cancelUrl"},
		{"SubdomainNotAllowed", []string{allowed}, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://evil.shop.example.com/done" }, appwheel.EFORBIDDEN, "successUrl"},
		{"SuffixNotAllowed", []string{allowed}, func(p *billing.CreatePaymentMethodParams) {
			p.SuccessURL = "https://shop.example.com.evil.example/done"
		}, appwheel.EFORBIDDEN, "successUrl"},
		{"FragmentSpoof", []string{allowed}, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://evil.example/#@shop.example.com" }, appwheel.EFORBIDDEN, "successUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			app := e.addApp(t, &appwheel.App{
				ID: "app_hosts", Name: "Hosts", Platform: appwheel.PlatformStripe,
				Stripe: appwheel.StripeAccount{SecretKey: "sk_test_hosts"}, RedirectHosts: tt.hosts,
			})
			p := checkoutParams("user_1")
			tt.mutate(&p)

			got, err := e.svc.CreatePaymentMethod(t.Context(), app, p)
			if got != nil {
				t.Errorf("got setup %+v, want nil", got)
			}
			wantCode(t, err, tt.wantCode)
			if msg := appwheel.ErrorMessage(err); !strings.Contains(msg, tt.wantParam) {
				t.Errorf("got message %q, want it to name %q", msg, tt.wantParam)
			}
			wantNoStripeCalls(t, e.fake)
			if id := e.storedCustomer(t, app, p.AppUserID); id != "" {
				t.Errorf("got stored customer %q, want none", id)
			}
		})
	}
}

func TestCreatePaymentMethodAccepted(t *testing.T) {
	tests := []struct {
		name   string
		hosts  []string
		mutate func(p *billing.CreatePaymentMethodParams)
	}{
		{"AllowedHost", []string{"shop.example.com"}, func(p *billing.CreatePaymentMethodParams) {}},
		{"AllowedHostAmongSeveral", []string{"a.example", "shop.example.com"}, func(p *billing.CreatePaymentMethodParams) {}},
		{"AllowedHostUpperCaseURL", []string{"shop.example.com"}, func(p *billing.CreatePaymentMethodParams) {
			p.SuccessURL = "https://SHOP.Example.COM/done"
			p.CancelURL = "HTTPS://Shop.Example.Com/cancel"
		}},
		{"AllowedHostWithPort", []string{"shop.example.com"}, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://shop.example.com:8443/done" }},
		{"PlainHTTP", []string{"shop.example.com"}, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "http://shop.example.com/done" }},
		{"AnyHostWithoutList", nil, func(p *billing.CreatePaymentMethodParams) { p.SuccessURL = "https://anywhere.example/done" }},
		{"URL2048Bytes", nil, func(p *billing.CreatePaymentMethodParams) {
			p.SuccessURL = "https://shop.example.com/" + strings.Repeat("a", 2048-len("https://shop.example.com/"))
		}},
		{"AppUserID128Chars", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = strings.Repeat("u", 128) }},
		{"AppUserID128Runes", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = strings.Repeat("é", 128) }},
		{"AppUserIDOneChar", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "u" }},
		{"AppUserIDPunctuation", nil, func(p *billing.CreatePaymentMethodParams) { p.AppUserID = "o_Ab-12:xy@wx.openid/+=" }},
		{"SetupIntentIgnoresURLs", []string{"shop.example.com"}, func(p *billing.CreatePaymentMethodParams) {
			p.Type = appwheel.AddBySetupIntent
			p.SuccessURL, p.CancelURL = "", ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			app := e.addApp(t, &appwheel.App{
				ID: "app_hosts", Name: "Hosts", Platform: appwheel.PlatformStripe,
				Stripe: appwheel.StripeAccount{SecretKey: "sk_test_hosts"}, RedirectHosts: tt.hosts,
			})
			p := checkoutParams("user_1")
			tt.mutate(&p)

			got, err := e.svc.CreatePaymentMethod(t.Context(), app, p)
			if err != nil {
				t.Fatalf("CreatePaymentMethod: got error %v, want nil", err)
			}
			if got.CheckoutID == "" && got.SetupIntentID == "" {
				t.Errorf("got setup %+v, want a checkout session or a setup intent", got)
			}
			if id := e.storedCustomer(t, app, p.AppUserID); id == "" {
				t.Errorf("got no stored customer for %q, want one", p.AppUserID)
			}
		})
	}
}

func TestCreatePaymentMethodConcurrentFirstCalls(t *testing.T) {
	for _, typ := range []appwheel.AddPaymentMethodType{appwheel.AddByCheckout, appwheel.AddBySetupIntent} {
		t.Run(string(typ), func(t *testing.T) {
			e := newEnv(t)
			e.fake.SetDelay("CreateCustomer", 20*time.Millisecond)
			p := checkoutParams("user_1")
			p.Type = typ

			const n = 20
			results := make([]*appwheel.PaymentMethodSetup, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					results[i], errs[i] = e.svc.CreatePaymentMethod(t.Context(), e.appA, p)
				})
			}
			close(start)
			wg.Wait()

			for i := range n {
				if errs[i] != nil || results[i] == nil {
					t.Errorf("call %d: got %+v, %v; want a setup, nil", i, results[i], errs[i])
				}
			}
			customers := e.fake.Customers(e.appA.Stripe)
			if len(customers) != 1 {
				t.Fatalf("got %d Stripe customers, want 1", len(customers))
			}
			if got := e.storedCustomer(t, e.appA, "user_1"); got != customers[0].ID {
				t.Errorf("store maps user_1 to %q, want %q", got, customers[0].ID)
			}
			var forCustomers []string
			for _, s := range e.fake.CheckoutSessions(e.appA.Stripe) {
				forCustomers = append(forCustomers, s.Params.CustomerID)
			}
			for _, s := range e.fake.SetupIntents(e.appA.Stripe) {
				forCustomers = append(forCustomers, s.Params.CustomerID)
			}
			if len(forCustomers) != n {
				t.Errorf("got %d sessions and intents, want %d", len(forCustomers), n)
			}
			for _, id := range forCustomers {
				if id != customers[0].ID {
					t.Errorf("got a session or intent for customer %q, want %q", id, customers[0].ID)
				}
			}
		})
	}
}

func TestCreatePaymentMethodCustomerRetryAfterLostResponse(t *testing.T) {
	// Stripe created the customer but the response was lost: the retry must
	// get the same customer back (the derived idempotency key), not a second.
	e := newEnv(t)
	ctx := t.Context()
	e.fake.FailNextAfter("CreateCustomer", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "timeout"))

	_, err := e.svc.CreatePaymentMethod(ctx, e.appA, setupIntentParams("user_1"))
	wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
	if id := e.storedCustomer(t, e.appA, "user_1"); id != "" {
		t.Errorf("after a failed CreateCustomer: got stored customer %q, want none", id)
	}

	if _, err := e.svc.CreatePaymentMethod(ctx, e.appA, setupIntentParams("user_1")); err != nil {
		t.Fatalf("retry: got error %v, want nil", err)
	}
	customers := e.fake.Customers(e.appA.Stripe)
	if len(customers) != 1 {
		t.Fatalf("got %d Stripe customers, want 1", len(customers))
	}
	if got := e.storedCustomer(t, e.appA, "user_1"); got != customers[0].ID {
		t.Errorf("store maps user_1 to %q, want %q", got, customers[0].ID)
	}
}

func TestCreatePaymentMethodIdempotencyKey(t *testing.T) {
	tests := []struct {
		name     string
		typ      appwheel.AddPaymentMethodType
		key1     string
		key2     string
		wantSame bool
	}{
		{"CheckoutSameKey", appwheel.AddByCheckout, "idem-1", "idem-1", true},
		{"CheckoutOtherKey", appwheel.AddByCheckout, "idem-1", "idem-2", false},
		{"CheckoutNoKey", appwheel.AddByCheckout, "", "", false},
		{"SetupIntentSameKey", appwheel.AddBySetupIntent, "idem-1", "idem-1", true},
		{"SetupIntentOtherKey", appwheel.AddBySetupIntent, "idem-1", "idem-2", false},
		{"SetupIntentNoKey", appwheel.AddBySetupIntent, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			p := checkoutParams("user_1")
			p.Type = tt.typ
			id := func(key string) string {
				t.Helper()
				p.IdempotencyKey = key
				got, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, p)
				if err != nil {
					t.Fatalf("CreatePaymentMethod(key %q): %v", key, err)
				}
				return got.CheckoutID + got.SetupIntentID
			}
			first, second := id(tt.key1), id(tt.key2)
			if got := first == second; got != tt.wantSame {
				t.Errorf("got ids %q and %q (same %v), want same %v", first, second, got, tt.wantSame)
			}
			wantCreated := 2
			if tt.wantSame {
				wantCreated = 1
			}
			if got := len(e.fake.CheckoutSessions(e.appA.Stripe)) + len(e.fake.SetupIntents(e.appA.Stripe)); got != wantCreated {
				t.Errorf("got %d sessions and intents in the fake, want %d", got, wantCreated)
			}
		})
	}

	t.Run("SameKeyOtherOperation", func(t *testing.T) {
		// One client key for a checkout and then a setup intent: two
		// different Stripe operations, neither refused.
		e := newEnv(t)
		p := checkoutParams("user_1")
		p.IdempotencyKey = "idem-1"
		if _, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, p); err != nil {
			t.Fatalf("checkout: %v", err)
		}
		p.Type = appwheel.AddBySetupIntent
		got, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, p)
		if err != nil {
			t.Fatalf("setup intent with the same key: got error %v, want nil", err)
		}
		if got.SetupIntentID == "" {
			t.Errorf("got setup %+v, want a setup intent", got)
		}
	})

	t.Run("KeyIsPassedDerived", func(t *testing.T) {
		// Stripe gets a key derived from the client's, not the client's own.
		e := newEnv(t)
		p := checkoutParams("user_1")
		p.IdempotencyKey = "idem-1"
		if _, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, p); err != nil {
			t.Fatalf("checkout: %v", err)
		}
		key := e.fake.CheckoutSessions(e.appA.Stripe)[0].Params.IdempotencyKey
		if key == "" || key == "idem-1" {
			t.Errorf("got Stripe idempotency key %q, want one derived from the client's", key)
		}
	})
}

// ---------------------------------------------------------------------------
// paymentMethod

func TestPaymentMethodsNoCustomer(t *testing.T) {
	e := newEnv(t)

	got, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
	if err != nil {
		t.Fatalf("PaymentMethods: got error %v, want nil", err)
	}
	if got.Methods == nil {
		t.Errorf("got nil methods, want an empty slice")
	}
	if gotJSON, want := mustJSON(t, got), `{"methods":[],"defaultMethodId":""}`; gotJSON != want {
		t.Errorf("got JSON %s, want %s", gotJSON, want)
	}
	if got := e.fake.Calls("CreateCustomer"); got != 0 {
		t.Errorf("got %d CreateCustomer calls, want 0", got)
	}
	wantNoStripeCalls(t, e.fake)
	if id := e.storedCustomer(t, e.appA, "user_1"); id != "" {
		t.Errorf("got stored customer %q, want none", id)
	}
	if n := len(e.fake.Customers(e.appA.Stripe)); n != 0 {
		t.Errorf("got %d Stripe customers, want 0", n)
	}
}

func TestPaymentMethodsList(t *testing.T) {
	tests := []struct {
		name        string
		cards       int
		defaultIdx  int // index into the cards, oldest first; -1 for none
		wantDefault bool
	}{
		{"NoMethods", 0, -1, false},
		{"OneMethodNoDefault", 1, -1, false},
		{"ThreeMethodsNoDefault", 3, -1, false},
		{"DefaultOldest", 3, 0, true},
		{"DefaultMiddle", 3, 1, true},
		{"DefaultNewest", 3, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cusID := e.customer(t, e.appA, "user_1")
			cards := e.cards(t, e.appA, cusID, tt.cards)
			wantDefault := ""
			if tt.defaultIdx >= 0 {
				wantDefault = cards[tt.defaultIdx]
				e.setDefault(t, e.appA, cusID, wantDefault)
			} else if tt.cards > 0 {
				// A customer with cards and no default gets its oldest
				// card, the first added, as the default (settleDefault).
				wantDefault = cards[0]
			}
			// Another user of the app, and the same appUserId in app B, have
			// methods that must not show.
			e.cards(t, e.appA, e.customer(t, e.appA, "user_2"), 2)
			e.cards(t, e.appB, e.customer(t, e.appB, "user_1"), 2)
			// A detached card that was the user's once.
			old := e.cards(t, e.appA, cusID, 1)[0]
			if err := e.fake.DetachPaymentMethod(t.Context(), e.appA.Stripe, old, ""); err != nil {
				t.Fatalf("detach: %v", err)
			}
			e.fake.ResetCalls()

			got, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
			if err != nil {
				t.Fatalf("PaymentMethods: got error %v, want nil", err)
			}
			if got.DefaultMethodID != wantDefault {
				t.Errorf("got defaultMethodId %q, want %q", got.DefaultMethodID, wantDefault)
			}
			wantIDs := []string{}
			for i := len(cards) - 1; i >= 0; i-- {
				wantIDs = append(wantIDs, cards[i])
			}
			if diff := cmp.Diff(wantIDs, methodIDs(t, got.Methods)); diff != "" {
				t.Errorf("method ids, newest first, mismatch (-want +got):\n%s", diff)
			}
			if got := e.fake.Calls("CreateCustomer"); got != 0 {
				t.Errorf("got %d CreateCustomer calls, want 0", got)
			}
			// Each method is Stripe's own JSON, unchanged.
			for i, id := range wantIDs {
				pm, err := e.fake.PaymentMethod(t.Context(), e.appA.Stripe, id)
				if err != nil {
					t.Fatalf("fake PaymentMethod(%s): %v", id, err)
				}
				if diff := cmp.Diff(string(pm.Raw), string(got.Methods[i])); diff != "" {
					t.Errorf("method %d raw JSON mismatch (-want +got):\n%s", i, diff)
				}
			}
			// The envelope data is an array of Stripe objects.
			var decoded struct {
				Methods []struct {
					ID     string `json:"id"`
					Object string `json:"object"`
					Card   struct {
						Last4 string `json:"last4"`
					} `json:"card"`
				} `json:"methods"`
				DefaultMethodID *string `json:"defaultMethodId"`
			}
			if err := json.Unmarshal([]byte(mustJSON(t, got)), &decoded); err != nil {
				t.Fatalf("unmarshal list: %v", err)
			}
			if decoded.DefaultMethodID == nil {
				t.Errorf("got no defaultMethodId key, want one")
			}
			for _, m := range decoded.Methods {
				if m.Object != "payment_method" || m.Card.Last4 == "" {
					t.Errorf("got method %+v, want a Stripe card payment_method", m)
				}
			}
		})
	}
}

func TestPaymentMethodsInvalidAppUserID(t *testing.T) {
	for _, user := range []string{"", strings.Repeat("x", 129), "a\tb", "\xc3"} {
		t.Run(fmt.Sprintf("%q", user), func(t *testing.T) {
			e := newEnv(t)
			got, err := e.svc.PaymentMethods(t.Context(), e.appA, user)
			if got != nil {
				t.Errorf("got %+v, want nil", got)
			}
			wantCode(t, err, appwheel.EINVALID)
			wantNoStripeCalls(t, e.fake)
		})
	}
}

// ---------------------------------------------------------------------------
// removePaymentMethod

func TestRemovePaymentMethodNotFound(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the method to remove for user_1 of app A, and the
		// customer it must stay attached to ("" when it is not attached).
		setup func(t *testing.T, e *env) (methodID, attachedTo string)
		// wantNoCalls: the service must not even ask Stripe.
		wantNoCalls bool
	}{
		{"OtherUsersMethodSameApp", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 2)
			other := e.customer(t, e.appA, "user_2")
			return e.cards(t, e.appA, other, 1)[0], other
		}, false},
		{"OtherUsersOnlyMethod", func(t *testing.T, e *env) (string, string) {
			e.customer(t, e.appA, "user_1")
			other := e.customer(t, e.appA, "user_2")
			return e.cards(t, e.appA, other, 1)[0], other
		}, false},
		{"OtherAppsMethod", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			other := e.customer(t, e.appB, "user_1") // same appUserId, other app and account
			return e.cards(t, e.appB, other, 1)[0], other
		}, false},
		{"UnknownMethod", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			return "pm_doesnotexist", ""
		}, false},
		{"DetachedMethod", func(t *testing.T, e *env) (string, string) {
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			return e.fake.CreateDetachedCard(e.appA.Stripe, "visa", "4242").ID, ""
		}, false},
		{"UserWithoutCustomer", func(t *testing.T, e *env) (string, string) {
			other := e.customer(t, e.appA, "user_2")
			return e.cards(t, e.appA, other, 1)[0], other
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			methodID, owner := tt.setup(t, e)
			e.fake.ResetCalls()

			got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: methodID, Force: true,
			})
			if got != nil {
				t.Errorf("got %+v, want nil", got)
			}
			wantCode(t, err, appwheel.ENOTFOUND)
			if tt.wantNoCalls {
				wantNoStripeCalls(t, e.fake)
			}
			if n := e.fake.Calls("DetachPaymentMethod"); n != 0 {
				t.Errorf("got %d DetachPaymentMethod calls, want 0", n)
			}
			if n := e.fake.Calls("SetDefaultPaymentMethod"); n != 0 {
				t.Errorf("got %d SetDefaultPaymentMethod calls, want 0", n)
			}
			if n := e.fake.Calls("CreateCustomer"); n != 0 {
				t.Errorf("got %d CreateCustomer calls, want 0", n)
			}
			if owner != "" {
				for _, app := range []*appwheel.App{e.appA, e.appB} {
					if pm, err := e.fake.PaymentMethod(t.Context(), app.Stripe, methodID); err == nil && pm.CustomerID != owner {
						t.Errorf("method %s is attached to %q, want still %q", methodID, pm.CustomerID, owner)
					}
				}
			}
		})
	}
}

func TestRemovePaymentMethodInvalid(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		methodID  string
		wantParam string
	}{
		{"EmptyMethodID", "user_1", "", "methodId"},
		{"InvoiceID", "user_1", "in_123", "methodId"},
		{"ChargeID", "user_1", "ch_123", "methodId"},
		{"PrefixOnly", "user_1", "pm_", "methodId"},
		{"UpperCasePrefix", "user_1", "PM_123", "methodId"},
		{"SQLish", "user_1", "pm_x;drop", "methodId"},
		{"PathTraversal", "user_1", "pm_../../v1/customers", "methodId"},
		{"Space", "user_1", "pm_1 2", "methodId"},
		{"Unicode", "user_1", "pm_é", "methodId"},
		{"Over255Bytes", "user_1", "pm_" + strings.Repeat("a", 297), "methodId"},
		{"EmptyAppUserID", "", "pm_123", "appUserId"},
		{"ControlAppUserID", "u\x01", "pm_123", "appUserId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			e.fake.ResetCalls()

			for _, force := range []bool{false, true} {
				got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
					AppUserID: tt.user, MethodID: tt.methodID, Force: force,
				})
				if got != nil {
					t.Errorf("force=%v: got %+v, want nil", force, got)
				}
				wantCode(t, err, appwheel.EINVALID)
				if msg := appwheel.ErrorMessage(err); !strings.Contains(msg, tt.wantParam) {
					t.Errorf("force=%v: got message %q, want it to name %q", force, msg, tt.wantParam)
				}
			}
			wantNoStripeCalls(t, e.fake)
		})
	}

	t.Run("255BytesIsAShape", func(t *testing.T) {
		// The longest id Stripe allows is asked about, and simply not found.
		e := newEnv(t)
		e.cards(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
		_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: "pm_" + strings.Repeat("a", 252),
		})
		wantCode(t, err, appwheel.ENOTFOUND)
	})
}

func TestRemovePaymentMethodLastMethod(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string // the user's subscriptions, oldest first
		force    bool
		wantCode int
	}{
		{"Active", []string{"active"}, false, appwheel.ELASTMETHOD},
		{"Trialing", []string{"trialing"}, false, appwheel.ELASTMETHOD},
		{"PastDue", []string{"past_due"}, false, appwheel.ELASTMETHOD},
		{"Unpaid", []string{"unpaid"}, false, appwheel.ELASTMETHOD},
		{"ActiveAmongDead", []string{"active", "canceled", "incomplete_expired"}, false, appwheel.ELASTMETHOD},
		{"UnpaidOlderThanCanceled", []string{"unpaid", "canceled"}, false, appwheel.ELASTMETHOD},
		{"ActiveForce", []string{"active"}, true, 0},
		{"TrialingForce", []string{"trialing"}, true, 0},
		{"PastDueForce", []string{"past_due"}, true, 0},
		{"UnpaidForce", []string{"unpaid"}, true, 0},
		{"Canceled", []string{"canceled"}, false, 0},
		{"IncompleteExpired", []string{"incomplete_expired"}, false, 0},
		{"CanceledAndIncompleteExpired", []string{"canceled", "incomplete_expired"}, false, 0},
		{"Incomplete", []string{"incomplete"}, false, 0},
		{"Paused", []string{"paused"}, false, 0},
		{"NoSubscription", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cusID := e.customer(t, e.appA, "user_1")
			pm := e.cards(t, e.appA, cusID, 1)[0]
			e.setDefault(t, e.appA, cusID, pm)
			for _, status := range tt.statuses {
				e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{
					Status: status, PriceID: "price_1", Interval: "month", IntervalCount: 1,
				})
			}
			// Another user's live subscription changes nothing.
			e.fake.AddSubscription(e.appA.Stripe, e.customer(t, e.appA, "user_2"), appwheel.Subscription{Status: "active"})

			got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: pm, Force: tt.force,
			})
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != 0 {
				if got != nil {
					t.Errorf("got %+v, want nil", got)
				}
				if !strings.Contains(appwheel.ErrorMessage(err), "force") {
					t.Errorf("got message %q, want it to mention force", appwheel.ErrorMessage(err))
				}
				if n := e.fake.Calls("DetachPaymentMethod"); n != 0 {
					t.Errorf("got %d DetachPaymentMethod calls, want 0", n)
				}
				if got := e.attachedTo(t, e.appA, pm); got != cusID {
					t.Errorf("method attached to %q, want still %q", got, cusID)
				}
				if got := e.defaultOf(t, e.appA, cusID); got != pm {
					t.Errorf("got default %q, want still %q", got, pm)
				}
				return
			}
			want := &appwheel.RemovedPaymentMethod{MethodID: pm, MovedSubscriptionIDs: []string{}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("removed mismatch (-want +got):\n%s", diff)
			}
			if got := e.attachedTo(t, e.appA, pm); got != "" {
				t.Errorf("method attached to %q, want detached", got)
			}
			if got := e.defaultOf(t, e.appA, cusID); got != "" {
				t.Errorf("got default %q, want none", got)
			}
		})
	}

	t.Run("NotLastWithLiveSubscription", func(t *testing.T) {
		e := newEnv(t)
		cusID := e.customer(t, e.appA, "user_1")
		cards := e.cards(t, e.appA, cusID, 2)
		e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{Status: "active"})

		got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[0],
		})
		if err != nil {
			t.Fatalf("RemovePaymentMethod: got error %v, want nil", err)
		}
		if diff := cmp.Diff(&appwheel.RemovedPaymentMethod{MethodID: cards[0], MovedSubscriptionIDs: []string{}}, got); diff != "" {
			t.Errorf("removed mismatch (-want +got):\n%s", diff)
		}
		// Now it is the last one.
		_, err = e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[1],
		})
		wantCode(t, err, appwheel.ELASTMETHOD)
	})
}

func TestRemovePaymentMethodDefault(t *testing.T) {
	tests := []struct {
		name        string
		cards       int
		defaultIdx  int // oldest first; -1 for none
		removeIdx   int
		wantDefault int // the customer's default after, -1 for none
		wantNew     int // newDefaultMethodId, -1 for ""
	}{
		{"RemoveNewestDefault", 3, 2, 2, 1, 1},
		{"RemoveMiddleDefault", 3, 1, 1, 2, 2},
		{"RemoveOldestDefault", 3, 0, 0, 2, 2},
		{"RemoveDefaultOfTwo", 2, 1, 1, 0, 0},
		{"RemoveOnlyMethodDefault", 1, 0, 0, -1, -1},
		{"RemoveNonDefaultNewer", 3, 0, 2, 0, -1},
		{"RemoveNonDefaultOlder", 3, 2, 0, 2, -1},
		{"RemoveWithoutDefault", 3, -1, 1, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cusID := e.customer(t, e.appA, "user_1")
			cards := e.cards(t, e.appA, cusID, tt.cards)
			if tt.defaultIdx >= 0 {
				e.setDefault(t, e.appA, cusID, cards[tt.defaultIdx])
			}
			pick := func(i int) string {
				if i < 0 {
					return ""
				}
				return cards[i]
			}

			got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: cards[tt.removeIdx],
			})
			if err != nil {
				t.Fatalf("RemovePaymentMethod: got error %v, want nil", err)
			}
			want := &appwheel.RemovedPaymentMethod{MethodID: cards[tt.removeIdx], NewDefaultMethodID: pick(tt.wantNew), MovedSubscriptionIDs: []string{}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("removed mismatch (-want +got):\n%s", diff)
			}
			if got, want := e.defaultOf(t, e.appA, cusID), pick(tt.wantDefault); got != want {
				t.Errorf("got customer default %q, want %q", got, want)
			}
			wantJSON := fmt.Sprintf(`{"methodId":%q,"newDefaultMethodId":%q,"movedSubscriptionIds":[]}`, want.MethodID, want.NewDefaultMethodID)
			if gotJSON := mustJSON(t, got); gotJSON != wantJSON {
				t.Errorf("got JSON %s, want %s", gotJSON, wantJSON)
			}
			if n := e.fake.Calls("DetachPaymentMethod"); n != 1 {
				t.Errorf("got %d DetachPaymentMethod calls, want 1", n)
			}
			// The removed method is gone from the user's list; the rest stay.
			list, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
			if err != nil {
				t.Fatalf("PaymentMethods: %v", err)
			}
			wantIDs := []string{}
			for i := len(cards) - 1; i >= 0; i-- {
				if i != tt.removeIdx {
					wantIDs = append(wantIDs, cards[i])
				}
			}
			if diff := cmp.Diff(wantIDs, methodIDs(t, list.Methods)); diff != "" {
				t.Errorf("remaining methods mismatch (-want +got):\n%s", diff)
			}
			wantListed := pick(tt.wantDefault)
			if wantListed == "" && len(wantIDs) > 0 {
				// The read gives a customer without a default its oldest card.
				wantListed = wantIDs[len(wantIDs)-1]
			}
			if list.DefaultMethodID != wantListed {
				t.Errorf("got listed default %q, want %q", list.DefaultMethodID, wantListed)
			}
		})
	}
}

func TestRemovePaymentMethodTwice(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	cards := e.cards(t, e.appA, cusID, 2)
	p := billing.RemovePaymentMethodParams{AppUserID: "user_1", MethodID: cards[0]}
	if _, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p); err != nil {
		t.Fatalf("first remove: %v", err)
	}
	_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p)
	wantCode(t, err, appwheel.ENOTFOUND)
}

func TestRemovePaymentMethodConcurrentLastTwo(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	cards := e.cards(t, e.appA, cusID, 2)
	e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{Status: "active"})
	// Both requests list the methods before either detaches.
	e.fake.SetDelay("Customer", 50*time.Millisecond)

	errs := make([]error, len(cards))
	var wg sync.WaitGroup
	for i, pm := range cards {
		wg.Go(func() {
			_, errs[i] = e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: pm,
			})
		})
	}
	wg.Wait()

	e.fake.SetDelay("Customer", 0)
	list, err := e.svc.PaymentMethods(t.Context(), e.appA, "user_1")
	if err != nil {
		t.Fatalf("PaymentMethods: %v", err)
	}
	if got := len(list.Methods); got != 1 {
		t.Errorf("got %d methods left (errors %v), want 1: one removal must be refused with %d",
			got, errs, appwheel.ELASTMETHOD)
	}
}

func TestRemovePaymentMethodRetryAfterFailedPromotion(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	cards := e.cards(t, e.appA, cusID, 2)
	e.setDefault(t, e.appA, cusID, cards[1])
	p := billing.RemovePaymentMethodParams{AppUserID: "user_1", MethodID: cards[1], IdempotencyKey: "idem-1"}
	e.fake.FailNext("SetDefaultPaymentMethod", appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable; safe to retry"))

	_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p)
	wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)

	got, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, p)
	if err != nil {
		t.Fatalf("retry: got error %v, want nil", err)
	}
	want := &appwheel.RemovedPaymentMethod{MethodID: cards[1], NewDefaultMethodID: cards[0], MovedSubscriptionIDs: []string{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("retry: removed mismatch (-want +got):\n%s", diff)
	}
	if got := e.defaultOf(t, e.appA, cusID); got != cards[0] {
		t.Errorf("got customer default %q, want %q", got, cards[0])
	}
}

// ---------------------------------------------------------------------------
// SetDefaultPaymentMethod

func TestSetDefaultPaymentMethod(t *testing.T) {
	e := newEnv(t)
	cus1 := e.customer(t, e.appA, "user_1")
	own := e.cards(t, e.appA, cus1, 3)
	e.setDefault(t, e.appA, cus1, own[0])
	cus2 := e.customer(t, e.appA, "user_2")
	others := e.cards(t, e.appA, cus2, 1)
	e.setDefault(t, e.appA, cus2, others[0])
	cusB := e.customer(t, e.appB, "user_1")
	otherApp := e.cards(t, e.appB, cusB, 1)
	detached := e.fake.CreateDetachedCard(e.appA.Stripe, "visa", "4242").ID

	tests := []struct {
		name     string
		user     string
		methodID string
		wantCode int
		want     string // user_1's default afterwards
	}{
		{"OwnNewest", "user_1", own[2], 0, own[2]},
		{"OwnMiddle", "user_1", own[1], 0, own[1]},
		{"OwnCurrentDefault", "user_1", own[1], 0, own[1]},
		{"OtherUsersMethod", "user_1", others[0], appwheel.ENOTFOUND, own[1]},
		{"OtherAppsMethod", "user_1", otherApp[0], appwheel.ENOTFOUND, own[1]},
		{"UnknownMethod", "user_1", "pm_nope", appwheel.ENOTFOUND, own[1]},
		{"DetachedMethod", "user_1", detached, appwheel.ENOTFOUND, own[1]},
		{"UserWithoutCustomer", "user_3", own[0], appwheel.ENOTFOUND, own[1]},
		{"BadMethodID", "user_1", "in_123", appwheel.EINVALID, own[1]},
		{"EmptyMethodID", "user_1", "", appwheel.EINVALID, own[1]},
		{"BadAppUserID", "", own[0], appwheel.EINVALID, own[1]},
	}
	for _, tt := range tests { // in order: each row sees the previous rows' result
		t.Run(tt.name, func(t *testing.T) {
			e.fake.ResetCalls()
			_, err := e.svc.SetDefaultPaymentMethod(t.Context(), e.appA, tt.user, tt.methodID, "")
			wantCode(t, err, tt.wantCode)
			if got := e.defaultOf(t, e.appA, cus1); got != tt.want {
				t.Errorf("got user_1's default %q, want %q", got, tt.want)
			}
			if got := e.defaultOf(t, e.appA, cus2); got != others[0] {
				t.Errorf("got user_2's default %q, want unchanged %q", got, others[0])
			}
			if tt.wantCode != 0 {
				if n := e.fake.Calls("SetDefaultPaymentMethod"); n != 0 {
					t.Errorf("got %d SetDefaultPaymentMethod calls, want 0", n)
				}
			}
			if tt.wantCode == appwheel.EINVALID || tt.user == "user_3" {
				wantNoStripeCalls(t, e.fake)
			}
		})
	}
	if got := e.defaultOf(t, e.appB, cusB); got != "" {
		t.Errorf("got app B user's default %q, want none", got)
	}
	if id := e.storedCustomer(t, e.appA, "user_3"); id != "" {
		t.Errorf("got a customer %q for user_3, want none", id)
	}
}

// ---------------------------------------------------------------------------
// Stripe errors

func TestStripeErrorsPropagate(t *testing.T) {
	declined := &appwheel.Error{
		Code:    appwheel.ESTRIPE,
		Message: "Your card was declined.",
		Stripe: &appwheel.StripeErrorDetail{
			Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline",
			RequestID: "req_123", HTTPStatus: 402,
		},
	}
	unavailable := appwheel.Errorf(appwheel.ESTRIPEUNAVAILABLE, "Stripe is unavailable; safe to retry")

	// Every user_1 of app A has a customer with two cards (the newest the
	// default) and an active subscription with one invoice, unless fresh.
	type op func(ctx context.Context, e *env, cards []string) error
	createCheckout := func(user string) op {
		return func(ctx context.Context, e *env, _ []string) error {
			_, err := e.svc.CreatePaymentMethod(ctx, e.appA, checkoutParams(user))
			return err
		}
	}
	createSetupIntent := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.CreatePaymentMethod(ctx, e.appA, setupIntentParams("user_1"))
		return err
	}
	list := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.PaymentMethods(ctx, e.appA, "user_1")
		return err
	}
	remove := func(i int, force bool) op {
		return func(ctx context.Context, e *env, cards []string) error {
			_, err := e.svc.RemovePaymentMethod(ctx, e.appA, billing.RemovePaymentMethodParams{
				AppUserID: "user_1", MethodID: cards[i], Force: force,
			})
			return err
		}
	}
	setDefault := func(ctx context.Context, e *env, cards []string) error {
		_, err := e.svc.SetDefaultPaymentMethod(ctx, e.appA, "user_1", cards[0], "")
		return err
	}
	invoices := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.Invoices(ctx, e.appA, billing.ListInvoicesParams{AppUserID: "user_1"})
		return err
	}
	subscriptions := func(ctx context.Context, e *env, _ []string) error {
		_, err := e.svc.Subscriptions(ctx, e.appA, "user_1")
		return err
	}

	tests := []struct {
		name     string
		method   string // the fake's method that fails
		op       op
		lastOnly bool // the user has one card, so the subscription check runs
	}{
		{"CreateCustomer", "CreateCustomer", createCheckout("user_new"), false},
		{"CreateCheckoutSession", "CreateCheckoutSession", createCheckout("user_1"), false},
		{"CreateSetupIntent", "CreateSetupIntent", createSetupIntent, false},
		{"ListPaymentMethods", "PaymentMethods", list, false},
		{"ListCustomer", "Customer", list, false},
		{"RemoveLookup", "PaymentMethod", remove(0, false), false},
		{"RemoveList", "PaymentMethods", remove(0, false), false},
		{"RemoveSubscriptions", "Subscriptions", remove(0, false), true},
		{"RemoveCustomer", "Customer", remove(0, false), false},
		{"RemoveDetach", "DetachPaymentMethod", remove(0, true), false},
		{"RemovePromote", "SetDefaultPaymentMethod", remove(1, false), false},
		{"SetDefault", "SetDefaultPaymentMethod", setDefault, false},
		{"SetDefaultLookup", "PaymentMethod", setDefault, false},
		{"Invoices", "Invoices", invoices, false},
		{"InvoicesSubscriptions", "Subscriptions", invoices, false},
		{"Subscriptions", "Subscriptions", subscriptions, false},
	}
	for _, tt := range tests {
		for _, injected := range []*appwheel.Error{unavailable, declined} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, injected.Code), func(t *testing.T) {
				e := newEnv(t)
				cusID := e.customer(t, e.appA, "user_1")
				n := 2
				if tt.lastOnly {
					n = 1
				}
				cards := e.cards(t, e.appA, cusID, n)
				e.setDefault(t, e.appA, cusID, cards[n-1])
				sub := e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{Status: "active", PriceID: "price_1"})
				e.fake.AddInvoice(e.appA.Stripe, appwheel.Invoice{CustomerID: cusID, SubscriptionID: sub.ID, Status: "paid"})
				e.fake.ResetCalls()
				e.fake.FailNext(tt.method, injected)

				err := tt.op(t.Context(), e, cards)
				wantCode(t, err, injected.Code)
				var got *appwheel.Error
				if !errors.As(err, &got) {
					t.Fatalf("got error %T, want *appwheel.Error", err)
				}
				if diff := cmp.Diff(injected, got); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
				if n := e.fake.Calls(tt.method); n == 0 {
					t.Errorf("got 0 %s calls, want the failing one", tt.method)
				}
			})
		}
	}

	t.Run("FailedCreateCustomerStoresNothing", func(t *testing.T) {
		e := newEnv(t)
		e.fake.FailNext("CreateCustomer", unavailable)
		_, err := e.svc.CreatePaymentMethod(t.Context(), e.appA, checkoutParams("user_1"))
		wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
		if id := e.storedCustomer(t, e.appA, "user_1"); id != "" {
			t.Errorf("got stored customer %q, want none", id)
		}
		if n := e.fake.Calls("CreateCheckoutSession"); n != 0 {
			t.Errorf("got %d CreateCheckoutSession calls, want 0", n)
		}
	})

	t.Run("FailedDetachKeepsMethod", func(t *testing.T) {
		e := newEnv(t)
		cusID := e.customer(t, e.appA, "user_1")
		cards := e.cards(t, e.appA, cusID, 2)
		e.setDefault(t, e.appA, cusID, cards[1])
		e.fake.FailNext("DetachPaymentMethod", unavailable)
		_, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[1],
		})
		wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
		// The default moves before the detach, so the user is never left
		// without one; the method itself stays attached.
		if got := e.defaultOf(t, e.appA, cusID); got != cards[0] {
			t.Errorf("got default %q, want the promoted %q", got, cards[0])
		}
		if got := e.attachedTo(t, e.appA, cards[1]); got != cusID {
			t.Errorf("method attached to %q, want still %q", got, cusID)
		}
		// The retry finishes the removal.
		if _, err := e.svc.RemovePaymentMethod(t.Context(), e.appA, billing.RemovePaymentMethodParams{
			AppUserID: "user_1", MethodID: cards[1],
		}); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if got := e.attachedTo(t, e.appA, cards[1]); got != "" {
			t.Errorf("after retry, method attached to %q, want none", got)
		}
	})

	t.Run("DeadlineIsUnavailable", func(t *testing.T) {
		e := newEnv(t)
		e.customer(t, e.appA, "user_1")
		e.fake.SetDelay("PaymentMethods", time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := e.svc.PaymentMethods(ctx, e.appA, "user_1")
		wantCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
	})
}
