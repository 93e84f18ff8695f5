package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The app's import row and its counts, read in one statement (one snapshot):
// the counts from a scan of the app's items.
const importRunQuery = `
	SELECT i.id, i.params_hash, i.metadata_key, i.dry_run, i.background, i.listed_after, i.listed,
		i.error, i.created_at, i.updated_at, i.finished_at,
		c.seen, c.pending, c.linked, c.skipped, c.failed
	FROM imports i CROSS JOIN LATERAL (
		SELECT count(*) AS seen,
			count(*) FILTER (WHERE outcome = '') AS pending,
			count(*) FILTER (WHERE outcome IN ('linked', 'would link')) AS linked,
			count(*) FILTER (WHERE outcome IN ('skipped', 'already linked')) AS skipped,
			count(*) FILTER (WHERE outcome = 'failed') AS failed
		FROM import_items WHERE app_id = i.app_id
	) c
	WHERE i.app_id = $1`

// The pages of ImportItems: two statements rather than one with a flag, so
// that the pending one's plan, generic too, can use import_items_pending.
const (
	importItemsQuery = `SELECT seq, app_user_id, customer_id, outcome, reason FROM import_items
		WHERE app_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	pendingImportItemsQuery = `SELECT seq, app_user_id, customer_id, outcome, reason FROM import_items
		WHERE app_id = $1 AND seq > $2 AND outcome = '' ORDER BY seq LIMIT $3`
)

// CreateImport stores run and its first items as the app's import, in
// place of the previous one and its items, in one transaction.
func (db *DB) CreateImport(ctx context.Context, run *appwheel.ImportRun, items []appwheel.ImportItem) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, q := range []string{`DELETE FROM import_items WHERE app_id = $1`, `DELETE FROM imports WHERE app_id = $1`} {
			if _, err := tx.Exec(ctx, q, run.AppID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO imports (app_id, id, params_hash, metadata_key, dry_run, background,
				listed_after, listed, error, created_at, updated_at, finished_at)
			VALUES (`+params(12)+`)`,
			run.AppID, run.ID, run.ParamsHash, run.MetadataKey, run.DryRun, run.Background,
			run.ListedAfter, run.Listed, run.Error, run.CreatedAt, run.UpdatedAt,
			nullTime(run.FinishedAt)); err != nil {
			return err
		}
		return insertImportItems(ctx, tx, run.AppID, items)
	})
	if err != nil {
		return fmt.Errorf("postgres: create import %s of app %q: %w", run.ID, run.AppID, err)
	}
	return nil
}

// insertImportItems inserts items in one statement, whatever their number:
// each column is one array parameter, unnest turns them back into rows.
func insertImportItems(ctx context.Context, tx pgx.Tx, appID string, items []appwheel.ImportItem) error {
	if len(items) == 0 {
		return nil
	}
	seqs := make([]int, len(items))
	users := make([]string, len(items))
	customers := make([]string, len(items))
	outcomes := make([]string, len(items))
	reasons := make([]string, len(items))
	for i, it := range items {
		seqs[i], users[i], customers[i], outcomes[i], reasons[i] = it.Seq, it.AppUserID, it.CustomerID, it.Outcome, it.Reason
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO import_items (app_id, seq, app_user_id, customer_id, outcome, reason)
		SELECT $1, u.* FROM unnest($2::integer[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u`,
		appID, seqs, users, customers, outcomes, reasons); err != nil {
		return fmt.Errorf("add %d import items: %w", len(items), err)
	}
	return nil
}

// ImportRun returns the app's import, its counts from its items.
func (db *DB) ImportRun(ctx context.Context, appID string) (*appwheel.ImportRun, error) {
	run := appwheel.ImportRun{AppID: appID}
	var finished pgtype.Timestamptz
	c := &run.Counts
	err := db.pool.QueryRow(ctx, importRunQuery, appID).Scan(
		&run.ID, &run.ParamsHash, &run.MetadataKey, &run.DryRun, &run.Background, &run.ListedAfter,
		&run.Listed, &run.Error, &run.CreatedAt, &run.UpdatedAt, &finished,
		&c.Seen, &c.Pending, &c.Linked, &c.Skipped, &c.Failed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "app %s has no import", appID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: import of app %q: %w", appID, err)
	}
	run.CreatedAt, run.UpdatedAt, run.FinishedAt = run.CreatedAt.UTC(), run.UpdatedAt.UTC(), fromNullTime(finished)
	return &run, nil
}

// AddImportItems appends a page of the listing and moves its cursor, in one
// transaction: the UPDATE that finds the import row first, so a replaced
// import gets no items.
func (db *DB) AddImportItems(ctx context.Context, appID, importID, listedAfter string, listed bool, items []appwheel.ImportItem, now time.Time) error {
	var notFound error
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE imports SET listed_after = $1, listed = $2, error = '', updated_at = $3
			WHERE app_id = $4 AND id = $5`, listedAfter, listed, now, appID, importID)
		if err != nil {
			return err
		}
		if !wrote(tag) {
			notFound = importReplaced(appID, importID)
			return notFound
		}
		return insertImportItems(ctx, tx, appID, items)
	})
	if notFound != nil {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("postgres: add items to import %s of app %q: %w", importID, appID, err)
	}
	return nil
}

