// Package storerow maps the mirror's rows (appwheel.MirrorStore) to
// AppWheel's types and back, once for both stores: per table, the column
// list, the row's values in that order, and the scan that reads them back.
//
// The SQLite and PostgreSQL stores keep the same tables with the same
// columns, and used to spell each list out twice, in step by hand: a field
// added to the invoice mirror touched a dozen places. Here each table's
// three lists stand together, so a new field is one line in each, beside
// each other, plus a migration per store; the package's test fails when
// the three disagree, or a field of the type is in none. What differs
// between the stores stays in them: placeholders ($1 or ?), the statements
// themselves (the upsert's guards), the driver, and how a time is kept
// (Times). The page rule of InvoicesOf, the same for both, is here too.
//
// This package writes no SQL beyond column lists; it imports neither driver.
package storerow

import (
	"strings"
	"time"

	"github.com/appwheel/appwheel"
)

// Row is what *sql.Row, *sql.Rows, pgx.Row and pgx.Rows have in common.
type Row interface {
	Scan(dest ...any) error
}

// Times is how a store keeps a time, the one part of a mirror row whose
// database type differs between the stores: SQLite keeps integer Unix
// microseconds, PostgreSQL timestamptz. Either keeps the zero time, where a
// column may be unset, as NULL, so that "not set" reads as such in the
// database too.
type Times interface {
	// Arg returns t as the argument of a NOT NULL time column.
	Arg(t time.Time) any
	// NullArg returns t as the argument of a nullable time column: NULL
	// for the zero time.
	NullArg(t time.Time) any
	// Dest returns a Scan destination that stores the column's time in *t,
	// in UTC; NULL reads as the zero time.
	Dest(t *time.Time) any
}

// Table is the columns of one mirror table, in the order of its Codec
// methods' values and scans.
type Table struct {
	Name    string
	Columns []string
}

// List returns the columns comma-separated, for a SELECT or an INSERT.
func (t Table) List() string { return strings.Join(t.Columns, ", ") }

// Excluded returns "c = excluded.c" for every column but the first, the
// object's id (with app_id, the conflict key): the SET of an upsert that
// replaces the row with the new snapshot. Both stores spell ON CONFLICT …
// DO UPDATE and its excluded row the same way.
func (t Table) Excluded() string {
	set := make([]string, 0, len(t.Columns)-1)
	for _, c := range t.Columns[1:] {
		set = append(set, c+" = excluded."+c)
	}
	return strings.Join(set, ", ")
}

// Versioned returns the arguments of a versioned upsert: the app, the
// row's values, then the version, the order every mirror upsert takes them
// in.
func Versioned(appID string, values []any, version int64) []any {
	args := make([]any, 0, len(values)+2)
	args = append(args, appID)
	args = append(args, values...)
	return append(args, version)
}

// Codec reads and writes the mirror's rows for one store, whose Times it
// holds.
type Codec struct {
	Times Times
}

// blob keeps nil bytes as an empty BLOB or bytea: the columns are NOT NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// CustomerStates is the mirrored part of the customers table. Its rows are
// created by PutCustomer and changed column by column (SaveCustomer,
// MarkSynced, …), so the stores only read this list; bench writes it.
var CustomerStates = Table{Name: "customers", Columns: []string{
	"app_user_id", "stripe_customer_id", "default_payment_method_id", "deleted", "synced_at",
	"setup_pending_until", "setup_pending_intent_id", "default_setup_intent_id", "reads_version",
}}

// CustomerStateValues returns cs's values in CustomerStates order.
func (c Codec) CustomerStateValues(cs *appwheel.CustomerState) []any {
	return []any{
		cs.AppUserID, cs.CustomerID, cs.DefaultPaymentMethodID, cs.Deleted, c.Times.NullArg(cs.SyncedAt),
		c.Times.NullArg(cs.SetupPendingUntil), cs.SetupPendingIntentID, cs.DefaultSetupIntentID, cs.ReadsVersion,
	}
}

// ScanCustomerState reads a row of CustomerStates.
func (c Codec) ScanCustomerState(r Row) (*appwheel.CustomerState, error) {
	var cs appwheel.CustomerState
	if err := r.Scan(
		&cs.AppUserID, &cs.CustomerID, &cs.DefaultPaymentMethodID, &cs.Deleted, c.Times.Dest(&cs.SyncedAt),
		c.Times.Dest(&cs.SetupPendingUntil), &cs.SetupPendingIntentID, &cs.DefaultSetupIntentID, &cs.ReadsVersion,
	); err != nil {
		return nil, err
	}
	return &cs, nil
}

// Events is the webhook_events table, app_id included: an Event carries
// its app.
var Events = Table{Name: "webhook_events", Columns: []string{
	"app_id", "id", "type", "created", "payload", "received_at", "processed_at",
}}

// EventValues returns ev's values in Events order.
func (c Codec) EventValues(ev *appwheel.Event) []any {
	return []any{
		ev.AppID, ev.ID, ev.Type, ev.Created, blob(ev.Payload), c.Times.Arg(ev.ReceivedAt), c.Times.NullArg(ev.ProcessedAt),
	}
}

