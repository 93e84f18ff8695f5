package billing

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/appwheel/appwheel"
)

// mirrored reports whether the app's reads come from the mirror.
func mirrored(app *appwheel.App) bool { return app.ReadMode == appwheel.ReadMirror }

// syncedState returns the user's mirrored customer, filling the mirror
// from Stripe first if the user was never synced; nil when the user has no
// customer. After the first read, reads make no Stripe call.
func (s *Service) syncedState(ctx context.Context, app *appwheel.App, appUserID string) (*appwheel.CustomerState, error) {
	st, err := s.store.CustomerState(ctx, app.ID, appUserID)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st.SyncedAt.IsZero() {
		if err := s.backfill(ctx, app, st); err != nil {
			return nil, err
		}
		if st, err = s.store.CustomerState(ctx, app.ID, appUserID); err != nil {
			return nil, err
		}
	}
	if st.Deleted { // deleted at Stripe: nothing is left of it
		return nil, nil
	}
	return st, nil
}

// SetupPendingWindow is how long after createPaymentMethod the user's
// payment methods are read from Stripe unless the webhook saying the setup
// finished arrives first: long enough to fill in a card form, short enough
// that an abandoned setup soon costs no Stripe calls.
const SetupPendingWindow = 30 * time.Minute

func (s *Service) mirroredPaymentMethods(ctx context.Context, app *appwheel.App, appUserID string) (*appwheel.PaymentMethodList, error) {
	list := &appwheel.PaymentMethodList{Methods: []json.RawMessage{}}
	st, err := s.syncedState(ctx, app, appUserID)
	if err != nil || st == nil {
		return list, err
	}
	list.DefaultMethodID = st.DefaultPaymentMethodID
	if st.SetupPendingUntil.After(s.now()) {
		// Read-your-setup: the card just added at Stripe shows at once, as
		// the default if it is to be one.
		methods, err := s.syncPaymentMethods(ctx, app, st.CustomerID, s.fetchVersion())
		if err != nil {
			return nil, err
		}
		if list.DefaultMethodID, err = s.settleDefault(ctx, app, appUserID, st.DefaultPaymentMethodID, methods, nil); err != nil {
			return nil, err
		}
	}
	methods, err := s.store.PaymentMethodsOf(ctx, app.ID, st.CustomerID)
	if err != nil {
		return nil, err
	}
	for _, pm := range methods {
		list.Methods = append(list.Methods, pm.Raw)
	}
	return list, nil
}

func (s *Service) mirroredInvoices(ctx context.Context, app *appwheel.App, p ListInvoicesParams) (*appwheel.OrderList, error) {
	list := &appwheel.OrderList{Invoices: []appwheel.Order{}}
	st, err := s.syncedState(ctx, app, p.AppUserID)
	if err != nil || st == nil {
		return list, err
	}
	page, err := s.store.InvoicesOf(ctx, app.ID, appwheel.ListInvoicesParams{
		CustomerID: st.CustomerID, Limit: p.Limit, StartingAfter: p.StartingAfter,
	})
	if isNotFound(err) {
		return nil, appwheel.Errorf(appwheel.EINVALID, "startingAfter %s is not one of this user's invoices", p.StartingAfter)
	}
	if err != nil {
		return nil, err
	}
	subs, err := s.store.SubscriptionsOf(ctx, app.ID, st.CustomerID)
	if err != nil {
		return nil, err
	}
	byID := map[string]*appwheel.Subscription{}
	ids := make([]string, 0, len(subs))
	for _, sub := range subs {
		byID[sub.ID] = sub
		ids = append(ids, sub.ID)
	}
	history, err := s.store.StatusHistory(ctx, app.ID, ids)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	for _, inv := range page.Invoices {
		sub := byID[inv.SubscriptionID]
		price := storedPrice(inv)
		if price == nil { // mirrored before price terms were kept
			if price, err = s.invoicePrice(ctx, app, inv, sub); err != nil {
				return nil, err
			}
		}
		if sub != nil {
			during := *sub
			during.Status = statusDuring(history[sub.ID], inv, now, sub.Status)
			sub = &during
		}
		o := OrderFromInvoice(inv, sub, price)
		if s.linkBase != "" && len(s.linkKey) > 0 {
			if o.InvoicePDF != "" {
				o.InvoicePDF = s.invoiceLink(app.ID, inv.ID, LinkPDF)
			}
			if o.HostedInvoiceURL != "" {
				o.HostedInvoiceURL = s.invoiceLink(app.ID, inv.ID, LinkHosted)
			}
		}
		list.Invoices = append(list.Invoices, o)
	}
	list.HasMore = page.HasMore
	return list, nil
}

// statusDuring is the subscription's status during an invoice's period:
// the last status observed before the end of the period the invoice bills
// for (or before now, while that period runs). An invoice paid on time
// therefore shows active, one whose period went unpaid past_due, and one
// whose period the subscription did not outlive canceled.
func statusDuring(changes []appwheel.StatusChange, inv *appwheel.Invoice, now int64, current string) string {
	if len(changes) == 0 {
		return current
	}
	end := inv.ServicePeriodEnd
	if end == 0 {
		end = inv.PeriodEnd
	}
	// Stripe's clock may run ahead of AppWheel's (a test clock does): the
	// latest change observed is "now" as far as Stripe is concerned too.
	now = max(now, changes[len(changes)-1].At/1e6)
	if end == 0 || end > now {
		return current // the period still runs: its status is the current one
	}
	end *= 1e6 // versions are microseconds
	i, _ := slices.BinarySearchFunc(changes, end, func(c appwheel.StatusChange, t int64) int {
		if c.At < t {
			return -1
		}
		return 1
	})
	if i == 0 {
		return changes[0].Status
	}
	return changes[i-1].Status
}

// mirroredSubscriptions returns the user's subscriptions, the customer's
// default and its methods, all from the mirror.
func (s *Service) mirroredSubscriptions(ctx context.Context, app *appwheel.App, appUserID string) ([]*appwheel.Subscription, string, []*appwheel.PaymentMethod, error) {
	st, err := s.syncedState(ctx, app, appUserID)
	if err != nil || st == nil {
		return nil, "", nil, err
	}
	subs, err := s.store.SubscriptionsOf(ctx, app.ID, st.CustomerID)
	if err != nil || len(subs) == 0 {
		return nil, "", nil, err
	}
	methods, err := s.store.PaymentMethodsOf(ctx, app.ID, st.CustomerID)
	if err != nil {
		return nil, "", nil, err
	}
	return subs, st.DefaultPaymentMethodID, methods, nil
}
