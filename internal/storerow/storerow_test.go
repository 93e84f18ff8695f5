package storerow

import (
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
)

// The three lists of each table must agree: as many values as columns,
// each value under the column named after its field, and every value read
// back into the field it came from. Each field gets a value of its own, so
// two lists in a different order cannot pass, nor can a field of the type
// that no list carries (it would read back as zero).
func TestRoundTrip(t *testing.T) {
	c := Codec{Times: testTimes{}}
	roundTrip(t, CustomerStates, c.CustomerStateValues, c.ScanCustomerState)
	roundTrip(t, Events, c.EventValues, c.ScanEvent)
	roundTrip(t, PaymentMethods, c.PaymentMethodValues, c.ScanPaymentMethod)
	roundTrip(t, Subscriptions, c.SubscriptionValues, c.ScanSubscription)
	roundTrip(t, Invoices, c.InvoiceValues, c.ScanInvoice)
}

func roundTrip[T any](t *testing.T, table Table, values func(*T) []any, scan func(Row) (*T, error)) {
	t.Helper()
	want := new(T)
	fill(reflect.ValueOf(want).Elem())
	vals := values(want)
	if len(vals) != len(table.Columns) {
		t.Errorf("%s: %d values for %d columns", table.Name, len(vals), len(table.Columns))
		return
	}
	checkColumnNames(t, table, reflect.ValueOf(want).Elem(), vals)
	got, err := scan(fakeRow(vals))
	if err != nil {
		t.Fatalf("%s: scan: %v", table.Name, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: read back (-want +got):\n%s", table.Name, diff)
	}
}

// columnOf names the columns not named after their field in snake case.
var columnOf = map[string]string{"CustomerState.CustomerID": "stripe_customer_id"}

// checkColumnNames checks that each value stands under its field's column.
func checkColumnNames(t *testing.T, table Table, v reflect.Value, vals []any) {
	t.Helper()
	for i, val := range vals {
		field := ""
		for f := range v.NumField() {
			if fmt.Sprint(v.Field(f).Interface()) == fmt.Sprint(val) {
				field = v.Type().Field(f).Name
			}
		}
		want, ok := columnOf[v.Type().Name()+"."+field]
		if !ok {
			want = snake(field)
		}
		if table.Columns[i] != want {
			t.Errorf("%s: value %d (field %q) is under column %q, want %q", table.Name, i, field, table.Columns[i], want)
		}
	}
}

// snake is a Go field name in snake case: InvoicePDF → invoice_pdf.
func snake(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) && i > 0 && unicode.IsLower(rune(name[i-1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// fill sets every field of the struct v to a value no other field has.
func fill(v reflect.Value) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(base.Add(time.Duration(i) * time.Hour)))
		case f.Kind() == reflect.String:
			f.SetString(fmt.Sprintf("field %d", i))
		case f.Kind() == reflect.Int64:
			f.SetInt(int64(1000 + i))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Uint8:
			f.SetBytes(fmt.Appendf(nil, `{"field":%d}`, i))
		default:
			panic(fmt.Sprintf("fill: field %s of type %s", v.Type().Field(i).Name, f.Type()))
		}
	}
}

// fakeRow scans its values into the destinations, in order, as a driver
// would: through sql.Scanner where the destination is one.
type fakeRow []any

func (r fakeRow) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return fmt.Errorf("%d destinations for %d values", len(dest), len(r))
	}
	for i, d := range dest {
		if s, ok := d.(sql.Scanner); ok {
			if err := s.Scan(r[i]); err != nil {
				return err
			}
			continue
		}
		dv := reflect.ValueOf(d).Elem()
		v := reflect.ValueOf(r[i])
		if !v.Type().AssignableTo(dv.Type()) {
			return fmt.Errorf("value %d: %T into %T", i, r[i], d)
		}
		dv.Set(v)
	}
	return nil
}

// testTimes keeps time.Time as is.
type testTimes struct{}

func (testTimes) Arg(t time.Time) any { return t }

func (testTimes) NullArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (testTimes) Dest(t *time.Time) any { return timeDest{t} }

type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("time from %T", src)
	}
	return nil
}

func TestExcluded(t *testing.T) {
	got := Table{Name: "t", Columns: []string{"id", "a", "b"}}.Excluded()
	if want := "a = excluded.a, b = excluded.b"; got != want {
		t.Errorf("Excluded() = %q, want %q", got, want)
	}
}

func TestVersioned(t *testing.T) {
	got := Versioned("app_1", []any{"x", int64(2)}, 7)
	if want := []any{"app_1", "x", int64(2), int64(7)}; !cmp.Equal(got, want) {
		t.Errorf("Versioned = %v, want %v", got, want)
	}
}

func TestInvoicePage(t *testing.T) {
	invs := func(n int) []*appwheel.Invoice {
		var all []*appwheel.Invoice
		for i := range n {
			all = append(all, &appwheel.Invoice{ID: fmt.Sprint("in_", i)})
		}
		return all
	}
	for _, tc := range []struct {
		read, limit, want int
		more              bool
	}{{0, 10, 0, false}, {3, 10, 3, false}, {10, 10, 10, false}, {11, 10, 10, true}} {
		page := InvoicePage(invs(tc.read), tc.limit)
		if page.Invoices == nil || len(page.Invoices) != tc.want || page.HasMore != tc.more {
			t.Errorf("InvoicePage(%d read, limit %d) = %d invoices (nil %v), HasMore %v; want %d, %v",
				tc.read, tc.limit, len(page.Invoices), page.Invoices == nil, page.HasMore, tc.want, tc.more)
		}
	}
	for limit, want := range map[int]int{-1: 1, 0: 1, 1: 1, 20: 20, 100: 100, 101: 100} {
		if got := InvoicesLimit(appwheel.ListInvoicesParams{Limit: limit}); got != want {
			t.Errorf("InvoicesLimit(%d) = %d, want %d", limit, got, want)
		}
	}
}
