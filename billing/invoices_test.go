package billing_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/google/go-cmp/cmp"
)

// seedInvoices adds n invoices of a customer, oldest first, and returns their ids.
func (e *env) seedInvoices(tb testing.TB, app *appwheel.App, customerID string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.fake.AddInvoice(app.Stripe, appwheel.Invoice{
			CustomerID: customerID, Status: "paid", Number: fmt.Sprintf("INV-%04d", i),
		}).ID
	}
	return ids
}

func orderIDs(orders []appwheel.Order) []string {
	ids := []string{}
	for _, o := range orders {
		ids = append(ids, o.OrderID)
	}
	return ids
}

func reversed(ids []string) []string {
	out := make([]string, 0, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		out = append(out, ids[i])
	}
	return out
}

func TestInvoicesNoCustomer(t *testing.T) {
	e := newEnv(t)
	// The same appUserId has invoices in app B: they are not app A's.
	e.seedInvoices(t, e.appB, e.customer(t, e.appB, "user_1"), 2)
	e.fake.ResetCalls()

	for _, p := range []billing.ListInvoicesParams{
		{AppUserID: "user_1"},
		{AppUserID: "user_1", Limit: 5, StartingAfter: "in_123"},
	} {
		got, err := e.svc.Invoices(t.Context(), e.appA, p)
		if err != nil {
			t.Fatalf("Invoices(%+v): got error %v, want nil", p, err)
		}
		if got.Invoices == nil {
			t.Errorf("got nil invoices, want an empty slice")
		}
		if gotJSON, want := mustJSON(t, got), `{"invoices":[],"hasMore":false}`; gotJSON != want {
			t.Errorf("got JSON %s, want %s", gotJSON, want)
		}
	}
	wantNoStripeCalls(t, e.fake)
	if id := e.storedCustomer(t, e.appA, "user_1"); id != "" {
		t.Errorf("got stored customer %q, want none", id)
	}
}

func TestInvoicesValidation(t *testing.T) {
	tests := []struct {
		name      string
		p         billing.ListInvoicesParams
		wantParam string
	}{
		{"EmptyAppUserID", billing.ListInvoicesParams{}, "appUserId"},
		{"LongAppUserID", billing.ListInvoicesParams{AppUserID: strings.Repeat("u", 129)}, "appUserId"},
		{"ControlAppUserID", billing.ListInvoicesParams{AppUserID: "a\x1bb"}, "appUserId"},
		{"LimitMinusOne", billing.ListInvoicesParams{AppUserID: "user_1", Limit: -1}, "limit"},
		{"Limit101", billing.ListInvoicesParams{AppUserID: "user_1", Limit: 101}, "limit"},
		{"LimitHuge", billing.ListInvoicesParams{AppUserID: "user_1", Limit: 1 << 30}, "limit"},
		{"StartingAfterPaymentMethod", billing.ListInvoicesParams{AppUserID: "user_1", StartingAfter: "pm_123"}, "startingAfter"},
		{"StartingAfterSubscription", billing.ListInvoicesParams{AppUserID: "user_1", StartingAfter: "sub_123"}, "startingAfter"},
		{"StartingAfterPrefixOnly", billing.ListInvoicesParams{AppUserID: "user_1", StartingAfter: "in_"}, "startingAfter"},
		{"StartingAfterBadChars", billing.ListInvoicesParams{AppUserID: "user_1", StartingAfter: "in_1&limit=100"}, "startingAfter"},
		{"StartingAfterTooLong", billing.ListInvoicesParams{AppUserID: "user_1", StartingAfter: "in_" + strings.Repeat("a", 300)}, "startingAfter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.seedInvoices(t, e.appA, e.customer(t, e.appA, "user_1"), 1)
			e.fake.ResetCalls()

			got, err := e.svc.Invoices(t.Context(), e.appA, tt.p)
			if got != nil {
				t.Errorf("got %+v, want nil", got)
			}
			wantCode(t, err, appwheel.EINVALID)
			if msg := appwheel.ErrorMessage(err); !strings.Contains(msg, tt.wantParam) {
				t.Errorf("got message %q, want it to name %q", msg, tt.wantParam)
			}
			wantNoStripeCalls(t, e.fake)
		})
	}
}

