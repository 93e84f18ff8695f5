package billing

import (
	"context"
	"encoding/json"

	"github.com/appwheel/appwheel"
)

// CreatePaymentMethodParams is the createPaymentMethod request.
type CreatePaymentMethodParams struct {
	AppUserID      string
	Type           appwheel.AddPaymentMethodType
	SuccessURL     string // required for checkout
	CancelURL      string // required for checkout
	IdempotencyKey string // the client's, optional
}

// CreatePaymentMethod starts adding a payment method for the user: a
// Checkout Session in setup mode, or a SetupIntent for Stripe.js. The user's
// Stripe customer is created on first need.
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
	setup, err := s.startSetup(ctx, app, p, customerID)
	if isNotFound(err) {
		// The customer was deleted at Stripe: the user gets a new one.
		if customerID, err = s.replaceCustomer(ctx, app, p.AppUserID, customerID); err != nil {
			return nil, err
		}
		setup, err = s.startSetup(ctx, app, p, customerID)
	}
	if err != nil {
		return nil, err
	}
	if mirrored(app) {
		// The method will be added at Stripe, not through AppWheel: until
		// the webhook says so, reads ask Stripe (see SetupPendingUntil).
		if err := s.store.SetSetupPending(ctx, app.ID, p.AppUserID, s.now().Add(SetupPendingWindow)); err != nil {
			return nil, err
		}
	}
	return setup, nil
}

// startSetup creates the Checkout Session or the SetupIntent. Returns
// ENOTFOUND when Stripe no longer has the customer.
func (s *Service) startSetup(ctx context.Context, app *appwheel.App, p CreatePaymentMethodParams, customerID string) (*appwheel.PaymentMethodSetup, error) {
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
			return nil, err
		}
		return &appwheel.PaymentMethodSetup{CheckoutURL: cs.URL, CheckoutID: cs.ID}, nil
	}
	si, err := s.stripe.CreateSetupIntent(ctx, app.Stripe, appwheel.CreateSetupIntentParams{
		CustomerID:     customerID,
		AppID:          app.ID,
		AppUserID:      p.AppUserID,
		IdempotencyKey: stripeIdempotencyKey("setup_intent", app.ID, p.IdempotencyKey, customerID),
	})
	if err != nil {
		return nil, err
	}
	return &appwheel.PaymentMethodSetup{SetupIntentID: si.ID, ClientSecret: si.ClientSecret}, nil
}

// PaymentMethods lists the user's payment methods, newest first, with the
// customer's default. A user without a customer has none; no customer is
// created.
//
// Returns EINVALID for a bad appUserId, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) PaymentMethods(ctx context.Context, app *appwheel.App, appUserID string) (*appwheel.PaymentMethodList, error) {
	if err := validateAppUserID(appUserID); err != nil {
		return nil, err
	}
	if mirrored(app) {
		return s.mirroredPaymentMethods(ctx, app, appUserID)
	}
	list := &appwheel.PaymentMethodList{Methods: []json.RawMessage{}}
	customerID, err := s.customerID(ctx, app, appUserID)
	if err != nil || customerID == "" {
		return list, err
	}
	methods, err := s.stripe.PaymentMethods(ctx, app.Stripe, customerID)
	if isNotFound(err) { // the customer was deleted at Stripe
		return list, nil
	}
	if err != nil {
		return nil, err
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	if cus.Deleted {
		return list, nil
	}
	for _, pm := range methods {
		list.Methods = append(list.Methods, pm.Raw)
	}
	list.DefaultMethodID = cus.DefaultPaymentMethodID
	return list, nil
}

// RemovePaymentMethodParams is the removePaymentMethod request.
type RemovePaymentMethodParams struct {
	AppUserID string
	MethodID  string
	// Force removes the last method even while a subscription needs it.
	Force          bool
	IdempotencyKey string // the client's, optional
}

