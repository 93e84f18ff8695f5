package billing

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/appwheel/appwheel"
)

// Mirror versions are Unix microseconds, and Stripe's events only say in
// which second they happened:
//
//   - an event's snapshot is versioned at the start of its second;
//   - a re-fetch prompted by an event, at least at the end of that second,
//     so it wins over every snapshot from the same second: ties between
//     events (common: Stripe emits several per second) are settled by
//     Stripe's current state;
//   - what AppWheel fetched or wrote itself (a backfill, a write-through), at
//     the start of the next second, so it wins over the events and re-fetches
//     of changes made before it, which are at most that late (else a card
//     removed in the second its attach events were re-fetched would come
//     back); an event of a later second ties with it and is re-fetched.
//
// Versions AppWheel assigns (fetches, re-fetches, writes) also increase
// strictly within a process, so a later fetch never ties with an earlier
// one, even when Stripe's clock (or the sandbox's test clock) runs ahead of
// AppWheel's. Across replicas two fetches of one second can still tie; the
// reconcile job repairs what that leaves behind.
func eventVersion(created int64) int64 { return created * 1e6 }

func (s *Service) fetchVersion() int64 { return s.assign(eventVersion(s.now().Unix() + 1)) }

func (s *Service) refetchVersion(created int64) int64 {
	return s.assign(max(s.now().UnixMicro(), eventVersion(created)+999_999))
}

// assign returns v, or one more than the last version assigned if that is
// not below v.
func (s *Service) assign(v int64) int64 {
	for {
		last := s.lastVersion.Load()
		next := max(v, last+1)
		if s.lastVersion.CompareAndSwap(last, next) {
			return next
		}
	}
}

// limiter returns the app's budget for background Stripe calls.
func (s *Service) limiter(appID string) *rate.Limiter {
	if l, ok := s.limiters.Load(appID); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(appID, rate.NewLimiter(rate.Limit(s.rate), max(1, int(s.rate))))
	return l.(*rate.Limiter)
}

// budget waits for n Stripe calls' worth of the app's background budget.
func (s *Service) budget(ctx context.Context, appID string, n int) error {
	return s.limiter(appID).WaitN(ctx, n)
}

// backfill fills a user's mirror from Stripe (every page of every list) and
// marks the user synced. Methods the mirror holds that Stripe no longer
// lists are marked detached.
func (s *Service) backfill(ctx context.Context, app *appwheel.App, st *appwheel.CustomerState) error {
	at := s.now()
	version := at.UnixMicro()
	if err := s.budget(ctx, app.ID, 3); err != nil {
		return err
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, st.CustomerID)
	if err != nil {
		return err
	}
	if _, err := s.store.SaveCustomer(ctx, app.ID, cus, version); err != nil {
		return err
	}
	if cus.Deleted {
		// Deleting a customer detaches its methods and cancels its
		// subscriptions, and Stripe lists nothing of it any more.
		if err := s.forgetDeleted(ctx, app, st.CustomerID, version); err != nil {
			return err
		}
		return s.store.MarkSynced(ctx, app.ID, st.AppUserID, at)
	}
	methods, err := s.syncPaymentMethods(ctx, app, st.CustomerID, version)
	if err != nil {
		return err
	}
	if _, err := s.settleDefault(ctx, app, st.AppUserID, cus.DefaultPaymentMethodID, methods, nil); err != nil {
		return err
	}
	subs, err := s.syncSubscriptions(ctx, app, st.CustomerID, version)
	if err != nil {
		return err
	}
	byID := map[string]*appwheel.Subscription{}
	for _, sub := range subs {
		byID[sub.ID] = sub
	}
	listed := map[string]bool{}
	for after := ""; ; {
		if err := s.budget(ctx, app.ID, 1); err != nil {
			return err
		}
		page, err := s.stripe.Invoices(ctx, app.Stripe, appwheel.ListInvoicesParams{CustomerID: st.CustomerID, Limit: MaxInvoiceLimit, StartingAfter: after})
		if err != nil {
			return err
		}
		for _, inv := range page.Invoices {
			listed[inv.ID] = true
			if err := s.withPriceTerms(ctx, app, inv, byID[inv.SubscriptionID]); err != nil {
				return err
			}
			if _, err := s.store.SaveInvoice(ctx, app.ID, inv, version); err != nil {
				return err
			}
		}
		if !page.HasMore || len(page.Invoices) == 0 {
			break
		}
		after = page.Invoices[len(page.Invoices)-1].ID
	}
	if err := s.forgetUnlistedInvoices(ctx, app, st.CustomerID, listed, version); err != nil {
		return err
	}
	return s.store.MarkSynced(ctx, app.ID, st.AppUserID, at)
}