func TestInvoicesLimit(t *testing.T) {
	tests := []struct {
		name        string
		limit       int
		wantN       int
		wantHasMore bool
	}{
		{"ZeroIsDefault20", 0, 20, true},
		{"One", 1, 1, true},
		{"Ten", 10, 10, true},
		{"ExactlyAll", 25, 25, false},
		{"Max100", 100, 25, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ids := e.seedInvoices(t, e.appA, e.customer(t, e.appA, "user_1"), 25)

			got, err := e.svc.Invoices(t.Context(), e.appA, billing.ListInvoicesParams{AppUserID: "user_1", Limit: tt.limit})
			if err != nil {
				t.Fatalf("Invoices: got error %v, want nil", err)
			}
			if diff := cmp.Diff(reversed(ids)[:tt.wantN], orderIDs(got.Invoices)); diff != "" {
				t.Errorf("invoice ids mismatch (-want +got):\n%s", diff)
			}
			if got.HasMore != tt.wantHasMore {
				t.Errorf("got hasMore %v, want %v", got.HasMore, tt.wantHasMore)
			}
			if n := e.fake.Calls("Invoices"); n != 1 {
				t.Errorf("got %d Invoices calls, want 1", n)
			}
		})
	}
}

func TestInvoicesPagination(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	other := e.customer(t, e.appA, "user_2")
	otherApp := e.customer(t, e.appB, "user_1")
	// Other users' invoices are interleaved in time and never listed.
	var ids []string
	for _, n := range []int{9, 7, 9} {
		ids = append(ids, e.seedInvoices(t, e.appA, cusID, n)...)
		e.seedInvoices(t, e.appA, other, 2)
		e.seedInvoices(t, e.appB, otherApp, 2)
	}

	var all []string
	var pageSizes []int
	var hasMores []bool
	after := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatalf("pagination did not end after %d pages", page)
		}
		got, err := e.svc.Invoices(t.Context(), e.appA, billing.ListInvoicesParams{
			AppUserID: "user_1", Limit: 10, StartingAfter: after,
		})
		if err != nil {
			t.Fatalf("page %d: got error %v, want nil", page, err)
		}
		all = append(all, orderIDs(got.Invoices)...)
		pageSizes = append(pageSizes, len(got.Invoices))
		hasMores = append(hasMores, got.HasMore)
		if !got.HasMore {
			break
		}
		after = got.Invoices[len(got.Invoices)-1].OrderID
	}
	if diff := cmp.Diff([]int{10, 10, 5}, pageSizes); diff != "" {
		t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, false}, hasMores); diff != "" {
		t.Errorf("hasMore mismatch (-want +got):\n%s", diff)
	}
	// Every invoice exactly once, newest first.
	if diff := cmp.Diff(reversed(ids), all); diff != "" {
		t.Errorf("invoice ids mismatch (-want +got):\n%s", diff)
	}
}

