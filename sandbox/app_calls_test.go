package sandbox_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/appwheel/appwheel/sandbox"
)

// TestAppCalls covers calls an app's own Stripe code makes that AppWheel's
// adapter does not: updates of setup intents and customer addresses, a
// customer's payment method, created filters, and price and subscription
// search.
func TestAppCalls(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_appcalls"
	e.keys(t, key)
	cid, pm := e.customerWithCard(t, key, "pm_card_visa")

	t.Run("setup_intents.update", func(t *testing.T) {
		si := e.mustCall(t, 200, key, "POST", "/v1/setup_intents", vals("payment_method_types[0]", "card"))
		id := str(si, "id")
		up := e.mustCall(t, 200, key, "POST", "/v1/setup_intents/"+id, vals("customer", cid, "description", "Card for Pro",
			"metadata[plan]", "pro", "payment_method", "pm_card_mastercard"))
		if str(up, "customer") != cid || str(up, "description") != "Card for Pro" || str(up, "metadata.plan") != "pro" ||
			str(up, "status") != "requires_confirmation" || str(up, "payment_method") == "" {
			t.Errorf("got %v, want the customer, description, metadata and a payment method to confirm", up)
		}
		other, _ := e.customerWithCard(t, key, "pm_card_visa")
		if a := e.call(t, key, "POST", "/v1/setup_intents/"+id, vals("customer", other)); a.Status != 400 || a.errorField(t, "param") != "customer" {
			t.Errorf("moving to another customer: got %d %s, want 400 on customer", a.Status, a.Body)
		}
		e.mustCall(t, 200, key, "POST", "/v1/setup_intents/"+id+"/confirm", nil)
		if a := e.call(t, key, "POST", "/v1/setup_intents/"+id, vals("description", "x")); a.Status != 400 || a.errorField(t, "code") != "setup_intent_unexpected_state" {
			t.Errorf("updating a succeeded setup intent: got %d %s, want 400 setup_intent_unexpected_state", a.Status, a.Body)
		}
		if a := e.call(t, key, "POST", "/v1/setup_intents/"+id, vals("usage", "on_session")); a.Status != 400 || a.errorField(t, "param") != "usage" {
			t.Errorf("got %d %s for a parameter Stripe's update does not take, want 400 naming it", a.Status, a.Body)
		}
	})

	t.Run("customers.update with an address", func(t *testing.T) {
		c := e.mustCall(t, 200, key, "POST", "/v1/customers/"+cid, vals("address[line1]", "1 Main St", "address[city]", "Springfield",
			"address[country]", "US", "address[postal_code]", "12345"))
		if str(c, "address.line1") != "1 Main St" || str(c, "address.country") != "US" || get(c, "address.state") != nil {
			t.Errorf("got address %v, want the fields sent and null state", get(c, "address"))
		}
		c = e.mustCall(t, 200, key, "POST", "/v1/customers/"+cid, vals("address[line2]", "Apt 4"))
		if str(c, "address.line1") != "1 Main St" || str(c, "address.line2") != "Apt 4" {
			t.Errorf("got address %v, want line2 added to the rest", get(c, "address"))
		}
		evs := e.mustCall(t, 200, key, "GET", "/v1/events", vals("type", "customer.updated", "limit", "1"))
		if str(evs, "data.0.data.previous_attributes.address.line2") != "" || get(evs, "data.0.data.previous_attributes.address") == nil {
			t.Errorf("got %v, want customer.updated with the previous address", get(evs, "data.0.data.previous_attributes"))
		}
		if c = e.mustCall(t, 200, key, "POST", "/v1/customers/"+cid, vals("address", "")); get(c, "address") != nil {
			t.Errorf("got address %v after address=\"\", want null", get(c, "address"))
		}
		if a := e.call(t, key, "POST", "/v1/customers/"+cid, vals("address[street]", "x")); a.Status != 400 || a.errorField(t, "param") != "address[street]" {
			t.Errorf("got %d %s, want 400 on address[street]", a.Status, a.Body)
		}
	})

	t.Run("payment_methods.retrieve through the customer", func(t *testing.T) {
		if got := e.mustCall(t, 200, key, "GET", "/v1/customers/"+cid+"/payment_methods/"+pm, nil); str(got, "id") != pm {
			t.Errorf("got %v, want %s", got, pm)
		}
		other, otherPM := e.customerWithCard(t, key, "pm_card_visa")
		for _, path := range []string{"/v1/customers/" + cid + "/payment_methods/" + otherPM, "/v1/customers/" + other + "/payment_methods/" + pm} {
			if a := e.call(t, key, "GET", path, nil); a.Status != 404 || a.errorField(t, "code") != "resource_missing" {
				t.Errorf("%s: got %d %s, want 404 resource_missing (another customer's card)", path, a.Status, a.Body)
			}
		}
	})

	t.Run("list filters on created", func(t *testing.T) {
		e2 := newEnv(t)
		const key = "sk_test_created"
		e2.keys(t, key)
		var created []int64
		for i := range 3 {
			c := e2.mustCall(t, 200, key, "POST", "/v1/customers", vals("name", "c"+strconv.Itoa(i)))
			created = append(created, num(c, "created"))
			e2.clock.mu.Lock()
			e2.clock.now = e2.clock.now.Add(time.Hour)
			e2.clock.mu.Unlock()
		}
		mid := strconv.FormatInt(created[1], 10)
		for _, c := range []struct {
			params []string
			want   int
		}{
			{[]string{"created", mid}, 1},
			{[]string{"created[gte]", mid}, 2},
			{[]string{"created[gt]", mid}, 1},
			{[]string{"created[lt]", mid}, 1},
			{[]string{"created[lte]", mid, "created[gt]", strconv.FormatInt(created[0], 10)}, 1},
		} {
			for _, path := range []string{"/v1/customers", "/v1/events"} {
				params := append([]string{}, c.params...)
				if path == "/v1/events" {
					params = append(params, "type", "customer.created")
				}
				list := e2.mustCall(t, 200, key, "GET", path, vals(params...))
				if n := len(get(list, "data").([]any)); n != c.want {
					t.Errorf("%s %v: got %d, want %d", path, params, n, c.want)
				}
			}
		}
		if a := e2.call(t, key, "GET", "/v1/invoices", vals("created[after]", mid)); a.Status != 400 || a.errorField(t, "param") != "created[after]" {
			t.Errorf("got %d %s, want 400 on created[after]", a.Status, a.Body)
		}
		if a := e2.call(t, key, "GET", "/v1/invoices", vals("created", "yesterday")); a.Status != 400 {
			t.Errorf("got %d %s, want 400 for created=yesterday", a.Status, a.Body)
		}
	})

	t.Run("prices.search and subscriptions.search", func(t *testing.T) {
		pro := e.price(t, key, "pro_monthly")
		e.price(t, key, "basic_monthly")
		found := e.mustCall(t, 200, key, "GET", "/v1/prices/search", vals("query", "lookup_key:'pro_monthly' AND active:'true'"))
		if str(found, "object") != "search_result" || len(get(found, "data").([]any)) != 1 || str(found, "data.0.id") != pro {
			t.Errorf("got %v, want the one pro price", found)
		}
		sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", pro, "metadata[plan]", "pro"))
		found = e.mustCall(t, 200, key, "GET", "/v1/subscriptions/search", vals("query", `status:"active" AND metadata['plan']:'pro'`))
		if len(get(found, "data").([]any)) != 1 || str(found, "data.0.id") != str(sub, "id") {
			t.Errorf("got %v, want the subscription", found)
		}
		if a := e.call(t, key, "GET", "/v1/subscriptions/search", vals("query", "customer:'"+cid+"'")); a.Status != 400 || a.errorField(t, "param") != "query" {
			t.Errorf("got %d %s for a field subscription search lacks, want 400 on query", a.Status, a.Body)
		}
	})

	t.Run("the search language: spaces and AND in any case join, quotes hold a value", func(t *testing.T) {
		e.mustCall(t, 200, key, "POST", "/v1/customers", vals("name", "Tom AND Jerry", "email", "tj@example.com", "metadata[k]", "v"))
		for _, c := range []struct {
			query string
			want  int
		}{
			{`name:'Tom AND Jerry'`, 1},
			{`name:"tom and jerry" email:'TJ@example.com'`, 1},
			{`name:'Tom AND Jerry' and metadata['k']:'v'`, 1},
			{`name:'Tom AND Jerry' AND metadata['k']:'other'`, 0},
			{`name:'nobody' or metadata["k"]:'v'`, 1},
		} {
			a := e.call(t, key, "GET", "/v1/customers/search", vals("query", c.query))
			if a.Status != 200 || len(get(a.json(t), "data").([]any)) != c.want {
				t.Errorf("%s: got %d %s, want %d results", c.query, a.Status, a.Body, c.want)
			}
		}
		for _, q := range []string{`name:'a' AND email:'b' OR phone:'c'`, `name:'a'AND email:'b'`, `name~'a'`, `-name:'a'`} {
			if a := e.call(t, key, "GET", "/v1/customers/search", vals("query", q)); a.Status != 400 || a.errorField(t, "param") != "query" {
				t.Errorf("%s: got %d %s, want 400 on query", q, a.Status, a.Body)
			}
		}
	})
}

