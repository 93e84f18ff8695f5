package postgres

import (
	"context"
	"fmt"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
	"github.com/jackc/pgx/v5"
)

// The statements of the subscriptions, built once from storerow's column
// list.
var (
	saveSubscriptionQuery = `INSERT INTO subscriptions (app_id, ` + storerow.Subscriptions.List() + `, version)
		VALUES (` + params(len(storerow.Subscriptions.Columns)+2) + `)
		ON CONFLICT (app_id, id) DO UPDATE SET ` + storerow.Subscriptions.Excluded() + `, version = excluded.version
		WHERE excluded.version > subscriptions.version`
	// A customer's subscriptions in subscriptions_by_customer order.
	subscriptionsOfQuery = `SELECT ` + storerow.Subscriptions.List() + ` FROM subscriptions
		WHERE app_id = $1 AND customer_id = $2
		ORDER BY created DESC, id DESC`
)

// SaveSubscription writes sub when version is newer than the stored one,
// reports whether it wrote, and records sub.Status as observed at version in
// the subscription's status history, in one transaction.
//
// The row is one versioned upsert, as for payment methods. The history is
// kept whatever the version order: every observation is added (a
// redelivery is a no-op), including one older than the row, and
// StatusHistory drops the observations that repeat the status in force.
// Keeping only the changes as they arrive would not converge: after
// active@1 and active@3, a late past_due@2 must show the return to active
// at 3, which only the observation active@3 can tell.
func (db *DB) SaveSubscription(ctx context.Context, appID string, sub *appwheel.Subscription, version int64) (bool, error) {
	var ok bool
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, saveSubscriptionQuery, storerow.Versioned(appID, codec.SubscriptionValues(sub), version)...)
		if err != nil {
			return err
		}
		ok = wrote(tag)
		_, err = tx.Exec(ctx, `
			INSERT INTO subscription_status_history (app_id, subscription_id, at, status)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`,
			appID, sub.ID, version, sub.Status)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postgres: save subscription %q of app %q: %w", sub.ID, appID, err)
	}
	return ok, nil
}

// SubscriptionsOf returns a customer's subscriptions, newest first (created,
// then id, descending): one scan of subscriptions_by_customer.
func (db *DB) SubscriptionsOf(ctx context.Context, appID, customerID string) ([]*appwheel.Subscription, error) {
	rows, err := db.pool.Query(ctx, subscriptionsOfQuery, appID, customerID)
	if err != nil {
		return nil, fmt.Errorf("postgres: subscriptions of %q in app %q: %w", customerID, appID, err)
	}
	subs, err := collect(rows, codec.ScanSubscription)
	if err != nil {
		return nil, fmt.Errorf("postgres: subscriptions of %q in app %q: %w", customerID, appID, err)
	}
	return subs, nil
}

// StatusHistory returns each subscription's status changes, oldest first,
// folded from the recorded observations by appwheel.FoldStatusHistory.
// Subscriptions with no history are absent from the map. The read follows
// the history's key (subscription, version, status), the order the fold
// works in.
func (db *DB) StatusHistory(ctx context.Context, appID string, subscriptionIDs []string) (map[string][]appwheel.StatusChange, error) {
	if len(subscriptionIDs) == 0 {
		return map[string][]appwheel.StatusChange{}, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT subscription_id, at, status FROM subscription_status_history
		WHERE app_id = $1 AND subscription_id = ANY ($2)
		ORDER BY subscription_id, at, status`,
		appID, subscriptionIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: status history in app %q: %w", appID, err)
	}
	obs, err := collect(rows, func(row storerow.Row) (appwheel.StatusObservation, error) {
		var o appwheel.StatusObservation
		err := row.Scan(&o.SubscriptionID, &o.At, &o.Status)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: status history in app %q: %w", appID, err)
	}
	return appwheel.FoldStatusHistory(obs), nil
}