func TestInvoicesOrderMapping(t *testing.T) {
	const periodEnd = 1_760_000_000
	tests := []struct {
		name          string
		status        string
		interval      string
		count         int64
		cancelAtEnd   bool
		invoicePrice  string // "" falls back to the subscription's price
		wantPeriod    string
		wantOrderStat int
		wantAnchor    bool // billingCycleAnchor is the period end, else "0"
	}{
		{"ActiveMonthly", "active", "month", 1, false, "", "P1M", 1, true},
		{"TrialingEvery3Days", "trialing", "day", 3, false, "", "P3D", 2, true},
		{"PastDueWeekly", "past_due", "week", 1, false, "", "P1W", 3, true},
		{"UnpaidQuarterly", "unpaid", "month", 3, false, "", "P3M", 4, true},
		{"CanceledYearly", "canceled", "year", 1, false, "", "P1Y", 5, false},
		{"IncompleteDaily", "incomplete", "day", 1, false, "", "P1D", 6, false},
		{"IncompleteExpired", "incomplete_expired", "month", 1, false, "", "P1M", 7, false},
		{"Paused", "paused", "month", 1, false, "", "P1M", 8, false},
		{"ActiveCancelAtPeriodEnd", "active", "year", 1, true, "", "P1Y", 1, false},
		{"TrialingCancelAtPeriodEnd", "trialing", "day", 3, true, "", "P3D", 2, false},
		// The invoice's own price (yearly, seeded below) gives the period.
		{"InvoicePriceWins", "active", "month", 1, false, "price_on_invoice", "P1Y", 1, true},
		{"CountZeroIsOne", "active", "day", 0, false, "", "P1D", 1, true},
	}
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	type seeded struct {
		sub *appwheel.Subscription
		inv *appwheel.Invoice
	}
	byName := map[string]seeded{}
	e.fake.AddPrice(e.appA.Stripe, appwheel.Price{ID: "price_on_invoice", Interval: "year", IntervalCount: 1})
	for i, tt := range tests {
		sub := e.fake.AddSubscription(e.appA.Stripe, cusID, appwheel.Subscription{
			Status: tt.status, PriceID: fmt.Sprintf("price_sub_%d", i),
			Interval: tt.interval, IntervalCount: tt.count,
			CurrentPeriodEnd: periodEnd + int64(i), CancelAtPeriodEnd: tt.cancelAtEnd,
		})
		inv := e.fake.AddInvoice(e.appA.Stripe, appwheel.Invoice{
			CustomerID: cusID, SubscriptionID: sub.ID, PriceID: tt.invoicePrice,
			Number: fmt.Sprintf("N-%d", i), Status: "paid", CustomerEmail: "u1@example.com",
			InvoicePDF:       "https://pay.stripe.test/invoice/" + strconv.Itoa(i) + "/pdf",
			HostedInvoiceURL: "https://invoice.stripe.test/i/" + strconv.Itoa(i),
			AmountDue:        int64(1000 + i), AmountPaid: int64(1000 + i), Currency: "usd",
			PeriodStart: 1_750_000_000 + int64(i), PeriodEnd: 1_752_000_000 + int64(i),
			PaidAt: 1_750_000_100 + int64(i),
		})
		byName[tt.name] = seeded{sub, inv}
	}

	got, err := e.svc.Invoices(t.Context(), e.appA, billing.ListInvoicesParams{AppUserID: "user_1", Limit: 100})
	if err != nil {
		t.Fatalf("Invoices: got error %v, want nil", err)
	}
	if len(got.Invoices) != len(tests) {
		t.Fatalf("got %d invoices, want %d", len(got.Invoices), len(tests))
	}
	if n := e.fake.Calls("Subscriptions"); n != 1 {
		t.Errorf("got %d Subscriptions calls, want 1 per page", n)
	}
	orders := map[string]appwheel.Order{}
	for _, o := range got.Invoices {
		orders[o.OrderID] = o
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := byName[tt.name]
			product := s.sub.PriceID
			if tt.invoicePrice != "" {
				product = tt.invoicePrice
			}
			anchor := "0"
			if tt.wantAnchor {
				anchor = strconv.FormatInt(s.sub.CurrentPeriodEnd, 10)
			}
			want := appwheel.Order{
				OriginOrderID:      s.sub.ID,
				OrderID:            s.inv.ID,
				ProductID:          product,
				ProductPeriod:      tt.wantPeriod,
				BillingCycleAnchor: anchor,
				CustomerEmail:      "u1@example.com",
				InvoicePDF:         s.inv.InvoicePDF,
				HostedInvoiceURL:   s.inv.HostedInvoiceURL,
				PaidAt:             strconv.FormatInt(s.inv.PaidAt, 10),
				InvoiceStatus:      "paid",
				OrderStatus:        tt.wantOrderStat,
				AmountDue:          s.inv.AmountDue,
				AmountPaid:         s.inv.AmountPaid,
				Currency:           "usd",
				Created:            strconv.FormatInt(s.inv.Created, 10),
				PeriodStart:        strconv.FormatInt(s.inv.PeriodStart, 10),
				PeriodEnd:          strconv.FormatInt(s.inv.PeriodEnd, 10),
				Number:             s.inv.Number,
			}
			if diff := cmp.Diff(want, orders[s.inv.ID]); diff != "" {
				t.Errorf("order mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvoicesOneOffAndUnknownSubscription(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	oneOff := e.fake.AddInvoice(e.appA.Stripe, appwheel.Invoice{
		CustomerID: cusID, Status: "open", AmountDue: 500, Currency: "eur", Number: "N-1",
	})
	e.fake.ResetCalls()

	got, err := e.svc.Invoices(t.Context(), e.appA, billing.ListInvoicesParams{AppUserID: "user_1"})
	if err != nil {
		t.Fatalf("Invoices: got error %v, want nil", err)
	}
	want := []appwheel.Order{{
		OrderID: oneOff.ID, BillingCycleAnchor: "0", PaidAt: "0", InvoiceStatus: "open",
		AmountDue: 500, Currency: "eur", Created: strconv.FormatInt(oneOff.Created, 10),
		PeriodStart: "0", PeriodEnd: "0", Number: "N-1",
	}}
	if diff := cmp.Diff(want, got.Invoices); diff != "" {
		t.Errorf("orders mismatch (-want +got):\n%s", diff)
	}
	if n := e.fake.Calls("Subscriptions"); n != 0 {
		t.Errorf("got %d Subscriptions calls for a page of one-off invoices, want 0", n)
	}

	// The contract's JSON: timestamps are strings, orderStatus a number.
	var decoded []map[string]any
	raw, _ := json.Marshal(got.Invoices)
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatalf("unmarshal orders: %v", err)
	}
	wantJSON := map[string]any{
		"originOrderId": "", "orderId": oneOff.ID, "productId": "", "productPeriod": "",
		"billingCycleAnchor": "0", "customerEmail": "", "invoicePdf": "", "hostedInvoiceUrl": "",
		"paidAt": "0", "invoiceStatus": "open", "orderStatus": float64(0),
		"amountDue": float64(500), "amountPaid": float64(0), "currency": "eur",
		"created": strconv.FormatInt(oneOff.Created, 10), "periodStart": "0", "periodEnd": "0", "number": "N-1",
	}
	if diff := cmp.Diff(wantJSON, decoded[0]); diff != "" {
		t.Errorf("order JSON mismatch (-want +got):\n%s", diff)
	}

	t.Run("UnknownSubscription", func(t *testing.T) {
		// An invoice of a subscription Stripe no longer lists keeps its ids.
		inv := e.fake.AddInvoice(e.appA.Stripe, appwheel.Invoice{
			CustomerID: cusID, SubscriptionID: "sub_gone", PriceID: "price_1", Status: "void",
		})
		got, err := e.svc.Invoices(t.Context(), e.appA, billing.ListInvoicesParams{AppUserID: "user_1", Limit: 1})
		if err != nil {
			t.Fatalf("Invoices: got error %v, want nil", err)
		}
		want := []appwheel.Order{{
			OriginOrderID: "sub_gone", OrderID: inv.ID, ProductID: "price_1", BillingCycleAnchor: "0",
			PaidAt: "0", InvoiceStatus: "void", Created: strconv.FormatInt(inv.Created, 10),
			PeriodStart: "0", PeriodEnd: "0",
		}}
		if diff := cmp.Diff(want, got.Invoices); diff != "" {
			t.Errorf("orders mismatch (-want +got):\n%s", diff)
		}
		if !got.HasMore {
			t.Errorf("got hasMore false, want true")
		}
	})
}

