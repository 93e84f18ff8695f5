package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
)

// ---------------------------------------------------------------------------
// AppWheel's own writes.

func TestMirrorReadAfterOwnWrite(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		cards int
		// write changes the user's methods (cards oldest first, the
		// oldest the default) and returns the events Stripe then sends.
		write       func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event
		wantMethods func(cards []string) []string
		wantDefault func(cards []string) string
	}{
		{
			name: "set default", cards: 3,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.SetDefaultPaymentMethod(ctx, app, "u1", cards[2], ""); err != nil {
					t.Fatal(err)
				}
				return []event{customerUpdated(t, e.eventID(), e.clock.Now().Unix(), appwheel.Customer{ID: cus, DefaultPaymentMethodID: cards[2]}, 1, cards[0])}
			},
			wantMethods: func(c []string) []string { return []string{c[2], c[1], c[0]} },
			wantDefault: func(c []string) string { return c[2] },
		},
		{
			name: "remove a method", cards: 3,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: cards[1]}); err != nil {
					t.Fatal(err)
				}
				return []event{pmDetached(t, e.eventID(), e.clock.Now().Unix(), e.fakePM(t, app, cards[1]), cus)}
			},
			wantMethods: func(c []string) []string { return []string{c[2], c[0]} },
			wantDefault: func(c []string) string { return c[0] },
		},
		{
			name: "remove the default promotes the newest", cards: 3,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: cards[0]}); err != nil {
					t.Fatal(err)
				}
				now := e.clock.Now().Unix()
				return []event{
					customerUpdated(t, e.eventID(), now, appwheel.Customer{ID: cus, DefaultPaymentMethodID: cards[2]}, 1, cards[0]),
					pmDetached(t, e.eventID(), now, e.fakePM(t, app, cards[0]), cus),
				}
			},
			wantMethods: func(c []string) []string { return []string{c[2], c[1]} },
			wantDefault: func(c []string) string { return c[2] },
		},
		{
			name: "remove the last method clears the default", cards: 1,
			write: func(t *testing.T, e *mirrorEnv, app *appwheel.App, cus string, cards []string) []event {
				if _, err := e.svc.RemovePaymentMethod(ctx, app, billing.RemovePaymentMethodParams{AppUserID: "u1", MethodID: cards[0]}); err != nil {
					t.Fatal(err)
				}
				now := e.clock.Now().Unix()
				return []event{
					pmDetached(t, e.eventID(), now, e.fakePM(t, app, cards[0]), cus),
					customerUpdated(t, e.eventID(), now, appwheel.Customer{ID: cus}, 1, cards[0]),
				}
			},
			wantMethods: func(c []string) []string { return []string{} },
			wantDefault: func(c []string) string { return "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMirrorEnv(t)
			app := e.newApp(t, "shop", "sk_test_shop")
			cus := e.user(t, app, "u1", false)
			cards := e.cardsOf(t, app, cus, tt.cards)
			e.setDefault(t, app, cus, cards[0])
			if _, err := e.svc.PaymentMethods(ctx, app, "u1"); err != nil { // backfills
				t.Fatal(err)
			}
			e.clock.Advance(time.Second)

			events := tt.write(t, e, app, cus, cards)
			e.fake.ResetCalls()
			got, err := e.svc.PaymentMethods(ctx, app, "u1")
			if err != nil {
				t.Fatal(err)
			}
			wantNoStripeCalls(t, e.fake)
			if diff := cmp.Diff(tt.wantMethods(cards), methodIDs(t, got.Methods)); diff != "" {
				t.Errorf("methods right after the write (-want +got):\n%s", diff)
			}
			if want := tt.wantDefault(cards); got.DefaultMethodID != want {
				t.Errorf("default right after the write = %q, want %q", got.DefaultMethodID, want)
			}
			e.wantMirrorIsTruth(t, app, "u1")

			// Stripe's webhooks for the write, from the same second, change
			// nothing.
			for _, ev := range events {
				e.deliver(t, app, ev)
			}
			e.wantMirrorIsTruth(t, app, "u1")
		})
	}
}
