package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/appwheel/appwheel"
	"github.com/jackc/pgx/v5"
)

// The statements of the kept pages (billing's rendered pages, kept so that
// every replica serves them).
const (
	keptPageQuery = `SELECT version, default_id, expires, body FROM kept_pages
		WHERE app_id = $1 AND customer_id = $2 AND kind = $3`
	// The same version replaces too: a page rendered again at it is as
	// current, and may expire later.
	keepPageQuery = `INSERT INTO kept_pages (app_id, customer_id, kind, version, default_id, expires, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (app_id, customer_id, kind) DO UPDATE SET version = excluded.version,
			default_id = excluded.default_id, expires = excluded.expires, body = excluded.body
		WHERE excluded.version >= kept_pages.version`
)

// KeptPage returns the page kept for the customer under kind, or ENOTFOUND:
// one read by primary key.
func (db *DB) KeptPage(ctx context.Context, appID, customerID, kind string) (*appwheel.KeptPage, error) {
	var p appwheel.KeptPage
	err := db.pool.QueryRow(ctx, keptPageQuery, appID, customerID, kind).Scan(&p.Version, &p.DefaultID, &p.Expires, &p.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, appwheel.Errorf(appwheel.ENOTFOUND, "no %s page kept for customer %q", kind, customerID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: kept %s page of %q in app %q: %w", kind, customerID, appID, err)
	}
	return &p, nil
}

// KeepPage keeps p as the customer's page of kind unless the one kept was
// rendered at a newer version: one upsert, so that of two replicas keeping
// the page at once the newer stays whatever order they commit in (the
// second re-checks the version against the row the first committed). It
// runs on the pool on its own, in no transaction of the caller's.
func (db *DB) KeepPage(ctx context.Context, appID, customerID, kind string, p *appwheel.KeptPage) error {
	body := p.Body
	if body == nil {
		body = []byte{} // a nil slice would be NULL
	}
	if _, err := db.pool.Exec(ctx, keepPageQuery, appID, customerID, kind, p.Version, p.DefaultID, p.Expires, body); err != nil {
		return fmt.Errorf("postgres: keep %s page of %q in app %q: %w", kind, customerID, appID, err)
	}
	return nil
}
