package http_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/appwheel/appwheel"

	_ "modernc.org/sqlite"
)

// TestDatabaseLocked holds SQLite's write lock from another connection, as
// a long migration or a stuck process would: a signed write (which
// records its nonce) fails in the envelope within the busy timeout instead
// of hanging, and requests succeed again once the lock is gone.
func TestDatabaseLocked(t *testing.T) {
	e := newEnv(t)
	app := e.NewApp("a")
	e.do(app, req{method: "GET", target: listTarget}).want(t, 200, 0)

	other, err := sql.Open("sqlite", e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	// A write: its signature is recorded in the database (a read's
	// authentication writes nothing, and WAL lets it read under the lock).
	r := e.do(app, req{method: "POST", target: "/v1/stripe/payment-methods", body: `{"appUserId":"u1","type":"setupIntent"}`})
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("request with the database locked took %v; want it to give up within the busy timeout", took)
	}
	r.want(t, 500, appwheel.EINTERNAL)
	if r.Msg != "internal error" {
		t.Errorf("message = %q; want no detail leaked", r.Msg)
	}

	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	e.do(app, req{method: "GET", target: listTarget}).want(t, 200, 0)
}
