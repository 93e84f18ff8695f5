package appwheel

import (
	"context"
	"time"
)

// Store is AppWheel's database: SQLite by default, PostgreSQL for several
// replicas. Everything that must hold across replicas (replay refusal,
// idempotency keys, one customer per user) is decided here, by the
// database's own constraints, never in process memory.
//
// Errors: ENOTFOUND and ECONFLICT where a method says so; anything else is
// internal. ECONFLICT is a write that a uniqueness constraint refused: the
// object (an app ID, a Stripe customer) is another's already. The other
// writes never meet one: where their keys collide (a nonce used twice, an
// event delivered twice, an older snapshot), the collision is their answer,
// decided in the same statement.
type Store interface {
	AppStore
	CustomerStore
	NonceStore
	IdempotencyStore
	LockStore
	MirrorStore
	ImportStore
	NotifyStore

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// AppStore keeps the tenants.
type AppStore interface {
	// CreateApp inserts a new app, or returns ECONFLICT when an app with
	// its ID exists already.
	CreateApp(ctx context.Context, app *AppRecord) error
	// App returns the app with the given ID, or ENOTFOUND.
	App(ctx context.Context, id string) (*AppRecord, error)
	// Apps returns every app, oldest first.
	Apps(ctx context.Context) ([]*AppRecord, error)
	// UpdateApp replaces the stored app with the same ID, or returns ENOTFOUND.
	UpdateApp(ctx context.Context, app *AppRecord) error
}

// CustomerStore maps an app's users to their Stripe customers.
type CustomerStore interface {
	// CustomerID returns the Stripe customer of (appID, appUserID), or
	// ENOTFOUND when the user has none yet.
	CustomerID(ctx context.Context, appID, appUserID string) (string, error)
	// PutCustomer records customerID for (appID, appUserID) unless one is
	// recorded already, and returns the one recorded: the first writer wins,
	// also across replicas. A customer ID serves one user of an app; giving
	// it to a second user is ECONFLICT (and records nothing). A user who has
	// a customer already keeps it, whatever customerID is.
	PutCustomer(ctx context.Context, appID, appUserID, customerID string, now time.Time) (string, error)
	// ReplaceCustomer records newCustomerID in place of oldCustomerID (a
	// customer deleted at Stripe) and returns the one recorded: when the
	// user's customer is no longer oldCustomerID, nothing changes and the
	// current one is returned. The mirror's state of the old customer is
	// reset (not synced). A newCustomerID recorded for another user of the
	// app is ECONFLICT, and nothing changes.
	ReplaceCustomer(ctx context.Context, appID, appUserID, oldCustomerID, newCustomerID string, now time.Time) (string, error)
}

// NonceStore remembers request signatures until they expire, so each signed
// request is accepted once.
type NonceStore interface {
	// UseNonce records nonce for appID until expiresAt. It reports false when
	// the nonce is recorded already (a replay): a nonce stays used until
	// DeleteExpiredNonces forgets it, which is safe because by then the
	// request's own timestamp has left the accepted window.
	UseNonce(ctx context.Context, appID, nonce string, expiresAt time.Time) (fresh bool, err error)
	// DeleteExpiredNonces forgets nonces that expired before now.
	DeleteExpiredNonces(ctx context.Context, now time.Time) (int64, error)
}

// IdempotentRequest is a request made with an Idempotency-Key and, once it
// has finished, the response it got.
type IdempotentRequest struct {
	AppID       string
	Key         string
	RequestHash string // SHA-256 of method, target and body

	Finished bool
	Status   int    // HTTP status of the response, once finished
	Body     []byte // response body, once finished

	CreatedAt time.Time
	ExpiresAt time.Time
}

// IdempotencyStore keeps Idempotency-Key records.
type IdempotencyStore interface {
	// BeginIdempotentRequest claims req.Key for req. It returns nil when the
	// caller now owns the key and must finish or abandon it. Otherwise it
	// returns the record that holds the key: finished, or still in flight.
	// An expired record, or an unfinished one created, and last heartbeat
	// (HeartbeatIdempotentRequest), before staleBefore (its owner crashed),
	// is taken over as if absent.
	BeginIdempotentRequest(ctx context.Context, req *IdempotentRequest, staleBefore time.Time) (*IdempotentRequest, error)
	// HeartbeatIdempotentRequest records at at that owner, claimed with
	// BeginIdempotentRequest, is still running its request; it does nothing
	// when owner no longer holds the key in flight.
	HeartbeatIdempotentRequest(ctx context.Context, owner *IdempotentRequest, at time.Time) error
	// FinishIdempotentRequest stores the response of the key owner claimed
	// with BeginIdempotentRequest (identified by AppID, Key and CreatedAt).
	// It returns ENOTFOUND when owner no longer holds the key in flight
	// (abandoned, expired, or taken over as stale by another request), so a
	// slow first owner never overwrites its successor.
	FinishIdempotentRequest(ctx context.Context, owner *IdempotentRequest, status int, body []byte) error
	// AbandonIdempotentRequest releases owner's key without a response, so
	// that a retry runs the request again. It does nothing when owner no
	// longer holds the key in flight.
	AbandonIdempotentRequest(ctx context.Context, owner *IdempotentRequest) error
	// DeleteExpiredIdempotentRequests forgets records that expired before now.
	DeleteExpiredIdempotentRequests(ctx context.Context, now time.Time) (int64, error)
}

// LockStore holds short leases that serialize work across replicas, such as
// two removals of one user's payment methods racing past the last-method
// guard.
type LockStore interface {
	// TryLock takes the named lease for owner until expiresAt, unless another
	// owner holds it and it has not expired at now. It reports whether owner
	// holds the lease now; taking a lease one already holds extends it.
	TryLock(ctx context.Context, name, owner string, now, expiresAt time.Time) (bool, error)
	// Unlock releases owner's lease; it does nothing when owner does not hold it.
	Unlock(ctx context.Context, name, owner string) error
}
