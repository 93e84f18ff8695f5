package billing_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/stripe"
)

// BenchmarkReadJSON is a mirrored read as the API answers it, rendered
// from the store every time (uncached: the queries, the orders, the links,
// the encoding, as before rendered pages were kept), served from the
// rendered pages (cached: one point read of the customer row), and, for
// invoices, served from the page kept in the database by a process that
// keeps none in memory (kept: the customer row and the kept page), on
// SQLite, for a user with 2 cards and 25 invoices (a page of 20), as the
// harness's.
func BenchmarkReadJSON(b *testing.B) {
	ctx := context.Background()
	e, _ := newCountingEnv(b)
	app := e.newApp(b, "shop", "sk_test_shop")
	e.seedSubscriberWith(b, app, "u1", 25)
	kept := billing.New(billing.Config{
		Store: e.db, Stripe: e.fake, Apps: e.apps, DecodeEvent: stripe.DecodeEvent, Now: e.clock.Now, BackgroundRate: 1000,
		LinkBaseURL: "https://appwheel.test", LinkKey: []byte("pages-test-link-key-0123456789ab"),
		PageCacheBytes: 1, // no page fits: every read goes to the database
	})
	reads := []struct {
		name string
		read func(*billing.Service) (json.RawMessage, error)
	}{
		{"paymentMethod", func(s *billing.Service) (json.RawMessage, error) { return s.PaymentMethodsJSON(ctx, app, "u1") }},
		{"invoices", func(s *billing.Service) (json.RawMessage, error) {
			return s.InvoicesJSON(ctx, app, billing.ListInvoicesParams{AppUserID: "u1"})
		}},
	}
	for _, r := range reads {
		for _, svc := range []struct {
			name string
			s    *billing.Service
		}{{"uncached", e.uncached}, {"cached", e.svc}, {"kept", kept}} {
			if svc.name == "kept" && r.name != "invoices" {
				continue
			}
			b.Run(r.name+"/"+svc.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := r.read(svc.s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
