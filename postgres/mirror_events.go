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
	// claimEventsQuery reads webhook_events_claimable in its order (no
	// sort; the scan stops after LIMIT rows it could lock) and skips rows
	// another transaction holds: a concurrent claim's, so that claimers
	// racing on several replicas take disjoint batches instead of waiting
	// for each other. A row whose claim a concurrent claim committed first
	// is re-checked against the WHERE clause once locked, and left out.
	//
	// The locking read is a MATERIALIZED CTE, run once whatever the plan:
	// as a subquery of the UPDATE (… WHERE (app_id, id) IN (SELECT … FOR
	// UPDATE SKIP LOCKED LIMIT n)) a plan made for an empty table ran it
	// once per row of the table, each run locking another batch, and one
	// claim took the whole queue (TestClaimAfterIdleQueue).
	claimEventsQuery = `WITH claimed AS MATERIALIZED (
			SELECT app_id AS claimed_app, id AS claimed_id FROM webhook_events
			WHERE processed_at IS NULL AND coalesce(claimed_until, received_at) <= $2
			ORDER BY coalesce(claimed_until, received_at), app_id, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE webhook_events SET claimed_until = $1, attempts = attempts + 1
		FROM claimed WHERE app_id = claimed_app AND id = claimed_id
		RETURNING ` + storerow.ClaimedEventColumns
	// The batch statements take the events as two arrays, apps and ids, so
	// that their text is fixed whatever the batch's size; the primary key
	// finds each.
	markEventsProcessedQuery = `UPDATE webhook_events SET processed_at = coalesce(processed_at, $1)
		WHERE (app_id, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`
	retryEventsQuery = `UPDATE webhook_events SET claimed_until = $1
		WHERE processed_at IS NULL AND (app_id, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`
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

// queuePlan is how the queue's statements (claim, mark, retry) run: planned
// at each execution for the table as it is then (an unnamed statement;
// pgx caches only its parameter and result types), not prepared once. The
// queue is empty for hours and then holds a burst of events, and a plan
// PostgreSQL caches for a prepared statement after five executions, made
// for the empty table, scans all of it for every batch (the harness's row
// 5d: claims of seconds). A claim or a mark is one statement per batch of
// events, so planning it each time costs little.
const queuePlan = pgx.QueryExecModeCacheDescribe

// ClaimEvents claims up to limit claimable events until until and returns
// them oldest received first (see appwheel.MirrorStore).
func (db *DB) ClaimEvents(ctx context.Context, now, until time.Time, limit int) ([]*appwheel.ClaimedEvent, error) {
	if limit < 1 {
		return nil, nil // PostgreSQL refuses a negative LIMIT
	}
	rows, err := db.pool.Query(ctx, claimEventsQuery, queuePlan, until, now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim events: %w", err)
	}
	evs, err := collect(rows, codec.ScanClaimedEvent)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim events: %w", err)
	}
	storerow.SortClaimed(evs)
	return evs, nil
}

// MarkEventsProcessed records that the events were applied at at, in one
// statement; events marked already keep their first time.
func (db *DB) MarkEventsProcessed(ctx context.Context, events []appwheel.EventKey, at time.Time) error {
	return db.execEvents(ctx, "mark events processed", markEventsProcessedQuery, at, events)
}

// RetryEvents moves the claims of the unprocessed events among events to end
// at at.
func (db *DB) RetryEvents(ctx context.Context, events []appwheel.EventKey, at time.Time) error {
	return db.execEvents(ctx, "retry events", retryEventsQuery, at, events)
}

// execEvents runs one of the batch statements, whose arguments are a time
// and the events' apps and ids.
func (db *DB) execEvents(ctx context.Context, what, query string, at time.Time, events []appwheel.EventKey) error {
	if len(events) == 0 {
		return nil
	}
	apps, ids := make([]string, len(events)), make([]string, len(events))
	for i, k := range events {
		apps[i], ids[i] = k.AppID, k.ID
	}
	if _, err := db.pool.Exec(ctx, query, queuePlan, at, apps, ids); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	return nil
}
