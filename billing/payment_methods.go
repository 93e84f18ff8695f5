package billing

import (
	"context"
	"slices"

	"github.com/appwheel/appwheel"
)

// CreatePaymentMethodParams is the createPaymentMethod request.
type CreatePaymentMethodParams struct {
	AppUserID  string
	Type       appwheel.AddPaymentMethodType
	SuccessURL string // required for checkout
	CancelURL  string // required for checkout
	// MakeDefault makes the new card the customer's default once it is
	// added, even when the customer has one (the first card becomes the
	// default either way).
	MakeDefault    bool
	IdempotencyKey string // the client's, optional
}

// CreatePaymentMethod starts adding a payment method for the user: a
// Checkout Session in setup mode, or a SetupIntent for Stripe.js. The user's
// Stripe customer is created on first need. The card added becomes the
// customer's default when it has none, or with MakeDefault (settleDefault).
//
// Returns EINVALID for a bad parameter, EFORBIDDEN for a redirect host the
// app does not allow, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) CreatePaymentMethod(ctx context.Context, app *appwheel.App, p CreatePaymentMethodParams) (*appwheel.PaymentMethodSetup, error) {
	if err := validateAppUserID(p.AppUserID); err != nil {
		return nil, err
	}
	switch p.Type {
	case appwheel.AddByCheckout:
		if err := validateRedirectURL("successUrl", p.SuccessURL, app.RedirectHosts); err != nil {
			return nil, err
		}
		if err := validateRedirectURL("cancelUrl", p.CancelURL, app.RedirectHosts); err != nil {
			return nil, err
		}
	case appwheel.AddBySetupIntent:
	case "":
		return nil, appwheel.Errorf(appwheel.EINVALID, "type is required: checkout or setupIntent")
	default:
		return nil, appwheel.Errorf(appwheel.EINVALID, "type must be checkout or setupIntent, got %s", appwheel.Quote(string(p.Type)))
	}

	customerID, err := s.ensureCustomer(ctx, app, p.AppUserID)
	if err != nil {
		return nil, err
	}
	setup, setupIntentID, err := s.startSetup(ctx, app, p, customerID)
	if isNotFound(err) {
		// The customer was deleted at Stripe: the user gets a new one.
		if customerID, err = s.replaceCustomer(ctx, app, p.AppUserID, customerID); err != nil {
			return nil, err
		}
		setup, setupIntentID, err = s.startSetup(ctx, app, p, customerID)
	}
	if err != nil {
		return nil, err
	}
	if p.MakeDefault {
		if err := s.store.SetDefaultSetup(ctx, app.ID, p.AppUserID, setupIntentID); err != nil {
			return nil, err
		}
	}
	if mirrored(app) {
		// The method will be added at Stripe, not through AppWheel: until
		// the webhook says so, reads ask Stripe (see SetupPendingUntil).
		if err := s.store.SetSetupPending(ctx, app.ID, p.AppUserID, s.now().Add(SetupPendingWindow), setupIntentID); err != nil {
			return nil, err
		}
	}
	return setup, nil
}

// startSetup creates the Checkout Session or the SetupIntent, and returns
// it with the SetupIntent that adds the card. Returns ENOTFOUND when Stripe
// no longer has the customer.
func (s *Service) startSetup(ctx context.Context, app *appwheel.App, p CreatePaymentMethodParams, customerID string) (*appwheel.PaymentMethodSetup, string, error) {
	if p.Type == appwheel.AddByCheckout {
		cs, err := s.stripe.CreateCheckoutSession(ctx, app.Stripe, appwheel.CreateCheckoutSessionParams{
			CustomerID:     customerID,
			SuccessURL:     p.SuccessURL,
			CancelURL:      p.CancelURL,
			AppID:          app.ID,
			AppUserID:      p.AppUserID,
			IdempotencyKey: stripeIdempotencyKey("checkout_session", app.ID, p.IdempotencyKey, customerID, p.SuccessURL, p.CancelURL),
		})
		if err != nil {
			return nil, "", err
		}
		return &appwheel.PaymentMethodSetup{CheckoutURL: cs.URL, CheckoutID: cs.ID}, cs.SetupIntentID, nil
	}
	si, err := s.stripe.CreateSetupIntent(ctx, app.Stripe, appwheel.CreateSetupIntentParams{
		CustomerID:     customerID,
		AppID:          app.ID,
		AppUserID:      p.AppUserID,
		IdempotencyKey: stripeIdempotencyKey("setup_intent", app.ID, p.IdempotencyKey, customerID),
	})
	if err != nil {
		return nil, "", err
	}
	return &appwheel.PaymentMethodSetup{SetupIntentID: si.ID, ClientSecret: si.ClientSecret}, si.ID, nil
}

