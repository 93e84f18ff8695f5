package sandbox

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// subscription is a Stripe Subscription. Since API 2025-03-31 the current
// period lives on the items (items.data[].current_period_start/end), which
// is where the sandbox keeps it.
type subscription struct {
	ID                            string              `json:"id"`
	Object                        string              `json:"object"`
	Application                   *string             `json:"application"`
	ApplicationFeePercent         *float64            `json:"application_fee_percent"`
	AutomaticTax                  subAutomaticTax     `json:"automatic_tax"`
	BillingCycleAnchor            int64               `json:"billing_cycle_anchor"`
	BillingCycleAnchorConfig      *struct{}           `json:"billing_cycle_anchor_config"`
	BillingMode                   billingMode         `json:"billing_mode"`
	BillingSchedules              []any               `json:"billing_schedules"`
	BillingThresholds             *struct{}           `json:"billing_thresholds"`
	CancelAt                      *int64              `json:"cancel_at"`
	CancelAtPeriodEnd             bool                `json:"cancel_at_period_end"`
	CanceledAt                    *int64              `json:"canceled_at"`
	CancellationDetails           cancellationDetails `json:"cancellation_details"`
	CollectionMethod              string              `json:"collection_method"`
	Created                       int64               `json:"created"`
	Currency                      string              `json:"currency"`
	Customer                      string              `json:"customer"`
	DaysUntilDue                  *int64              `json:"days_until_due"`
	DefaultPaymentMethod          *string             `json:"default_payment_method"`
	DefaultSource                 *string             `json:"default_source"`
	DefaultTaxRates               []any               `json:"default_tax_rates"`
	Description                   *string             `json:"description"`
	Discounts                     []any               `json:"discounts"`
	EndedAt                       *int64              `json:"ended_at"`
	InvoiceSettings               subInvoiceSettings  `json:"invoice_settings"`
	Items                         itemList            `json:"items"`
	LatestInvoice                 *string             `json:"latest_invoice"`
	Livemode                      bool                `json:"livemode"`
	Metadata                      map[string]string   `json:"metadata"`
	NextPendingInvoiceItemInvoice *int64              `json:"next_pending_invoice_item_invoice"`
	OnBehalfOf                    *string             `json:"on_behalf_of"`
	PauseCollection               *struct{}           `json:"pause_collection"`
	PaymentSettings               paymentSettings     `json:"payment_settings"`
	PendingInvoiceItemInterval    *struct{}           `json:"pending_invoice_item_interval"`
	PendingSetupIntent            *string             `json:"pending_setup_intent"`
	PendingUpdate                 *struct{}           `json:"pending_update"`
	Schedule                      *string             `json:"schedule"`
	StartDate                     int64               `json:"start_date"`
	Status                        string              `json:"status"`
	TestClock                     *string             `json:"test_clock"`
	TransferData                  *struct{}           `json:"transfer_data"`
	TrialEnd                      *int64              `json:"trial_end"`
	TrialSettings                 trialSettings       `json:"trial_settings"`
	TrialStart                    *int64              `json:"trial_start"`

	// Internal is the sandbox's bookkeeping, left out of answers.
	Internal *subInternal `json:"internal,omitempty"`
}

type subInternal struct {
	// Period counts the periods since billing_cycle_anchor: the current one
	// is [anchor + Period intervals, anchor + Period+1 intervals]. Periods
	// are computed from the anchor, not chained, so that a subscription
	// started on the 31st keeps billing on month ends, as Stripe's does.
	// During a trial it is -1: the trial is the period before the anchor,
	// which is its end.
	Period        int64  `json:"period"`
	Interval      string `json:"interval"`
	IntervalCount int64  `json:"interval_count"`
	// TrialWillEndSent: customer.subscription.trial_will_end went out.
	TrialWillEndSent bool `json:"trial_will_end_sent,omitempty"`
	// CancelIfNoCard is trial_settings.end_behavior.missing_payment_method
	// = cancel: a trial that ends with no card to charge cancels.
	CancelIfNoCard bool `json:"cancel_if_no_card,omitempty"`
}

