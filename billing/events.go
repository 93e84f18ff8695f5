package billing

import (
	"context"
	"log/slog"

	"github.com/appwheel/appwheel"
)

// ApplyRecordedEvent applies one recorded webhook event to the mirror at
// once and marks it processed, for callers that apply events one by one as
// they come (tests; the server's jobs apply them in batches, ApplyEvents).
// An event applied already is skipped; one of an app that is gone, or that
// cannot be decoded, is marked processed unapplied (see ApplyEvents). Other
// errors are returned, the event left unprocessed.
func (s *Service) ApplyRecordedEvent(ctx context.Context, appID, eventID string) error {
	ev, err := s.store.Event(ctx, appID, eventID)
	if isNotFound(err) {
		s.log.WarnContext(ctx, "event to apply is not recorded", slog.String("app_id", appID), slog.String("event_id", eventID))
		return nil
	}
	if err != nil || !ev.ProcessedAt.IsZero() {
		return err
	}
	if err := s.ApplyEvents(ctx, []*appwheel.Event{ev})[0]; err != nil {
		return err
	}
	return s.store.MarkEventProcessed(ctx, appID, eventID, s.now())
}

// ApplyEvent brings the mirror in line with one Stripe event. A snapshot
// newer than the mirror's is written as is; otherwise (a late, duplicated
// or same-second event) the object is fetched from Stripe, so that any
// order of delivery converges to Stripe's state. Events of customers
// AppWheel did not create are ignored.
func (s *Service) ApplyEvent(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent) error {
	switch {
	case ev.Customer != nil:
		return s.applyCustomer(ctx, app, ev)
	case ev.PaymentMethod != nil:
		return s.applyPaymentMethod(ctx, app, ev)
	case ev.Subscription != nil:
		return s.applySubscription(ctx, app, ev)
	case ev.Invoice != nil:
		return s.applyInvoice(ctx, app, ev)
	case ev.Type == "setup_intent.succeeded" || ev.Type == "checkout.session.completed":
		// A method was added: the event names the customer, not always the
		// method, so the customer's list is fetched.
		return s.applySetup(ctx, app, ev)
	}
	return nil
}

// applySetup applies the news that a card was added: the customer's list is
// fetched (the event names the customer, not always the card), the card
// becomes the default if it is to be one, and, once the user's latest
// setup is seen, reads need not ask Stripe any more.
func (s *Service) applySetup(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent) error {
	st, ok := s.ownerState(ctx, app, ev.CustomerID)
	if !ok {
		return nil
	}
	if err := s.budget(ctx, app.ID, 1); err != nil {
		return err
	}
	methods, err := s.syncPaymentMethods(ctx, app, ev.CustomerID, s.refetchVersion(ev.Created))
	if err != nil {
		return err
	}
	var done *appwheel.SetupIntent
	if ev.SetupIntentID != "" && ev.PaymentMethodID != "" {
		done = &appwheel.SetupIntent{ID: ev.SetupIntentID, Status: "succeeded", PaymentMethodID: ev.PaymentMethodID}
	}
	if _, err := s.settleDefault(ctx, app, st.AppUserID, st.DefaultPaymentMethodID, methods, done); err != nil {
		return err
	}
	return s.store.ClearSetupPending(ctx, app.ID, st.AppUserID, ev.SetupIntentID)
}

// owns reports whether customerID is a customer AppWheel made for a user
// of app.
func (s *Service) owns(ctx context.Context, app *appwheel.App, customerID string) bool {
	_, ok := s.ownerState(ctx, app, customerID)
	return ok
}

// ownerState returns the mirrored state of the user customerID stands for,
// and whether AppWheel made that customer.
func (s *Service) ownerState(ctx context.Context, app *appwheel.App, customerID string) (*appwheel.CustomerState, bool) {
	if customerID == "" {
		return nil, false
	}
	user, err := s.store.CustomerOwner(ctx, app.ID, customerID)
	if err != nil {
		return nil, false
	}
	st, err := s.store.CustomerState(ctx, app.ID, user)
	return st, err == nil
}

// stale reports whether an event is older than the user's last backfill:
// its snapshot may describe an object the backfill already saw gone (a
// method detached since), which no stored version can tell, so the object
// is fetched instead of written.
func stale(st *appwheel.CustomerState, created int64) bool {
	return !st.SyncedAt.IsZero() && eventVersion(created) <= st.SyncedAt.UnixMicro()
}

