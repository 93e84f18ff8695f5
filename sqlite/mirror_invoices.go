package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/appwheel/appwheel"
)

// invoiceColumns is the column list every invoice query reads, in
// scanInvoice's order.
const invoiceColumns = `id, customer_id, subscription_id, price_id, number, status,
	customer_email, invoice_pdf, hosted_invoice_url, amount_due, amount_paid, currency,
	created, period_start, period_end, paid_at, service_period_start, service_period_end,
	price_interval, price_interval_count`

// SaveInvoice writes inv when version is newer than the stored one and
// reports whether it wrote; one upsert decides, as for payment methods.
func (db *DB) SaveInvoice(ctx context.Context, appID string, inv *appwheel.Invoice, version int64) (bool, error) {
	res, err := db.exec(ctx, `
		INSERT INTO invoices (app_id, `+invoiceColumns+`, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, id) DO UPDATE SET
			customer_id = excluded.customer_id,
			subscription_id = excluded.subscription_id,
			price_id = excluded.price_id,
			number = excluded.number,
			status = excluded.status,
			customer_email = excluded.customer_email,
			invoice_pdf = excluded.invoice_pdf,
			hosted_invoice_url = excluded.hosted_invoice_url,
			amount_due = excluded.amount_due,
			amount_paid = excluded.amount_paid,
			currency = excluded.currency,
			created = excluded.created,
			period_start = excluded.period_start,
			period_end = excluded.period_end,
			paid_at = excluded.paid_at,
			service_period_start = excluded.service_period_start,
			service_period_end = excluded.service_period_end,
			price_interval = excluded.price_interval,
			price_interval_count = excluded.price_interval_count,
			version = excluded.version
		WHERE excluded.version > invoices.version`,
		appID, inv.ID, inv.CustomerID, inv.SubscriptionID, inv.PriceID, inv.Number, inv.Status,
		inv.CustomerEmail, inv.InvoicePDF, inv.HostedInvoiceURL, inv.AmountDue, inv.AmountPaid, inv.Currency,
		inv.Created, inv.PeriodStart, inv.PeriodEnd, inv.PaidAt, inv.ServicePeriodStart, inv.ServicePeriodEnd,
		inv.PriceInterval, inv.PriceIntervalCount,
		version)
	if err != nil {
		return false, fmt.Errorf("sqlite: save invoice %q of app %q: %w", inv.ID, appID, err)
	}
	return wrote(res, "save invoice %q of app %q", inv.ID, appID)
}

// MirroredInvoice returns one invoice, or ENOTFOUND.
func (db *DB) MirroredInvoice(ctx context.Context, appID, id string) (*appwheel.Invoice, error) {
	row := db.queryRow(ctx, `SELECT `+invoiceColumns+` FROM invoices
		WHERE app_id = ? AND id = ?`, appID, id)
	inv, err := scanInvoice(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "invoice %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: invoice %q of app %q: %w", id, appID, err)
	}
	return inv, nil
}

// InvoicesOf returns one page of a customer's invoices, newest first
// (created, then id, descending), as Stripe lists them. A Limit outside
// 1–100 is clamped to it, as the Stripe adapter does.
//
// The page is keyset-paginated: StartingAfter is resolved to its (created,
// id), and the page is the Limit+1 rows after it in invoices_by_customer
// order, the extra row only telling HasMore. A StartingAfter that is not
// one of this customer's invoices in this app is ENOTFOUND.
func (db *DB) InvoicesOf(ctx context.Context, appID string, p appwheel.ListInvoicesParams) (*appwheel.InvoicePage, error) {
	limit := min(max(p.Limit, 1), 100)
	where, args := `app_id = ? AND customer_id = ?`, []any{appID, p.CustomerID}
	if p.StartingAfter != "" {
		var created int64
		err := db.queryRow(ctx, `SELECT created FROM invoices
			WHERE app_id = ? AND id = ? AND customer_id = ?`,
			appID, p.StartingAfter, p.CustomerID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, appwheel.Errorf(appwheel.ENOTFOUND, "invoice %q not found", p.StartingAfter)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: invoices of %q in app %q: %w", p.CustomerID, appID, err)
		}
		where += ` AND (created, id) < (?, ?)`
		args = append(args, created, p.StartingAfter)
	}
	rows, err := db.query(ctx, `SELECT `+invoiceColumns+` FROM invoices
		WHERE `+where+`
		ORDER BY created DESC, id DESC
		LIMIT ?`,
		append(args, limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: invoices of %q in app %q: %w", p.CustomerID, appID, err)
	}
	invs, err := scanAll(rows, scanInvoice)
	if err != nil {
		return nil, fmt.Errorf("sqlite: invoices of %q in app %q: %w", p.CustomerID, appID, err)
	}
	if invs == nil {
		invs = []*appwheel.Invoice{} // an empty page, as Stripe's
	}
	page := &appwheel.InvoicePage{Invoices: invs, HasMore: len(invs) > limit}
	if page.HasMore {
		page.Invoices = invs[:limit]
	}
	return page, nil
}

func scanInvoice(s scanner) (*appwheel.Invoice, error) {
	var inv appwheel.Invoice
	if err := s.Scan(&inv.ID, &inv.CustomerID, &inv.SubscriptionID, &inv.PriceID, &inv.Number, &inv.Status,
		&inv.CustomerEmail, &inv.InvoicePDF, &inv.HostedInvoiceURL, &inv.AmountDue, &inv.AmountPaid, &inv.Currency,
		&inv.Created, &inv.PeriodStart, &inv.PeriodEnd, &inv.PaidAt, &inv.ServicePeriodStart, &inv.ServicePeriodEnd,
		&inv.PriceInterval, &inv.PriceIntervalCount); err != nil {
		return nil, err
	}
	return &inv, nil
}