// ImportItems returns a page of the app's import's items.
func (db *DB) ImportItems(ctx context.Context, appID string, afterSeq, limit int, pendingOnly bool) ([]appwheel.ImportItem, error) {
	if limit < 1 {
		return nil, nil // PostgreSQL refuses a negative LIMIT
	}
	q := importItemsQuery
	if pendingOnly {
		q = pendingImportItemsQuery
	}
	rows, err := db.pool.Query(ctx, q, appID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: import items of app %q: %w", appID, err)
	}
	var items []appwheel.ImportItem
	items, err = pgx.AppendRows(items, rows, func(r pgx.CollectableRow) (appwheel.ImportItem, error) {
		var it appwheel.ImportItem
		err := r.Scan(&it.Seq, &it.AppUserID, &it.CustomerID, &it.Outcome, &it.Reason)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: import items of app %q: %w", appID, err)
	}
	return items, nil
}

// SetImportOutcomes records what happened to items, in one transaction
// with the import's progress: one UPDATE of the items, joined by Seq to
// the outcomes given as arrays.
func (db *DB) SetImportOutcomes(ctx context.Context, appID, importID string, items []appwheel.ImportItem, now time.Time) error {
	// An item given twice gets its last outcome, as with one UPDATE each
	// (an UPDATE … FROM would pick either).
	last := make(map[int]int, len(items))
	for i, it := range items {
		last[it.Seq] = i
	}
	var seqs []int
	var outcomes, reasons []string
	for i, it := range items {
		if last[it.Seq] == i {
			seqs, outcomes, reasons = append(seqs, it.Seq), append(outcomes, it.Outcome), append(reasons, it.Reason)
		}
	}
	var notFound error
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE imports SET error = '', updated_at = $1 WHERE app_id = $2 AND id = $3`,
			now, appID, importID)
		if err != nil {
			return err
		}
		if !wrote(tag) {
			notFound = importReplaced(appID, importID)
			return notFound
		}
		if len(seqs) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `
			UPDATE import_items AS i SET outcome = u.outcome, reason = u.reason
			FROM unnest($2::integer[], $3::text[], $4::text[]) AS u (seq, outcome, reason)
			WHERE i.app_id = $1 AND i.seq = u.seq`,
			appID, seqs, outcomes, reasons)
		return err
	})
	if notFound != nil {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("postgres: set outcomes of import %s of app %q: %w", importID, appID, err)
	}
	return nil
}

// SetImportError records why the import stopped.
func (db *DB) SetImportError(ctx context.Context, appID, importID, msg string, now time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE imports SET error = $1, updated_at = $2 WHERE app_id = $3 AND id = $4`,
		msg, now, appID, importID)
	if err != nil {
		return fmt.Errorf("postgres: set error of import %s of app %q: %w", importID, appID, err)
	}
	if !wrote(tag) {
		return importReplaced(appID, importID)
	}
	return nil
}

// FinishImport marks the import finished.
func (db *DB) FinishImport(ctx context.Context, appID, importID string, now time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE imports SET finished_at = $1, updated_at = $1 WHERE app_id = $2 AND id = $3`,
		now, appID, importID)
	if err != nil {
		return fmt.Errorf("postgres: finish import %s of app %q: %w", importID, appID, err)
	}
	if !wrote(tag) {
		return importReplaced(appID, importID)
	}
	return nil
}

// importReplaced is the error of a write to an import that is no longer
// the app's: its UPDATE of the app's import row matched nothing.
func importReplaced(appID, importID string) error {
	return appwheel.Errorf(appwheel.ENOTFOUND, "import %s is not app %s's import", importID, appID)
}
