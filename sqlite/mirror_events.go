package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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
	// claimableQuery is the claim's read, in webhook_events_claimable's
	// order: no sort, and the scan stops after LIMIT entries.
	claimableQuery = `SELECT rowid FROM webhook_events
		WHERE processed_at IS NULL AND coalesce(claimed_until, received_at) <= ?
		ORDER BY coalesce(claimed_until, received_at), app_id, id
		LIMIT ?`
	claimEventsQuery = `UPDATE webhook_events SET claimed_until = ?, attempts = attempts + 1
		WHERE rowid IN (` + claimableQuery + `)
		RETURNING ` + storerow.ClaimedEventColumns
	// The batch statements take the events as one JSON argument,
	// [["app","evt_…"], …], so that their text is fixed (prepared once)
	// whatever the batch's size; the primary key finds each.
	markEventsProcessedQuery = `UPDATE webhook_events SET processed_at = coalesce(processed_at, ?)
		WHERE (app_id, id) IN (SELECT value->>0, value->>1 FROM json_each(?))`
	retryEventsQuery = `UPDATE webhook_events SET claimed_until = ?
		WHERE processed_at IS NULL AND (app_id, id) IN (SELECT value->>0, value->>1 FROM json_each(?))`
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

// ClaimEvents claims up to limit claimable events until until and returns
// them oldest received first (see appwheel.MirrorStore). It is one
// statement on the writer, so claims, here or in another process on the
// file, take turns and never share an event.
func (db *DB) ClaimEvents(ctx context.Context, now, until time.Time, limit int) ([]*appwheel.ClaimedEvent, error) {
	if limit < 1 {
		return nil, nil // SQLite reads LIMIT -1 as no limit at all
	}
	s, err := prepared(ctx, db.wdb, &db.wstmts, claimEventsQuery)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim events: %w", err)
	}
	// SQLite makes every change at the first step and commits when the
	// rows are closed, which scanAll does at once.
	rows, err := s.QueryContext(ctx, toMicros(until), toMicros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim events: %w", err)
	}
	evs, err := scanAll(rows, codec.ScanClaimedEvent)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim events: %w", err)
	}
	storerow.SortClaimed(evs)
	return evs, nil
}

// MarkEventsProcessed records that the events were applied at at, in one
// statement; events marked already keep their first time.
func (db *DB) MarkEventsProcessed(ctx context.Context, events []appwheel.EventKey, at time.Time) error {
	return db.execEvents(ctx, "mark events processed", markEventsProcessedQuery, toMicros(at), events)
}

// RetryEvents moves the claims of the unprocessed events among events to end
// at at.
func (db *DB) RetryEvents(ctx context.Context, events []appwheel.EventKey, at time.Time) error {
	return db.execEvents(ctx, "retry events", retryEventsQuery, toMicros(at), events)
}

// execEvents runs one of the batch statements, whose arguments are a time
// and the events as JSON.
func (db *DB) execEvents(ctx context.Context, what, query string, at int64, events []appwheel.EventKey) error {
	if len(events) == 0 {
		return nil
	}
	keys := make([][2]string, len(events))
	for i, k := range events {
		keys[i] = [2]string{k.AppID, k.ID}
	}
	js, err := json.Marshal(keys)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if _, err := db.exec(ctx, query, at, string(js)); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
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
