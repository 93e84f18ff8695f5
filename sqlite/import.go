package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
)

// CreateImport stores run and its first items as the app's import, in
// place of the previous one and its items.
func (db *DB) CreateImport(ctx context.Context, run *appwheel.ImportRun, items []appwheel.ImportItem) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: create import: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM import_items WHERE app_id = ?`, `DELETE FROM imports WHERE app_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, run.AppID); err != nil {
			return fmt.Errorf("sqlite: create import: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO imports (app_id, id, params_hash, metadata_key, dry_run, background,
			listed_after, listed, error, created_at, updated_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		run.AppID, run.ID, run.ParamsHash, run.MetadataKey, run.DryRun, run.Background,
		run.ListedAfter, run.Listed, run.Error, toMicros(run.CreatedAt), toMicros(run.UpdatedAt),
		toNullMicros(run.FinishedAt)); err != nil {
		return fmt.Errorf("sqlite: create import: %w", err)
	}
	if err := insertImportItems(ctx, tx, run.AppID, items); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create import: %w", err)
	}
	return nil
}

func insertImportItems(ctx context.Context, tx *sql.Tx, appID string, items []appwheel.ImportItem) error {
	if len(items) == 0 {
		return nil
	}
	s, err := tx.PrepareContext(ctx, `
		INSERT INTO import_items (app_id, seq, app_user_id, customer_id, outcome, reason)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("sqlite: add import items: %w", err)
	}
	defer s.Close()
	for _, it := range items {
		if _, err := s.ExecContext(ctx, appID, it.Seq, it.AppUserID, it.CustomerID, it.Outcome, it.Reason); err != nil {
			return fmt.Errorf("sqlite: add import item %d: %w", it.Seq, err)
		}
	}
	return nil
}

// ImportRun returns the app's import, its counts from its items.
func (db *DB) ImportRun(ctx context.Context, appID string) (*appwheel.ImportRun, error) {
	run := appwheel.ImportRun{AppID: appID}
	var created, updated int64
	var finished sql.NullInt64
	err := db.queryRow(ctx, `
		SELECT id, params_hash, metadata_key, dry_run, background, listed_after, listed, error,
			created_at, updated_at, finished_at
		FROM imports WHERE app_id = ?`, appID).Scan(
		&run.ID, &run.ParamsHash, &run.MetadataKey, &run.DryRun, &run.Background, &run.ListedAfter,
		&run.Listed, &run.Error, &created, &updated, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "app %s has no import", appID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: import of app %q: %w", appID, err)
	}
	run.CreatedAt, run.UpdatedAt, run.FinishedAt = fromMicros(created), fromMicros(updated), fromNullMicros(finished)
	c := &run.Counts
	if err := db.queryRow(ctx, `
		SELECT count(*),
			count(*) FILTER (WHERE outcome = ''),
			count(*) FILTER (WHERE outcome IN ('linked', 'would link')),
			count(*) FILTER (WHERE outcome IN ('skipped', 'already linked')),
			count(*) FILTER (WHERE outcome = 'failed')
		FROM import_items WHERE app_id = ?`, appID).Scan(&c.Seen, &c.Pending, &c.Linked, &c.Skipped, &c.Failed); err != nil {
		return nil, fmt.Errorf("sqlite: import counts of app %q: %w", appID, err)
	}
	return &run, nil
}

// AddImportItems appends a page of the listing and moves its cursor.
func (db *DB) AddImportItems(ctx context.Context, appID, importID, listedAfter string, listed bool, items []appwheel.ImportItem, now time.Time) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: add import items: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		UPDATE imports SET listed_after = ?, listed = ?, error = '', updated_at = ?
		WHERE app_id = ? AND id = ?`, listedAfter, listed, toMicros(now), appID, importID)
	if err := importUpdated(res, err, appID, importID); err != nil {
		return err
	}
	if err := insertImportItems(ctx, tx, appID, items); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: add import items: %w", err)
	}
	return nil
}

// ImportItems returns a page of the app's import's items.
func (db *DB) ImportItems(ctx context.Context, appID string, afterSeq, limit int, pendingOnly bool) ([]appwheel.ImportItem, error) {
	if limit < 1 {
		return nil, nil // SQLite reads a negative LIMIT as none
	}
	q := `SELECT seq, app_user_id, customer_id, outcome, reason FROM import_items
		WHERE app_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	if pendingOnly {
		q = `SELECT seq, app_user_id, customer_id, outcome, reason FROM import_items
			WHERE app_id = ? AND seq > ? AND outcome = '' ORDER BY seq LIMIT ?`
	}
	rows, err := db.query(ctx, q, appID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: import items of app %q: %w", appID, err)
	}
	defer rows.Close()
	var items []appwheel.ImportItem
	for rows.Next() {
		var it appwheel.ImportItem
		if err := rows.Scan(&it.Seq, &it.AppUserID, &it.CustomerID, &it.Outcome, &it.Reason); err != nil {
			return nil, fmt.Errorf("sqlite: import items of app %q: %w", appID, err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: import items of app %q: %w", appID, err)
	}
	return items, nil
}

// SetImportOutcomes records what happened to items.
func (db *DB) SetImportOutcomes(ctx context.Context, appID, importID string, items []appwheel.ImportItem, now time.Time) error {
	tx, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: set import outcomes: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE imports SET error = '', updated_at = ? WHERE app_id = ? AND id = ?`,
		toMicros(now), appID, importID)
	if err := importUpdated(res, err, appID, importID); err != nil {
		return err
	}
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, `UPDATE import_items SET outcome = ?, reason = ? WHERE app_id = ? AND seq = ?`,
			it.Outcome, it.Reason, appID, it.Seq); err != nil {
			return fmt.Errorf("sqlite: set import outcome %d: %w", it.Seq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: set import outcomes: %w", err)
	}
	return nil
}

// SetImportError records why the import stopped.
func (db *DB) SetImportError(ctx context.Context, appID, importID, msg string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE imports SET error = ?, updated_at = ? WHERE app_id = ? AND id = ?`,
		msg, toMicros(now), appID, importID)
	return importUpdated(res, err, appID, importID)
}

// FinishImport marks the import finished.
func (db *DB) FinishImport(ctx context.Context, appID, importID string, now time.Time) error {
	res, err := db.exec(ctx, `UPDATE imports SET finished_at = ?, updated_at = ? WHERE app_id = ? AND id = ?`,
		toMicros(now), toMicros(now), appID, importID)
	return importUpdated(res, err, appID, importID)
}

// importUpdated turns the result of an UPDATE of the app's import row into
// ENOTFOUND when it matched nothing: the import was replaced.
func importUpdated(res sql.Result, err error, appID, importID string) error {
	if err != nil {
		return fmt.Errorf("sqlite: import %s of app %q: %w", importID, appID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: import %s of app %q: %w", importID, appID, err)
	}
	if n == 0 {
		return appwheel.Errorf(appwheel.ENOTFOUND, "import %s is not app %s's import", importID, appID)
	}
	return nil
}
