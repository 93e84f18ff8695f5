package billing_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/internal/fakestripe"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

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
