package billing

import (
	"context"
	"errors"

	"github.com/appwheel/appwheel"
)

// Invoice page sizes.
const (
	DefaultInvoiceLimit = 20
	MaxInvoiceLimit     = 100
)

// ListInvoicesParams is the invoices request.
type ListInvoicesParams struct {
	AppUserID     string
	Limit         int    // 1–100; 0 means DefaultInvoiceLimit
	StartingAfter string // an invoice id from the previous page, or ""
}

// Invoices lists one page of the user's invoices, newest first, in the
// original document's order format. A user without a customer has none.
//
// Returns EINVALID for bad parameters, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) Invoices(ctx context.Context, app *appwheel.App, p ListInvoicesParams) (*appwheel.OrderList, error) {
	if err := validateAppUserID(p.AppUserID); err != nil {
		return nil, err
	}
	if p.Limit == 0 {
		p.Limit = DefaultInvoiceLimit
	}
	if p.Limit < 1 || p.Limit > MaxInvoiceLimit {
		return nil, appwheel.Errorf(appwheel.EINVALID, "limit must be between 1 and %d", MaxInvoiceLimit)
	}
	if p.StartingAfter != "" {
		if err := validateObjectID("startingAfter", []string{"in_"}, p.StartingAfter); err != nil {
			return nil, err
		}
	}
	if mirrored(app) {
		return s.mirroredInvoices(ctx, app, p)
	}
	list := &appwheel.OrderList{Invoices: []appwheel.Order{}}
	customerID, err := s.customerID(ctx, app, p.AppUserID)
	if err != nil || customerID == "" {
		return list, err
	}
	page, err := s.stripe.Invoices(ctx, app.Stripe, appwheel.ListInvoicesParams{
		CustomerID: customerID, Limit: p.Limit, StartingAfter: p.StartingAfter,
	})
	if p.StartingAfter != "" && badCursor(err) {
		return nil, appwheel.Errorf(appwheel.EINVALID, "startingAfter %s is not one of this user's invoices", p.StartingAfter)
	}
	if isNotFound(err) { // the customer was deleted at Stripe
		return list, nil
	}
	if err != nil {
		return nil, err
	}
	subs, err := s.subscriptionsOf(ctx, app, customerID, page.Invoices)
	if err != nil {
		return nil, err
	}
	for _, inv := range page.Invoices {
		sub := subs[inv.SubscriptionID]
		price, err := s.invoicePrice(ctx, app, inv, sub)
		if err != nil {
			return nil, err
		}
		list.Invoices = append(list.Invoices, OrderFromInvoice(inv, sub, price))
	}
	list.HasMore = page.HasMore
	return list, nil
}

// invoicePrice returns the price an invoice billed: the subscription's own
// when it is the same price (no Stripe call), else the price fetched once
// and cached, since a price's recurring terms never change. It is nil when
// the invoice has no price or Stripe does not know it.
func (s *Service) invoicePrice(ctx context.Context, app *appwheel.App, inv *appwheel.Invoice, sub *appwheel.Subscription) (*appwheel.Price, error) {
	id := inv.PriceID
	if id == "" && sub != nil {
		id = sub.PriceID
	}
	switch {
	case id == "":
		return nil, nil
	case sub != nil && sub.PriceID == id:
		return &appwheel.Price{ID: id, Interval: sub.Interval, IntervalCount: sub.IntervalCount}, nil
	}
	key := priceKey{account: app.Stripe.SecretKey, id: id}
	if p, ok := s.prices.Load(key); ok {
		return p.(*appwheel.Price), nil
	}
	p, err := s.stripe.Price(ctx, app.Stripe, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.prices.Store(key, p)
	return p, nil
}

// withPriceTerms records on inv the recurring terms of its price, looked up
// as invoicePrice does, so the mirror can serve the invoice without asking
// Stripe again.
func (s *Service) withPriceTerms(ctx context.Context, app *appwheel.App, inv *appwheel.Invoice, sub *appwheel.Subscription) error {
	if inv.PriceInterval != "" {
		return nil
	}
	p, err := s.invoicePrice(ctx, app, inv, sub)
	if err != nil || p == nil {
		return err
	}
	inv.PriceInterval, inv.PriceIntervalCount = p.Interval, p.IntervalCount
	if p.Interval == "" {
		inv.PriceInterval = "once"
	}
	return nil
}

// storedPrice returns the price terms the mirror kept with inv, or nil.
func storedPrice(inv *appwheel.Invoice) *appwheel.Price {
	switch inv.PriceInterval {
	case "":
		return nil
	case "once":
		return &appwheel.Price{ID: inv.PriceID}
	}
	return &appwheel.Price{ID: inv.PriceID, Interval: inv.PriceInterval, IntervalCount: inv.PriceIntervalCount}
}

// priceKey identifies a price in the cache: ids are unique per Stripe account.
type priceKey struct{ account, id string }

// badCursor reports Stripe refusing a starting_after: an invoice it does
// not know, or one it will not page from.
func badCursor(err error) bool {
	var e *appwheel.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == appwheel.ENOTFOUND || e.Code == appwheel.ESTRIPE && e.Stripe != nil && e.Stripe.Param == "starting_after"
}

// subscriptionsOf fetches the customer's subscriptions only when some
// invoice on the page belongs to one.
func (s *Service) subscriptionsOf(ctx context.Context, app *appwheel.App, customerID string, invoices []*appwheel.Invoice) (map[string]*appwheel.Subscription, error) {
	byID := map[string]*appwheel.Subscription{}
	needed := false
	for _, inv := range invoices {
		needed = needed || inv.SubscriptionID != ""
	}
	if !needed {
		return byID, nil
	}
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		byID[sub.ID] = sub
	}
	return byID, nil
}

