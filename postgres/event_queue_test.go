package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/internal/pgtest"
	"github.com/appwheel/appwheel/postgres"
)

// TestClaimAfterIdleQueue claims from a queue that was empty for a while
// and then filled, on one connection, as a server's applier does: it polls
// the empty queue every second, then a burst of webhooks arrives.
// PostgreSQL switches a prepared statement to a generic plan after five
// executions, and one made while webhook_events was empty (CREATE INDEX
// records it so) joined the table to the claim's subquery in a nested loop
// that ran the subquery, with its FOR UPDATE SKIP LOCKED and LIMIT, once
// per row of the table: each run locked another batch, so one claim took
// thousands of events instead of its limit, in seconds (the harness's row
// 5d hit the 5 s statement timeout). A claim must take at most its limit
// however the statement is planned.
func TestClaimAfterIdleQueue(t *testing.T) {
	admin := pgtest.Admin(t)
	u := pgtest.NewSchemaOn(t, admin)
	db := openDB(t, u, postgres.Options{MaxConns: 1})
	ctx := t.Context()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := db.CreateApp(ctx, &appwheel.AppRecord{
		ID: "app_a", Name: "A", Platform: appwheel.PlatformStripe, SealedSecret: []byte("s"),
		SealedStripeSecretKey: []byte("k"), ReadMode: appwheel.ReadMirror, CreatedAt: t0, UpdatedAt: t0,
	}); err != nil {
		t.Fatal(err)
	}
	// As after a restore, an operator's ANALYZE or autovacuum's: the
	// statistics say the queue is empty.
	if _, err := admin.Exec(ctx, `ANALYZE `+searchPath(t, u)+`.webhook_events`); err != nil {
		t.Fatal(err)
	}
	for range 10 { // the idle applier's polls
		evs, err := db.ClaimEvents(ctx, t0, t0.Add(time.Minute), 100)
		if err != nil || len(evs) != 0 {
			t.Fatalf("ClaimEvents(empty queue): got %d events, error %v; want none", len(evs), err)
		}
	}
	const events = 2000
	for i := range events {
		ev := &appwheel.Event{
			AppID: "app_a", ID: fmt.Sprintf("evt_%05d", i), Type: "invoice.paid", Created: t0.Unix(),
			Payload: []byte(`{}`), ReceivedAt: t0.Add(time.Duration(i) * time.Millisecond),
		}
		if _, err := db.RecordEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(time.Hour)
	for claim := range 3 {
		evs, err := db.ClaimEvents(ctx, now, now.Add(time.Minute), 100)
		if err != nil {
			t.Fatalf("ClaimEvents: %v", err)
		}
		if len(evs) != 100 {
			t.Errorf("claim %d: got %d events, want the limit, 100", claim, len(evs))
		}
		// The oldest unclaimed first, and only those returned are claimed.
		for i, ev := range evs {
			if want := fmt.Sprintf("evt_%05d", claim*100+i); ev.ID != want {
				t.Fatalf("claim %d, event %d: got %s, want %s", claim, i, ev.ID, want)
			}
		}
		var claimed int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM `+searchPath(t, u)+`.webhook_events WHERE claimed_until IS NOT NULL`).Scan(&claimed); err != nil {
			t.Fatal(err)
		}
		if want := (claim + 1) * 100; claimed != want {
			t.Errorf("after claim %d: %d events claimed in the table, want %d", claim, claimed, want)
		}
	}
}
