package billing

import (
	"context"
	"time"

	"github.com/appwheel/appwheel"
)

// mirrorReader reads from the mirror (ReadMirror): after a user's first
// read, which fills it from Stripe, no Stripe call.
type mirrorReader struct {
	s *Service
	// known, when set, is the user's customer row as just read, synced
	// (the page cache's check read it): the read starts from it instead of
	// reading it again.
	known *appwheel.CustomerState
}

// state is the user's synced customer row: known, or syncedState's.
func (r mirrorReader) state(ctx context.Context, app *appwheel.App, appUserID string) (*appwheel.CustomerState, error) {
	if r.known != nil {
		return r.known, nil
	}
	return r.s.syncedState(ctx, app, appUserID)
}

// SetupPendingWindow is how long after createPaymentMethod the user's
// payment methods are read from Stripe unless the webhook saying the setup
// finished arrives first: long enough to fill in a card form, short enough
// that an abandoned setup soon costs no Stripe calls.
const SetupPendingWindow = 30 * time.Minute

func (r mirrorReader) methods(ctx context.Context, app *appwheel.App, appUserID string) (*methodData, error) {
	s := r.s
	st, err := r.state(ctx, app, appUserID)
	if err != nil || st == nil {
		return nil, err
	}
	d := &methodData{defaultID: st.DefaultPaymentMethodID}
	if st.SetupPendingUntil.After(s.now()) {
		// Read-your-setup: the card just added at Stripe shows at once, as
		// the default if it is to be one.
		methods, err := s.syncPaymentMethods(ctx, app, st.CustomerID, s.fetchVersion())
		if err != nil {
			return nil, err
		}
		if d.defaultID, err = s.settleDefault(ctx, app, appUserID, st.DefaultPaymentMethodID, methods, nil); err != nil {
			return nil, err
		}
	}
	if d.methods, err = s.store.PaymentMethodsOf(ctx, app.ID, st.CustomerID); err != nil {
		return nil, err
	}
	return d, nil
}

func (r mirrorReader) invoices(ctx context.Context, app *appwheel.App, p ListInvoicesParams) (*invoiceData, error) {
	s := r.s
	st, err := r.state(ctx, app, p.AppUserID)
	if err != nil || st == nil {
		return nil, err
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
	d := &invoiceData{page: page, subs: map[string]*appwheel.Subscription{}, links: true}
	ids := make([]string, 0, len(subs))
	for _, sub := range subs {
		d.subs[sub.ID] = sub
		ids = append(ids, sub.ID)
	}
	if d.history, err = s.store.StatusHistory(ctx, app.ID, ids); err != nil {
		return nil, err
	}
	return d, nil
}

func (r mirrorReader) subscriptions(ctx context.Context, app *appwheel.App, appUserID string) (*subscriptionData, error) {
	s := r.s
	st, err := r.state(ctx, app, appUserID)
	if err != nil || st == nil {
		return nil, err
	}
	subs, err := s.store.SubscriptionsOf(ctx, app.ID, st.CustomerID)
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	methods, err := s.store.PaymentMethodsOf(ctx, app.ID, st.CustomerID)
	if err != nil {
		return nil, err
	}
	return &subscriptionData{subs: subs, defaultID: st.DefaultPaymentMethodID, methods: methods}, nil
}

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
