package billing

import (
	"context"
	"slices"

	"github.com/appwheel/appwheel"
)

// liveReader reads from Stripe, every time (ReadLive).
type liveReader struct{ s *Service }

func (r liveReader) methods(ctx context.Context, app *appwheel.App, appUserID string) (*methodData, error) {
	s := r.s
	customerID, err := s.customerID(ctx, app, appUserID)
	if err != nil || customerID == "" {
		return nil, err
	}
	methods, err := s.stripe.PaymentMethods(ctx, app.Stripe, customerID)
	if isNotFound(err) { // the customer was deleted at Stripe
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, customerID)
	if err != nil || cus.Deleted {
		return nil, err
	}
	// No webhook may ever tell a live app's AppWheel that a card was added:
	// the read is where the first card becomes the default.
	defaultID, err := s.settleDefault(ctx, app, appUserID, cus.DefaultPaymentMethodID, methods, nil)
	if err != nil {
		return nil, err
	}
	return &methodData{defaultID: defaultID, methods: methods}, nil
}

func (r liveReader) invoices(ctx context.Context, app *appwheel.App, p ListInvoicesParams) (*invoiceData, error) {
	s := r.s
	customerID, err := s.customerID(ctx, app, p.AppUserID)
	if err != nil || customerID == "" {
		return nil, err
	}
	page, err := s.stripe.Invoices(ctx, app.Stripe, appwheel.ListInvoicesParams{
		CustomerID: customerID, Limit: p.Limit, StartingAfter: p.StartingAfter,
	})
	if p.StartingAfter != "" && badCursor(err) {
		return nil, appwheel.Errorf(appwheel.EINVALID, "startingAfter %s is not one of this user's invoices", p.StartingAfter)
	}
	if isNotFound(err) { // the customer was deleted at Stripe
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := &invoiceData{page: page, subs: map[string]*appwheel.Subscription{}}
	// The customer's subscriptions, only when some invoice belongs to one.
	if !slices.ContainsFunc(page.Invoices, func(inv *appwheel.Invoice) bool { return inv.SubscriptionID != "" }) {
		return d, nil
	}
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		d.subs[sub.ID] = sub
	}
	return d, nil
}

func (r liveReader) subscriptions(ctx context.Context, app *appwheel.App, appUserID string) (*subscriptionData, error) {
	s := r.s
	customerID, err := s.customerID(ctx, app, appUserID)
	if err != nil || customerID == "" {
		return nil, err
	}
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if isNotFound(err) { // the customer was deleted at Stripe
		return nil, nil
	}
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, customerID)
	if err != nil || cus.Deleted {
		return nil, err
	}
	methods, err := s.stripe.PaymentMethods(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	return &subscriptionData{subs: subs, defaultID: cus.DefaultPaymentMethodID, methods: methods}, nil
}
