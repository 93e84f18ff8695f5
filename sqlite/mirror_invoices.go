package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
)

// The statements of the invoices, built once from storerow's column list.
// A deleted invoice (DeleteInvoice's tombstone, deleted = 1) is read by none
// of them and written by no snapshot again.
var (
	saveInvoiceQuery = `INSERT INTO invoices (app_id, ` + storerow.Invoices.List() + `, version)
		VALUES (` + params(len(storerow.Invoices.Columns)+2) + `)
		ON CONFLICT (app_id, id) DO UPDATE SET ` + storerow.Invoices.Excluded() + `, version = excluded.version
		WHERE excluded.version > invoices.version AND invoices.deleted = 0`
	// The tombstone keeps the invoice's last snapshot; for an invoice not
	// mirrored yet it is an empty one. A deletion wins a tie with a
	// snapshot of its version: nothing happens to an invoice after it.
	deleteInvoiceQuery = `INSERT INTO invoices (app_id, ` + storerow.Invoices.List() + `, version, deleted)
		VALUES (` + params(len(storerow.Invoices.Columns)+2) + `, 1)
		ON CONFLICT (app_id, id) DO UPDATE SET deleted = 1, version = excluded.version
		WHERE excluded.version >= invoices.version AND invoices.deleted = 0`
	invoiceQuery = `SELECT ` + storerow.Invoices.List() + ` FROM invoices
		WHERE app_id = ? AND id = ? AND deleted = 0`
	// InvoicesOf's: the cursor (app, invoice, customer) through the primary
	// key; a page, the next ?3 rows (?1 app, ?2 customer) in
	// invoices_by_customer order (a partial index, of deleted = 0), after
	// the cursor (?4 created, ?5 id) for the pages past the first.
	invoiceCursorQuery = `SELECT created FROM invoices
		WHERE app_id = ? AND id = ? AND customer_id = ? AND deleted = 0`
	invoicesFirstPageQuery = `SELECT ` + storerow.Invoices.List() + ` FROM invoices
		WHERE app_id = ?1 AND customer_id = ?2 AND deleted = 0
		ORDER BY created DESC, id DESC
		LIMIT ?3`
	invoicesNextPageQuery = `SELECT ` + storerow.Invoices.List() + ` FROM invoices
		WHERE app_id = ?1 AND customer_id = ?2 AND deleted = 0 AND (created, id) < (?4, ?5)
		ORDER BY created DESC, id DESC
		LIMIT ?3`
)

// SaveInvoice writes inv when version is newer than the stored one and
// reports whether it wrote; one upsert decides, as for payment methods. A
// deleted invoice stays deleted: its snapshots write nothing (false).
func (db *DB) SaveInvoice(ctx context.Context, appID string, inv *appwheel.Invoice, version int64) (bool, error) {
	res, err := db.exec(ctx, saveInvoiceQuery, storerow.Versioned(appID, codec.InvoiceValues(inv), version)...)
	if err != nil {
		return false, fmt.Errorf("sqlite: save invoice %q of app %q: %w", inv.ID, appID, err)
	}
	return wrote(res, "save invoice %q of app %q", inv.ID, appID)
}

// DeleteInvoice marks the invoice deleted when version is not older than
// the stored one, and reports whether it did. The row stays, as a tombstone
// under the version guard, so that a snapshot older than the deletion,
// arriving late, finds it and writes nothing; one upsert decides, so an
// invoice not mirrored yet gets its tombstone too.
func (db *DB) DeleteInvoice(ctx context.Context, appID, invoiceID string, version int64) (bool, error) {
	res, err := db.exec(ctx, deleteInvoiceQuery,
		storerow.Versioned(appID, codec.InvoiceValues(&appwheel.Invoice{ID: invoiceID}), version)...)
	if err != nil {
		return false, fmt.Errorf("sqlite: delete invoice %q of app %q: %w", invoiceID, appID, err)
	}
	return wrote(res, "delete invoice %q of app %q", invoiceID, appID)
}

// MirroredInvoice returns one invoice, or ENOTFOUND (also once deleted).
func (db *DB) MirroredInvoice(ctx context.Context, appID, id string) (*appwheel.Invoice, error) {
	inv, err := codec.ScanInvoice(db.queryRow(ctx, invoiceQuery, appID, id))
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
// 1–100 is clamped to it (storerow.InvoicesLimit). Deleted invoices are not
// listed.
//
// The page is keyset-paginated: StartingAfter is resolved to its (created,
// id), and the page is the Limit+1 rows after it in invoices_by_customer
// order, the extra row only telling HasMore. A StartingAfter that is not
// one of this customer's invoices in this app, or is deleted (as Stripe
// forgets it), is ENOTFOUND.
func (db *DB) InvoicesOf(ctx context.Context, appID string, p appwheel.ListInvoicesParams) (*appwheel.InvoicePage, error) {
	limit := storerow.InvoicesLimit(p)
	query, args := invoicesFirstPageQuery, []any{appID, p.CustomerID, limit + 1}
	if p.StartingAfter != "" {
		var created int64
		err := db.queryRow(ctx, invoiceCursorQuery, appID, p.StartingAfter, p.CustomerID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, appwheel.Errorf(appwheel.ENOTFOUND, "invoice %q not found", p.StartingAfter)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: invoices of %q in app %q: %w", p.CustomerID, appID, err)
		}
		query, args = invoicesNextPageQuery, append(args, created, p.StartingAfter)
	}
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: invoices of %q in app %q: %w", p.CustomerID, appID, err)
	}
	invs, err := scanAll(rows, codec.ScanInvoice)
	if err != nil {
		return nil, fmt.Errorf("sqlite: invoices of %q in app %q: %w", p.CustomerID, appID, err)
	}
	return storerow.InvoicePage(invs, limit), nil
}
