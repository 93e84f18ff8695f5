package sandbox_test

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// invoices lists a customer's invoices, newest first.
func (e *env) invoices(t *testing.T, key, cid string) []map[string]any {
	t.Helper()
	list := e.mustCall(t, 200, key, "GET", "/v1/invoices", vals("customer", cid, "limit", "100"))
	var out []map[string]any
	for _, in := range list["data"].([]any) {
		out = append(out, in.(map[string]any))
	}
	return out
}

func TestSubscriptionBilling(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_billing"
	e.keys(t, key)
	price := e.price(t, key, "pro_monthly")

	t.Run("create charges the first period; renewals charge each period", func(t *testing.T) {
		cid, _ := e.customerWithCard(t, key, "pm_card_visa")
		sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price))
		ins := e.invoices(t, key, cid)
		if str(sub, "status") != "active" || len(ins) != 1 || str(ins[0], "status") != "paid" || str(ins[0], "billing_reason") != "subscription_create" {
			t.Fatalf("got subscription %s and invoices %v, want active with one paid invoice", str(sub, "status"), ins)
		}
		if _, err := e.sb.Advance(key, 31*day); err != nil {
			t.Fatal(err)
		}
		ins = e.invoices(t, key, cid)
		if len(ins) != 2 || str(ins[0], "status") != "paid" || str(ins[0], "billing_reason") != "subscription_cycle" ||
			num(ins[0], "status_transitions.paid_at") != time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC).Unix() {
			t.Fatalf("got %d invoices, newest %v, want a second paid one on Feb 28", len(ins), ins[0])
		}
		if a, b := str(ins[0], "number"), str(ins[1], "number"); !strings.HasSuffix(a, "-0002") || !strings.HasSuffix(b, "-0001") {
			t.Errorf("got numbers %s, %s, want the customer's sequence -0002, -0001", a, b)
		}
		got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), nil)
		if str(got, "status") != "active" || num(got, "items.data.0.current_period_end") != time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC).Unix() ||
			str(got, "latest_invoice") != str(ins[0], "id") {
			t.Errorf("got %v, want active to Mar 31 with the renewal as latest invoice", got)
		}
	})

	t.Run("a card whose charges fail: renewal open, past_due; paying later reactivates", func(t *testing.T) {
		cid, _ := e.customerWithCard(t, key, "pm_card_chargeCustomerFail")
		// The first charge fails too: allow_incomplete leaves it incomplete.
		sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price))
		if str(sub, "status") != "incomplete" || str(e.invoices(t, key, cid)[0], "status") != "open" {
			t.Fatalf("got %s, want incomplete with the first invoice open", str(sub, "status"))
		}
		// With a good card as the subscription's own default, it starts.
		visa := str(e.mustCall(t, 200, key, "POST", "/v1/payment_methods/pm_card_visa/attach", vals("customer", cid)), "id")
		sub = e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price, "default_payment_method", visa))
		if str(sub, "status") != "active" {
			t.Fatalf("got %s, want active on the subscription's default payment method", str(sub, "status"))
		}
		// Then the good card goes: renewals fall back to the customer's.
		e.mustCall(t, 200, key, "POST", "/v1/payment_methods/"+visa+"/detach", nil)
		if _, err := e.sb.Advance(key, 31*day); err != nil {
			t.Fatal(err)
		}
		got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), vals("expand[]", "latest_invoice"))
		if str(got, "status") != "past_due" || str(got, "latest_invoice.status") != "open" || num(got, "latest_invoice.attempt_count") != 1 {
			t.Fatalf("got %s with latest invoice %v, want past_due and an open invoice", str(got, "status"), get(got, "latest_invoice"))
		}
		types := e.eventTypes(t, key)
		if want := []string{"invoice.created", "invoice.finalized", "invoice.payment_failed", "customer.subscription.updated"}; !containsInOrder(types, want) {
			t.Errorf("got events %v, want %v in order", types, want)
		}
		a := e.call(t, key, "POST", "/v1/invoices/"+str(got, "latest_invoice.id")+"/pay", nil)
		if a.Status != http.StatusPaymentRequired || a.errorField(t, "decline_code") != "generic_decline" {
			t.Errorf("got %d %s paying with the failing card, want 402 generic_decline", a.Status, a.Body)
		}
		good := str(e.mustCall(t, 200, key, "POST", "/v1/payment_methods/pm_card_mastercard/attach", vals("customer", cid)), "id")
		e.mustCall(t, 200, key, "POST", "/v1/customers/"+cid, vals("invoice_settings[default_payment_method]", good))
		in := e.mustCall(t, 200, key, "POST", "/v1/invoices/"+str(got, "latest_invoice.id")+"/pay", nil)
		got = e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), nil)
		if str(in, "status") != "paid" || str(got, "status") != "active" {
			t.Errorf("got invoice %s, subscription %s, want paid and active", str(in, "status"), str(got, "status"))
		}
	})

	t.Run("payment behaviors", func(t *testing.T) {
		cid, _ := e.customerWithCard(t, key, "pm_card_chargeCustomerFail")
		a := e.call(t, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price, "payment_behavior", "error_if_incomplete"))
		if a.Status != 402 || a.errorField(t, "type") != "card_error" {
			t.Errorf("got %d %s, want 402 card_error", a.Status, a.Body)
		}
		sub := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price, "payment_behavior", "default_incomplete"))
		if str(sub, "status") != "incomplete" {
			t.Errorf("got %s, want incomplete", str(sub, "status"))
		}
		bare := str(e.mustCall(t, 200, key, "POST", "/v1/customers", nil), "id")
		a = e.call(t, key, "POST", "/v1/subscriptions", vals("customer", bare, "items[0][price]", price))
		if a.Status != 400 || !strings.Contains(a.errorField(t, "message"), "no attached payment source") {
			t.Errorf("got %d %s, want 400 for a customer without a payment method", a.Status, a.Body)
		}
		// An incomplete subscription expires after 23 hours.
		if _, err := e.sb.Advance(key, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		got := e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(sub, "id"), vals("expand[]", "latest_invoice"))
		if str(got, "status") != "incomplete_expired" || str(got, "latest_invoice.status") != "void" {
			t.Errorf("got %s, invoice %s, want incomplete_expired and void", str(got, "status"), str(got, "latest_invoice.status"))
		}
	})

	t.Run("cancel now, and at period end", func(t *testing.T) {
		cid, _ := e.customerWithCard(t, key, "pm_card_visa")
		now := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price))
		later := e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price))
		got := e.mustCall(t, 200, key, "DELETE", "/v1/subscriptions/"+str(now, "id"), nil)
		if str(got, "status") != "canceled" || str(got, "cancellation_details.reason") != "cancellation_requested" || get(got, "ended_at") == nil {
			t.Errorf("got %v, want canceled now", got)
		}
		got = e.mustCall(t, 200, key, "POST", "/v1/subscriptions/"+str(later, "id"), vals("cancel_at_period_end", "true"))
		if got["cancel_at_period_end"] != true || num(got, "cancel_at") != num(got, "items.data.0.current_period_end") {
			t.Errorf("got %v, want cancel_at_period_end with cancel_at the period end", got)
		}
		listed := e.mustCall(t, 200, key, "GET", "/v1/subscriptions", vals("customer", cid))
		all := e.mustCall(t, 200, key, "GET", "/v1/subscriptions", vals("customer", cid, "status", "all"))
		if n, m := len(listed["data"].([]any)), len(all["data"].([]any)); n != 1 || m != 2 {
			t.Errorf("got %d listed and %d with status=all, want 1 and 2", n, m)
		}
		before := len(e.invoices(t, key, cid))
		if _, err := e.sb.Advance(key, 40*day); err != nil {
			t.Fatal(err)
		}
		got = e.mustCall(t, 200, key, "GET", "/v1/subscriptions/"+str(later, "id"), nil)
		if str(got, "status") != "canceled" || num(got, "ended_at") != num(got, "cancel_at") {
			t.Errorf("got %v, want canceled at the period end", got)
		}
		if n := len(e.invoices(t, key, cid)); n != before {
			t.Errorf("got %d invoices, want no renewal invoice (%d)", n, before)
		}
		if a := e.call(t, key, "DELETE", "/v1/subscriptions/"+str(now, "id"), nil); a.Status != 400 {
			t.Errorf("got %d canceling twice, want 400", a.Status)
		}
	})
}

