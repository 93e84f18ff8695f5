package e2e_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/appwheel/appwheel/client"
)

// TestLinkExistingCustomer: a customer the app's own backend made at Stripe
// before AppWheel (cards, a subscription, invoices, none of AppWheel's
// metadata) is linked to a user with `appwheel apps link`; the user's data
// is then served from the mirror with no Stripe call, the first card pays,
// and createPaymentMethod uses that customer.
func TestLinkExistingCustomer(t *testing.T) {
	d := startDev(t)
	c := ctx(t)

	// The app's backend, before AppWheel.
	status, cus := d.stripe("POST", "/v1/customers", url.Values{"email": {"old@example.com"}, "metadata[user_id]": {"old1"}})
	if status != 200 {
		t.Fatalf("create customer: HTTP %d %v", status, cus)
	}
	customer := cus["id"].(string)
	var cards []string
	for _, token := range []string{"pm_card_visa", "pm_card_mastercard"} {
		status, pm := d.stripe("POST", "/v1/payment_methods/"+token+"/attach", url.Values{"customer": {customer}})
		if status != 200 {
			t.Fatalf("attach %s: HTTP %d %v", token, status, pm)
		}
		cards = append(cards, pm["id"].(string))
	}
	status, sub := d.stripe("POST", "/v1/subscriptions", url.Values{
		"customer": {customer}, "items[0][price]": {d.facts.Prices["monthly"]}, "default_payment_method": {cards[1]},
	})
	if status != 200 || sub["status"] != "active" {
		t.Fatalf("subscribe: HTTP %d %v", status, sub)
	}

	out := d.cli("apps", "link", d.facts.AppID, "--user", "old1", "--customer", customer, "--json")
	var link struct{ AppUserID, CustomerID string }
	if err := jsonUnmarshal(out, &link); err != nil || link.AppUserID != "old1" || link.CustomerID != customer {
		t.Fatalf("apps link printed %q (%v)", out, err)
	}
	// Its metadata is AppWheel's now too, the app's kept.
	_, got := d.stripe("GET", "/v1/customers/"+customer, nil)
	meta, _ := got["metadata"].(map[string]any)
	if meta["appwheel_app_user_id"] != "old1" || meta["appwheel_app_id"] != d.facts.AppID || meta["user_id"] != "old1" {
		t.Errorf("customer metadata = %v", meta)
	}

	// Settled: the webhooks of the link applied.
	before := d.settledStripeCalls()
	list := d.methods("old1")
	subs, err := d.client.Subscriptions(c, "old1")
	if err != nil {
		t.Fatal(err)
	}
	invs, err := d.client.Invoices(c, client.InvoicesParams{AppUserID: "old1"})
	if err != nil {
		t.Fatal(err)
	}
	if after := d.stripeCalls(); after != before {
		t.Errorf("reads after the link made %v Stripe calls, want 0", after-before)
	}
	if len(list.Methods) != 2 || list.DefaultMethodID != cards[0] {
		t.Errorf("methods = %d, default %q; want 2, the oldest card %s the default", len(list.Methods), list.DefaultMethodID, cards[0])
	}
	if len(subs) != 1 || subs[0].ID != sub["id"] || subs[0].PaymentMethodID != cards[1] {
		t.Errorf("subscriptions = %+v; want %v charging %s", subs, sub["id"], cards[1])
	}
	if len(invs.Invoices) != 1 || invs.Invoices[0].InvoiceStatus != "paid" {
		t.Errorf("invoices = %+v; want the subscription's first, paid", invs.Invoices)
	}

	// The app's backend links another through the API; a customer that is
	// someone's already is refused.
	_, other := d.stripe("POST", "/v1/customers", url.Values{"metadata[user_id]": {"old2"}})
	if _, err := d.client.LinkCustomer(c, client.LinkCustomerParams{AppUserID: "old2", CustomerID: other["id"].(string)}); err != nil {
		t.Fatalf("LinkCustomer: %v", err)
	}
	if _, err := d.client.LinkCustomer(c, client.LinkCustomerParams{AppUserID: "old3", CustomerID: customer}); !client.IsConflict(err) {
		t.Errorf("linking old1's customer to old3: err = %v, want 1008", err)
	}

	// A new card goes to the same customer: no second one for the user.
	d.mustAddCard("old1", "pm_card_amex")
	if found := d.customersWhere("appwheel_app_user_id", "old1"); len(found) != 1 {
		t.Errorf("customers of old1 = %v, want the linked one only", found)
	}
	if n := len(d.methods("old1").Methods); n != 3 {
		t.Errorf("methods after adding one = %d, want 3", n)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