// RemovePaymentMethodParams is the removePaymentMethod request.
type RemovePaymentMethodParams struct {
	AppUserID string
	MethodID  string
	// Force removes the last method even while a subscription needs it.
	Force          bool
	IdempotencyKey string // the client's, optional
}

// RemovePaymentMethod detaches one of the user's payment methods without
// leaving a live subscription (active, trialing, past_due, unpaid) a card
// it cannot charge: the subscriptions that would charge the method, as
// their own default or through the customer's, and the customer default
// move first to another of the user's cards (the current default if it
// stays, else the newest remaining). A failure part-way therefore leaves
// every live subscription chargeable, and a retry finishes the job. Changes
// to one user's methods run one at a time, across replicas, so two
// removals never both pass the guard.
//
// Returns ENOTFOUND when the method is not attached to this user's customer
// (whoever it belongs to; nothing is detached), ELASTMETHOD when it is the
// user's last method and a subscription is live (unless Force), EINVALID
// for bad parameters, ERATELIMITED when another change to the user's
// methods takes too long, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) RemovePaymentMethod(ctx context.Context, app *appwheel.App, p RemovePaymentMethodParams) (*appwheel.RemovedPaymentMethod, error) {
	if err := validateAppUserID(p.AppUserID); err != nil {
		return nil, err
	}
	if err := validateObjectID("methodId", paymentMethodPrefixes, p.MethodID); err != nil {
		return nil, err
	}
	var removed *appwheel.RemovedPaymentMethod
	err := s.withUserLock(ctx, app.ID, p.AppUserID, func() (err error) {
		removed, err = s.removePaymentMethod(ctx, app, p)
		return err
	})
	return removed, err
}