func TestInvoicesStatuses(t *testing.T) {
	e := newEnv(t)
	cusID := e.customer(t, e.appA, "user_1")
	statuses := []string{"draft", "open", "paid", "uncollectible", "void"}
	for _, s := range statuses {
		e.fake.AddInvoice(e.appA.Stripe, appwheel.Invoice{CustomerID: cusID, Status: s})
	}
	got, err := e.svc.Invoices(t.Context(), e.appA, billing.ListInvoicesParams{AppUserID: "user_1"})
	if err != nil {
		t.Fatalf("Invoices: got error %v, want nil", err)
	}
	var gotStatuses []string
	for _, o := range got.Invoices {
		gotStatuses = append(gotStatuses, o.InvoiceStatus)
	}
	if diff := cmp.Diff(reversed(statuses), gotStatuses); diff != "" {
		t.Errorf("invoice statuses, newest first, mismatch (-want +got):\n%s", diff)
	}
}

// ---------------------------------------------------------------------------
// subscriptions

func TestSubscriptions(t *testing.T) {
	t.Run("NoCustomer", func(t *testing.T) {
		e := newEnv(t)
		got, err := e.svc.Subscriptions(t.Context(), e.appA, "user_1")
		if err != nil {
			t.Fatalf("Subscriptions: got error %v, want nil", err)
		}
		if got == nil || mustJSON(t, got) != "[]" {
			t.Errorf("got %#v, want an empty non-nil slice", got)
		}
		wantNoStripeCalls(t, e.fake)
		if id := e.storedCustomer(t, e.appA, "user_1"); id != "" {
			t.Errorf("got stored customer %q, want none", id)
		}
	})

	t.Run("CustomerWithoutSubscriptions", func(t *testing.T) {
		e := newEnv(t)
		e.customer(t, e.appA, "user_1")
		got, err := e.svc.Subscriptions(t.Context(), e.appA, "user_1")
		if err != nil {
			t.Fatalf("Subscriptions: got error %v, want nil", err)
		}
		if got == nil || mustJSON(t, got) != "[]" {
			t.Errorf("got %#v, want an empty non-nil slice", got)
		}
	})

	t.Run("InvalidAppUserID", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.svc.Subscriptions(t.Context(), e.appA, "")
		wantCode(t, err, appwheel.EINVALID)
		wantNoStripeCalls(t, e.fake)
	})

	t.Run("Mapping", func(t *testing.T) {
		e := newEnv(t)
		cusID := e.customer(t, e.appA, "user_1")
		seed := []appwheel.Subscription{ // oldest first
			{Status: "canceled", PriceID: "price_y", Interval: "year", IntervalCount: 1, CurrentPeriodEnd: 1_700_000_000},
			{Status: "active", PriceID: "price_m", PriceNickname: "Pro monthly", Interval: "month", IntervalCount: 1, CurrentPeriodEnd: 1_760_000_000},
			{Status: "trialing", PriceID: "price_3d", Interval: "day", IntervalCount: 3, CurrentPeriodEnd: 1_760_000_100, CancelAtPeriodEnd: true},
			{Status: "past_due", PriceID: "price_w", Interval: "week", IntervalCount: 1},
			{Status: "paused", PriceID: "price_q", Interval: "month", IntervalCount: 3, CurrentPeriodEnd: 1_760_000_200},
			{Status: "incomplete", PriceID: "price_oneoff"},
		}
		var subs []*appwheel.Subscription
		for _, s := range seed {
			subs = append(subs, e.fake.AddSubscription(e.appA.Stripe, cusID, s))
		}
		// Another user's and another app's subscriptions are not listed.
		e.fake.AddSubscription(e.appA.Stripe, e.customer(t, e.appA, "user_2"), appwheel.Subscription{})
		e.fake.AddSubscription(e.appB.Stripe, e.customer(t, e.appB, "user_1"), appwheel.Subscription{})

		got, err := e.svc.Subscriptions(t.Context(), e.appA, "user_1")
		if err != nil {
			t.Fatalf("Subscriptions: got error %v, want nil", err)
		}
		want := []appwheel.SubscriptionView{
			{ID: subs[5].ID, Status: "incomplete", OrderStatus: 6, ProductID: "price_oneoff", ProductPeriod: "", CurrentPeriodEnd: "0"},
			{ID: subs[4].ID, Status: "paused", OrderStatus: 8, ProductID: "price_q", ProductPeriod: "P3M", CurrentPeriodEnd: "1760000200"},
			{ID: subs[3].ID, Status: "past_due", OrderStatus: 3, ProductID: "price_w", ProductPeriod: "P1W", CurrentPeriodEnd: "0"},
			{ID: subs[2].ID, Status: "trialing", OrderStatus: 2, ProductID: "price_3d", ProductPeriod: "P3D", CurrentPeriodEnd: "1760000100", CancelAtPeriodEnd: true},
			{ID: subs[1].ID, Status: "active", OrderStatus: 1, ProductID: "price_m", ProductName: "Pro monthly", ProductPeriod: "P1M", CurrentPeriodEnd: "1760000000"},
			{ID: subs[0].ID, Status: "canceled", OrderStatus: 5, ProductID: "price_y", ProductPeriod: "P1Y", CurrentPeriodEnd: "1700000000"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("subscriptions mismatch (-want +got):\n%s", diff)
		}
		wantJSON := fmt.Sprintf(`{"id":%q,"status":"active","orderStatus":1,"productId":"price_m","productName":"Pro monthly","productPeriod":"P1M","currentPeriodEnd":"1760000000","cancelAtPeriodEnd":false,"paymentMethodId":""}`, subs[1].ID)
		if gotJSON := mustJSON(t, got[4]); gotJSON != wantJSON {
			t.Errorf("got JSON %s, want %s", gotJSON, wantJSON)
		}
	})
}