// forgetUnlistedInvoices deletes from the mirror the customer's invoices
// Stripe no longer lists: drafts deleted at Stripe (no other invoice is
// ever deleted) whose invoice.deleted event was lost.
func (s *Service) forgetUnlistedInvoices(ctx context.Context, app *appwheel.App, customerID string, listed map[string]bool, version int64) error {
	for after := ""; ; {
		page, err := s.store.InvoicesOf(ctx, app.ID, appwheel.ListInvoicesParams{CustomerID: customerID, Limit: MaxInvoiceLimit, StartingAfter: after})
		if err != nil {
			return err
		}
		for _, inv := range page.Invoices {
			if !listed[inv.ID] {
				if _, err := s.store.DeleteInvoice(ctx, app.ID, inv.ID, version); err != nil {
					return err
				}
			}
		}
		if !page.HasMore || len(page.Invoices) == 0 {
			return nil
		}
		after = page.Invoices[len(page.Invoices)-1].ID
	}
}

// forgetDeleted marks a deleted customer's mirrored methods detached and
// its live subscriptions canceled, as Stripe did when it was deleted.
func (s *Service) forgetDeleted(ctx context.Context, app *appwheel.App, customerID string, version int64) error {
	methods, err := s.store.PaymentMethodsOf(ctx, app.ID, customerID)
	if err != nil {
		return err
	}
	for _, pm := range methods {
		pm.CustomerID = ""
		if _, err := s.store.SavePaymentMethod(ctx, app.ID, pm, version); err != nil {
			return err
		}
	}
	subs, err := s.store.SubscriptionsOf(ctx, app.ID, customerID)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
			continue
		}
		sub.Status = "canceled"
		if _, err := s.store.SaveSubscription(ctx, app.ID, sub, version); err != nil {
			return err
		}
	}
	return nil
}

// syncPaymentMethods makes the mirror's list of a customer's methods
// Stripe's: listed ones saved, others marked detached. It returns Stripe's
// list, newest first.
func (s *Service) syncPaymentMethods(ctx context.Context, app *appwheel.App, customerID string, version int64) ([]*appwheel.PaymentMethod, error) {
	methods, err := s.stripe.PaymentMethods(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, pm := range methods {
		listed[pm.ID] = true
		if _, err := s.store.SavePaymentMethod(ctx, app.ID, pm, version); err != nil {
			return nil, err
		}
	}
	mirrored, err := s.store.PaymentMethodsOf(ctx, app.ID, customerID)
	if err != nil {
		return nil, err
	}
	for _, pm := range mirrored {
		if !listed[pm.ID] {
			pm.CustomerID = ""
			if _, err := s.store.SavePaymentMethod(ctx, app.ID, pm, version); err != nil {
				return nil, err
			}
		}
	}
	return methods, nil
}

func (s *Service) syncSubscriptions(ctx context.Context, app *appwheel.App, customerID string, version int64) ([]*appwheel.Subscription, error) {
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if _, err := s.store.SaveSubscription(ctx, app.ID, sub, version); err != nil {
			return nil, err
		}
	}
	return subs, nil
}

// ReconcileApps re-syncs, for every enabled app in mirror mode, the users
// whose mirror is older than maxAge, a batch per app per run, within each
// app's background budget. It repairs whatever dropped or late webhooks
// left behind.
func (s *Service) ReconcileApps(ctx context.Context, maxAge time.Duration) error {
	apps, err := s.apps.Apps(ctx)
	if err != nil {
		return err
	}
	for _, app := range apps {
		if app.Disabled || !mirrored(app) {
			continue
		}
		if err := s.ReconcileApp(ctx, app, maxAge); err != nil {
			s.log.WarnContext(ctx, "reconcile failed", slog.String("app_id", app.ID), slog.String("error", err.Error()))
		}
	}
	return nil
}

// reconcileBatch bounds one app's users re-synced per run.
const reconcileBatch = 100

// ReconcileApp re-syncs up to a batch of the app's users whose mirror is
// older than maxAge, least recently synced first.
func (s *Service) ReconcileApp(ctx context.Context, app *appwheel.App, maxAge time.Duration) error {
	stale, err := s.store.SyncedBefore(ctx, app.ID, s.now().Add(-maxAge), reconcileBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range stale {
		// One user's failure must not keep the others from being repaired.
		if err := s.backfill(ctx, app, st); err != nil {
			s.log.WarnContext(ctx, "reconcile of a user failed", slog.String("app_id", app.ID),
				slog.String("customer", st.CustomerID), slog.String("error", err.Error()))
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
