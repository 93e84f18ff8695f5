package billing

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/appwheel/appwheel"
)

// Reads. Each read (paymentMethod, invoices, subscriptions) takes the
// user's data from where the app's read mode says, decided in one place
// (Service.reader): the mirror, or Stripe itself. It then builds its answer
// from that data with the same functions whichever it came from, so each
// field is computed once and means the same in both modes.

// reader is where reads find a user's data. Each method returns nil data
// (and no error) for a user without a customer, or whose customer was
// deleted at Stripe.
type reader interface {
	methods(ctx context.Context, app *appwheel.App, appUserID string) (*methodData, error)
	invoices(ctx context.Context, app *appwheel.App, p ListInvoicesParams) (*invoiceData, error)
	subscriptions(ctx context.Context, app *appwheel.App, appUserID string) (*subscriptionData, error)
}

// methodData is a user's payment methods, newest first, and the customer's
// default.
type methodData struct {
	defaultID string
	methods   []*appwheel.PaymentMethod
}

// invoiceData is one page of a user's invoices with what orders need.
type invoiceData struct {
	page *appwheel.InvoicePage
	subs map[string]*appwheel.Subscription
	// history is each subscription's observed status changes, for the
	// status during an invoice's period; empty where none were observed.
	history map[string][]appwheel.StatusChange
	// links says the invoices' PDF and hosted URLs are the mirror's copies,
	// which expire at Stripe: reads hand out AppWheel links instead.
	links bool
}

// subscriptionData is a user's subscriptions, newest first, with what
// deciding which card pays each needs.
type subscriptionData struct {
	subs      []*appwheel.Subscription
	defaultID string
	methods   []*appwheel.PaymentMethod
}

// mirrored reports whether the app's reads come from the mirror.
func mirrored(app *appwheel.App) bool { return app.ReadMode == appwheel.ReadMirror }

// reader returns where the app's reads come from.
func (s *Service) reader(app *appwheel.App) reader {
	if mirrored(app) {
		return mirrorReader{s: s}
	}
	return liveReader{s}
}

// PaymentMethods lists the user's payment methods, newest first, with the
// customer's default: the card Stripe charges for the customer's
// invoices. A user without a customer has none; no customer is created.
//
// Returns EINVALID for a bad appUserId, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) PaymentMethods(ctx context.Context, app *appwheel.App, appUserID string) (*appwheel.PaymentMethodList, error) {
	return s.paymentMethods(ctx, app, appUserID, s.reader(app))
}

// paymentMethods is PaymentMethods from the reader r.
func (s *Service) paymentMethods(ctx context.Context, app *appwheel.App, appUserID string, r reader) (*appwheel.PaymentMethodList, error) {
	if err := validateAppUserID(appUserID); err != nil {
		return nil, err
	}
	d, err := r.methods(ctx, app, appUserID)
	if err != nil {
		return nil, err
	}
	list := &appwheel.PaymentMethodList{Methods: []json.RawMessage{}}
	if d == nil {
		return list, nil
	}
	for _, pm := range d.methods {
		list.Methods = append(list.Methods, pm.Raw)
	}
	list.DefaultMethodID = d.defaultID
	return list, nil
}

// Invoices lists one page of the user's invoices, newest first, in the
// original document's order format. A user without a customer has none.
//
// Returns EINVALID for bad parameters, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) Invoices(ctx context.Context, app *appwheel.App, p ListInvoicesParams) (*appwheel.OrderList, error) {
	list, _, err := s.invoices(ctx, app, p, s.reader(app))
	return list, err
}

// invoices is Invoices from the reader r, with the first instant (Unix
// seconds) at which the clock alone would change the answer: an invoice's
// period ending changes its orderStatus (statusDuring), and the hour
// turning its links' expiry.
func (s *Service) invoices(ctx context.Context, app *appwheel.App, p ListInvoicesParams, r reader) (*appwheel.OrderList, int64, error) {
	if err := validateAppUserID(p.AppUserID); err != nil {
		return nil, 0, err
	}
	if p.Limit == 0 {
		p.Limit = DefaultInvoiceLimit
	}
	if p.Limit < 1 || p.Limit > MaxInvoiceLimit {
		return nil, 0, appwheel.Errorf(appwheel.EINVALID, "limit must be between 1 and %d", MaxInvoiceLimit)
	}
	if p.StartingAfter != "" {
		if err := validateObjectID("startingAfter", []string{"in_"}, p.StartingAfter); err != nil {
			return nil, 0, err
		}
	}
	d, err := r.invoices(ctx, app, p)
	if err != nil {
		return nil, 0, err
	}
	list := &appwheel.OrderList{Invoices: []appwheel.Order{}}
	if d == nil {
		return list, never, nil
	}
	now := s.now().Unix()
	expires := linkHourEnd(now)
	for _, inv := range d.page.Invoices {
		sub := d.subs[inv.SubscriptionID]
		var history []appwheel.StatusChange
		if sub != nil {
			history = d.history[sub.ID]
			if end := periodEnd(inv); end > now && len(history) > 0 {
				expires = min(expires, end)
			}
		}
		o, err := s.order(ctx, app, inv, sub, history, d.links, now)
		if err != nil {
			return nil, 0, err
		}
		list.Invoices = append(list.Invoices, o)
	}
	list.HasMore = d.page.HasMore
	return list, expires, nil
}

