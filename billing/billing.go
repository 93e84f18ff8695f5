// Package billing is AppWheel's service: the rules for one app's users and
// their Stripe payment methods and invoices, written once. Every method
// takes the authenticated app, and every Stripe object it touches is
// checked to belong to that app's user.
package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"
)

// Store is the part of the database the service uses.
type Store interface {
	appwheel.CustomerStore
	appwheel.LockStore
	appwheel.MirrorStore
	appwheel.ImportStore
}

// Apps finds tenants, for work that starts from an app id (webhook events)
// or covers every app (reconcile). *apps.Service implements it.
type Apps interface {
	App(ctx context.Context, id string) (*appwheel.App, error)
	Apps(ctx context.Context) ([]*appwheel.App, error)
}

// Config is what a Service is built from.
type Config struct {
	Store  Store
	Stripe appwheel.Stripe
	Apps   Apps
	// DecodeEvent reads a recorded Stripe event (stripe.DecodeEvent).
	DecodeEvent func(payload []byte) (*appwheel.StripeEvent, error)
	// BackgroundRate is how many Stripe requests per second background work
	// (backfills on reconcile, re-fetches for events) may make per app, so
	// it never eats the app's own Stripe rate limit (25/s in test mode,
	// 100/s live). Defaults to 20.
	BackgroundRate float64
	// LinkBaseURL is AppWheel's public URL, and LinkKey the key that signs
	// invoice links (see InvoiceLinkTTL). Without them, mirrored invoices
	// carry the Stripe URLs last mirrored.
	LinkBaseURL string
	LinkKey     []byte
	// EnqueueImport, when not nil, hands an import started in the
	// background to the server's jobs (jobs.Jobs.EnqueueImport), which call
	// ContinueImport until it is done; enqueueing one twice runs it once.
	EnqueueImport func(ctx context.Context, appID, importID string) error
	// Notifier, when not nil, is told each fact the mirror learns from the
	// app's Stripe events, for the app's own endpoints (notify.Service).
	Notifier Notifier
	// PageCacheBytes bounds the rendered pages the service keeps in memory
	// (pages.go): 0 means DefaultPageCacheBytes, a negative size keeps none.
	PageCacheBytes int64
	// Now is the clock. Defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service applies the billing rules over the store and Stripe.
type Service struct {
	store         Store
	stripe        appwheel.Stripe
	apps          Apps
	decode        func([]byte) (*appwheel.StripeEvent, error)
	now           func() time.Time
	log           *slog.Logger
	rate          float64
	linkBase      string
	linkKey       []byte
	linkMACs      sync.Pool                          // hash.Hash keyed with linkKey
	linkURLs      *otter.Cache[linkKey, invoiceURLs] // see LinkURLTTL
	linkFetches   singleflight.Group
	enqueueImport func(ctx context.Context, appID, importID string) error
	notifier      Notifier
	limiters      sync.Map // app id → *rate.Limiter
	// lastVersion is the last mirror version this process assigned.
	lastVersion atomic.Int64
	prices      sync.Map                     // priceKey → *appwheel.Price
	pages       *otter.Cache[pageKey, *page] // nil when kept off
}

// New returns a Service. It does no I/O.
func New(cfg Config) *Service {
	s := &Service{
		store: cfg.Store, stripe: cfg.Stripe, apps: cfg.Apps, decode: cfg.DecodeEvent,
		now: cfg.Now, log: cfg.Logger, rate: cfg.BackgroundRate,
		linkBase: strings.TrimRight(cfg.LinkBaseURL, "/"), linkKey: cfg.LinkKey, enqueueImport: cfg.EnqueueImport,
		notifier: cfg.Notifier, pages: newPageCache(cfg.PageCacheBytes),
		linkURLs: otter.Must(&otter.Options[linkKey, invoiceURLs]{
			MaximumSize:      100_000,
			ExpiryCalculator: otter.ExpiryWriting[linkKey, invoiceURLs](LinkURLTTL),
			Clock:            clockFunc(cfg.Now),
		}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rate <= 0 {
		s.rate = 20
	}
	return s
}

// customerID returns the user's Stripe customer, or "" when the user has
// none yet. Reads never create one.
func (s *Service) customerID(ctx context.Context, app *appwheel.App, appUserID string) (string, error) {
	id, err := s.store.CustomerID(ctx, app.ID, appUserID)
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND {
		return "", nil
	}
	return id, err
}

// ensureCustomer returns the user's Stripe customer, creating it on first
// need. Concurrent first calls (on any replica) send Stripe the same
// idempotency key, so Stripe creates one customer, and the store keeps the
// first mapping written.
func (s *Service) ensureCustomer(ctx context.Context, app *appwheel.App, appUserID string) (string, error) {
	id, err := s.customerID(ctx, app, appUserID)
	if err != nil || id != "" {
		return id, err
	}
	cus, err := s.stripe.CreateCustomer(ctx, app.Stripe, appwheel.CreateCustomerParams{
		AppID:          app.ID,
		AppUserID:      appUserID,
		IdempotencyKey: customerIdempotencyKey(app.ID, appUserID),
	})
	if err != nil {
		return "", err
	}
	id, err = s.store.PutCustomer(ctx, app.ID, appUserID, cus.ID, s.now())
	if err != nil || id != cus.ID || app.ReadMode != appwheel.ReadMirror {
		return id, err
	}
	// A customer just made has nothing yet: its mirror is complete as is.
	return id, s.store.MarkSynced(ctx, app.ID, appUserID, s.now())
}

// replaceCustomer gives the user a new Stripe customer in place of one
// deleted at Stripe. Replicas racing here send the same idempotency key
// (derived from the deleted customer too) and the store's compare-and-swap
// keeps one mapping.
func (s *Service) replaceCustomer(ctx context.Context, app *appwheel.App, appUserID, deletedID string) (string, error) {
	cus, err := s.stripe.CreateCustomer(ctx, app.Stripe, appwheel.CreateCustomerParams{
		AppID:          app.ID,
		AppUserID:      appUserID,
		IdempotencyKey: derivedKey("customer", app.ID, appUserID, deletedID),
	})
	if err != nil {
		return "", err
	}
	id, err := s.store.ReplaceCustomer(ctx, app.ID, appUserID, deletedID, cus.ID, s.now())
	if err != nil || id != cus.ID || app.ReadMode != appwheel.ReadMirror {
		return id, err
	}
	return id, s.store.MarkSynced(ctx, app.ID, appUserID, s.now())
}

// customerIdempotencyKey is the same for every call about one user, so
// Stripe dedupes concurrent customer creation (for 24 h, by when the store
// holds the mapping).
func customerIdempotencyKey(appID, appUserID string) string {
	return derivedKey("customer", appID, appUserID)
}

// stripeIdempotencyKey derives the Stripe idempotency key of one operation
// from the client's Idempotency-Key and the operation's parameters, so that
// a client retrying after a crash gets Stripe's first result instead of a
// second write, and a key reused for another request makes another Stripe
// key. Without a client key it returns "" and the provider makes one key
// per call.
func stripeIdempotencyKey(op, appID, clientKey string, params ...string) string {
	if clientKey == "" {
		return ""
	}
	return derivedKey(append([]string{op, appID, clientKey}, params...)...)
}

func derivedKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "appwheel-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// notFound is the answer for a method that is not this user's, whoever it
// belongs to: the caller learns nothing about other users' methods.
func notFound(methodID string) error {
	return appwheel.Errorf(appwheel.ENOTFOUND, "no payment method %s for this user", methodID)
}

func isNotFound(err error) bool {
	var e *appwheel.Error
	return errors.As(err, &e) && e.Code == appwheel.ENOTFOUND
}
