package e2e_test

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/appwheel/appwheel/client"
)

// Which card pays, end to end: `appwheel dev`, the sandbox charging as
// Stripe does (the subscription's card, else the customer's default, else
// nothing), webhooks feeding the mirror, driven through the Go SDK and the
// CLI as a user of the product would.

// customersWhere returns the sandbox's customers whose metadata key is
// value, as Stripe's customer search finds them (up to 100).
func (d *dev) customersWhere(key, value string) []map[string]any {
	d.t.Helper()
	q := url.Values{"query": {"metadata['" + key + "']:'" + value + "'"}, "limit": {"100"}}
	status, found := d.stripe("GET", "/v1/customers/search?"+q.Encode(), nil)
	data, ok := found["data"].([]any)
	if status != 200 || !ok {
		d.t.Fatalf("customer search %s=%s: HTTP %d %v", key, value, status, found)
	}
	out := make([]map[string]any, len(data))
	for i, c := range data {
		out[i] = c.(map[string]any)
	}
	return out
}

// customerDefault is the sandbox's invoice_settings.default_payment_method
// of the user's customer, "" when none: what Stripe would charge.
func (d *dev) customerDefault(user string) string {
	d.t.Helper()
	found := d.customersWhere("appwheel_app_user_id", user)
	if len(found) != 1 {
		d.t.Fatalf("customers of %s: %v", user, found)
	}
	settings, _ := found[0]["invoice_settings"].(map[string]any)
	dpm, _ := settings["default_payment_method"].(string)
	return dpm
}

// subscription returns the user's only subscription, as AppWheel lists it,
// waiting for the webhook that brings a new one to the mirror.
func (d *dev) subscription(user string) client.Subscription {
	d.t.Helper()
	var subs []client.Subscription
	eventually(d.t, user+"'s subscription in the mirror", func() bool {
		var err error
		if subs, err = d.client.Subscriptions(ctx(d.t), user); err != nil {
			d.t.Fatal(err)
		}
		return len(subs) > 0
	})
	if len(subs) != 1 {
		d.t.Fatalf("subscriptions of %s: %+v; want one", user, subs)
	}
	return subs[0]
}

// renewal advances the sandbox clock a month and waits for the renewal
// invoice to reach the mirror, settled: paid, or open with the
// subscription past_due.
func (d *dev) renewal(user string) client.Invoice {
	d.t.Helper()
	invoices := func() []client.Invoice {
		page, err := d.client.Invoices(ctx(d.t), client.InvoicesParams{AppUserID: user})
		if err != nil {
			d.t.Fatal(err)
		}
		return page.Invoices
	}
	before := len(invoices())
	d.cli("sandbox", "advance", "--days", "31")
	var now []client.Invoice
	eventually(d.t, user+"'s renewal in the mirror", func() bool {
		// The subscription first: invoices read after it show at least
		// the status it had, the mirror only moving forward.
		status := d.subscription(user).Status
		now = invoices()
		if len(now) <= before {
			return false
		}
		inv := now[0]
		return inv.InvoiceStatus == "paid" || (inv.InvoiceStatus == "open" && status == "past_due")
	})
	return now[0]
}

