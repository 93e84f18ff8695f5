package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
)

// The statements of the events, built once from storerow's column list.
var (
	recordEventQuery = `INSERT INTO webhook_events (` + storerow.Events.List() + `)
		VALUES (` + params(len(storerow.Events.Columns)) + `)
		ON CONFLICT (app_id, id) DO NOTHING`
	eventQuery = `SELECT ` + storerow.Events.List() + ` FROM webhook_events
		WHERE app_id = ? AND id = ?`
	pendingEventsQuery = `SELECT ` + storerow.Events.List() + ` FROM webhook_events
		WHERE processed_at IS NULL AND received_at < ?
		ORDER BY received_at, app_id, id
		LIMIT ?`
)

// RecordEvent stores ev unless its (app, id) is stored already and reports
// whether it was new. The primary key decides, in one statement, so of two
// deliveries of one event (to two replicas, say) exactly one is new.
func (db *DB) RecordEvent(ctx context.Context, ev *appwheel.Event) (bool, error) {
	res, err := db.exec(ctx, recordEventQuery, codec.EventValues(ev)...)
	if err != nil {
		return false, fmt.Errorf("sqlite: record event %q of app %q: %w", ev.ID, ev.AppID, err)
	}
	return wrote(res, "record event %q of app %q", ev.ID, ev.AppID)
}

// Event returns a recorded event, or ENOTFOUND.
func (db *DB) Event(ctx context.Context, appID, id string) (*appwheel.Event, error) {
	row := db.queryRow(ctx, eventQuery, appID, id)
	ev, err := codec.ScanEvent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "event %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: event %q of app %q: %w", id, appID, err)
	}
	return ev, nil
}

// MarkEventProcessed records that the event was applied at at. Marking it
// again keeps the first time. An event that was never recorded is ENOTFOUND.
func (db *DB) MarkEventProcessed(ctx context.Context, appID, id string, at time.Time) error {
	res, err := db.exec(ctx, `
		UPDATE webhook_events SET processed_at = coalesce(processed_at, ?)
		WHERE app_id = ? AND id = ?`,
		toMicros(at), appID, id)
	if err != nil {
		return fmt.Errorf("sqlite: mark event %q of app %q processed: %w", id, appID, err)
	}
	ok, err := wrote(res, "mark event %q of app %q processed", id, appID)
	if err != nil {
		return err
	}
	if !ok {
		return appwheel.Errorf(appwheel.ENOTFOUND, "event %q not found", id)
	}
	return nil
}

// PendingEvents returns up to limit unapplied events of every app received
// before receivedBefore, oldest first; events received in the same
// microsecond come in (app, id) order. The partial index
// webhook_events_pending holds exactly these rows in this order.
func (db *DB) PendingEvents(ctx context.Context, receivedBefore time.Time, limit int) ([]*appwheel.Event, error) {
	if limit < 1 {
		return nil, nil // SQLite reads LIMIT -1 as no limit at all
	}
	rows, err := db.query(ctx, pendingEventsQuery, toMicros(receivedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending events: %w", err)
	}
	evs, err := scanAll(rows, codec.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending events: %w", err)
	}
	return evs, nil
}

// scanAll reads every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var all []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		all = append(all, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return all, nil
}

// wrote reports whether the statement behind res changed a row: for a
// conditional upsert, whether its condition let it write.
func wrote(res sql.Result, format string, args ...any) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: "+format+": %w", append(args, err)...)
	}
	return n > 0, nil
}