// ScanEvent reads a row of Events.
func (c Codec) ScanEvent(r Row) (*appwheel.Event, error) {
	var ev appwheel.Event
	if err := r.Scan(
		&ev.AppID, &ev.ID, &ev.Type, &ev.Created, &ev.Payload, c.Times.Dest(&ev.ReceivedAt), c.Times.Dest(&ev.ProcessedAt),
	); err != nil {
		return nil, err
	}
	return &ev, nil
}

// PaymentMethods is the payment_methods table but app_id and version.
var PaymentMethods = Table{Name: "payment_methods", Columns: []string{
	"id", "customer_id", "type", "created", "raw",
}}

// PaymentMethodValues returns pm's values in PaymentMethods order.
func (Codec) PaymentMethodValues(pm *appwheel.PaymentMethod) []any {
	return []any{pm.ID, pm.CustomerID, pm.Type, pm.Created, blob(pm.Raw)}
}

// ScanPaymentMethod reads a row of PaymentMethods.
func (Codec) ScanPaymentMethod(r Row) (*appwheel.PaymentMethod, error) {
	var (
		pm  appwheel.PaymentMethod
		raw []byte
	)
	if err := r.Scan(&pm.ID, &pm.CustomerID, &pm.Type, &pm.Created, &raw); err != nil {
		return nil, err
	}
	pm.Raw = raw
	return &pm, nil
}

// Subscriptions is the subscriptions table but app_id and version.
var Subscriptions = Table{Name: "subscriptions", Columns: []string{
	"id", "customer_id", "status", "price_id", "interval", "interval_count",
	"current_period_end", "cancel_at_period_end", "created", "default_payment_method_id", "price_nickname",
}}

// SubscriptionValues returns sub's values in Subscriptions order.
func (Codec) SubscriptionValues(sub *appwheel.Subscription) []any {
	return []any{
		sub.ID, sub.CustomerID, sub.Status, sub.PriceID, sub.Interval, sub.IntervalCount,
		sub.CurrentPeriodEnd, sub.CancelAtPeriodEnd, sub.Created, sub.DefaultPaymentMethodID, sub.PriceNickname,
	}
}

// ScanSubscription reads a row of Subscriptions.
func (Codec) ScanSubscription(r Row) (*appwheel.Subscription, error) {
	var sub appwheel.Subscription
	if err := r.Scan(
		&sub.ID, &sub.CustomerID, &sub.Status, &sub.PriceID, &sub.Interval, &sub.IntervalCount,
		&sub.CurrentPeriodEnd, &sub.CancelAtPeriodEnd, &sub.Created, &sub.DefaultPaymentMethodID, &sub.PriceNickname,
	); err != nil {
		return nil, err
	}
	return &sub, nil
}

// Invoices is the invoices table but app_id, version and deleted (the
// tombstone of DeleteInvoice, which no snapshot carries).
var Invoices = Table{Name: "invoices", Columns: []string{
	"id", "customer_id", "subscription_id", "price_id", "number", "status",
	"customer_email", "invoice_pdf", "hosted_invoice_url", "amount_due", "amount_paid", "currency",
	"created", "period_start", "period_end", "paid_at", "service_period_start", "service_period_end",
	"price_interval", "price_interval_count",
}}

// InvoiceValues returns inv's values in Invoices order.
func (Codec) InvoiceValues(inv *appwheel.Invoice) []any {
	return []any{
		inv.ID, inv.CustomerID, inv.SubscriptionID, inv.PriceID, inv.Number, inv.Status,
		inv.CustomerEmail, inv.InvoicePDF, inv.HostedInvoiceURL, inv.AmountDue, inv.AmountPaid, inv.Currency,
		inv.Created, inv.PeriodStart, inv.PeriodEnd, inv.PaidAt, inv.ServicePeriodStart, inv.ServicePeriodEnd,
		inv.PriceInterval, inv.PriceIntervalCount,
	}
}

// ScanInvoice reads a row of Invoices.
func (Codec) ScanInvoice(r Row) (*appwheel.Invoice, error) {
	var inv appwheel.Invoice
	if err := r.Scan(
		&inv.ID, &inv.CustomerID, &inv.SubscriptionID, &inv.PriceID, &inv.Number, &inv.Status,
		&inv.CustomerEmail, &inv.InvoicePDF, &inv.HostedInvoiceURL, &inv.AmountDue, &inv.AmountPaid, &inv.Currency,
		&inv.Created, &inv.PeriodStart, &inv.PeriodEnd, &inv.PaidAt, &inv.ServicePeriodStart, &inv.ServicePeriodEnd,
		&inv.PriceInterval, &inv.PriceIntervalCount,
	); err != nil {
		return nil, err
	}
	return &inv, nil
}

// InvoicesLimit is the number of invoices InvoicesOf returns for p: Limit
// clamped to 1–100, as the Stripe adapter clamps it. A store reads one row
// more, to tell HasMore, and hands the rows to InvoicePage.
func InvoicesLimit(p appwheel.ListInvoicesParams) int { return min(max(p.Limit, 1), 100) }

// InvoicePage is the page of up to limit+1 invoices read in page order: the
// first limit, and whether there are more. An empty page has an empty list,
// as Stripe's.
func InvoicePage(invs []*appwheel.Invoice, limit int) *appwheel.InvoicePage {
	if invs == nil {
		invs = []*appwheel.Invoice{}
	}
	page := &appwheel.InvoicePage{Invoices: invs, HasMore: len(invs) > limit}
	if page.HasMore {
		page.Invoices = invs[:limit]
	}
	return page
}