// ---------------------------------------------------------------------------
// pure helpers

func TestOrderStatus(t *testing.T) {
	tests := []struct {
		status string
		want   int
	}{
		{"active", 1},
		{"trialing", 2},
		{"past_due", 3},
		{"unpaid", 4},
		{"canceled", 5},
		{"incomplete", 6},
		{"incomplete_expired", 7},
		{"paused", 8},
		{"", 0},
		{"Active", 0},
		{"cancelled", 0},
		{"something_new", 0},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			if got := appwheel.OrderStatus(tt.status); got != tt.want {
				t.Errorf("OrderStatus(%q): got %d, want %d", tt.status, got, tt.want)
			}
		})
	}
}

func TestProductPeriod(t *testing.T) {
	tests := []struct {
		interval string
		count    int64
		want     string
	}{
		{"day", 1, "P1D"},
		{"day", 3, "P3D"},
		{"week", 1, "P1W"},
		{"week", 2, "P2W"},
		{"month", 1, "P1M"},
		{"month", 3, "P3M"},
		{"month", 6, "P6M"},
		{"year", 1, "P1Y"},
		{"day", 0, "P1D"},
		{"month", -2, "P1M"},
		{"", 1, ""},
		{"", 0, ""},
		{"quarter", 1, ""},
		{"Month", 1, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s×%d", tt.interval, tt.count), func(t *testing.T) {
			if got := appwheel.ProductPeriod(tt.interval, tt.count); got != tt.want {
				t.Errorf("ProductPeriod(%q, %d): got %q, want %q", tt.interval, tt.count, got, tt.want)
			}
		})
	}
}