func (s *Service) removePaymentMethod(ctx context.Context, app *appwheel.App, p RemovePaymentMethodParams) (*appwheel.RemovedPaymentMethod, error) {
	customerID, methods, err := s.ownedMethods(ctx, app, p.AppUserID, p.MethodID)
	if err != nil {
		return nil, err
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	target, charging, err := planRemoval(p.MethodID, methods, cus.DefaultPaymentMethodID, subs, p.Force)
	if err != nil {
		return nil, err
	}
	key := func(op string, params ...string) string {
		return stripeIdempotencyKey(op, app.ID, p.IdempotencyKey, append([]string{p.AppUserID, p.MethodID}, params...)...)
	}
	removed := &appwheel.RemovedPaymentMethod{MethodID: p.MethodID, MovedSubscriptionIDs: []string{}}
	version := s.fetchVersion()
	newDefault := cus.DefaultPaymentMethodID
	if target != "" && cus.DefaultPaymentMethodID == p.MethodID {
		if err := s.stripe.SetDefaultPaymentMethod(ctx, app.Stripe, customerID, target, key("promote_default", target)); err != nil {
			return nil, err
		}
		newDefault, removed.NewDefaultMethodID = target, target
	}
	for _, sub := range charging {
		if target != "" && sub.DefaultPaymentMethodID == p.MethodID {
			if err := s.stripe.SetSubscriptionPaymentMethod(ctx, app.Stripe, sub.ID, target, key("move_subscription", sub.ID, target)); err != nil {
				return nil, err
			}
			sub.DefaultPaymentMethodID = target
			if _, err := s.store.SaveSubscription(ctx, app.ID, sub, version); err != nil {
				return nil, err
			}
		}
		if target != "" {
			removed.MovedSubscriptionIDs = append(removed.MovedSubscriptionIDs, sub.ID)
		}
	}
	if err := s.stripe.DetachPaymentMethod(ctx, app.Stripe, p.MethodID, key("detach")); err != nil {
		return nil, err
	}
	// Write-through: a read right after this shows the change.
	version = s.fetchVersion()
	for _, pm := range methods {
		if pm.ID == p.MethodID {
			detached := *pm
			detached.CustomerID = ""
			if _, err := s.store.SavePaymentMethod(ctx, app.ID, &detached, version); err != nil {
				return nil, err
			}
		}
	}
	if newDefault == p.MethodID { // Stripe clears a detached default
		newDefault = ""
	}
	if _, err := s.store.SaveCustomer(ctx, app.ID, &appwheel.Customer{ID: customerID, DefaultPaymentMethodID: newDefault}, version); err != nil {
		return nil, err
	}
	return removed, nil
}

// planRemoval decides what removing methodID from methods (the user's
// cards, newest first) changes: target, the card that pays from now on
// (the customer default if it stays, else the newest remaining; "" when
// none remains), and the live subscriptions that charge methodID now.
// Returns ELASTMETHOD when no card would remain for a live subscription,
// unless force.
func planRemoval(methodID string, methods []*appwheel.PaymentMethod, customerDefault string, subs []*appwheel.Subscription, force bool) (target string, charging []*appwheel.Subscription, err error) {
	remaining := slices.DeleteFunc(slices.Clone(methods), func(pm *appwheel.PaymentMethod) bool { return pm.ID == methodID })
	target = customerDefault
	if !attachedTo(remaining)(target) {
		target = ""
		if len(remaining) > 0 {
			target = remaining[0].ID
		}
	}
	attached := attachedTo(methods)
	for _, sub := range subs {
		if !sub.Live() {
			continue
		}
		if target == "" && !force {
			return "", nil, appwheel.Errorf(appwheel.ELASTMETHOD,
				"this is the user's last payment method and subscription %s is %s; add another card first, or pass force=true to remove it anyway",
				sub.ID, sub.Status)
		}
		if sub.ChargedMethod(customerDefault, attached) == methodID {
			charging = append(charging, sub)
		}
	}
	return target, charging, nil
}

// SetDefaultPaymentMethod makes one of the user's methods the card that
// pays: the customer's default, and the card of every live subscription
// that names another card of its own, so the user's choice is what their
// renewals charge.
//
// Returns ENOTFOUND when the method is not attached to this user's customer,
// EINVALID for bad parameters, ERATELIMITED when another change to the
// user's methods takes too long, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) SetDefaultPaymentMethod(ctx context.Context, app *appwheel.App, appUserID, methodID, idempotencyKey string) (*appwheel.DefaultPaymentMethod, error) {
	if err := validateAppUserID(appUserID); err != nil {
		return nil, err
	}
	if err := validateObjectID("methodId", paymentMethodPrefixes, methodID); err != nil {
		return nil, err
	}
	out := &appwheel.DefaultPaymentMethod{DefaultMethodID: methodID}
	err := s.withUserLock(ctx, app.ID, appUserID, func() error {
		customerID, methods, err := s.ownedMethods(ctx, app, appUserID, methodID)
		if err != nil {
			return err
		}
		key := func(op string, params ...string) string {
			return stripeIdempotencyKey(op, app.ID, idempotencyKey, append([]string{appUserID}, params...)...)
		}
		// The default is set whatever it is now: one call fewer is not worth
		// a read, and setting it again is harmless.
		out.MovedSubscriptionIDs, err = s.payWith(ctx, app, customerID, methodID, "", methods, true, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ownedMethods returns the user's customer and all the user's methods,
// newest first, after checking that methodID is among them. Ownership is
// decided by Stripe's own record of the method's customer, never by the id
// the caller sent.
func (s *Service) ownedMethods(ctx context.Context, app *appwheel.App, appUserID, methodID string) (string, []*appwheel.PaymentMethod, error) {
	customerID, err := s.customerID(ctx, app, appUserID)
	if err != nil {
		return "", nil, err
	}
	if customerID == "" {
		return "", nil, notFound(methodID)
	}
	pm, err := s.stripe.PaymentMethod(ctx, app.Stripe, methodID)
	if isNotFound(err) {
		return "", nil, notFound(methodID)
	}
	if err != nil {
		return "", nil, err
	}
	if pm.CustomerID != customerID {
		return "", nil, notFound(methodID)
	}
	methods, err := s.stripe.PaymentMethods(ctx, app.Stripe, customerID)
	if err != nil {
		return "", nil, err
	}
	return customerID, methods, nil
}
