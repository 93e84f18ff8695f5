package appwheel

import (
	"context"
	"time"
)

// Event is a Stripe webhook event as AppWheel records it: durably, once per
// event id, before it is applied to the mirror in the background. The
// recorded events not yet processed are the queue of that work
// (MirrorStore.ClaimEvents).
type Event struct {
	AppID       string
	ID          string // evt_…
	Type        string // e.g. payment_method.attached
	Created     int64  // Stripe's event.created, Unix seconds
	Payload     []byte // the event's JSON as Stripe sent it
	ReceivedAt  time.Time
	ProcessedAt time.Time // zero until applied
}

// EventKey names one recorded event.
type EventKey struct {
	AppID string
	ID    string
}

// ClaimedEvent is a recorded event claimed for applying
// (MirrorStore.ClaimEvents).
type ClaimedEvent struct {
	Event
	// Attempts counts the event's claims, this one included: 1 on its
	// first.
	Attempts int
}

// StripeEvent is what a Stripe event means for the mirror: its object in
// domain terms. Exactly one of Customer, PaymentMethod, Subscription and
// Invoice is set for the events of those objects; setup intent and checkout
// session events set CustomerID and PaymentMethodID (or SetupIntentID, whose
// payment method must then be fetched).
type StripeEvent struct {
	ID      string
	Type    string
	Created int64

	Customer      *Customer
	PaymentMethod *PaymentMethod
	Subscription  *Subscription
	Invoice       *Invoice

	CustomerID      string
	PaymentMethodID string
	SetupIntentID   string
	// PreviousCustomerID is, for payment_method.detached, the customer the
	// method was detached from.
	PreviousCustomerID string
	// PreviousStatus is, for a subscription event that changed its status,
	// the status before; "" when the status did not change.
	PreviousStatus string
	// DefaultChanged says a customer event changed the customer's default
	// payment method, from PreviousDefaultPaymentMethodID ("" for none).
	DefaultChanged                 bool
	PreviousDefaultPaymentMethodID string
}

// KeptPage is a rendered read answer kept in the database, so that every
// replica serves it while it is current, as billing's rendered pages are
// served from memory: the body and what it was rendered from.
type KeptPage struct {
	Version   int64  // the customer's ReadsVersion it was rendered at
	DefaultID string // the customer's DefaultPaymentMethodID then
	Expires   int64  // Unix seconds: the first instant the answer may differ
	Body      []byte // the answer's JSON
}

// CustomerState is the mirrored state of one user's Stripe customer.
type CustomerState struct {
	AppUserID              string
	CustomerID             string
	DefaultPaymentMethodID string
	Deleted                bool
	// SyncedAt is when the user's mirror was last filled from Stripe (a
	// backfill or a reconcile); zero means never, and reads go to Stripe.
	SyncedAt time.Time
	// SetupPendingUntil, while in the future, says the user has started
	// adding a payment method whose completion the mirror has not seen yet:
	// reads of the user's methods go to Stripe meanwhile.
	SetupPendingUntil time.Time
	// SetupPendingIntentID is the SetupIntent of that setup: only its own
	// success ends the window early.
	SetupPendingIntentID string
	// DefaultSetupIntentID is the SetupIntent started with makeDefault whose
	// card becomes the customer's default once it succeeds; "" when none.
	DefaultSetupIntentID string
	// ReadsVersion changes, in the transaction of the change, whenever the
	// customer's payment methods, subscriptions, their status history or
	// invoices do (not when a write changes nothing): equal versions mean
	// the same mirrored data, on every replica. The store keeps it; nothing
	// sets it.
	ReadsVersion int64
}

// StatusChange is one observed subscription status and when it took effect.
type StatusChange struct {
	Status string
	At     int64 // the version it was observed at: Unix microseconds
}