type subAutomaticTax struct {
	DisabledReason *string   `json:"disabled_reason"`
	Enabled        bool      `json:"enabled"`
	Liability      *struct{} `json:"liability"`
}

type billingMode struct {
	Flexible *struct{} `json:"flexible"`
	Type     string    `json:"type"`
}

type cancellationDetails struct {
	Comment  *string `json:"comment"`
	Feedback *string `json:"feedback"`
	Reason   *string `json:"reason"`
}

type subInvoiceSettings struct {
	AccountTaxIDs *[]string `json:"account_tax_ids"`
	Issuer        issuer    `json:"issuer"`
}

type issuer struct {
	Type string `json:"type"`
}

type paymentSettings struct {
	PaymentMethodOptions     *struct{} `json:"payment_method_options"`
	PaymentMethodTypes       *[]string `json:"payment_method_types"`
	SaveDefaultPaymentMethod string    `json:"save_default_payment_method"`
}

type trialSettings struct {
	EndBehavior struct {
		MissingPaymentMethod string `json:"missing_payment_method"`
	} `json:"end_behavior"`
}

type itemList struct {
	Object  string              `json:"object"`
	Data    []*subscriptionItem `json:"data"`
	HasMore bool                `json:"has_more"`
	URL     string              `json:"url"`
}

