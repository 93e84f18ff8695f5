package e2e_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/appwheel/appwheel/client"

	_ "modernc.org/sqlite"
)

// TestCrashRestartConverges kills `appwheel dev` (SQLite) with SIGKILL while
// the sandbox's webhooks are being applied and writes are in flight, starts
// it again on the same data, and checks that every recorded event is
// applied (once: the event id is the key) and that the mirror then shows
// what the sandbox holds.
func TestCrashRestartConverges(t *testing.T) {
	dir, addr, sandboxAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	// A dead process's jobs are rerun after twice the job timeout.
	env := []string{"APPWHEEL_JOB_TIMEOUT=3s"}
	d := startDevIn(t, dir, addr, sandboxAddr, env...)
	c := ctx(t)
	users := []string{"c0", "c1", "c2", "c3"}
	for _, u := range users {
		d.mustAddCard(u, "pm_card_visa")
		d.cli("sandbox", "subscribe", "--user", u, "--price", "monthly")
	}

	// Writes in flight while the crash comes: new users adding cards.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				d.client.CreatePaymentMethod(c, client.CreatePaymentMethodParams{AppUserID: fmt.Sprintf("w%d-%d", w, n), Type: client.TypeSetupIntent})
			}
		})
	}
	// A renewal month: invoices, payments, subscription updates, a burst
	// of webhooks; the process dies while they are being applied.
	d.cli("sandbox", "advance", "--days", "31")
	d.kill()
	close(stop)
	wg.Wait()

	d = startDevIn(t, dir, addr, sandboxAddr, env...)
	db, err := sql.Open("sqlite", filepath.Join(dir, "appwheel.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eventuallyWithin(t, 2*time.Minute, "every recorded event applied", func() bool {
		var pending int
		if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM webhook_events WHERE processed_at IS NULL`).Scan(&pending); err != nil {
			return false
		}
		return pending == 0
	})
	for _, u := range users {
		eventually(t, u+"'s two paid invoices and active subscription in the mirror", func() bool {
			page, err := d.client.Invoices(c, client.InvoicesParams{AppUserID: u})
			if err != nil || len(page.Invoices) != 2 {
				return false
			}
			for _, inv := range page.Invoices {
				if inv.InvoiceStatus != "paid" || inv.OrderStatus != 1 {
					return false
				}
			}
			subs, err := d.client.Subscriptions(c, u)
			return err == nil && len(subs) == 1 && subs[0].Status == "active"
		})
		if list := d.methods(u); len(list.Methods) != 1 {
			t.Errorf("%s has %d methods, want 1", u, len(list.Methods))
		}
	}
	var dup int
	db.QueryRow(`SELECT count(*) FROM (SELECT id FROM webhook_events GROUP BY app_id, id HAVING count(*) > 1)`).Scan(&dup)
	if dup != 0 {
		t.Errorf("%d events recorded more than once", dup)
	}
}
