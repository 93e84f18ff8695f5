package billing

import (
	"context"
	"slices"

	"github.com/appwheel/appwheel"
)

// Which card pays. Stripe charges a subscription's invoice with the
// subscription's default_payment_method, else the customer's
// invoice_settings.default_payment_method (appwheel.Subscription.ChargedMethod);
// with neither the payment fails. Stripe makes no card the default by
// itself, so AppWheel does, for the users of the apps it serves:
//
//   - a card added through AppWheel becomes the customer's default when the
//     customer has none, or when it was added with makeDefault (settleDefault);
//   - choosing a default means "this card pays": the live subscriptions that
//     name a card of their own move to it too (payWith);
//   - removing a card that a live subscription charges first moves that
//     subscription, and the customer default, to another card
//     (removePaymentMethod).

// attachedTo reports whether a method is among methods.
func attachedTo(methods []*appwheel.PaymentMethod) func(id string) bool {
	return func(id string) bool {
		return slices.ContainsFunc(methods, func(pm *appwheel.PaymentMethod) bool { return pm.ID == id })
	}
}

// payWith makes methodID the card that pays: the customer's default and,
// when moveAll, the card of every live subscription that names another
// card of its own; otherwise only of those whose own card can no longer be
// charged. It returns the moved subscriptions and writes the changes
// through to the mirror. Callers hold the user's lock and have checked that
// methodID is attached to the customer.
func (s *Service) payWith(ctx context.Context, app *appwheel.App, customerID, methodID, currentDefault string, methods []*appwheel.PaymentMethod, moveAll bool, key func(op string, params ...string) string) ([]string, error) {
	subs, err := s.stripe.Subscriptions(ctx, app.Stripe, customerID)
	if err != nil {
		return nil, err
	}
	if currentDefault != methodID {
		if err := s.stripe.SetDefaultPaymentMethod(ctx, app.Stripe, customerID, methodID, key("set_default", methodID)); err != nil {
			return nil, err
		}
	}
	attached := attachedTo(methods)
	moved := []string{}
	var movedSubs []*appwheel.Subscription
	for _, sub := range subs {
		own := sub.DefaultPaymentMethodID
		if !sub.Live() || own == "" || own == methodID || (!moveAll && attached(own)) {
			continue
		}
		if err := s.stripe.SetSubscriptionPaymentMethod(ctx, app.Stripe, sub.ID, methodID, key("move_subscription", sub.ID, methodID)); err != nil {
			return nil, err
		}
		sub.DefaultPaymentMethodID = methodID
		moved = append(moved, sub.ID)
		movedSubs = append(movedSubs, sub)
	}
	version := s.fetchVersion()
	if _, err := s.store.SaveCustomer(ctx, app.ID, &appwheel.Customer{ID: customerID, DefaultPaymentMethodID: methodID}, version); err != nil {
		return nil, err
	}
	for _, sub := range movedSubs {
		if _, err := s.store.SaveSubscription(ctx, app.ID, sub, version); err != nil {
			return nil, err
		}
	}
	return moved, nil
}

// settleDefault makes sure a card the user added pays: the card of a
// succeeded makeDefault setup (the user's DefaultSetupIntentID), else, when
// the customer has no default it can charge, the oldest card (the first
// added). It runs wherever AppWheel learns that the user's cards changed at
// Stripe: a setup's webhook, a read while a setup is pending, a backfill or
// reconcile, a live read; so a lost webhook delays it only until then.
//
// defaultID and methods are what the caller knows (the methods newest
// first); when they show nothing to do, settleDefault makes no Stripe call.
// Otherwise it decides again on Stripe's current state under the user's
// lock. done, when not nil, is a SetupIntent the caller knows succeeded.
// It returns the customer's default afterwards.
func (s *Service) settleDefault(ctx context.Context, app *appwheel.App, appUserID, defaultID string, methods []*appwheel.PaymentMethod, done *appwheel.SetupIntent) (string, error) {
	st, err := s.store.CustomerState(ctx, app.ID, appUserID)
	if isNotFound(err) {
		return defaultID, nil
	}
	if err != nil {
		return "", err
	}
	if st.DefaultSetupIntentID == "" && (len(methods) == 0 || attachedTo(methods)(defaultID)) {
		return defaultID, nil
	}
	err = s.withUserLock(ctx, app.ID, appUserID, func() error {
		cus, err := s.stripe.Customer(ctx, app.Stripe, st.CustomerID)
		if err != nil || cus.Deleted {
			return err
		}
		defaultID = cus.DefaultPaymentMethodID
		methods, err := s.stripe.PaymentMethods(ctx, app.Stripe, st.CustomerID)
		if err != nil {
			return err
		}
		attached := attachedTo(methods)
		target, moveAll, settled := "", false, false
		if id := st.DefaultSetupIntentID; id != "" {
			si := done
			if si == nil || si.ID != id {
				si, err = s.stripe.SetupIntent(ctx, app.Stripe, id)
				if isNotFound(err) {
					si, err = &appwheel.SetupIntent{ID: id, Status: "canceled"}, nil
				}
				if err != nil {
					return err
				}
			}
			switch si.Status {
			case "succeeded":
				settled = true
				if attached(si.PaymentMethodID) {
					target, moveAll = si.PaymentMethodID, true
				}
			case "canceled":
				settled = true
			}
		}
		if target == "" && !attached(defaultID) && len(methods) > 0 {
			target = methods[len(methods)-1].ID
		}
		if target != "" && (target != defaultID || moveAll) {
			noKey := func(string, ...string) string { return "" }
			if _, err := s.payWith(ctx, app, st.CustomerID, target, defaultID, methods, moveAll, noKey); err != nil {
				return err
			}
			defaultID = target
		}
		if settled {
			return s.store.ClearDefaultSetup(ctx, app.ID, appUserID, st.DefaultSetupIntentID)
		}
		return nil
	})
	return defaultID, err
}
