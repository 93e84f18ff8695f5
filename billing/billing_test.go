package billing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/internal/fakestripe"
	"github.com/appwheel/appwheel/sqlite"
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