// TestSearchDelay: with Config.SearchDelay, an object is not found by
// search until that long after it was created, as at Stripe, so that
// find-or-create by search shows its flaw in development.
func TestSearchDelay(t *testing.T) {
	e := newEnv(t, func(c *sandbox.Config) { c.SearchDelay = time.Minute })
	const key = "sk_test_delay"
	e.keys(t, key)
	cus := e.mustCall(t, 200, key, "POST", "/v1/customers", vals("metadata[user]", "u1"))
	search := func() int {
		return len(get(e.mustCall(t, 200, key, "GET", "/v1/customers/search", vals("query", "metadata['user']:'u1'")), "data").([]any))
	}
	if n := search(); n != 0 {
		t.Errorf("got %d results at once, want 0 within the delay", n)
	}
	if got := e.mustCall(t, 200, key, "GET", "/v1/customers/"+str(cus, "id"), nil); str(got, "id") != str(cus, "id") {
		t.Errorf("retrieve: got %v, want the customer at once (only search lags)", got)
	}
	e.clock.mu.Lock()
	e.clock.now = e.clock.now.Add(time.Minute)
	e.clock.mu.Unlock()
	if n := search(); n != 1 {
		t.Errorf("got %d results after the delay, want 1", n)
	}
	// Only new objects lag here: a change to one already indexed shows at
	// once (at Stripe the index may still match the old values).
	e.mustCall(t, 200, key, "POST", "/v1/customers/"+str(cus, "id"), vals("name", "Jenny"))
	if n := search(); n != 1 {
		t.Errorf("got %d results just after a change, want 1", n)
	}
}
