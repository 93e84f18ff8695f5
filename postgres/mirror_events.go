package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/jackc/pgx/v5"
)

// The statements of the events, built once from storerow's column list.
var (
	recordEventQuery = `INSERT INTO webhook_events (` + storerow.Events.List() + `)
		VALUES (` + params(len(storerow.Events.Columns)) + `)
		ON CONFLICT (app_id, id) DO NOTHING`
	eventQuery = `SELECT ` + storerow.Events.List() + ` FROM webhook_events
		WHERE app_id = $1 AND id = $2`
	pendingEventsQuery = `SELECT ` + storerow.Events.List() + ` FROM webhook_events
		WHERE processed_at IS NULL AND received_at < $1
		ORDER BY received_at, app_id, id
		LIMIT $2`
)

// RecordEvent stores ev unless its (app, id) is stored already and reports
// whether it was new. The primary key decides, in one statement, so of two
// deliveries of one event (to two replicas, say) exactly one is new.
func (db *DB) RecordEvent(ctx context.Context, ev *appwheel.Event) (bool, error) {
	tag, err := db.pool.Exec(ctx, recordEventQuery, codec.EventValues(ev)...)
	if err != nil {
		return false, fmt.Errorf("postgres: record event %q of app %q: %w", ev.ID, ev.AppID, err)
	}
	return wrote(tag), nil
}

// Event returns a recorded event, or ENOTFOUND.
func (db *DB) Event(ctx context.Context, appID, id string) (*appwheel.Event, error) {
	ev, err := codec.ScanEvent(db.pool.QueryRow(ctx, eventQuery, appID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "event %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: event %q of app %q: %w", id, appID, err)
	}
	return ev, nil
}

// MarkEventProcessed records that the event was applied at at. Marking it
// again keeps the first time. An event that was never recorded is ENOTFOUND.
func (db *DB) MarkEventProcessed(ctx context.Context, appID, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `
		UPDATE webhook_events SET processed_at = coalesce(processed_at, $1)
		WHERE app_id = $2 AND id = $3`,
		at, appID, id)
	if err != nil {
		return fmt.Errorf("postgres: mark event %q of app %q processed: %w", id, appID, err)
	}
	if !wrote(tag) {
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
		return nil, nil // PostgreSQL refuses a negative LIMIT
	}
	rows, err := db.pool.Query(ctx, pendingEventsQuery, receivedBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending events: %w", err)
	}
	evs, err := collect(rows, codec.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending events: %w", err)
	}
	return evs, nil
}