// RemovePaymentMethod detaches one of the user's payment methods. When it
// was the default, the newest remaining method becomes the default first, so
// a failure part-way leaves the user with a default, and a retry finishes
// the job. Changes to one user's methods run one at a time, across replicas.
//
// Returns ENOTFOUND when the method is not attached to this user's customer
// (whoever it belongs to; nothing is detached), ELASTMETHOD when it is the
// user's last method and a subscription is active, trialing, past_due or
// unpaid (unless Force), EINVALID for bad parameters, ERATELIMITED when
// another change to the user's methods takes too long, ESTRIPE /
// ESTRIPEUNAVAILABLE from Stripe.
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
	if len(methods) == 1 && !p.Force {
		if err := s.refuseIfSubscriptionNeedsMethod(ctx, app, customerID); err != nil {
			return nil, err
		}
	}
	cus, err := s.stripe.Customer(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	removed := &appwheel.RemovedPaymentMethod{MethodID: p.MethodID}
	if cus.DefaultPaymentMethodID == p.MethodID {
		for _, pm := range methods { // newest first
			if pm.ID == p.MethodID {
				continue
			}
			if err := s.stripe.SetDefaultPaymentMethod(ctx, app.Stripe, customerID, pm.ID,
				stripeIdempotencyKey("promote_default", app.ID, p.IdempotencyKey, p.AppUserID, p.MethodID, pm.ID)); err != nil {
				return nil, err
			}
			removed.NewDefaultMethodID = pm.ID
			break
		}
	}
	if err := s.stripe.DetachPaymentMethod(ctx, app.Stripe, p.MethodID,
		stripeIdempotencyKey("detach", app.ID, p.IdempotencyKey, p.AppUserID, p.MethodID)); err != nil {
		return nil, err
	}
	// Write-through: a read right after this shows the change.
	version := s.fetchVersion()
	for _, pm := range methods {
		if pm.ID == p.MethodID {
			detached := *pm
			detached.CustomerID = ""
			if _, err := s.store.SavePaymentMethod(ctx, app.ID, &detached, version); err != nil {
				return nil, err
			}
		}
	}
	if cus.DefaultPaymentMethodID == p.MethodID { // promoted, or cleared by the detach
		if _, err := s.store.SaveCustomer(ctx, app.ID, &appwheel.Customer{ID: customerID, DefaultPaymentMethodID: removed.NewDefaultMethodID}, version); err != nil {
			return nil, err
		}
	}
	return removed, nil
}

// SetDefaultPaymentMethod makes one of the user's methods the customer's
// default for invoices and subscriptions.
//
// Returns ENOTFOUND when the method is not attached to this user's customer,
// EINVALID for bad parameters, ERATELIMITED when another change to the
// user's methods takes too long, ESTRIPE / ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) SetDefaultPaymentMethod(ctx context.Context, app *appwheel.App, appUserID, methodID, idempotencyKey string) error {
	if err := validateAppUserID(appUserID); err != nil {
		return err
	}
	if err := validateObjectID("methodId", paymentMethodPrefixes, methodID); err != nil {
		return err
	}
	return s.withUserLock(ctx, app.ID, appUserID, func() error {
		customerID, _, err := s.ownedMethods(ctx, app, appUserID, methodID)
		if err != nil {
			return err
		}
		if err := s.stripe.SetDefaultPaymentMethod(ctx, app.Stripe, customerID, methodID,
			stripeIdempotencyKey("set_default", app.ID, idempotencyKey, appUserID, methodID)); err != nil {
			return err
		}
		_, err = s.store.SaveCustomer(ctx, app.ID, &appwheel.Customer{ID: customerID, DefaultPaymentMethodID: methodID}, s.fetchVersion())
		return err
	})
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

func (s *Service) refuseIfSubscriptionNeedsMethod(ctx context.Context, app *appwheel.App, customerID string) error {
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Live() {
			return appwheel.Errorf(appwheel.ELASTMETHOD,
				"this is the user's last payment method and subscription %s is %s; pass force=true to remove it anyway",
				sub.ID, sub.Status)
		}
	}
	return nil
}