// Subscriptions lists the user's subscriptions, newest first, each with the
// card its next invoice would be charged to.
//
// Returns EINVALID for a bad appUserId, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) Subscriptions(ctx context.Context, app *appwheel.App, appUserID string) ([]appwheel.SubscriptionView, error) {
	if err := validateAppUserID(appUserID); err != nil {
		return nil, err
	}
	views := []appwheel.SubscriptionView{}
	var (
		subs            []*appwheel.Subscription
		customerDefault string
		methods         []*appwheel.PaymentMethod
		err             error
	)
	if mirrored(app) {
		subs, customerDefault, methods, err = s.mirroredSubscriptions(ctx, app, appUserID)
	} else {
		subs, customerDefault, methods, err = s.liveSubscriptions(ctx, app, appUserID)
	}
	if err != nil {
		return nil, err
	}
	attached := attachedTo(methods)
	for _, sub := range subs {
		views = append(views, appwheel.SubscriptionView{
			ID:                sub.ID,
			Status:            sub.Status,
			OrderStatus:       appwheel.OrderStatus(sub.Status),
			ProductID:         sub.PriceID,
			ProductPeriod:     appwheel.ProductPeriod(sub.Interval, sub.IntervalCount),
			CurrentPeriodEnd:  appwheel.UnixString(sub.CurrentPeriodEnd),
			CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
			PaymentMethodID:   sub.ChargedMethod(customerDefault, attached),
		})
	}
	return views, nil
}

// liveSubscriptions asks Stripe for the user's subscriptions, the
// customer's default and its methods; nothing when the user has no
// customer or it was deleted at Stripe.
func (s *Service) liveSubscriptions(ctx context.Context, app *appwheel.App, appUserID string) ([]*appwheel.Subscription, string, []*appwheel.PaymentMethod, error) {
	customerID, err := s.customerID(ctx, app, appUserID)
	if err != nil || customerID == "" {
		return nil, "", nil, err
	}
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if isNotFound(err) { // the customer was deleted at Stripe
		return nil, "", nil, nil
	}
	if err != nil || len(subs) == 0 {
		return nil, "", nil, err
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, customerID)
	if err != nil || cus.Deleted {
		return nil, "", nil, err
	}
	methods, err := s.stripe.PaymentMethods(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, "", nil, err
	}
	return subs, cus.DefaultPaymentMethodID, methods, nil
}

// OrderFromInvoice maps a Stripe invoice, the subscription it belongs to
// (nil for a one-off invoice or one whose subscription is unknown) and the
// price it billed (nil when unknown) to the order format. productPeriod
// comes from the invoice's own price, so invoices from before a plan change
// keep their period; orderStatus from the subscription's status.
func OrderFromInvoice(inv *appwheel.Invoice, sub *appwheel.Subscription, price *appwheel.Price) appwheel.Order {
	o := appwheel.Order{
		OriginOrderID:      inv.SubscriptionID,
		OrderID:            inv.ID,
		ProductID:          inv.PriceID,
		BillingCycleAnchor: "0",
		CustomerEmail:      inv.CustomerEmail,
		InvoicePDF:         inv.InvoicePDF,
		HostedInvoiceURL:   inv.HostedInvoiceURL,
		PaidAt:             appwheel.UnixString(inv.PaidAt),
		InvoiceStatus:      inv.Status,
		AmountDue:          inv.AmountDue,
		AmountPaid:         inv.AmountPaid,
		Currency:           inv.Currency,
		Created:            appwheel.UnixString(inv.Created),
		PeriodStart:        appwheel.UnixString(inv.PeriodStart),
		PeriodEnd:          appwheel.UnixString(inv.PeriodEnd),
		Number:             inv.Number,
	}
	if price != nil {
		o.ProductPeriod = appwheel.ProductPeriod(price.Interval, price.IntervalCount)
	}
	if sub == nil {
		return o
	}
	if o.ProductID == "" {
		o.ProductID = sub.PriceID
	}
	o.OrderStatus = appwheel.OrderStatus(sub.Status)
	// The next charge: only a subscription that will renew has one.
	if sub.Live() && !sub.CancelAtPeriodEnd {
		o.BillingCycleAnchor = appwheel.UnixString(sub.CurrentPeriodEnd)
	}
	return o
}