// subscriptionItem is one price of a subscription, with the current period.
type subscriptionItem struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	BillingThresholds  *struct{}         `json:"billing_thresholds"`
	Created            int64             `json:"created"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	Discounts          []any             `json:"discounts"`
	Metadata           map[string]string `json:"metadata"`
	Price              *price            `json:"price"`
	Quantity           int64             `json:"quantity"`
	Subscription       string            `json:"subscription"`
	TaxRates           []any             `json:"tax_rates"`
}

func (s *subscription) objectID() string { return s.ID }

// view leaves the bookkeeping out and shows each item's price as it is now.
func (s *subscription) view(a *account) *subscription {
	c := *s
	c.Internal = nil
	c.Items.Data = make([]*subscriptionItem, len(s.Items.Data))
	for i, it := range s.Items.Data {
		ic := *it
		if p, ok := a.Prices.get(it.Price.ID); ok {
			ic.Price = p
		}
		c.Items.Data[i] = &ic
	}
	return &c
}

// Subscription statuses.
const (
	subActive            = "active"
	subTrialing          = "trialing"
	subPastDue           = "past_due"
	subIncomplete        = "incomplete"
	subIncompleteExpired = "incomplete_expired"
	subCanceled          = "canceled"
)

var subStatuses = []string{"active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid"}

// ended reports whether the subscription is over for good.
func (s *subscription) ended() bool {
	return s.Status == subCanceled || s.Status == subIncompleteExpired
}

// periodEnd is the end of the current period.
func (s *subscription) periodEnd() int64 { return s.Items.Data[0].CurrentPeriodEnd }

// periodBounds returns the start and end of period n.
func (s *subscription) periodBounds(n int64) (int64, int64) {
	anchor := time.Unix(s.BillingCycleAnchor, 0)
	in := s.Internal
	return addInterval(anchor, in.Interval, in.IntervalCount*n).Unix(), addInterval(anchor, in.Interval, in.IntervalCount*(n+1)).Unix()
}

// amount is what one period costs.
func (s *subscription) amount() int64 {
	var sum int64
	for _, it := range s.Items.Data {
		sum += it.Price.amount() * it.Quantity
	}
	return sum
}

func cancellationDetailsSpec() *spec {
	return obj(map[string]*spec{
		"comment":  str().clr(),
		"feedback": enum("customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex", "too_expensive", "unused").clr(),
	})
}

var (
	subscriptionCreateSpec = endpoint(map[string]*spec{
		"customer": str().req(),
		"items": arr(obj(map[string]*spec{
			"price":    str(),
			"quantity": integer(),
			"metadata": metadataSpec(),
		})).req(),
		"default_payment_method": str(),
		"payment_behavior":       enum("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"),
		"cancel_at_period_end":   boolean(),
		"collection_method":      enum("charge_automatically", "send_invoice"),
		"proration_behavior":     enum("always_invoice", "create_prorations", "none"),
		"off_session":            boolean(),
		"description":            str(),
		"metadata":               metadataSpec(),
		"trial_period_days":      integer(),
		"trial_end":              str(), // a Unix time, or "now"
		"payment_settings": obj(map[string]*spec{
			"save_default_payment_method": enum("off", "on_subscription"),
			"payment_method_types":        arr(str()),
		}),
		"trial_settings": obj(map[string]*spec{"end_behavior": obj(map[string]*spec{
			"missing_payment_method": enum("cancel", "create_invoice", "pause").req(),
		}).req()}),
	})
	subscriptionUpdateSpec = endpoint(map[string]*spec{
		"cancel_at_period_end":   boolean(),
		"cancel_at":              integer().clr(),
		"cancellation_details":   cancellationDetailsSpec(),
		"default_payment_method": str().clr(),
		"payment_behavior":       enum("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"),
		"proration_behavior":     enum("always_invoice", "create_prorations", "none"),
		"off_session":            boolean(),
		"description":            str().clr(),
		"metadata":               metadataSpec(),
	})
	subscriptionCancelSpec = endpoint(map[string]*spec{
		"cancellation_details": cancellationDetailsSpec(),
		"invoice_now":          boolean(),
		"prorate":              boolean(),
	})
	subscriptionListSpec = listEndpoint(map[string]*spec{
		"customer": str(),
		"price":    str(),
		"status":   enum(subStatuses...),
		"created":  timeRange(),
	})
)

// createSubscription is POST /v1/subscriptions: its parameters checked,
// then startSubscription.
func createSubscription(t *tx, r *request) (any, *apiError) {
	cid := r.p.str("customer")
	cus, ok := t.liveCustomer(cid)
	if !ok {
		return nil, noSuchParam("customer", "customer", cid)
	}
	st := subscriptionStart{customer: cus, behavior: r.p.str("payment_behavior"),
		cancelAtPeriodEnd: r.p.bool("cancel_at_period_end"), description: strOrNil(r.p.str("description")),
		metadata: r.p.applyMetadata(nil, "metadata")}
	switch {
	case st.behavior == "":
		st.behavior = "allow_incomplete"
	case st.behavior == "pending_if_incomplete":
		return nil, invalid("payment_behavior", "payment_behavior=pending_if_incomplete can only be used when updating a subscription.")
	}
	if r.p.str("collection_method") == "send_invoice" {
		return nil, invalid("collection_method", "The AppWheel sandbox emulates collection_method=charge_automatically only.")
	}
	var aerr *apiError
	if st.items, aerr = t.subscriptionPrices(r.p.list("items"), "items"); aerr != nil {
		return nil, aerr
	}
	if id := r.p.str("default_payment_method"); id != "" {
		pm, ok := t.a.PaymentMethods.get(id)
		if !ok || pm.customerID() != cus.ID {
			return nil, noSuchParam("PaymentMethod", "default_payment_method", id).withMessage(
				"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", id)
		}
		st.defaultPM = pm
	}
	if st.trialEnd, aerr = trialEnd(r.p, t.unix()); aerr != nil {
		return nil, aerr
	}
	if aerr := cardsOnly(r.p.strs("payment_settings", "payment_method_types")); aerr != nil {
		return nil, aerr
	}
	st.saveDefault = r.p.str("payment_settings", "save_default_payment_method")
	if r.p.has("payment_settings", "payment_method_types") {
		st.paymentMethodTypes = r.p.strs("payment_settings", "payment_method_types")
	}
	switch r.p.str("trial_settings", "end_behavior", "missing_payment_method") {
	case "pause":
		return nil, invalid("trial_settings[end_behavior][missing_payment_method]", "The AppWheel sandbox does not emulate paused subscriptions: use create_invoice or cancel.")
	case "cancel":
		st.cancelIfNoCard = true
	}
	return t.startSubscription(st)
}

// subscriptionStart is a subscription to start, from the API or from a
// Checkout Session in subscription mode.
type subscriptionStart struct {
	customer           *customer
	items              []subItem
	defaultPM          *paymentMethod
	behavior           string // allow_incomplete, default_incomplete or error_if_incomplete
	trialEnd           int64  // 0: no trial
	cancelIfNoCard     bool   // at the trial's end
	cancelAtPeriodEnd  bool
	saveDefault        string   // payment_settings.save_default_payment_method
	paymentMethodTypes []string // payment_settings.payment_method_types; nil: Stripe's choice
	description        *string
	metadata           map[string]string
}

// startSubscription creates the subscription, invoices the first period
// at once and charges it to the subscription's default payment method,
// else the customer's invoice_settings default (Stripe's order): paid →
// active; declined → incomplete with the invoice open (allow_incomplete),
// or a 402 and nothing created (error_if_incomplete); default_incomplete
// leaves the invoice open without charging. A trial's first invoice is
// free, and the subscription trialing until the trial ends.
func (t *tx) startSubscription(st subscriptionStart) (*subscription, *apiError) {
	now := t.unix()
	cus, items, trialEnd := st.customer, st.items, st.trialEnd
	first := items[0].price
	sub := &subscription{
		ID:                 t.newID("sub"),
		Object:             "subscription",
		BillingCycleAnchor: now,
		BillingMode:        billingMode{Type: "classic"},
		BillingSchedules:   []any{},
		CollectionMethod:   "charge_automatically",
		Created:            now,
		Currency:           first.Currency,
		Customer:           cus.ID,
		DefaultTaxRates:    []any{},
		Description:        st.description,
		Discounts:          []any{},
		InvoiceSettings:    subInvoiceSettings{Issuer: issuer{Type: "self"}},
		Metadata:           st.metadata,
		PaymentSettings:    paymentSettings{SaveDefaultPaymentMethod: cmp.Or(st.saveDefault, "off")},
		StartDate:          now,
		Internal: &subInternal{Interval: first.Recurring.Interval, IntervalCount: first.Recurring.IntervalCount,
			CancelIfNoCard: st.cancelIfNoCard},
	}
	if st.paymentMethodTypes != nil {
		sub.PaymentSettings.PaymentMethodTypes = &st.paymentMethodTypes
	}
	sub.TrialSettings.EndBehavior.MissingPaymentMethod = "create_invoice"
	if st.cancelIfNoCard {
		sub.TrialSettings.EndBehavior.MissingPaymentMethod = "cancel"
	}
	if st.defaultPM != nil {
		sub.DefaultPaymentMethod = &st.defaultPM.ID
	}
	_, end := sub.periodBounds(0)
	if trialEnd != 0 {
		// The trial is the first period; billing starts at its end.
		sub.TrialStart, sub.TrialEnd, sub.BillingCycleAnchor, sub.Internal.Period = &now, &trialEnd, trialEnd, -1
		end = trialEnd
	}
	sub.Items = itemList{Object: "list", URL: "/v1/subscription_items?subscription=" + sub.ID}
	for _, it := range items {
		sub.Items.Data = append(sub.Items.Data, &subscriptionItem{
			ID: t.newID("si"), Object: "subscription_item", Created: now, CurrentPeriodStart: now, CurrentPeriodEnd: end,
			Discounts: []any{}, Metadata: it.metadata, Price: it.price, Quantity: it.quantity, Subscription: sub.ID, TaxRates: []any{},
		})
	}
	if st.cancelAtPeriodEnd {
		sub.CancelAtPeriodEnd, sub.CancelAt, sub.CanceledAt = true, ptr(end), ptr(now)
	}

	pm := t.chargeMethod(sub)
	charge := st.behavior != "default_incomplete" || trialEnd != 0 // a trial's first invoice is free
	var failure *apiError
	if charge && trialEnd == 0 {
		failure = chargeFailure(pm, sub.amount())
	}
	switch {
	case trialEnd != 0:
		sub.Status = subTrialing
	case failure != nil && pm == nil:
		return nil, invalid("", "This customer has no attached payment source or default payment method. Please consider adding a default payment method. For more information, visit https://stripe.com/docs/billing/subscriptions/payment-methods-setting#payment-method-priority.")
	case failure != nil && st.behavior == "error_if_incomplete":
		return nil, failure
	case failure == nil && charge:
		sub.Status = subActive
	default:
		sub.Status = subIncomplete
	}
	invID := t.newID("in")
	sub.LatestInvoice = &invID
	t.a.Subscriptions.add(sub)
	if cus.Currency == nil {
		cus.Currency = ptr(sub.Currency)
	}
	t.emit("customer.subscription.created", sub, nil)

	in := t.newInvoice(invID, sub, "subscription_create", now, now, trialEnd != 0)
	t.finalizeInvoice(in)
	if charge {
		t.attemptPayment(in, pm)
	}
	return sub, nil
}

// maxTrialDays is the longest trial Stripe allows.
const maxTrialDays = 730

// trialEnd reads trial_period_days or trial_end: the end of the trial, or 0
// for none (trial_end=now ends it at once, as Stripe reads it).
func trialEnd(p params, now int64) (int64, *apiError) {
	switch {
	case p.has("trial_period_days") && p.has("trial_end"):
		return 0, invalid("trial_end", "You may only specify one of these parameters: trial_end, trial_period_days.")
	case p.has("trial_period_days"):
		days, aerr := trialDays(p, 0, "trial_period_days")
		return trialEndAfter(now, days), aerr
	case !p.has("trial_end") || p.str("trial_end") == "now":
		return 0, nil
	}
	end, err := strconv.ParseInt(p.str("trial_end"), 10, 64)
	switch {
	case err != nil:
		return 0, invalid("trial_end", "Invalid trial_end: must be a Unix timestamp or now.")
	case end <= now:
		return 0, invalid("trial_end", "Invalid timestamp: must be an integer Unix timestamp in the future.")
	case end > now+maxTrialDays*86400:
		return 0, invalid("trial_end", "Invalid trial_end: it can be at most %d days in the future.", maxTrialDays)
	}
	return end, nil
}

// trialDays reads the trial_period_days parameter at path: least to
// maxTrialDays (Stripe's bounds: 0 for a subscription, which means no
// trial, and 1 for a Checkout Session).
func trialDays(p params, least int64, path ...string) (int64, *apiError) {
	days := p.int(path...)
	if p.has(path...) && (days < least || days > maxTrialDays) {
		name := path[0]
		for _, seg := range path[1:] {
			name = childPath(name, seg)
		}
		return 0, invalid(name, "Invalid trial_period_days: must be between %d and %d.", least, maxTrialDays)
	}
	return days, nil
}

// trialEndAfter is the end of a trial of days from now; 0 (no trial) for
// no days.
func trialEndAfter(now, days int64) int64 {
	if days == 0 {
		return 0
	}
	return now + days*86400
}

// amountOf is what one period of items costs.
func amountOf(items []subItem) int64 {
	var sum int64
	for _, it := range items {
		sum += it.price.amount() * it.quantity
	}
	return sum
}

// subItem is a validated items[] entry.
type subItem struct {
	price    *price
	quantity int64
	metadata map[string]string
}

// subscriptionPrices validates items[]: existing, active, recurring prices
// of one currency and one billing interval, as Stripe requires.
func (t *tx) subscriptionPrices(list []params, param string) ([]subItem, *apiError) {
	if len(list) == 0 {
		return nil, missingParam(param)
	}
	if len(list) > 20 {
		return nil, invalid(param, "A subscription can have at most 20 items.")
	}
	items := param
	var out []subItem
	for i, it := range list {
		param := items + "[" + itoa(i) + "][price]"
		id := it.str("price")
		if id == "" {
			return nil, missingParam(param)
		}
		p, ok := t.a.Prices.get(id)
		switch {
		case !ok:
			return nil, noSuchParam("price", param, id)
		case !p.Active:
			return nil, invalid(param, "The price specified is inactive. This field only accepts active prices.")
		case p.Recurring == nil:
			return nil, invalid(param, "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.")
		}
		if len(out) > 0 {
			f := out[0].price
			if p.Currency != f.Currency {
				return nil, invalid(param, "All prices on a subscription must have the same currency.")
			}
			if p.Recurring.Interval != f.Recurring.Interval || p.Recurring.IntervalCount != f.Recurring.IntervalCount {
				return nil, invalid(param, "All prices on a subscription must have the same `recurring.interval` and `recurring.interval_count`.")
			}
		}
		q := int64(1)
		if it.has("quantity") {
			q = it.int("quantity")
			if q < 0 {
				return nil, invalid(items+"["+itoa(i)+"][quantity]", "Invalid integer: quantity must be at least 0")
			}
		}
		out = append(out, subItem{price: p, quantity: q, metadata: it.applyMetadata(nil, "metadata")})
	}
	return out, nil
}

// getSubscription is GET /v1/subscriptions/{id}.
func getSubscription(t *tx, r *request) (any, *apiError) {
	s, ok := t.a.Subscriptions.get(r.id)
	if !ok {
		return nil, notFound("subscription", r.id)
	}
	return s, nil
}

// updateSubscription is POST /v1/subscriptions/{id}: cancel_at_period_end
// (which sets cancel_at to the period end, as Stripe does), cancel_at,
// default_payment_method, description, metadata.
func updateSubscription(t *tx, r *request) (any, *apiError) {
	s, ok := t.a.Subscriptions.get(r.id)
	if !ok {
		return nil, notFound("subscription", r.id)
	}
	if s.ended() {
		return nil, invalid("", "A subscription that is %s cannot be updated.", s.Status)
	}
	if id := r.p.str("default_payment_method"); id != "" {
		pm, ok := t.a.PaymentMethods.get(id)
		if !ok || pm.customerID() != s.Customer {
			return nil, noSuchParam("PaymentMethod", "default_payment_method", id).withMessage(
				"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", id)
		}
	}
	if r.p.has("cancel_at") && r.p.str("cancel_at") != "" && r.p.int("cancel_at") <= t.unix() {
		return nil, invalid("cancel_at", "cancel_at must be in the future.")
	}
	before := t.renderMap(s)
	if r.p.has("default_payment_method") {
		s.DefaultPaymentMethod = strOrNil(r.p.str("default_payment_method"))
	}
	if r.p.has("description") {
		s.Description = strOrNil(r.p.str("description"))
	}
	s.Metadata = r.p.applyMetadata(s.Metadata, "metadata")
	switch {
	case r.p.has("cancel_at_period_end") && r.p.bool("cancel_at_period_end"):
		s.CancelAtPeriodEnd, s.CancelAt, s.CanceledAt = true, ptr(s.periodEnd()), ptr(t.unix())
	case r.p.has("cancel_at_period_end"):
		s.CancelAtPeriodEnd, s.CancelAt, s.CanceledAt = false, nil, nil
	case r.p.has("cancel_at") && r.p.str("cancel_at") == "":
		s.CancelAtPeriodEnd, s.CancelAt, s.CanceledAt = false, nil, nil
	case r.p.has("cancel_at"):
		at := r.p.int("cancel_at")
		s.CancelAtPeriodEnd, s.CancelAt, s.CanceledAt = at == s.periodEnd(), &at, ptr(t.unix())
	}
	applyCancellationDetails(&s.CancellationDetails, r.p)
	t.emitUpdate("customer.subscription.updated", s, before)
	return s, nil
}

func applyCancellationDetails(cd *cancellationDetails, p params) {
	if p.has("cancellation_details", "comment") {
		cd.Comment = strOrNil(p.str("cancellation_details", "comment"))
	}
	if p.has("cancellation_details", "feedback") {
		cd.Feedback = strOrNil(p.str("cancellation_details", "feedback"))
	}
}

// cancelSubscriptionHandler is DELETE /v1/subscriptions/{id}: canceled at
// once; open invoices stay open, as Stripe leaves them without invoice_now.
func cancelSubscriptionHandler(t *tx, r *request) (any, *apiError) {
	s, ok := t.a.Subscriptions.get(r.id)
	if !ok {
		return nil, notFound("subscription", r.id)
	}
	if s.ended() {
		return nil, invalid("", "This subscription is already %s.", s.Status)
	}
	applyCancellationDetails(&s.CancellationDetails, r.p)
	t.cancelSubscription(s, "cancellation_requested")
	return s, nil
}

// cancelSubscription ends s now.
func (t *tx) cancelSubscription(s *subscription, reason string) {
	now := t.unix()
	s.Status = subCanceled
	s.CanceledAt, s.EndedAt = &now, &now
	s.CancellationDetails.Reason = &reason
	t.emit("customer.subscription.deleted", s, nil)
}

// listSubscriptions is GET /v1/subscriptions. Without status it leaves out
// canceled subscriptions, as Stripe does; status=all lists every one.
func listSubscriptions(t *tx, r *request) (any, *apiError) {
	cid, priceID, status := r.p.str("customer"), r.p.str("price"), r.p.str("status")
	subs := t.a.Subscriptions.newestFirst(func(s *subscription) bool {
		if cid != "" && s.Customer != cid || !r.p.inRange(s.Created, "created") {
			return false
		}
		if priceID != "" && !slices.ContainsFunc(s.Items.Data, func(it *subscriptionItem) bool { return it.Price.ID == priceID }) {
			return false
		}
		switch status {
		case "":
			return s.Status != subCanceled
		case "all":
			return true
		case "ended":
			return s.ended()
		}
		return s.Status == status
	})
	return paginate(subs, r.p, "/v1/subscriptions", "subscription")
}

// searchSubscriptions is GET /v1/subscriptions/search, e.g.
// status:'active' AND metadata['plan']:'pro'.
func searchSubscriptions(t *tx, r *request) (any, *apiError) {
	q, aerr := parseSearch(r.p.str("query"), []string{"status"})
	if aerr != nil {
		return nil, aerr
	}
	subs := t.a.Subscriptions.newestFirst(func(s *subscription) bool {
		return t.searchSees(s.Created) && q.matches(func(field, key string) (string, bool) {
			switch field {
			case "metadata":
				v, ok := s.Metadata[key]
				return v, ok
			case "status":
				return s.Status, true
			}
			return "", false
		})
	})
	return searchPage(subs, r.p, "/v1/subscriptions/search")
}

func subscriptionRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/v1/subscriptions", spec: subscriptionCreateSpec, kind: "subscription", h: createSubscription},
		{method: http.MethodGet, path: "/v1/subscriptions", spec: subscriptionListSpec, kind: "subscription", list: true, h: listSubscriptions},
		{method: http.MethodGet, path: "/v1/subscriptions/search", spec: searchSpec, kind: "subscription", list: true, h: searchSubscriptions},
		{method: http.MethodGet, path: "/v1/subscriptions/{id}", spec: endpoint(nil), kind: "subscription", h: getSubscription},
		{method: http.MethodPost, path: "/v1/subscriptions/{id}", spec: subscriptionUpdateSpec, kind: "subscription", h: updateSubscription},
		{method: http.MethodDelete, path: "/v1/subscriptions/{id}", spec: subscriptionCancelSpec, kind: "subscription", h: cancelSubscriptionHandler},
	}
}