// MirrorStore keeps AppWheel's copy of each user's Stripe data, fed by
// webhooks, backfills and AppWheel's own writes, so that reads need no
// Stripe call. Every row is scoped by app.
//
// Each Save takes a version, the time the snapshot describes in Unix
// microseconds: a webhook event's created time, or when AppWheel fetched
// the object. A snapshot is written only when its version is newer than the
// stored one, so duplicated and out-of-order deliveries converge. Save
// reports whether it wrote (false for an older or equal version; the caller
// then re-fetches the object).
type MirrorStore interface {
	// RecordEvent stores an event unless its (app, id) is stored already,
	// and reports whether it was new.
	RecordEvent(ctx context.Context, ev *Event) (bool, error)
	// Event returns a recorded event, or ENOTFOUND.
	Event(ctx context.Context, appID, id string) (*Event, error)
	// MarkEventProcessed records that the event has been applied, or
	// returns ENOTFOUND when it is not recorded; marking again keeps the
	// first time.
	MarkEventProcessed(ctx context.Context, appID, id string, at time.Time) error
	// ClaimEvents claims up to limit unprocessed events until until, in one
	// statement, and returns them, oldest received first. An event is
	// claimable when it was never claimed, or when its claim (or the retry
	// time RetryEvents set) is not after now; the events claimable longest
	// come first. Of claimers racing, on any replica, each event goes to
	// one: the sets they get are disjoint. A claim is not a lock: it only
	// keeps other claimers away until it ends, so that a claimer that died
	// leaves its events to the next.
	ClaimEvents(ctx context.Context, now, until time.Time, limit int) ([]*ClaimedEvent, error)
	// MarkEventsProcessed records that the events have been applied at at,
	// in one statement; events marked already keep their first time, and
	// unknown ones are ignored.
	MarkEventsProcessed(ctx context.Context, events []EventKey, at time.Time) error
	// RetryEvents moves the claims of unprocessed events to end at at, so
	// that they are claimed again from then on, not before; unknown or
	// processed events are ignored.
	RetryEvents(ctx context.Context, events []EventKey, at time.Time) error

	// CustomerState returns the user's mirrored customer, or ENOTFOUND when
	// the user has no customer.
	CustomerState(ctx context.Context, appID, appUserID string) (*CustomerState, error)
	// CustomerOwner returns the user a Stripe customer stands for, or
	// ENOTFOUND when AppWheel did not create it.
	CustomerOwner(ctx context.Context, appID, customerID string) (appUserID string, err error)
	// SaveCustomer updates a known customer's mirrored fields; an unknown
	// customer is ignored (false).
	SaveCustomer(ctx context.Context, appID string, c *Customer, version int64) (bool, error)
	// MarkSynced records that the user's mirror was filled from Stripe at at,
	// or returns ENOTFOUND when the user has no customer; an at earlier than
	// the recorded one is ignored.
	MarkSynced(ctx context.Context, appID, appUserID string, at time.Time) error
	// SetSetupPending opens the user's pending setup window until until, for
	// the setup of setupIntentID, or returns ENOTFOUND when the user has no
	// customer.
	SetSetupPending(ctx context.Context, appID, appUserID string, until time.Time, setupIntentID string) error
	// ClearSetupPending closes the user's pending setup window if it is still
	// setupIntentID's (a newer setup's stays open); an unknown user is no
	// error.
	ClearSetupPending(ctx context.Context, appID, appUserID, setupIntentID string) error
	// SetDefaultSetup records setupIntentID as the user's
	// DefaultSetupIntentID, replacing any, or returns ENOTFOUND when the
	// user has no customer.
	SetDefaultSetup(ctx context.Context, appID, appUserID, setupIntentID string) error
	// ClearDefaultSetup clears the user's DefaultSetupIntentID if it is
	// still setupIntentID (a newer one is kept); an unknown user is no error.
	ClearDefaultSetup(ctx context.Context, appID, appUserID, setupIntentID string) error
	// SyncedBefore returns up to limit synced users of the app whose last
	// sync was before t, least recently synced first (for reconcile).
	SyncedBefore(ctx context.Context, appID string, t time.Time, limit int) ([]*CustomerState, error)

	// KeptPage returns the rendered read kept for the customer under kind,
	// or ENOTFOUND.
	KeptPage(ctx context.Context, appID, customerID, kind string) (*KeptPage, error)
	// KeepPage keeps p as the customer's rendered read of kind, replacing
	// the one kept unless that one was rendered at a newer ReadsVersion.
	KeepPage(ctx context.Context, appID, customerID, kind string, p *KeptPage) error

	// SavePaymentMethod writes a payment method; CustomerID "" means
	// detached.
	SavePaymentMethod(ctx context.Context, appID string, pm *PaymentMethod, version int64) (bool, error)
	// MirroredPaymentMethod returns one payment method, or ENOTFOUND.
	MirroredPaymentMethod(ctx context.Context, appID, id string) (*PaymentMethod, error)
	// PaymentMethodsOf returns a customer's attached payment methods, newest
	// first (created, then id, descending).
	PaymentMethodsOf(ctx context.Context, appID, customerID string) ([]*PaymentMethod, error)

	// SaveSubscription writes a subscription (versioned) and records its
	// status as observed at version in the history, whatever the version
	// order, so a shuffled stream of events yields the same history.
	SaveSubscription(ctx context.Context, appID string, sub *Subscription, version int64) (bool, error)
	// SubscriptionsOf returns a customer's subscriptions, newest first.
	SubscriptionsOf(ctx context.Context, appID, customerID string) ([]*Subscription, error)
	// StatusHistory returns each subscription's status changes, oldest
	// first, with repeated observations of one status folded into one, as
	// FoldStatusHistory folds them.
	StatusHistory(ctx context.Context, appID string, subscriptionIDs []string) (map[string][]StatusChange, error)

	// SaveInvoice writes an invoice. A deleted invoice stays deleted: its
	// snapshots write nothing (false), whatever their version.
	SaveInvoice(ctx context.Context, appID string, inv *Invoice, version int64) (bool, error)
	// DeleteInvoice forgets an invoice deleted at Stripe (invoice.deleted,
	// which only happens to drafts) unless the stored snapshot is newer than
	// version, and reports whether it did (false for an older version, or an
	// invoice deleted already). A tie goes to the deletion, as nothing
	// happens to an invoice after it: its events of the same second carry
	// the same version. The store keeps a tombstone under the version
	// guard, even for an invoice it has not mirrored yet, so that no
	// snapshot delivered late brings the invoice back: once deleted, an
	// invoice is gone from MirroredInvoice and InvoicesOf for good.
	DeleteInvoice(ctx context.Context, appID, invoiceID string, version int64) (bool, error)
	// MirroredInvoice returns one invoice, or ENOTFOUND (also when deleted).
	MirroredInvoice(ctx context.Context, appID, id string) (*Invoice, error)
	// InvoicesOf returns one page of a customer's invoices, newest first
	// (created, then id, descending), deleted ones left out. An unknown,
	// foreign or deleted StartingAfter is ENOTFOUND.
	InvoicesOf(ctx context.Context, appID string, p ListInvoicesParams) (*InvoicePage, error)
}