func TestAdvanceRenewsEveryPeriod(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_daily"
	e.keys(t, key)
	price, err := e.sb.EnsurePrice(key, sandboxPriceSpec("daily", "day", 1, 100))
	if err != nil {
		t.Fatal(err)
	}
	cid, _ := e.customerWithCard(t, key, "pm_card_visa")
	e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", cid, "items[0][price]", price))

	// Over HTTP, as `appwheel sandbox` would: 5 days → 5 renewals.
	clock := e.mustCall(t, 200, key, "POST", "/_sandbox/advance", vals("days", "5"))
	if want := start.Add(5 * day).Unix(); num(clock, "now") != want {
		t.Errorf("got now %d, want %d", num(clock, "now"), want)
	}
	res, err := http.Post(e.srv.URL+"/_sandbox/advance", "application/json", strings.NewReader(`{"days": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, res); res.StatusCode != 401 {
		t.Errorf("got %d %s advancing without a key, want 401", res.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/_sandbox/advance", strings.NewReader(`{"days": 1}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(key, "")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, strconv.FormatInt(start.Add(6*day).Unix(), 10)) {
		t.Errorf("got %d %s, want 200 with the clock 6 days on", res.StatusCode, body)
	}

	t.Run("pagination, newest first", func(t *testing.T) {
		all := e.invoices(t, key, cid)
		if len(all) != 7 {
			t.Fatalf("got %d invoices, want 7 (creation and 6 renewals)", len(all))
		}
		var ids []string
		after := ""
		for page := 0; ; page++ {
			p := vals("customer", cid, "limit", "3")
			if after != "" {
				p.Set("starting_after", after)
			}
			list := e.mustCall(t, 200, key, "GET", "/v1/invoices", p)
			data := list["data"].([]any)
			for _, in := range data {
				ids = append(ids, in.(map[string]any)["id"].(string))
			}
			if list["has_more"] != (page < 2) {
				t.Errorf("page %d: got has_more %v, want %v", page, list["has_more"], page < 2)
			}
			if list["has_more"] != true {
				break
			}
			after = ids[len(ids)-1]
		}
		for i, in := range all {
			if i >= len(ids) || ids[i] != str(in, "id") {
				t.Fatalf("got pages %v, want %d invoices in the list's order", ids, len(all))
			}
			if i > 0 && num(in, "created") >= num(all[i-1], "created") {
				t.Errorf("invoice %d created %d, not older than the one before (%d)", i, num(in, "created"), num(all[i-1], "created"))
			}
		}
		before := e.mustCall(t, 200, key, "GET", "/v1/invoices", vals("customer", cid, "limit", "2", "ending_before", ids[3]))
		if str(before, "data.0.id") != ids[1] || str(before, "data.1.id") != ids[2] || before["has_more"] != true {
			t.Errorf("got %v ending before %s, want %s, %s and more", before["data"], ids[3], ids[1], ids[2])
		}
	})

	t.Run("invoice pages", func(t *testing.T) {
		in := e.invoices(t, key, cid)[0]
		res, err := http.Get(str(in, "hosted_invoice_url"))
		if err != nil {
			t.Fatal(err)
		}
		page := readBody(t, res)
		if res.StatusCode != 200 || !strings.Contains(page, str(in, "number")) || !strings.Contains(page, "for development and tests only") {
			t.Errorf("got %d, want the invoice page with its number and the sandbox label", res.StatusCode)
		}
		res, err = http.Get(str(in, "invoice_pdf"))
		if err != nil {
			t.Fatal(err)
		}
		pdf := []byte(readBody(t, res))
		if res.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-1.")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
			t.Fatalf("got %s, want a PDF", res.Header.Get("Content-Type"))
		}
		// startxref must point at the xref table, and each entry at its object.
		i := bytes.LastIndex(pdf, []byte("startxref\n"))
		off, _ := strconv.Atoi(strings.TrimSpace(strings.Split(string(pdf[i+len("startxref\n"):]), "\n")[0]))
		if !bytes.HasPrefix(pdf[off:], []byte("xref\n")) {
			t.Fatalf("startxref %d does not point at the xref table", off)
		}
		entries := strings.Split(string(pdf[off:]), "\n")[3:8]
		for n, entry := range entries {
			o, _ := strconv.Atoi(entry[:10])
			if want := strconv.Itoa(n+1) + " 0 obj"; !bytes.HasPrefix(pdf[o:], []byte(want)) {
				t.Errorf("xref entry %d points at %q, want %q", n+1, pdf[o:o+8], want)
			}
		}
		if !bytes.Contains(pdf, []byte(str(in, "number"))) || !bytes.Contains(pdf, []byte("development and tests only")) {
			t.Errorf("the PDF lacks the invoice number or the sandbox label")
		}
	})
}

