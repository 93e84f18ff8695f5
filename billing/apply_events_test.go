package billing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
)

// TestApplyEventsBatchConverges records several users' event streams
// interleaved in shuffled orders and applies them as the jobs do, a claimed
// batch at a time through ApplyEvents (each batch once, or twice as after a
// crash before it was marked), each order to its own app on one Stripe
// account. Every user's mirror must be the one that applying each event on
// its own, in order, gives, and Stripe's.
func TestApplyEventsBatchConverges(t *testing.T) {
	ctx := context.Background()
	e := newMirrorEnv(t)
	acct := appwheel.StripeAccount{SecretKey: "sk_test_batch"}

	type user struct {
		name, customer string
		stream         []event
	}
	var users []user
	var last int64
	for k := range 4 {
		u := user{name: fmt.Sprintf("u%d", k)}
		u.customer = e.fake.AddCustomer(acct, "shared", u.name).ID
		pm1 := e.fake.AttachCard(acct, u.customer, "visa", "4242")
		pm2 := e.fake.AttachCard(acct, u.customer, "mastercard", "4444")
		if err := e.fake.SetDefaultPaymentMethod(ctx, acct, u.customer, pm2.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.fake.DetachPaymentMethod(ctx, acct, pm1.ID, ""); err != nil {
			t.Fatal(err)
		}
		detached, err := e.fake.PaymentMethod(ctx, acct, pm1.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Same-second events (ties) on purpose, as Stripe sends them.
		t1 := pm2.Created + 1
		sub := appwheel.Subscription{
			ID: "sub_batch" + u.name, CustomerID: u.customer, Status: "incomplete", PriceID: "price_pro",
			Interval: "month", IntervalCount: 1, Created: t1, CurrentPeriodEnd: t1 + 30*day,
		}
		active := sub
		active.Status = "active"
		// The last status change is an event's: a re-fetch's observation
		// of the same status folds into it, whatever version this
		// process gave the re-fetch.
		canceling := active
		canceling.CancelAtPeriodEnd = true
		e.fake.AddSubscription(acct, u.customer, canceling)
		open := monthlyInvoice("in_batch000"+fmt.Sprint(k), u.customer, sub.ID, "price_pro", "open", t1)
		paid := open
		paid.Status, paid.AmountPaid, paid.PaidAt = "paid", 999, t1+2
		e.fake.AddInvoice(acct, paid)
		u.stream = []event{
			pmAttached(t, e.eventID(), pm1.Created, pm1),
			pmAttached(t, e.eventID(), pm2.Created, pm2),
			customerUpdated(t, e.eventID(), t1, appwheel.Customer{ID: u.customer, DefaultPaymentMethodID: pm2.ID}, t1-3600, pm1.ID),
			pmDetached(t, e.eventID(), t1, detached, u.customer),
			subscriptionEvent(t, e.eventID(), "customer.subscription.created", t1, sub, t1, ""),
			subscriptionEvent(t, e.eventID(), "customer.subscription.updated", t1, active, t1, "incomplete"),
			invoiceEvent(t, e.eventID(), "invoice.finalized", t1, open),
			invoiceEvent(t, e.eventID(), "invoice.paid", t1+2, paid),
			subscriptionEvent(t, e.eventID(), "customer.subscription.updated", t1+3, canceling, t1, ""),
		}
		last = max(last, t1+3)
		users = append(users, u)
	}
	e.clock.Set(time.Unix(last+60, 0)) // applied well after, the clock standing still

	newApp := func(name string) *appwheel.App {
		app := e.newApp(t, name, acct.SecretKey)
		for _, u := range users {
			e.mapCustomer(t, app, u.name, u.customer, true)
		}
		return app
	}
	type outcome struct {
		State   mirrorState
		History map[string][]appwheel.StatusChange
	}
	outcomeOf := func(app *appwheel.App, u user) outcome {
		var o outcome
		o.State = e.mirrored(t, app, u.name)
		var err error
		if o.History, err = e.db.StatusHistory(ctx, app.ID, []string{"sub_batch" + u.name}); err != nil {
			t.Fatal(err)
		}
		return o
	}

	inOrder := newApp("one_by_one")
	e.fake.ResetCalls()
	for _, u := range users {
		for _, ev := range u.stream {
			e.deliver(t, inOrder, ev)
		}
	}
	t.Logf("one by one, in order: %d Stripe calls", e.fake.TotalCalls())
	want := map[string]outcome{}
	for _, u := range users {
		want[u.name] = outcomeOf(inOrder, u)
		if diff := cmp.Diff(e.truth(t, inOrder, u.customer), want[u.name].State, ignorePriceTerms); diff != "" {
			t.Errorf("%s applied one by one differs from Stripe (-stripe +mirror):\n%s", u.name, diff)
		}
	}

	var all []event
	for _, u := range users {
		all = append(all, u.stream...)
	}
	for _, tc := range []struct {
		seed  uint64
		batch int
		twice bool
	}{
		{1, len(all), false}, {2, len(all), true}, {3, 5, false}, {4, 5, true}, {5, 1, false}, {6, 12, false},
	} {
		name := fmt.Sprintf("seed %d, batches of %d", tc.seed, tc.batch)
		if tc.twice {
			name += ", each applied twice"
		}
		t.Run(name, func(t *testing.T) {
			app := newApp(fmt.Sprintf("batch%d", tc.seed))
			received := e.clock.Now()
			for _, i := range rand.New(rand.NewPCG(tc.seed, 13)).Perm(len(all)) {
				received = received.Add(time.Microsecond)
				ev := all[i]
				if _, err := e.db.RecordEvent(ctx, &appwheel.Event{
					AppID: app.ID, ID: ev.ID, Type: ev.Type, Created: ev.Created, Payload: ev.Payload, ReceivedAt: received,
				}); err != nil {
					t.Fatal(err)
				}
			}
			e.fake.ResetCalls()
			applied := 0
			for {
				claimed, err := e.db.ClaimEvents(ctx, received, received.Add(time.Hour), tc.batch)
				if err != nil {
					t.Fatal(err)
				}
				if len(claimed) == 0 {
					break
				}
				batch := make([]*appwheel.Event, len(claimed))
				keys := make([]appwheel.EventKey, len(claimed))
				for i, ce := range claimed {
					batch[i], keys[i] = &ce.Event, appwheel.EventKey{AppID: ce.AppID, ID: ce.ID}
				}
				for range map[bool]int{false: 1, true: 2}[tc.twice] {
					for i, err := range e.svc.ApplyEvents(ctx, batch) {
						if err != nil {
							t.Fatalf("ApplyEvents: %s %s: %v", batch[i].Type, batch[i].ID, err)
						}
					}
				}
				if err := e.db.MarkEventsProcessed(ctx, keys, e.clock.Now()); err != nil {
					t.Fatal(err)
				}
				applied += len(claimed)
			}
			if applied != len(all) {
				t.Errorf("events applied: got %d, want %d", applied, len(all))
			}
			t.Logf("%d Stripe calls", e.fake.TotalCalls())
			for _, u := range users {
				if diff := cmp.Diff(want[u.name], outcomeOf(app, u)); diff != "" {
					t.Errorf("%s differs from one by one (-one by one +batched):\n%s", u.name, diff)
				}
			}
		})
	}
}
