package sandbox

// Checkout in subscription mode: the hosted page takes a card and starts
// the subscription with it, as Stripe Checkout does: the customer (made
// now if the session named none), the card attached and made the
// subscription's default payment method, the first invoice charged; a card
// that declines starts nothing and the page says why.

// subscriptionMode records on a new session what it starts, and the
// amounts it shows: the first invoice's (nothing during a trial).
func (cs *checkoutSession) subscriptionMode(items []subItem, p params) {
	in := &csInternal{TrialDays: p.int("subscription_data", "trial_period_days"),
		SubMetadata:    p.applyMetadata(nil, "subscription_data", "metadata"),
		SubDescription: p.str("subscription_data", "description")}
	for _, it := range items {
		in.Items = append(in.Items, csItem{Price: it.price.ID, Quantity: it.quantity})
	}
	total := amountOf(items)
	if in.TrialDays > 0 {
		total = 0
	}
	cs.Internal = in
	cs.Currency = ptr(items[0].price.Currency)
	cs.AmountSubtotal, cs.AmountTotal = ptr(total), ptr(total)
	cs.PaymentStatus = "unpaid"
	cs.CustomerCreation = ptr("always")
}

// completeSubscriptionSession starts the session's subscription on card c.
func (t *tx) completeSubscriptionSession(cs *checkoutSession, c *testCard, d cardDetails) *apiError {
	var items []subItem
	for _, it := range cs.Internal.Items {
		p, ok := t.a.Prices.get(it.Price)
		if !ok || !p.Active {
			return invalid("", "The price %s of this session is no longer available.", it.Price)
		}
		items = append(items, subItem{price: p, quantity: it.Quantity, metadata: map[string]string{}})
	}
	d.CVCChecked, d.AllowRedisplay = true, "limited"
	pm := t.newCardPaymentMethod(c, d)
	if aerr := checkCard(pm, ""); aerr != nil {
		return aerr
	}
	trialEnd := trialEndAfter(t.unix(), cs.Internal.TrialDays)
	if aerr := chargeFailure(pm, amountOf(items)); aerr != nil && trialEnd == 0 {
		return aerr // declined: nothing is started, as at Stripe
	}
	cus, ok := t.liveCustomer(deref(cs.Customer))
	if !ok {
		cus = t.newCustomer()
		cus.Email, cus.Name = cs.CustomerEmail, strOrNil(d.Name)
		t.addCustomer(cus)
	}
	if aerr := t.attach(pm, cus, ""); aerr != nil {
		return aerr
	}
	sub, aerr := t.startSubscription(subscriptionStart{customer: cus, items: items, defaultPM: pm,
		behavior: "error_if_incomplete", trialEnd: trialEnd,
		description: strOrNil(cs.Internal.SubDescription), metadata: copyMap(cs.Internal.SubMetadata)})
	if aerr != nil {
		return aerr
	}
	cs.Customer, cs.Subscription, cs.Invoice = &cus.ID, &sub.ID, sub.LatestInvoice
	cs.PaymentStatus = "paid"
	if trialEnd != 0 {
		cs.PaymentStatus = "no_payment_required"
	}
	cs.CustomerDetails = &customerDetails{Email: cus.Email, Name: strOrNil(d.Name), TaxExempt: "none", TaxIDs: []any{}}
	cs.Status = csComplete
	t.emit("checkout.session.completed", cs, nil)
	return nil
}