// TestSubscriberKeepsACardThatPays is the story of the issue that asked
// for it: two cards, a subscription on one, that one removed, and the
// renewal is paid by the other.
func TestSubscriberKeepsACardThatPays(t *testing.T) {
	d := startDev(t)
	c := ctx(t)

	// 1. A card by checkout, one by SetupIntent: the first becomes the
	// default, through the webhooks alone (no read in between).
	_, resp, _ := d.checkout("u1", "4242 4242 4242 4242")
	if resp.StatusCode != 303 {
		t.Fatalf("checkout: HTTP %d", resp.StatusCode)
	}
	var visa string
	eventually(t, "the checkout card to become the default at Stripe", func() bool {
		visa = d.customerDefault("u1")
		return visa != ""
	})
	mastercard := d.mustAddCard("u1", "pm_card_mastercard")
	list := d.methods("u1")
	if len(list.Methods) != 2 || list.DefaultMethodID != visa || list.Methods[1].ID != visa {
		t.Fatalf("methods = %d, default %q; want 2 with the first card %s the default", len(list.Methods), list.DefaultMethodID, visa)
	}

	// 2. The app's backend subscribes the user on the second card.
	out := d.cli("sandbox", "subscribe", "--user", "u1", "--price", "monthly", "--card", mastercard)
	if !strings.Contains(out, ": active") {
		t.Fatalf("subscribe: %s", out)
	}
	sub := d.subscription("u1")
	if sub.PaymentMethodID != mastercard {
		t.Errorf("subscription charges %q, want its own card %s", sub.PaymentMethodID, mastercard)
	}

	// 3. Removing that card moves the subscription to the one that stays.
	removed, err := d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: mastercard})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed.MovedSubscriptionIDs, []string{sub.ID}) || removed.NewDefaultMethodID != "" {
		t.Errorf("removed = %+v; want subscription %s moved, the default unchanged", removed, sub.ID)
	}
	if got := d.subscription("u1").PaymentMethodID; got != visa {
		t.Errorf("after the removal the subscription charges %q, want %s", got, visa)
	}

	// 4. The renewal is paid by the remaining card.
	inv := d.renewal("u1")
	if inv.InvoiceStatus != "paid" || inv.OrderStatus != 1 || inv.PaidAt == "0" {
		t.Errorf("renewal = %+v; want paid, orderStatus 1", inv)
	}

	// makeDefault: the new card pays from now on, the subscription included.
	setup, err := d.client.CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: "u1", Type: client.TypeSetupIntent, MakeDefault: true})
	if err != nil {
		t.Fatal(err)
	}
	status, si := d.stripe("POST", "/v1/setup_intents/"+setup.SetupIntentID+"/confirm", url.Values{"payment_method": {"pm_card_amex"}})
	amex, _ := si["payment_method"].(string)
	if status != 200 || amex == "" {
		t.Fatalf("confirm: HTTP %d %v", status, si)
	}
	eventually(t, "the makeDefault card to become the default", func() bool { return d.customerDefault("u1") == amex })
	if got := d.methods("u1").DefaultMethodID; got != amex {
		t.Errorf("defaultMethodId = %q, want %s", got, amex)
	}
	eventually(t, "the subscription to charge the new default", func() bool { return d.subscription("u1").PaymentMethodID == amex })

	// The last card of a subscriber: refused, then forced; the next renewal
	// then fails and the subscription is past_due.
	if _, err := d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: visa}); err != nil {
		t.Fatal(err)
	}
	_, err = d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: amex})
	if !client.IsLastMethod(err) {
		t.Fatalf("removing the subscriber's last card: err = %v, want 1005", err)
	}
	if _, err := d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: amex, Force: true}); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if got := d.subscription("u1").PaymentMethodID; got != "" {
		t.Errorf("after a forced removal the subscription charges %q, want \"\"", got)
	}
	inv = d.renewal("u1")
	if inv.InvoiceStatus != "open" || inv.OrderStatus != 3 || inv.PaidAt != "0" {
		t.Errorf("renewal without a card = %+v; want open, orderStatus 3 (past_due)", inv)
	}
}

// TestSetDefaultMovesTheSubscription: "this card pays" reaches a
// subscription that named a card of its own.
func TestSetDefaultMovesTheSubscription(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	first := d.mustAddCard("u1", "pm_card_visa")
	second := d.mustAddCard("u1", "pm_card_mastercard")
	d.cli("sandbox", "subscribe", "--user", "u1", "--price", "monthly", "--card", first)

	got, err := d.client.SetDefaultPaymentMethod(c, "u1", second)
	if err != nil {
		t.Fatal(err)
	}
	sub := d.subscription("u1")
	if got.DefaultMethodID != second || !slices.Equal(got.MovedSubscriptionIDs, []string{sub.ID}) {
		t.Errorf("setDefault = %+v; want %s, subscription %s moved", got, second, sub.ID)
	}
	if sub.PaymentMethodID != second || d.customerDefault("u1") != second {
		t.Errorf("subscription charges %q, Stripe's default %q; want %s", sub.PaymentMethodID, d.customerDefault("u1"), second)
	}
}

// TestConcurrentRemovalsOfASubscribersCards: of two removals of a
// subscriber's two cards at once, one succeeds and the other is refused.
func TestConcurrentRemovalsOfASubscribersCards(t *testing.T) {
	d := startDev(t)
	c := ctx(t)
	cards := []string{d.mustAddCard("u1", "pm_card_visa"), d.mustAddCard("u1", "pm_card_mastercard")}
	d.cli("sandbox", "subscribe", "--user", "u1", "--price", "monthly")

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range cards {
		wg.Go(func() {
			_, errs[i] = d.client.RemovePaymentMethod(c, client.RemovePaymentMethodParams{AppUserID: "u1", MethodID: id})
		})
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || !client.IsLastMethod(errs[0]) && !client.IsLastMethod(errs[1]) {
		t.Fatalf("concurrent removals: %v, %v; want one success and one 1005", errs[0], errs[1])
	}
	left := d.methods("u1")
	if len(left.Methods) != 1 || d.subscription("u1").PaymentMethodID != left.Methods[0].ID {
		t.Errorf("left %d cards; the subscription charges %q", len(left.Methods), d.subscription("u1").PaymentMethodID)
	}
	if inv := d.renewal("u1"); inv.InvoiceStatus != "paid" {
		t.Errorf("renewal = %+v; want paid by the remaining card", inv)
	}
}
