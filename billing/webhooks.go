package billing

import (
	"context"
	"time"

	"github.com/appwheel/appwheel"
)

// EventApplier is told of every delivery once its event is recorded,
// duplicates too. The record is what queues the event: the server's jobs
// claim unprocessed events from the store and apply them
// (Service.ApplyEvents), and the server's EventApplier only wakes them
// (Wake), so the event is applied at once rather than at their next poll.
// Tests apply the event inline (Service.ApplyRecordedEvent).
type EventApplier interface {
	EventRecorded(ctx context.Context, appID, eventID string) error
}

// Wake is an EventApplier that calls the function, the wake-up of the jobs'
// applier that claims the recorded events (jobs.Jobs.Wake), and never fails.
type Wake func()

// EventRecorded wakes the applier.
func (w Wake) EventRecorded(context.Context, string, string) error {
	w()
	return nil
}

// EventRecorder records each event once (appwheel.MirrorStore.RecordEvent).
type EventRecorder interface {
	RecordEvent(ctx context.Context, ev *appwheel.Event) (bool, error)
}

// IntakeConfig is what an Intake is built from.
type IntakeConfig struct {
	Apps    Apps
	Events  EventRecorder
	Applier EventApplier
	// VerifyEvent checks a delivery's Stripe-Signature with the app's
	// webhook signing secret and returns the event (stripe.VerifyEvent);
	// its errors are EINVALID.
	VerifyEvent func(payload []byte, header, secret string) (*appwheel.Event, error)
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// Intake receives Stripe's webhook deliveries. It is apart from Service
// because the jobs it wakes are built on the Service: they run
// Service.ApplyEvents on what the Intake records.
type Intake struct {
	apps    Apps
	events  EventRecorder
	applier EventApplier
	verify  func(payload []byte, header, secret string) (*appwheel.Event, error)
	now     func() time.Time
}

// NewIntake returns an Intake. It does no I/O.
func NewIntake(cfg IntakeConfig) *Intake {
	in := &Intake{apps: cfg.Apps, events: cfg.Events, applier: cfg.Applier, verify: cfg.VerifyEvent, now: cfg.Now}
	if in.now == nil {
		in.now = time.Now
	}
	return in
}

// WebhookReceipt is what a delivery's answer says.
type WebhookReceipt struct {
	EventID string `json:"eventId"`
	// Duplicate reports that the event was recorded before (Stripe
	// delivers at least once).
	Duplicate bool `json:"duplicate"`
}

// Receive takes one delivery of a Stripe event for an app: it verifies
// the signature, records the event once by id, which queues it for the
// background work that applies it to the mirror, and tells the Applier. It
// succeeds only once the event is durably recorded, so Stripe retries
// anything less.
//
// Returns ENOTFOUND for an unknown app, EINVALID when the app has no
// webhook signing secret or the signature or payload is bad (nothing is
// recorded then).
func (in *Intake) Receive(ctx context.Context, appID string, payload []byte, signature string) (*WebhookReceipt, error) {
	app, err := in.apps.App(ctx, appID)
	if isNotFound(err) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such app")
	}
	if err != nil {
		return nil, err
	}
	if app.Stripe.WebhookSecret == "" {
		return nil, appwheel.Errorf(appwheel.EINVALID, "app has no Stripe webhook signing secret")
	}
	ev, err := in.verify(payload, signature, app.Stripe.WebhookSecret)
	if err != nil {
		return nil, err
	}
	ev.AppID, ev.ReceivedAt = app.ID, in.now()
	fresh, err := in.events.RecordEvent(ctx, ev)
	if err != nil {
		return nil, err
	}
	// Told on every delivery, duplicates too: an event is applied once
	// whatever the Applier is told, and a delivery whose telling failed
	// before (a 5xx, retried by Stripe) is told now.
	if err := in.applier.EventRecorded(ctx, app.ID, ev.ID); err != nil {
		return nil, err
	}
	return &WebhookReceipt{EventID: ev.ID, Duplicate: !fresh}, nil
}
