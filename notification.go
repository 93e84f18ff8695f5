package appwheel

import (
	"context"
	"slices"
	"time"
)

// Event types AppWheel sends to an app's webhook endpoints, in the original
// document's vocabulary. Each one is a fact AppWheel learnt from the app's
// Stripe webhooks and applied to its mirror.
const (
	NotifyPaymentMethodAdded          = "payment_method.added"
	NotifyPaymentMethodRemoved        = "payment_method.removed"
	NotifyPaymentMethodDefaultChanged = "payment_method.default_changed"
	NotifyInvoiceCreated              = "invoice.created"
	NotifyInvoicePaid                 = "invoice.paid"
	NotifyInvoicePaymentFailed        = "invoice.payment_failed"
	NotifySubscriptionUpdated         = "subscription.updated"
)

// NotifyTypes are every event type an endpoint may ask for.
var NotifyTypes = []string{
	NotifyPaymentMethodAdded, NotifyPaymentMethodRemoved, NotifyPaymentMethodDefaultChanged,
	NotifyInvoiceCreated, NotifyInvoicePaid, NotifyInvoicePaymentFailed,
	NotifySubscriptionUpdated,
}

// WebhookEndpoint is an app's own server, where AppWheel sends its events
// signed with the endpoint's secret.
type WebhookEndpoint struct {
	AppID string
	ID    string // we_…
	URL   string
	// Events are the event types the endpoint is sent; empty means all.
	Events []string
	// SealedSecret is the endpoint's signing secret, sealed with the
	// master key like the app's other secrets.
	SealedSecret []byte
	// Disabled endpoints are sent nothing; DisabledReason says why:
	// DisabledByOperator or DisabledFailing.
	Disabled       bool
	DisabledReason string
	// FailingSince is the first failed delivery attempt since the last
	// successful one; zero when the last attempt succeeded (or none was
	// made).
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Why an endpoint is disabled.
const (
	DisabledByOperator = "operator"
	DisabledFailing    = "failing" // every delivery attempt failed for 3 days
)

// Wants reports whether the endpoint is sent events of type typ.
func (e *WebhookEndpoint) Wants(typ string) bool {
	if e.Disabled {
		return false
	}
	return len(e.Events) == 0 || slices.Contains(e.Events, typ)
}

// Notification is one event AppWheel sends an app: recorded once per fact,
// with the body every delivery of it carries.
type Notification struct {
	AppID      string
	ID         string // evt_…: one per fact, the same on every delivery
	Type       string
	AppUserID  string
	Created    int64  // Unix seconds: when the fact happened (Stripe's event)
	Body       []byte // the JSON delivered
	RecordedAt time.Time
}

// DeliveryAttempt is one try at delivering a notification to an endpoint.
type DeliveryAttempt struct {
	AppID      string
	EventID    string
	EndpointID string
	Attempt    int // 1 for the first
	At         time.Time
	StatusCode int // the endpoint's answer, 0 when there was none
	Latency    time.Duration
	Error      string // "" when delivered
	// Outcome is DeliveryDelivered, DeliveryRetrying (then NextRetryAt is
	// set) or DeliveryFailed (the last attempt failed).
	Outcome     string
	NextRetryAt time.Time
}

// Delivery outcomes.
const (
	DeliveryDelivered = "delivered"
	DeliveryRetrying  = "retrying"
	DeliveryFailed    = "failed"
)

// NotifyStore keeps apps' webhook endpoints, the events sent to them and
// each delivery attempt. Every row is scoped by app.
type NotifyStore interface {
	// CreateEndpoint inserts an endpoint; ECONFLICT when its (app, id)
	// exists already.
	CreateEndpoint(ctx context.Context, ep *WebhookEndpoint) error
	// Endpoint returns one endpoint of the app, or ENOTFOUND.
	Endpoint(ctx context.Context, appID, id string) (*WebhookEndpoint, error)
	// Endpoints returns the app's endpoints, oldest first.
	Endpoints(ctx context.Context, appID string) ([]*WebhookEndpoint, error)
	// UpdateEndpoint replaces the stored endpoint with the same (app, id),
	// or returns ENOTFOUND.
	UpdateEndpoint(ctx context.Context, ep *WebhookEndpoint) error
	// DeleteEndpoint removes an endpoint, or returns ENOTFOUND. Its
	// attempts are kept.
	DeleteEndpoint(ctx context.Context, appID, id string) error
	// MarkEndpointResult records the outcome of a delivery attempt at at:
	// a success clears FailingSince, a failure sets it unless it is set.
	// It returns FailingSince after the change, or ENOTFOUND.
	MarkEndpointResult(ctx context.Context, appID, id string, delivered bool, at time.Time) (failingSince time.Time, err error)

	// RecordNotification stores n unless its (app, id) is stored already,
	// and reports whether it was new.
	RecordNotification(ctx context.Context, n *Notification) (bool, error)
	// Notification returns a recorded notification by its id, of whichever
	// app, or ENOTFOUND.
	Notification(ctx context.Context, id string) (*Notification, error)

	// RecordAttempt stores one delivery attempt.
	RecordAttempt(ctx context.Context, a *DeliveryAttempt) error
	// Attempts returns the app's latest delivery attempts, newest first
	// (At, then EventID, EndpointID and Attempt, descending), at most
	// limit; with failedOnly, only those whose Error is not "".
	Attempts(ctx context.Context, appID string, failedOnly bool, limit int) ([]*DeliveryAttempt, error)
	// DeleteNotificationsBefore forgets the notifications recorded and the
	// attempts made before t.
	DeleteNotificationsBefore(ctx context.Context, t time.Time) (int64, error)
}
