package billing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/appwheel/appwheel"
)

// Notifier passes what the mirror learns on to the app's own servers
// (notify.Service).
type Notifier interface {
	// Wants reports whether any endpoint of the app is sent events of
	// type typ: only then is an event rendered.
	Wants(ctx context.Context, appID, typ string) (bool, error)
	// Notify records events, each once per id, and delivers them.
	Notify(ctx context.Context, ns ...*appwheel.Notification) error
}

// notification is the body of an event sent to an app's endpoint.
type notification struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Created   int64  `json:"created"`
	AppUserID string `json:"appUserId"`
	Data      any    `json:"data"`
}

// The data of each kind of event.
type (
	paymentMethodEvent struct {
		PaymentMethod json.RawMessage `json:"paymentMethod"` // Stripe's object, as paymentMethod lists it
	}
	defaultChangedEvent struct {
		PaymentMethod json.RawMessage `json:"paymentMethod"` // the new default, null when none
		// PreviousDefaultMethodID is the default before, "" when none.
		PreviousDefaultMethodID string `json:"previousDefaultMethodId"`
	}
	invoiceEvent struct {
		Invoice appwheel.Order `json:"invoice"` // as the invoices list renders it
	}
	subscriptionEvent struct {
		Subscription appwheel.SubscriptionView `json:"subscription"` // as the subscriptions list renders it
		// PreviousStatus is the status before the change: the current one
		// when it did not change, "" for a new subscription.
		PreviousStatus string `json:"previousStatus"`
	}
)

// notificationType is the event AppWheel sends for a Stripe event it has
// applied, "" for none.
func notificationType(ev *appwheel.StripeEvent) string {
	switch ev.Type {
	case "payment_method.attached":
		return appwheel.NotifyPaymentMethodAdded
	case "payment_method.detached":
		return appwheel.NotifyPaymentMethodRemoved
	case "customer.updated":
		if ev.DefaultChanged {
			return appwheel.NotifyPaymentMethodDefaultChanged
		}
	case "invoice.created", "invoice.paid", "invoice.payment_failed":
		return ev.Type // the same names
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
		"customer.subscription.paused", "customer.subscription.resumed":
		return appwheel.NotifySubscriptionUpdated
	}
	return ""
}

// notificationID is the id of the event sent for the fact of type typ that
// the app's Stripe event stripeEventID carried: the same each time that
// Stripe event is applied, so that one fact is one event.
func notificationID(appID, stripeEventID, typ string) string {
	sum := sha256.Sum256([]byte(appID + "\x00" + stripeEventID + "\x00" + typ))
	return "evt_" + hex.EncodeToString(sum[:12])
}

// notification is what to tell the app's endpoints of the fact a Stripe
// event just applied to the mirror carried, rendered from the mirror as the
// API renders it; nil when there is nothing to tell (no endpoint wants it,
// or no notifier). It is made again whenever the event is applied again (a
// retry, a crash before the event was marked processed), with the same id
// each time: endpoints are sent a fact at least once.
func (s *Service) notification(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent) (*appwheel.Notification, error) {
	typ := notificationType(ev)
	if typ == "" || s.notifier == nil {
		return nil, nil
	}
	if want, err := s.notifier.Wants(ctx, app.ID, typ); err != nil || !want {
		return nil, err
	}
	customerID := eventCustomer(ev)
	user, err := s.store.CustomerOwner(ctx, app.ID, customerID)
	if isNotFound(err) { // not a customer AppWheel made
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	data, err := s.notificationData(ctx, app, ev, customerID, user)
	if err != nil {
		return nil, err
	}
	id := notificationID(app.ID, ev.ID, typ)
	body, err := json.Marshal(notification{ID: id, Type: typ, Created: ev.Created, AppUserID: user, Data: data})
	if err != nil {
		return nil, err
	}
	return &appwheel.Notification{AppID: app.ID, ID: id, Type: typ, AppUserID: user, Created: ev.Created, Body: body}, nil
}

// notificationData renders an event's data from the mirror, which the
// Stripe event has just been applied to.
func (s *Service) notificationData(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent, customerID, user string) (any, error) {
	switch {
	case ev.PaymentMethod != nil:
		return paymentMethodEvent{PaymentMethod: ev.PaymentMethod.Raw}, nil
	case ev.Customer != nil:
		d := defaultChangedEvent{PaymentMethod: json.RawMessage("null"), PreviousDefaultMethodID: ev.PreviousDefaultPaymentMethodID}
		if id := ev.Customer.DefaultPaymentMethodID; id != "" {
			pm, err := s.store.MirroredPaymentMethod(ctx, app.ID, id)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			if pm != nil {
				d.PaymentMethod = pm.Raw
			}
		}
		return d, nil
	case ev.Invoice != nil:
		return s.invoiceNotification(ctx, app, ev.Invoice)
	case ev.Subscription != nil:
		return s.subscriptionNotification(ctx, app, ev, customerID, user)
	}
	return nil, nil
}

func (s *Service) invoiceNotification(ctx context.Context, app *appwheel.App, snapshot *appwheel.Invoice) (invoiceEvent, error) {
	inv, err := s.store.MirroredInvoice(ctx, app.ID, snapshot.ID)
	if isNotFound(err) {
		inv, err = snapshot, nil
	}
	if err != nil {
		return invoiceEvent{}, err
	}
	sub, err := s.mirroredSubscription(ctx, app, inv)
	if err != nil {
		return invoiceEvent{}, err
	}
	var history []appwheel.StatusChange
	if sub != nil {
		h, err := s.store.StatusHistory(ctx, app.ID, []string{sub.ID})
		if err != nil {
			return invoiceEvent{}, err
		}
		history = h[sub.ID]
	}
	o, err := s.order(ctx, app, inv, sub, history, true, s.now().Unix())
	return invoiceEvent{Invoice: o}, err
}

func (s *Service) subscriptionNotification(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent, customerID, user string) (subscriptionEvent, error) {
	sub := ev.Subscription
	subs, err := s.store.SubscriptionsOf(ctx, app.ID, customerID)
	if err != nil {
		return subscriptionEvent{}, err
	}
	for _, mirrored := range subs {
		if mirrored.ID == sub.ID {
			sub = mirrored
		}
	}
	methods, err := s.store.PaymentMethodsOf(ctx, app.ID, customerID)
	if err != nil {
		return subscriptionEvent{}, err
	}
	st, err := s.store.CustomerState(ctx, app.ID, user)
	if err != nil {
		return subscriptionEvent{}, err
	}
	d := subscriptionEvent{Subscription: subscriptionView(sub, st.DefaultPaymentMethodID, attachedTo(methods)), PreviousStatus: ev.PreviousStatus}
	if d.PreviousStatus == "" && !strings.HasSuffix(ev.Type, ".created") {
		d.PreviousStatus = ev.Subscription.Status // unchanged
	}
	return d, nil
}
