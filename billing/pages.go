package billing

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/maypok86/otter/v2"
)

// Rendered pages. A mirrored read's answer is a function of the user's
// mirrored data, the customer row it is read with, the app and the clock.
// The store counts every change to the data in the customer's ReadsVersion,
// in the database and so alike on every replica, and the clock changes an
// answer only at instants known when it is rendered (an invoice's period
// ending, the hour of its links' expiry). So the process keeps each answer
// it rendered, encoded as the API sends it, and serves it again for the
// price of one point read of the customer row, for as long as
//   - the customer, its default payment method and its ReadsVersion are
//     those it was rendered with, and
//   - the clock has not reached the answer's own expiry.
//
// A page rendered again is rendered from that same row (mirrorReader's
// known), so a miss costs no more reads than a read without the cache.
//
// A user's first page of invoices is also kept in the database
// (Store.KeepPage), under the same rule, so that a process that does not
// hold it serves it for one more point read instead of rendering it: with
// more users than a process's memory holds (a thousand apps of a thousand
// users), rendering the page from the mirror costs some 15 times reading
// it back (BenchmarkReadJSON: invoices/uncached against invoices/kept). Only that page: the other reads render cheaply, and pages
// after a cursor or of another size are seldom read twice.
//
// Nothing is kept for live apps, whose reads ask Stripe by design, nor
// while a read would ask Stripe (a user never synced, a setup pending) or
// the user's customer is deleted. A page is rendered from data read after
// the version it is kept under, never before: a change racing the render
// can only make the page newer than its version, and the next read, seeing
// the newer version, renders again.

// DefaultPageCacheBytes is the rendered pages a process keeps unless told
// otherwise: some thousands of users' pages.
const DefaultPageCacheBytes = 64 << 20

// pageKey names one rendered answer. The customer is in the key so that a
// user relinked to another customer (ReplaceCustomer) never meets the old
// one's pages.
type pageKey struct {
	app, user, customer string
	kind                pageKind
	limit               int    // invoices: the page size asked for
	after               string // invoices: startingAfter
}

type pageKind uint8

const (
	methodsPage pageKind = iota + 1
	invoicesPage
)

// page is one rendered answer and what it was rendered from.
type page struct {
	version   int64
	defaultID string
	expires   int64 // Unix seconds: the first instant the answer may differ
	body      []byte
}

// never is the expiry of an answer the clock does not change.
const never = math.MaxInt64

func newPageCache(maxBytes int64) *otter.Cache[pageKey, *page] {
	if maxBytes < 0 {
		return nil
	}
	if maxBytes == 0 {
		maxBytes = DefaultPageCacheBytes
	}
	return otter.Must(&otter.Options[pageKey, *page]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(k pageKey, p *page) uint32 {
			const overhead = 160 // the entry, the key's and page's headers
			return uint32(min(len(p.body)+len(k.app)+len(k.user)+len(k.customer)+len(k.after)+len(p.defaultID)+overhead, math.MaxUint32))
		},
	})
}

// PaymentMethodsJSON is PaymentMethods as the API sends it, its JSON,
// served from the rendered pages while current.
func (s *Service) PaymentMethodsJSON(ctx context.Context, app *appwheel.App, appUserID string) (json.RawMessage, error) {
	return s.rendered(ctx, app, pageKey{user: appUserID, kind: methodsPage}, func(r reader) (any, int64, error) {
		list, err := s.paymentMethods(ctx, app, appUserID, r)
		return list, never, err
	})
}

// InvoicesJSON is Invoices as the API sends it, its JSON, served from the
// rendered pages while current.
func (s *Service) InvoicesJSON(ctx context.Context, app *appwheel.App, p ListInvoicesParams) (json.RawMessage, error) {
	return s.rendered(ctx, app, pageKey{user: p.AppUserID, kind: invoicesPage, limit: p.Limit, after: p.StartingAfter}, func(r reader) (any, int64, error) {
		return s.invoices(ctx, app, p, r)
	})
}

// rendered serves key's answer from the rendered pages when it is current,
// and otherwise renders it from r (render returns the answer and its
// expiry), encodes it and keeps it if it may be kept.
func (s *Service) rendered(ctx context.Context, app *appwheel.App, key pageKey, render func(r reader) (any, int64, error)) (json.RawMessage, error) {
	var st *appwheel.CustomerState
	r := s.reader(app)
	if s.pages != nil && mirrored(app) && validateAppUserID(key.user) == nil {
		var err error
		switch st, err = s.store.CustomerState(ctx, app.ID, key.user); {
		case isNotFound(err):
			st = nil
		case err != nil:
			return nil, err
		case !keepable(st, s.now()):
			st = nil
		default:
			key.app, key.customer = app.ID, st.CustomerID
			if p, ok := s.pages.GetIfPresent(key); ok && p.current(st, s.now().Unix()) {
				return p.body, nil
			}
			if p, err := s.keptPage(ctx, key); err != nil {
				return nil, err
			} else if p != nil && p.current(st, s.now().Unix()) {
				s.pages.Set(key, p)
				return p.body, nil
			}
			r = mirrorReader{s: s, known: st}
		}
	}
	v, expires, err := render(r)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if st != nil {
		p := &page{version: st.ReadsVersion, defaultID: st.DefaultPaymentMethodID, expires: expires, body: body}
		s.pages.Set(key, p)
		s.keepPage(ctx, key, p)
	}
	return body, nil
}

// keptKind is the kind under which key's page is kept in the database,
// "" for a page kept in memory only: the first page of invoices, of the
// default size.
func keptKind(key pageKey) string {
	if key.kind == invoicesPage && key.after == "" && (key.limit == 0 || key.limit == DefaultInvoiceLimit) {
		return "invoices"
	}
	return ""
}

// keptPage is key's page as the database keeps it, nil when it keeps none.
func (s *Service) keptPage(ctx context.Context, key pageKey) (*page, error) {
	kind := keptKind(key)
	if kind == "" {
		return nil, nil
	}
	kp, err := s.store.KeptPage(ctx, key.app, key.customer, kind)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &page{version: kp.Version, defaultID: kp.DefaultID, expires: kp.Expires, body: kp.Body}, nil
}

// keepPage keeps p in the database if its kind is kept there. A failure
// costs only a render elsewhere, so the read that rendered p is answered
// all the same.
func (s *Service) keepPage(ctx context.Context, key pageKey, p *page) {
	kind := keptKind(key)
	if kind == "" {
		return
	}
	kp := &appwheel.KeptPage{Version: p.version, DefaultID: p.defaultID, Expires: p.expires, Body: p.body}
	if err := s.store.KeepPage(ctx, key.app, key.customer, kind, kp); err != nil {
		s.log.Warn("keeping a rendered page failed", "app_id", key.app, "kind", kind, "error", err)
	}
}

// keepable reports whether a read of the user now may be kept: it comes
// from the mirror alone.
func keepable(st *appwheel.CustomerState, now time.Time) bool {
	return !st.SyncedAt.IsZero() && !st.Deleted && !st.SetupPendingUntil.After(now)
}

// current reports whether p is still the answer for the user whose
// customer row is st, at now (Unix seconds). The app plays no part: a kept
// page is served only while the app reads the mirror, and renders from the
// mirror alone.
func (p *page) current(st *appwheel.CustomerState, now int64) bool {
	return p.version == st.ReadsVersion && p.defaultID == st.DefaultPaymentMethodID && now < p.expires
}
