package billing

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/appwheel/appwheel"
)

// applyWorkers bounds the customers whose events one batch applies at once:
// applying is mostly waiting on the database and, for a re-fetch, on Stripe
// (which the per-app budget bounds), so several go at once.
const applyWorkers = 16

// ApplyEvents applies a batch of recorded webhook events to the mirror
// (jobs.Handlers): the events of one customer one after the other, in the
// order Stripe created them, different customers' at once. It returns one
// error per event, in their order: nil once it is applied, or when it never
// will be (its app is gone; it cannot be decoded, which is logged). It marks
// nothing processed; its caller does.
//
// Any order converges (ApplyEvent), so the order is for economy: a snapshot
// older than the mirror's costs a re-fetch from Stripe, which one
// customer's events applied in their own order avoid, and one customer's
// events never compete for the customer's rows.
func (s *Service) ApplyEvents(ctx context.Context, evs []*appwheel.Event) []error {
	errs := make([]error, len(evs))
	var groups [][]decoded
	index := map[customerKey]int{}
	for i, ev := range evs {
		d, err := s.decodeRecorded(ctx, i, ev)
		if err != nil || d.ev == nil {
			errs[i] = err
			continue
		}
		k := customerKey{d.app.ID, eventCustomer(d.ev)}
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], d)
	}
	// The events to tell the apps' endpoints, by the index of the Stripe
	// event that carried each; all are sent at the end, in one go.
	notes := make([]*appwheel.Notification, len(evs))
	work := make(chan []decoded)
	var wg sync.WaitGroup
	for range min(applyWorkers, len(groups)) {
		wg.Go(func() {
			for g := range work {
				// Ties keep the order received.
				slices.SortStableFunc(g, func(a, b decoded) int { return cmp.Compare(a.ev.Created, b.ev.Created) })
				for _, d := range g {
					notes[d.i], errs[d.i] = s.applyDecoded(ctx, d)
				}
			}
		})
	}
	for _, g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
	s.notifyAll(ctx, notes, errs)
	return errs
}

// notifyAll hands the notifications of a batch's applied events to the
// notifier at once, in the order their Stripe events were received (one
// customer's in the order Stripe created them). Should that fail, their
// Stripe events fail too, to be applied again, which notifies again with
// the same ids.
func (s *Service) notifyAll(ctx context.Context, notes []*appwheel.Notification, errs []error) {
	var batch []*appwheel.Notification
	for i, n := range notes {
		if n != nil && errs[i] == nil {
			batch = append(batch, n)
		}
	}
	if len(batch) == 0 {
		return
	}
	slices.SortStableFunc(batch, func(a, b *appwheel.Notification) int {
		return cmp.Or(cmp.Compare(a.AppUserID, b.AppUserID), cmp.Compare(a.Created, b.Created))
	})
	if err := s.notifier.Notify(ctx, batch...); err != nil {
		for i, n := range notes {
			if n != nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}
}

// customerKey names the customer whose events are applied in order.
type customerKey struct{ appID, customerID string }

// decoded is the i-th event of a batch, ready to apply.
type decoded struct {
	i   int
	app *appwheel.App
	ev  *appwheel.StripeEvent
}

// decodeRecorded finds a recorded event's app and decodes the event. An
// event of an app that is gone, or that cannot be decoded (logged), comes
// back without ev: there is nothing to apply, now or later.
func (s *Service) decodeRecorded(ctx context.Context, i int, rec *appwheel.Event) (decoded, error) {
	app, err := s.apps.App(ctx, rec.AppID)
	if isNotFound(err) {
		return decoded{}, nil
	}
	if err != nil {
		return decoded{}, err
	}
	ev, err := s.decode(rec.Payload)
	if err != nil {
		s.log.ErrorContext(ctx, "undecodable event skipped", slog.String("app_id", rec.AppID),
			slog.String("event_id", rec.ID), slog.String("error", err.Error()))
		return decoded{}, nil
	}
	return decoded{i: i, app: app, ev: ev}, nil
}

// applyDecoded applies one event and returns what to tell the app's
// endpoints of it (notification), turning a panic into its error (logged
// with the stack), so that it is retried and the others still apply.
func (s *Service) applyDecoded(ctx context.Context, d decoded) (n *appwheel.Notification, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "panic applying event", slog.String("app_id", d.app.ID),
				slog.String("event_id", d.ev.ID), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("panic applying event %s: %v", d.ev.ID, p)
		}
	}()
	if err := s.ApplyEvent(ctx, d.app, d.ev); err != nil {
		return nil, err
	}
	return s.notification(ctx, d.app, d.ev)
}

// eventCustomer is the customer an event concerns: its object's, for a
// detached payment method the one it was detached from.
func eventCustomer(ev *appwheel.StripeEvent) string {
	switch {
	case ev.Customer != nil:
		return ev.Customer.ID
	case ev.PaymentMethod != nil && ev.PaymentMethod.CustomerID != "":
		return ev.PaymentMethod.CustomerID
	case ev.PaymentMethod != nil:
		return ev.PreviousCustomerID
	case ev.Subscription != nil:
		return ev.Subscription.CustomerID
	case ev.Invoice != nil:
		return ev.Invoice.CustomerID
	}
	return ev.CustomerID
}