func (s *Service) applyCustomer(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent) error {
	if !s.owns(ctx, app, ev.Customer.ID) {
		return nil
	}
	if ok, err := s.store.SaveCustomer(ctx, app.ID, ev.Customer, eventVersion(ev.Created)); ok || err != nil {
		return err
	}
	if err := s.budget(ctx, app.ID, 1); err != nil {
		return err
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, ev.Customer.ID)
	if err != nil {
		return err
	}
	_, err = s.store.SaveCustomer(ctx, app.ID, cus, s.refetchVersion(ev.Created))
	return err
}

func (s *Service) applyPaymentMethod(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent) error {
	pm := ev.PaymentMethod
	st, ok := s.ownerState(ctx, app, eventCustomer(ev))
	if !ok {
		return nil
	}
	if !stale(st, ev.Created) {
		if ok, err := s.store.SavePaymentMethod(ctx, app.ID, pm, eventVersion(ev.Created)); ok || err != nil {
			return err
		}
	}
	if err := s.budget(ctx, app.ID, 1); err != nil {
		return err
	}
	fresh, err := s.stripe.PaymentMethod(ctx, app.Stripe, pm.ID)
	if isNotFound(err) { // gone at Stripe: detached for good
		fresh, err = pm, nil
		fresh.CustomerID = ""
	}
	if err != nil {
		return err
	}
	_, err = s.store.SavePaymentMethod(ctx, app.ID, fresh, s.refetchVersion(ev.Created))
	return err
}

func (s *Service) applySubscription(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent) error {
	sub := ev.Subscription
	if !s.owns(ctx, app, sub.CustomerID) {
		return nil
	}
	if ok, err := s.store.SaveSubscription(ctx, app.ID, sub, eventVersion(ev.Created)); ok || err != nil {
		return err
	}
	if err := s.budget(ctx, app.ID, 1); err != nil {
		return err
	}
	_, err := s.syncSubscriptions(ctx, app, sub.CustomerID, s.refetchVersion(ev.Created))
	return err
}

func (s *Service) applyInvoice(ctx context.Context, app *appwheel.App, ev *appwheel.StripeEvent) error {
	inv := ev.Invoice
	if !s.owns(ctx, app, inv.CustomerID) {
		return nil
	}
	if ev.Type == "invoice.deleted" {
		return s.deleteInvoice(ctx, app, inv.ID, ev.Created)
	}
	sub, err := s.mirroredSubscription(ctx, app, inv)
	if err != nil {
		return err
	}
	if err := s.withPriceTerms(ctx, app, inv, sub); err != nil {
		return err
	}
	if ok, err := s.store.SaveInvoice(ctx, app.ID, inv, eventVersion(ev.Created)); ok || err != nil {
		return err
	}
	if err := s.budget(ctx, app.ID, 1); err != nil {
		return err
	}
	fresh, err := s.stripe.Invoice(ctx, app.Stripe, inv.ID)
	if isNotFound(err) {
		// Gone at Stripe (a deleted draft): nothing to fetch; retrying
		// cannot help. The mirror keeps its last copy until a reconcile.
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.withPriceTerms(ctx, app, fresh, sub); err != nil {
		return err
	}
	_, err = s.store.SaveInvoice(ctx, app.ID, fresh, s.refetchVersion(ev.Created))
	return err
}

// mirroredSubscription returns the mirrored subscription an invoice
// belongs to, or nil.
func (s *Service) mirroredSubscription(ctx context.Context, app *appwheel.App, inv *appwheel.Invoice) (*appwheel.Subscription, error) {
	if inv.SubscriptionID == "" {
		return nil, nil
	}
	subs, err := s.store.SubscriptionsOf(ctx, app.ID, inv.CustomerID)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if sub.ID == inv.SubscriptionID {
			return sub, nil
		}
	}
	return nil, nil
}

// deleteInvoice applies invoice.deleted. Only drafts are deleted, and for
// good: the mirror keeps a tombstone, so a late event of the draft cannot
// bring it back. When the mirror's copy is newer than the event (fetched in
// the same second), Stripe is asked whether the invoice is gone.
func (s *Service) deleteInvoice(ctx context.Context, app *appwheel.App, invoiceID string, created int64) error {
	if ok, err := s.store.DeleteInvoice(ctx, app.ID, invoiceID, eventVersion(created)); ok || err != nil {
		return err
	}
	if err := s.budget(ctx, app.ID, 1); err != nil {
		return err
	}
	_, err := s.stripe.Invoice(ctx, app.Stripe, invoiceID)
	if !isNotFound(err) {
		return err // still there (or Stripe failed: the job retries)
	}
	_, err = s.store.DeleteInvoice(ctx, app.ID, invoiceID, s.refetchVersion(created))
	return err
}