// order is an invoice in the order format at now, with AppWheel's own
// links when links is set (and the service signs links).
func (s *Service) order(ctx context.Context, app *appwheel.App, inv *appwheel.Invoice, sub *appwheel.Subscription,
	history []appwheel.StatusChange, links bool, now int64) (appwheel.Order, error) {
	price := storedPrice(inv)
	if price == nil { // not mirrored, or mirrored before price terms were kept
		var err error
		if price, err = s.invoicePrice(ctx, app, inv, sub); err != nil {
			return appwheel.Order{}, err
		}
	}
	o := OrderFromInvoice(inv, sub, price, history, now)
	if links && s.linkBase != "" && len(s.linkKey) > 0 {
		if o.InvoicePDF != "" {
			o.InvoicePDF = s.invoiceLink(app.ID, inv.ID, LinkPDF, now)
		}
		if o.HostedInvoiceURL != "" {
			o.HostedInvoiceURL = s.invoiceLink(app.ID, inv.ID, LinkHosted, now)
		}
	}
	return o, nil
}

// Subscriptions lists the user's subscriptions, newest first, each with the
// card its next invoice would be charged to.
//
// Returns EINVALID for a bad appUserId, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) Subscriptions(ctx context.Context, app *appwheel.App, appUserID string) ([]appwheel.SubscriptionView, error) {
	if err := validateAppUserID(appUserID); err != nil {
		return nil, err
	}
	d, err := s.reader(app).subscriptions(ctx, app, appUserID)
	if err != nil {
		return nil, err
	}
	views := []appwheel.SubscriptionView{}
	if d == nil {
		return views, nil
	}
	attached := attachedTo(d.methods)
	for _, sub := range d.subs {
		views = append(views, subscriptionView(sub, d.defaultID, attached))
	}
	return views, nil
}

// subscriptionView is a subscription as the subscriptions list renders it,
// given the customer's default card and which cards it has.
func subscriptionView(sub *appwheel.Subscription, defaultID string, attached func(string) bool) appwheel.SubscriptionView {
	return appwheel.SubscriptionView{
		ID:                sub.ID,
		Status:            sub.Status,
		OrderStatus:       appwheel.OrderStatus(sub.Status),
		ProductID:         sub.PriceID,
		ProductName:       sub.PriceNickname,
		ProductPeriod:     appwheel.ProductPeriod(sub.Interval, sub.IntervalCount),
		CurrentPeriodEnd:  appwheel.UnixString(sub.CurrentPeriodEnd),
		CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
		PaymentMethodID:   sub.ChargedMethod(defaultID, attached),
	}
}

// OrderFromInvoice maps a Stripe invoice, the subscription it belongs to
// (nil for a one-off invoice or one whose subscription is unknown), the
// price it billed (nil when unknown) and the subscription's observed status
// changes (history, oldest first) to the order format, at now (Unix
// seconds). productPeriod comes from the invoice's own price, so invoices
// from before a plan change keep their period; orderStatus is the
// subscription's status during the invoice's period (statusDuring).
func OrderFromInvoice(inv *appwheel.Invoice, sub *appwheel.Subscription, price *appwheel.Price, history []appwheel.StatusChange, now int64) appwheel.Order {
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
	o.OrderStatus = appwheel.OrderStatus(statusDuring(history, inv, now, sub.Status))
	// The next charge: only a subscription that will renew has one.
	if sub.Live() && !sub.CancelAtPeriodEnd {
		o.BillingCycleAnchor = appwheel.UnixString(sub.CurrentPeriodEnd)
	}
	return o
}

// periodEnd is the end of the period an invoice bills for: its
// subscription line's when it has one.
func periodEnd(inv *appwheel.Invoice) int64 {
	if inv.ServicePeriodEnd != 0 {
		return inv.ServicePeriodEnd
	}
	return inv.PeriodEnd
}

// statusDuring is the subscription's status during an invoice's period:
// the last status observed before the end of the period the invoice bills
// for (or the current one, while that period runs). An invoice paid on time
// therefore shows active, one whose period went unpaid past_due, and one
// whose period the subscription did not outlive canceled. With no observed
// changes (live reads keep none) it is the current status.
func statusDuring(changes []appwheel.StatusChange, inv *appwheel.Invoice, now int64, current string) string {
	if len(changes) == 0 {
		return current
	}
	end := periodEnd(inv)
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