func TestUnixString(t *testing.T) {
	tests := []struct {
		sec  int64
		want string
	}{
		{0, "0"},
		{-1, "0"},
		{-1_700_000_000, "0"},
		{1, "1"},
		{1_700_000_000, "1700000000"},
		{1 << 40, "1099511627776"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.sec, 10), func(t *testing.T) {
			if got := appwheel.UnixString(tt.sec); got != tt.want {
				t.Errorf("UnixString(%d): got %q, want %q", tt.sec, got, tt.want)
			}
		})
	}
}

func TestOrderFromInvoice(t *testing.T) {
	inv := func(mut func(*appwheel.Invoice)) *appwheel.Invoice {
		i := &appwheel.Invoice{
			ID: "in_1", CustomerID: "cus_1", SubscriptionID: "sub_1", PriceID: "price_inv",
			Number: "N-1", Status: "paid", CustomerEmail: "a@example.com",
			InvoicePDF: "https://pdf.test/1", HostedInvoiceURL: "https://hosted.test/1",
			AmountDue: 999, AmountPaid: 999, Currency: "jpy",
			Created: 1_700_000_000, PeriodStart: 1_700_000_001, PeriodEnd: 1_700_000_002, PaidAt: 1_700_000_003,
		}
		if mut != nil {
			mut(i)
		}
		return i
	}
	sub := func(mut func(*appwheel.Subscription)) *appwheel.Subscription {
		s := &appwheel.Subscription{
			ID: "sub_1", CustomerID: "cus_1", Status: "active", PriceID: "price_sub",
			Interval: "month", IntervalCount: 1, CurrentPeriodEnd: 1_710_000_000,
		}
		if mut != nil {
			mut(s)
		}
		return s
	}
	base := appwheel.Order{
		OriginOrderID: "sub_1", OrderID: "in_1", ProductID: "price_inv", ProductPeriod: "P1M",
		BillingCycleAnchor: "1710000000", CustomerEmail: "a@example.com",
		InvoicePDF: "https://pdf.test/1", HostedInvoiceURL: "https://hosted.test/1",
		PaidAt: "1700000003", InvoiceStatus: "paid", OrderStatus: 1,
		AmountDue: 999, AmountPaid: 999, Currency: "jpy",
		Created: "1700000000", PeriodStart: "1700000001", PeriodEnd: "1700000002", Number: "N-1",
	}
	order := func(mut func(*appwheel.Order)) appwheel.Order {
		o := base
		mut(&o)
		return o
	}
	tests := []struct {
		name  string
		inv   *appwheel.Invoice
		sub   *appwheel.Subscription
		want  appwheel.Order
		price func() *appwheel.Price // nil: the subscription's terms, as the service resolves them
	}{
		{"Active", inv(nil), sub(nil), base, nil},
		{"PriceFallsBackToSubscription", inv(func(i *appwheel.Invoice) { i.PriceID = "" }), sub(nil),
			order(func(o *appwheel.Order) { o.ProductID = "price_sub" }), nil},
		{"TrialingDaily3", inv(nil), sub(func(s *appwheel.Subscription) { s.Status, s.Interval, s.IntervalCount = "trialing", "day", 3 }),
			order(func(o *appwheel.Order) { o.OrderStatus, o.ProductPeriod = 2, "P3D" }), nil},
		{"PastDue", inv(nil), sub(func(s *appwheel.Subscription) { s.Status = "past_due" }),
			order(func(o *appwheel.Order) { o.OrderStatus = 3 }), nil},
		{"UnpaidWeekly", inv(nil), sub(func(s *appwheel.Subscription) { s.Status, s.Interval = "unpaid", "week" }),
			order(func(o *appwheel.Order) { o.OrderStatus, o.ProductPeriod = 4, "P1W" }), nil},
		{"CanceledYearly", inv(nil), sub(func(s *appwheel.Subscription) { s.Status, s.Interval = "canceled", "year" }),
			order(func(o *appwheel.Order) { o.OrderStatus, o.ProductPeriod, o.BillingCycleAnchor = 5, "P1Y", "0" }), nil},
		{"CancelAtPeriodEnd", inv(nil), sub(func(s *appwheel.Subscription) { s.CancelAtPeriodEnd = true }),
			order(func(o *appwheel.Order) { o.BillingCycleAnchor = "0" }), nil},
		{"Incomplete", inv(nil), sub(func(s *appwheel.Subscription) { s.Status = "incomplete" }),
			order(func(o *appwheel.Order) { o.OrderStatus, o.BillingCycleAnchor = 6, "0" }), nil},
		{"IncompleteExpired", inv(nil), sub(func(s *appwheel.Subscription) { s.Status = "incomplete_expired" }),
			order(func(o *appwheel.Order) { o.OrderStatus, o.BillingCycleAnchor = 7, "0" }), nil},
		{"Paused", inv(nil), sub(func(s *appwheel.Subscription) { s.Status = "paused" }),
			order(func(o *appwheel.Order) { o.OrderStatus, o.BillingCycleAnchor = 8, "0" }), nil},
		{"ActiveNoPeriodEnd", inv(nil), sub(func(s *appwheel.Subscription) { s.CurrentPeriodEnd = 0 }),
			order(func(o *appwheel.Order) { o.BillingCycleAnchor = "0" }), nil},
		{"NonRecurringPrice", inv(nil), sub(func(s *appwheel.Subscription) { s.Interval, s.IntervalCount = "", 0 }),
			order(func(o *appwheel.Order) { o.ProductPeriod = "" }), nil},
		{"OneOff", inv(func(i *appwheel.Invoice) { i.SubscriptionID, i.PriceID = "", "" }), nil,
			order(func(o *appwheel.Order) {
				o.OriginOrderID, o.ProductID, o.ProductPeriod, o.BillingCycleAnchor, o.OrderStatus = "", "", "", "0", 0
			}), nil},
		{"UnknownSubscription", inv(nil), nil,
			order(func(o *appwheel.Order) { o.ProductPeriod, o.BillingCycleAnchor, o.OrderStatus = "", "0", 0 }), nil},
		{"NoTimestamps", inv(func(i *appwheel.Invoice) { i.Created, i.PeriodStart, i.PeriodEnd, i.PaidAt = 0, 0, 0, 0 }), sub(nil),
			order(func(o *appwheel.Order) { o.Created, o.PeriodStart, o.PeriodEnd, o.PaidAt = "0", "0", "0", "0" }), nil},
		{"PlanChangedSinceInvoice", inv(nil), sub(nil),
			order(func(o *appwheel.Order) { o.ProductPeriod = "P1Y" }),
			func() *appwheel.Price { return &appwheel.Price{ID: "price_inv", Interval: "year", IntervalCount: 1} }},
		{"UnknownPrice", inv(nil), sub(nil),
			order(func(o *appwheel.Order) { o.ProductPeriod = "" }),
			func() *appwheel.Price { return nil }},
	}
	for _, tt := range tests {
		if tt.price == nil {
			tt.price = func() *appwheel.Price {
				if tt.sub == nil {
					return nil
				}
				return &appwheel.Price{ID: tt.sub.PriceID, Interval: tt.sub.Interval, IntervalCount: tt.sub.IntervalCount}
			}
		}
		t.Run(tt.name, func(t *testing.T) {
			got := billing.OrderFromInvoice(tt.inv, tt.sub, tt.price(), nil, 0)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OrderFromInvoice mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
