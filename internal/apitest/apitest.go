// Package apitest runs AppWheel's HTTP API for tests: a real SQLite
// database, the real services, and the fake Stripe provider (the one thing
// unit tests mock).
package apitest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/crypt"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/fakestripe"
	"github.com/appwheel/appwheel/sqlite"
	"github.com/appwheel/appwheel/stripe"
)

// Env is a running API.
type Env struct {
	Server  *httptest.Server
	Billing *billing.Service
	Store   *sqlite.DB
	DBPath  string // the SQLite file behind Store
	Apps    *apps.Service
	Stripe  *fakestripe.Fake
	Clock   *Clock // the server's clock
	// Queue is where the server's webhook intake queues the events it
	// records: it applies each at once.
	Queue billing.EventApplier
	box   *crypt.Box
	t     testing.TB
}

// Clock is a clock tests move by hand.
type Clock struct{ unixNano atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.unixNano.Load()) }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.unixNano.Add(int64(d)) }

// New starts an API, closed when the test ends. Its clock starts at the
// real time. configure, when given, adjusts the HTTP server's config.
func New(t testing.TB, configure ...func(*appwheelhttp.Config)) *Env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "appwheel.db")
	db := sqlite.NewDB(path)
	if err := db.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := crypt.ParseKey(crypt.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	box, err := crypt.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Store: db, DBPath: path, Stripe: fakestripe.New(), Clock: &Clock{}, box: box, t: t}
	e.Clock.unixNano.Store(time.Now().UnixNano())
	e.Apps = apps.NewService(db, box, e.Clock.Now)
	e.Billing = billing.New(billing.Config{
		Store: db, Stripe: e.Stripe, Apps: e.Apps, DecodeEvent: stripe.DecodeEvent, Now: e.Clock.Now,
		BackgroundRate: 1000,
	})
	e.Queue = inlineEvents{billing: e.Billing, mu: &sync.Mutex{}}
	cfg := appwheelhttp.Config{
		Apps:     e.Apps,
		Billing:  e.Billing,
		Webhooks: e.Intake(e.Queue),
		Store:    db,
		Now:      e.Clock.Now,
	}
	for _, c := range configure {
		c(&cfg)
	}
	e.Server = httptest.NewServer(appwheelhttp.NewServer(cfg))
	t.Cleanup(e.Server.Close)
	return e
}

// OtherReplica returns an apps.Service over e's database on a connection
// of its own, with e's master key and clock: another replica, or the CLI,
// changing the apps the server serves.
func (e *Env) OtherReplica() *apps.Service {
	e.t.Helper()
	db := sqlite.NewDB(e.DBPath)
	if err := db.Open(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return apps.NewService(db, e.box, e.Clock.Now)
}

// NewApp creates an app with its own fake Stripe account.
func (e *Env) NewApp(name string, redirectHosts ...string) *appwheel.App {
	e.t.Helper()
	app, err := e.Apps.Create(context.Background(), apps.CreateParams{
		Name: name, Platform: appwheel.PlatformStripe, StripeSecretKey: "sk_test_" + name, RedirectHosts: redirectHosts,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return app
}

// NewMirrorApp creates an app in mirror mode, with a webhook signing
// secret, whose reads come from the mirror.
func (e *Env) NewMirrorApp(name string) *appwheel.App {
	e.t.Helper()
	app, err := e.Apps.Create(context.Background(), apps.CreateParams{
		Name: name, Platform: appwheel.PlatformStripe, StripeSecretKey: "sk_test_" + name,
		StripeWebhookSecret: "whsec_test_" + name, ReadMode: appwheel.ReadMirror,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return app
}

// Intake returns the webhook intake of e's apps and database, queueing
// the events it records on q.
func (e *Env) Intake(q billing.EventApplier) *billing.Intake {
	return billing.NewIntake(billing.IntakeConfig{
		Apps: e.Apps, Events: e.Store, Applier: q, VerifyEvent: stripe.VerifyEvent, Now: e.Clock.Now,
	})
}

// inlineEvents applies a webhook event as soon as it is recorded, standing
// in for the server's applier so tests see the mirror updated on return.
// It applies one event at a time, so an event delivered twice is applied
// once (the second run finds it processed).
type inlineEvents struct {
	billing *billing.Service
	mu      *sync.Mutex
}

func (q inlineEvents) EventRecorded(ctx context.Context, appID, eventID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.billing.ApplyRecordedEvent(ctx, appID, eventID)
}

// SignStripe returns a Stripe-Signature header for payload, made the way
// Stripe makes it (t=…,v1=HMAC-SHA256 of "t.payload"), written here
// independently of stripe-go, whose verifier checks it.
func SignStripe(payload []byte, secret string, at time.Time) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", at.Unix())
	m.Write(payload)
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(m.Sum(nil)))
}

// Customer returns the Stripe customer AppWheel recorded for a user.
func (e *Env) Customer(app *appwheel.App, appUserID string) string {
	e.t.Helper()
	id, err := e.Store.CustomerID(context.Background(), app.ID, appUserID)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}
