package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/storerow"
)

// The scale databases hold 100,000 users and up to a million invoices:
// too many to write through the store API one call at a time, so they are
// written in bulk, into the schema the binary's migrations created. The
// rows are the stores' own (storerow's column lists and values, with each
// store's Times), so the seed follows the schema wherever the stores do:
// a field added to the invoice mirror is seeded, as its zero value unless
// monthlyInvoice sets it, without touching this file.

// scaleTable is one table's rows: n of them, row(i) the i-th one's values
// in columns order.
type scaleTable struct {
	name    string
	columns []string
	n       int
	row     func(i int) []any
}

// scaleTables are the rows of a scale database of users synced users, each
// with an active subscription, and total invoices: probes users with 25
// each, the rest spread evenly over the other users. Invoice k of the probe
// users belongs to user k/25; the rest go round-robin over the other users.
func scaleTables(c storerow.Codec, appID string, at time.Time, total, probes, users int) []scaleTable {
	now := at.Unix()
	synced := at.Add(-seedSyncedAgo)
	version := at.Add(-seedVersionOffset).UnixMicro()
	probeTotal := probes * probeInvoices
	others := users - probes
	customer := func(u int) string { return fmt.Sprintf("cus_s%07d", u) }
	subscription := func(u int) string { return fmt.Sprintf("sub_s%07d", u) }
	return []scaleTable{
		{"customers", append([]string{"app_id", "created_at", "version"}, storerow.CustomerStates.Columns...), users,
			func(u int) []any {
				cs := &appwheel.CustomerState{AppUserID: fmt.Sprintf("u-%d", u), CustomerID: customer(u), SyncedAt: synced}
				return append([]any{appID, c.Times.Arg(synced), version}, c.CustomerStateValues(cs)...)
			}},
		{"subscriptions", versionedColumns(storerow.Subscriptions), users, func(u int) []any {
			return storerow.Versioned(appID, c.SubscriptionValues(&appwheel.Subscription{
				ID: subscription(u), CustomerID: customer(u), Status: "active", PriceID: benchPrice,
				Interval: "month", IntervalCount: 1, CurrentPeriodEnd: now + 15*day, Created: now - 400*day,
			}), version)
		}},
		{"subscription_status_history", []string{"app_id", "subscription_id", "at", "status"}, users, func(u int) []any {
			return []any{appID, subscription(u), version, "active"}
		}},
		{"invoices", versionedColumns(storerow.Invoices), total, func(k int) []any {
			u, j := k/probeInvoices, k%probeInvoices
			if k >= probeTotal {
				u, j = probes+(k-probeTotal)%others, (k-probeTotal)/others
			}
			inv := monthlyInvoice(fmt.Sprintf("in_s%08d", k), fmt.Sprintf("S%07d-%05d", u, j), u, j, customer(u), subscription(u), now)
			return storerow.Versioned(appID, c.InvoiceValues(inv), version)
		}},
	}
}

// versionedColumns is the column list of storerow.Versioned's arguments.
func versionedColumns(t storerow.Table) []string {
	return append(append([]string{"app_id"}, t.Columns...), "version")
}

// sqliteBatch is how many rows one INSERT of insertSQLite carries: SQLite
// compiles the statement once, and a statement per row would be most of
// the seed's time. SQLite takes up to 32,766 parameters.
const sqliteBatch = 256

// insertSQLite writes table's rows in tx, sqliteBatch to a statement.
func insertSQLite(ctx context.Context, tx *sql.Tx, table scaleTable) error {
	insert := func(rows int) (*sql.Stmt, error) {
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(table.columns)), ", ") + ")"
		return tx.PrepareContext(ctx, `INSERT INTO `+table.name+` (`+strings.Join(table.columns, ", ")+`)
			VALUES `+strings.TrimSuffix(strings.Repeat(one+", ", rows), ", "))
	}
	full, err := insert(sqliteBatch)
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, sqliteBatch*len(table.columns))
	for i := 0; i < table.n; i += sqliteBatch {
		rows := min(sqliteBatch, table.n-i)
		args = args[:0]
		for r := range rows {
			args = append(args, table.row(i+r)...)
		}
		stmt := full
		if rows < sqliteBatch {
			if stmt, err = insert(rows); err != nil {
				return err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// insertPostgres writes table's rows with COPY.
func insertPostgres(ctx context.Context, tx pgx.Tx, table scaleTable) error {
	i := 0
	_, err := tx.CopyFrom(ctx, pgx.Identifier{table.name}, table.columns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == table.n {
			return nil, nil
		}
		i++
		return table.row(i - 1), nil
	}))
	return err
}