// TestAdvanceInTimeOrder: an advance past several subscriptions' renewals
// does them in the order they fell due, whichever subscription was made
// first, so that GET /v1/events lists them newest first by created.
func TestAdvanceInTimeOrder(t *testing.T) {
	e := newEnv(t)
	const key = "sk_test_order"
	e.keys(t, key)
	price, err := e.sb.EnsurePrice(key, sandboxPriceSpec("monthly", "month", 1, 100))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := e.customerWithCard(t, key, "pm_card_visa")
	e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", first, "items[0][price]", price))
	e.mustCall(t, 200, key, "POST", "/_sandbox/advance", vals("days", "10"))
	second, _ := e.customerWithCard(t, key, "pm_card_visa")
	e.mustCall(t, 200, key, "POST", "/v1/subscriptions", vals("customer", second, "items[0][price]", price))
	// The first renews about days 31 and 59, the second about day 41.
	e.mustCall(t, 200, key, "POST", "/_sandbox/advance", vals("days", "55"))

	var created []int64
	var renewals []string
	after := ""
	for {
		p := vals("limit", "100")
		if after != "" {
			p.Set("starting_after", after)
		}
		list := e.mustCall(t, 200, key, "GET", "/v1/events", p)
		for _, raw := range list["data"].([]any) {
			ev := raw.(map[string]any)
			created = append(created, num(ev, "created"))
			if ev["type"] == "invoice.paid" {
				obj := ev["data"].(map[string]any)["object"].(map[string]any)
				renewals = append(renewals, obj["customer"].(string))
			}
			after = ev["id"].(string)
		}
		if list["has_more"] != true {
			break
		}
	}
	for i := 1; i < len(created); i++ {
		if created[i] > created[i-1] {
			t.Fatalf("events listed out of created order at %d: %v", i, created)
		}
	}
	// Newest first: the first's second renewal, the second's first, the
	// first's first, then the two creations' invoices.
	if want := []string{first, second, first, second, first}; !slices.Equal(renewals, want) {
		t.Errorf("invoice.paid events newest first are of %v, want %v", renewals, want)
	}
}
