package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
)

func testNotify(t *testing.T, newStore NewStoreFunc) {
	t.Run("CreateThenGet", func(t *testing.T) {
		full := newEndpoint("app_a", "we_1", t0)
		full.Events = []string{appwheel.NotifyInvoicePaid, appwheel.NotifyPaymentMethodAdded}
		full.SealedSecret = []byte{0, 1, 2, 0xff}
		full.Disabled = true
		full.DisabledReason = appwheel.DisabledFailing
		full.FailingSince = t0.Add(-72 * time.Hour)
		emptyEvents := newEndpoint("app_a", "we_1", t0)
		emptyEvents.Events = []string{}
		tests := []struct {
			name     string
			ep, want *appwheel.WebhookEndpoint
		}{
			{"every field set", full, full},
			{"all events (nil)", newEndpoint("app_a", "we_1", t0), newEndpoint("app_a", "we_1", t0)},
			// No event types read back as nil, however they were written.
			{"all events (empty)", emptyEvents, newEndpoint("app_a", "we_1", t0)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a")
				mustCreateEndpoint(t, s, tt.ep)
				got := checkEndpoint(t, s, tt.want)
				if tt.want.Events == nil && got.Events != nil {
					t.Errorf("Endpoint: Events = %#v, want nil", got.Events)
				}
				if tt.want.FailingSince.IsZero() && !got.FailingSince.IsZero() {
					t.Errorf("Endpoint: FailingSince = %v, want zero", got.FailingSince)
				}
				eps := mustEndpoints(t, s, "app_a")
				if diff := cmp.Diff([]*appwheel.WebhookEndpoint{tt.want}, eps, equateMicro); diff != "" {
					t.Errorf("Endpoints mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("ListOldestFirstByApp", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b", "app_c")
		if eps := mustEndpoints(t, s, "app_a"); len(eps) != 0 {
			t.Fatalf("Endpoints of an app without any: got %d, want 0", len(eps))
		}
		// Created out of order, so only CreatedAt can give the order; two in
		// the same instant come in ID order.
		var want []*appwheel.WebhookEndpoint
		for _, e := range []struct {
			id  string
			age time.Duration
		}{{"we_b", 2 * time.Hour}, {"we_d", time.Hour}, {"we_a", 3 * time.Hour}, {"we_c", time.Hour}} {
			mustCreateEndpoint(t, s, newEndpoint("app_a", e.id, t0.Add(-e.age)))
		}
		for _, e := range []struct {
			id  string
			age time.Duration
		}{{"we_a", 3 * time.Hour}, {"we_b", 2 * time.Hour}, {"we_c", time.Hour}, {"we_d", time.Hour}} {
			want = append(want, newEndpoint("app_a", e.id, t0.Add(-e.age)))
		}
		// app_b has its own, one with an ID of app_a's.
		wantB := []*appwheel.WebhookEndpoint{newEndpoint("app_b", "we_b", t0.Add(-4*time.Hour)), newEndpoint("app_b", "we_x", t0)}
		for _, ep := range wantB {
			mustCreateEndpoint(t, s, ep)
		}
		if diff := cmp.Diff(want, mustEndpoints(t, s, "app_a"), equateMicro); diff != "" {
			t.Errorf("Endpoints(app_a) mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantB, mustEndpoints(t, s, "app_b"), equateMicro); diff != "" {
			t.Errorf("Endpoints(app_b) mismatch (-want +got):\n%s", diff)
		}
		if eps := mustEndpoints(t, s, "app_c"); len(eps) != 0 {
			t.Errorf("Endpoints(app_c): got %d, want 0", len(eps))
		}
		if eps := mustEndpoints(t, s, "app_missing"); len(eps) != 0 {
			t.Errorf("Endpoints(app_missing): got %d, want 0", len(eps))
		}
		checkEndpoint(t, s, newEndpoint("app_a", "we_b", t0.Add(-2*time.Hour)))
		checkEndpoint(t, s, wantB[0])
	})

	t.Run("CreateDuplicate", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		first := newEndpoint("app_a", "we_1", t0)
		mustCreateEndpoint(t, s, first)
		second := newEndpoint("app_a", "we_1", t0.Add(time.Hour))
		second.URL = "https://impostor.example.com/hook"
		wantCode(t, "CreateEndpoint of an existing id", s.CreateEndpoint(t.Context(), second), appwheel.ECONFLICT)
		checkEndpoint(t, s, first)
		if eps := mustEndpoints(t, s, "app_a"); len(eps) != 1 {
			t.Errorf("Endpoints after a duplicate: got %d, want 1", len(eps))
		}
		// The same ID in another app is another endpoint.
		other := newEndpoint("app_b", "we_1", t0.Add(time.Hour))
		mustCreateEndpoint(t, s, other)
		checkEndpoint(t, s, other)
		checkEndpoint(t, s, first)
	})

	t.Run("NotFound", func(t *testing.T) {
		tests := []struct {
			name string
			call func(ctx context.Context, s appwheel.Store) error
		}{
			{"Endpoint", func(ctx context.Context, s appwheel.Store) error {
				_, err := s.Endpoint(ctx, "app_a", "we_missing")
				return err
			}},
			{"UpdateEndpoint", func(ctx context.Context, s appwheel.Store) error {
				return s.UpdateEndpoint(ctx, newEndpoint("app_a", "we_missing", t0))
			}},
			{"DeleteEndpoint", func(ctx context.Context, s appwheel.Store) error {
				return s.DeleteEndpoint(ctx, "app_a", "we_missing")
			}},
			{"MarkEndpointResult delivered", func(ctx context.Context, s appwheel.Store) error {
				_, err := s.MarkEndpointResult(ctx, "app_a", "we_missing", true, t0)
				return err
			}},
			{"MarkEndpointResult failed", func(ctx context.Context, s appwheel.Store) error {
				_, err := s.MarkEndpointResult(ctx, "app_a", "we_missing", false, t0)
				return err
			}},
			// Another app's endpoint is not the app's.
			{"Endpoint of another app", func(ctx context.Context, s appwheel.Store) error {
				_, err := s.Endpoint(ctx, "app_b", "we_1")
				return err
			}},
			{"UpdateEndpoint of another app", func(ctx context.Context, s appwheel.Store) error {
				ep := newEndpoint("app_b", "we_1", t0)
				ep.URL = "https://impostor.example.com/hook"
				return s.UpdateEndpoint(ctx, ep)
			}},
			{"DeleteEndpoint of another app", func(ctx context.Context, s appwheel.Store) error {
				return s.DeleteEndpoint(ctx, "app_b", "we_1")
			}},
			{"MarkEndpointResult of another app", func(ctx context.Context, s appwheel.Store) error {
				_, err := s.MarkEndpointResult(ctx, "app_b", "we_1", false, t0)
				return err
			}},
			{"Notification", func(ctx context.Context, s appwheel.Store) error {
				_, err := s.Notification(ctx, "evt_missing")
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a", "app_b")
				ep := newEndpoint("app_a", "we_1", t0)
				mustCreateEndpoint(t, s, ep)
				checkRecordNotification(t, s, newNotification("app_a", "evt_1", t0), true)
				wantCode(t, tt.name, tt.call(t.Context(), s), appwheel.ENOTFOUND)
				// app_a's endpoint is untouched.
				checkEndpoint(t, s, ep)
			})
		}
	})

	t.Run("UpdateRoundTrip", func(t *testing.T) {
		tests := []struct {
			name     string
			from, to func(ep *appwheel.WebhookEndpoint)
		}{
			{"every field", nil, func(ep *appwheel.WebhookEndpoint) {
				ep.URL = "https://other.example.com/v2/hooks?x=1"
				ep.Events = []string{appwheel.NotifySubscriptionUpdated, appwheel.NotifyInvoiceCreated}
				ep.SealedSecret = []byte("sealed-rotated")
				ep.Disabled = true
				ep.DisabledReason = appwheel.DisabledByOperator
				ep.FailingSince = t0.Add(-time.Hour)
				ep.CreatedAt = t0.Add(-24 * time.Hour)
				ep.UpdatedAt = t0.Add(time.Hour)
			}},
			{"events set", nil, func(ep *appwheel.WebhookEndpoint) {
				ep.Events = []string{appwheel.NotifyInvoicePaymentFailed}
			}},
			{"events cleared", func(ep *appwheel.WebhookEndpoint) {
				ep.Events = []string{appwheel.NotifyInvoicePaid}
			}, func(ep *appwheel.WebhookEndpoint) {
				ep.Events = nil
			}},
			{"failing since set", nil, func(ep *appwheel.WebhookEndpoint) {
				ep.FailingSince = t0.Add(time.Minute)
			}},
			{"failing since cleared", func(ep *appwheel.WebhookEndpoint) {
				ep.FailingSince = t0.Add(time.Minute)
			}, func(ep *appwheel.WebhookEndpoint) {
				ep.FailingSince = time.Time{}
			}},
			{"disabled", nil, func(ep *appwheel.WebhookEndpoint) {
				ep.Disabled, ep.DisabledReason = true, appwheel.DisabledFailing
			}},
			{"enabled again", func(ep *appwheel.WebhookEndpoint) {
				ep.Disabled, ep.DisabledReason = true, appwheel.DisabledByOperator
			}, func(ep *appwheel.WebhookEndpoint) {
				ep.Disabled, ep.DisabledReason = false, ""
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a", "app_b")
				ep := newEndpoint("app_a", "we_1", t0)
				if tt.from != nil {
					tt.from(ep)
				}
				mustCreateEndpoint(t, s, ep)
				sibling := newEndpoint("app_a", "we_2", t0)
				mustCreateEndpoint(t, s, sibling)
				other := newEndpoint("app_b", "we_1", t0)
				mustCreateEndpoint(t, s, other)

				want := newEndpoint("app_a", "we_1", t0)
				if tt.from != nil {
					tt.from(want)
				}
				tt.to(want)
				if err := s.UpdateEndpoint(t.Context(), want); err != nil {
					t.Fatalf("UpdateEndpoint: got error %v, want nil", err)
				}
				got := checkEndpoint(t, s, want)
				if want.FailingSince.IsZero() && !got.FailingSince.IsZero() {
					t.Errorf("Endpoint: FailingSince = %v, want zero", got.FailingSince)
				}
				if want.Events == nil && got.Events != nil {
					t.Errorf("Endpoint: Events = %#v, want nil", got.Events)
				}
				checkEndpoint(t, s, sibling)
				checkEndpoint(t, s, other)
			})
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		ctx := t.Context()
		ep := newEndpoint("app_a", "we_1", t0)
		mustCreateEndpoint(t, s, ep)
		kept := newEndpoint("app_a", "we_2", t0.Add(time.Second))
		mustCreateEndpoint(t, s, kept)
		other := newEndpoint("app_b", "we_1", t0)
		mustCreateEndpoint(t, s, other)
		a := newAttempt("app_a", "evt_1", "we_1", 1, t0)
		mustRecordAttempt(t, s, a)

		if err := s.DeleteEndpoint(ctx, "app_a", "we_1"); err != nil {
			t.Fatalf("DeleteEndpoint: got error %v, want nil", err)
		}
		_, err := s.Endpoint(ctx, "app_a", "we_1")
		wantCode(t, "Endpoint after DeleteEndpoint", err, appwheel.ENOTFOUND)
		if diff := cmp.Diff([]*appwheel.WebhookEndpoint{kept}, mustEndpoints(t, s, "app_a"), equateMicro); diff != "" {
			t.Errorf("Endpoints after DeleteEndpoint mismatch (-want +got):\n%s", diff)
		}
		checkEndpoint(t, s, other)
		// Its attempts are kept.
		checkAttempts(t, s, "app_a", false, 10, []*appwheel.DeliveryAttempt{a})
		wantCode(t, "DeleteEndpoint again", s.DeleteEndpoint(ctx, "app_a", "we_1"), appwheel.ENOTFOUND)
		// The ID may be used again.
		again := newEndpoint("app_a", "we_1", t0.Add(time.Hour))
		mustCreateEndpoint(t, s, again)
		checkEndpoint(t, s, again)
	})

	t.Run("MarkEndpointResult", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		ep := newEndpoint("app_a", "we_1", t0)
		mustCreateEndpoint(t, s, ep)
		other := newEndpoint("app_b", "we_1", t0)
		mustCreateEndpoint(t, s, other)
		want := *ep

		// A success of an endpoint that never failed leaves it not failing.
		checkMark(t, s, "app_a", "we_1", true, t0.Add(time.Minute), time.Time{})
		checkEndpoint(t, s, &want)

		// The first failure sets FailingSince; a second keeps the first time.
		t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
		checkMark(t, s, "app_a", "we_1", false, t1, t1)
		want.FailingSince = t1
		checkEndpoint(t, s, &want)
		checkMark(t, s, "app_a", "we_1", false, t2, t1)
		// UpdatedAt, the operator's edit time, stays.
		checkEndpoint(t, s, &want)
		checkEndpoint(t, s, other)

		// A success clears it, and the next failure starts again.
		checkMark(t, s, "app_a", "we_1", true, t2.Add(time.Minute), time.Time{})
		want.FailingSince = time.Time{}
		got := checkEndpoint(t, s, &want)
		if !got.FailingSince.IsZero() {
			t.Errorf("Endpoint after a success: FailingSince = %v, want zero", got.FailingSince)
		}
		checkMark(t, s, "app_a", "we_1", false, t3, t3)
		want.FailingSince = t3
		checkEndpoint(t, s, &want)

		// A disabled endpoint's results are recorded too.
		want.Disabled, want.DisabledReason = true, appwheel.DisabledFailing
		if err := s.UpdateEndpoint(t.Context(), &want); err != nil {
			t.Fatalf("UpdateEndpoint: got error %v, want nil", err)
		}
		checkMark(t, s, "app_a", "we_1", false, t3.Add(time.Hour), t3)
		checkMark(t, s, "app_a", "we_1", true, t3.Add(2*time.Hour), time.Time{})
		want.FailingSince = time.Time{}
		checkEndpoint(t, s, &want)
		checkEndpoint(t, s, other)
	})

	t.Run("RecordNotification", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		first := newNotification("app_a", "evt_1", t0)
		// Bytes kept as they are: not re-encoded as JSON.
		first.Body = []byte("{\n  \"id\": \"evt_1\", \"type\":\"invoice.paid\",\"x\":\"\\u00e9\" }")
		checkRecordNotification(t, s, first, true)
		checkNotification(t, s, first)

		// Recorded again (the same fact seen twice): not new, and the first
		// body stays.
		again := newNotification("app_a", "evt_1", t0.Add(time.Minute))
		again.Type = appwheel.NotifyInvoicePaymentFailed
		again.Body = []byte(`{"id":"evt_1","again":true}`)
		checkRecordNotification(t, s, again, false)
		checkNotification(t, s, first)

		// Another app's notification is found by its id alone.
		other := newNotification("app_b", "evt_2", t0.Add(time.Second))
		other.Type = appwheel.NotifyPaymentMethodRemoved
		other.AppUserID = "user_b"
		other.Body = []byte{0, 0xff, '{', '}'}
		checkRecordNotification(t, s, other, true)
		checkNotification(t, s, other)
		checkNotification(t, s, first)

		// The same id is new to another app.
		shared := newNotification("app_b", "evt_1", t0.Add(2*time.Second))
		checkRecordNotification(t, s, shared, true)
		got, err := s.Notification(t.Context(), "evt_1")
		if err != nil {
			t.Fatalf("Notification(evt_1): got error %v, want nil", err)
		}
		if !cmp.Equal(first, got, equateMicro) && !cmp.Equal(shared, got, equateMicro) {
			t.Errorf("Notification(evt_1) of two apps: got %+v, want either app's", got)
		}
	})

	t.Run("AttemptsRoundTrip", func(t *testing.T) {
		delivered := newAttempt("app_a", "evt_1", "we_1", 1, t0)
		delivered.StatusCode = 204
		delivered.Latency = 1234567 * time.Microsecond
		retrying := newAttempt("app_a", "evt_1", "we_1", 2, t0)
		retrying.StatusCode = 503
		retrying.Latency = 30 * time.Second
		retrying.Error = "503 Service Unavailable"
		retrying.Outcome = appwheel.DeliveryRetrying
		retrying.NextRetryAt = t0.Add(5*time.Minute + 7*time.Microsecond)
		failed := newAttempt("app_a", "evt_1", "we_1", 8, t0)
		failed.StatusCode = 0
		failed.Latency = time.Microsecond
		failed.Error = `dial tcp: lookup hooks.example.com: no such host "☕"`
		failed.Outcome = appwheel.DeliveryFailed
		zero := newAttempt("app_a", "evt_1", "we_1", 1, t0)
		zero.StatusCode, zero.Latency = 0, 0
		tests := []struct {
			name string
			a    *appwheel.DeliveryAttempt
		}{
			{"delivered", delivered},
			{"retrying", retrying},
			{"failed", failed},
			{"no status, no latency", zero},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_a")
				mustRecordAttempt(t, s, tt.a)
				got := checkAttempts(t, s, "app_a", false, 10, []*appwheel.DeliveryAttempt{tt.a})
				if len(got) == 1 && got[0].Latency != tt.a.Latency {
					t.Errorf("Latency: got %v, want %v", got[0].Latency, tt.a.Latency)
				}
				if len(got) == 1 && tt.a.NextRetryAt.IsZero() && !got[0].NextRetryAt.IsZero() {
					t.Errorf("NextRetryAt: got %v, want zero", got[0].NextRetryAt)
				}
			})
		}
	})

	t.Run("AttemptsOrder", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		ctx := t.Context()
		at := func(d time.Duration) time.Time { return t0.Add(d) }
		failedAt := func(a *appwheel.DeliveryAttempt) *appwheel.DeliveryAttempt {
			a.StatusCode, a.Error, a.Outcome = 500, "500 Internal Server Error", appwheel.DeliveryRetrying
			a.NextRetryAt = a.At.Add(time.Minute)
			return a
		}
		// Newest first: At, then EventID, EndpointID and Attempt, descending.
		want := []*appwheel.DeliveryAttempt{
			newAttempt("app_a", "evt_1", "we_1", 3, at(time.Hour)),
			failedAt(newAttempt("app_a", "evt_2", "we_1", 1, at(time.Minute))),
			newAttempt("app_a", "evt_1", "we_2", 1, at(time.Minute)),
			failedAt(newAttempt("app_a", "evt_1", "we_1", 2, at(time.Minute))),
			newAttempt("app_a", "evt_1", "we_1", 1, at(time.Minute)),
			failedAt(newAttempt("app_a", "evt_1", "we_1", 1, at(time.Microsecond))),
			newAttempt("app_a", "evt_3", "we_9", 1, at(0)),
		}
		// Recorded in another order, so only the stored fields give it; and
		// app_b's, newer and older, are not app_a's.
		for _, i := range []int{4, 0, 6, 2, 5, 1, 3} {
			mustRecordAttempt(t, s, want[i])
		}
		wantB := []*appwheel.DeliveryAttempt{
			failedAt(newAttempt("app_b", "evt_1", "we_1", 1, at(2*time.Hour))),
			newAttempt("app_b", "evt_1", "we_1", 1, at(-time.Hour)),
		}
		for _, a := range wantB {
			mustRecordAttempt(t, s, a)
		}
		var failed []*appwheel.DeliveryAttempt
		for _, a := range want {
			if a.Error != "" {
				failed = append(failed, a)
			}
		}
		tests := []struct {
			name       string
			appID      string
			failedOnly bool
			limit      int
			want       []*appwheel.DeliveryAttempt
		}{
			{"all", "app_a", false, 100, want},
			{"exact fit", "app_a", false, len(want), want},
			{"limit", "app_a", false, 3, want[:3]},
			{"limit 1", "app_a", false, 1, want[:1]},
			{"limit 0", "app_a", false, 0, nil},
			{"failed only", "app_a", true, 100, failed},
			{"failed only, limit", "app_a", true, 2, failed[:2]},
			{"failed only, limit 0", "app_a", true, 0, nil},
			{"other app", "app_b", false, 100, wantB},
			{"other app, failed only", "app_b", true, 100, wantB[:1]},
			{"unknown app", "app_missing", false, 100, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkAttempts(t, s, tt.appID, tt.failedOnly, tt.limit, tt.want)
			})
		}

		// The same attempt recorded twice is one attempt; the same attempt
		// number at another time is another.
		mustRecordAttempt(t, s, want[0])
		again := newAttempt("app_a", "evt_1", "we_1", 3, at(2*time.Hour))
		mustRecordAttempt(t, s, again)
		all, err := s.Attempts(ctx, "app_a", false, 100)
		if err != nil {
			t.Fatalf("Attempts: got error %v, want nil", err)
		}
		if diff := cmp.Diff(append([]*appwheel.DeliveryAttempt{again}, want...), all, equateMicro); diff != "" {
			t.Errorf("Attempts after recording again mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DeleteNotificationsBefore", func(t *testing.T) {
		s := newStoreWithApps(t, newStore, "app_a", "app_b")
		ctx := t.Context()
		// Recorded before t0 is forgotten; at t0 and after is kept.
		old := []*appwheel.Notification{
			newNotification("app_a", "evt_old1", t0.Add(-2*time.Hour)),
			newNotification("app_b", "evt_old2", t0.Add(-time.Microsecond)),
		}
		kept := []*appwheel.Notification{
			newNotification("app_a", "evt_new1", t0),
			newNotification("app_b", "evt_new2", t0.Add(time.Hour)),
		}
		for _, n := range append(append([]*appwheel.Notification(nil), old...), kept...) {
			checkRecordNotification(t, s, n, true)
		}
		oldAttempts := []*appwheel.DeliveryAttempt{
			newAttempt("app_a", "evt_old1", "we_1", 1, t0.Add(-2*time.Hour)),
			newAttempt("app_a", "evt_new1", "we_1", 1, t0.Add(-time.Microsecond)), // an attempt is forgotten by its own time
			newAttempt("app_b", "evt_old2", "we_1", 1, t0.Add(-time.Hour)),
		}
		keptA := []*appwheel.DeliveryAttempt{
			newAttempt("app_a", "evt_old1", "we_1", 2, t0.Add(time.Minute)), // kept though its notification is not
			newAttempt("app_a", "evt_new1", "we_1", 2, t0),
		}
		keptB := []*appwheel.DeliveryAttempt{newAttempt("app_b", "evt_new2", "we_1", 1, t0.Add(time.Hour))}
		for _, a := range append(append(append([]*appwheel.DeliveryAttempt(nil), oldAttempts...), keptA...), keptB...) {
			mustRecordAttempt(t, s, a)
		}
		mustCreateEndpoint(t, s, newEndpoint("app_a", "we_1", t0.Add(-time.Hour)))

		n, err := s.DeleteNotificationsBefore(ctx, t0)
		if err != nil {
			t.Fatalf("DeleteNotificationsBefore: got error %v, want nil", err)
		}
		if want := int64(len(old) + len(oldAttempts)); n != want {
			t.Errorf("DeleteNotificationsBefore: got %d rows, want %d", n, want)
		}
		for _, o := range old {
			_, err := s.Notification(ctx, o.ID)
			wantCode(t, "Notification("+o.ID+") after DeleteNotificationsBefore", err, appwheel.ENOTFOUND)
		}
		for _, k := range kept {
			checkNotification(t, s, k)
		}
		checkAttempts(t, s, "app_a", false, 100, []*appwheel.DeliveryAttempt{keptA[0], keptA[1]})
		checkAttempts(t, s, "app_b", false, 100, keptB)
		// Endpoints are not notifications.
		if eps := mustEndpoints(t, s, "app_a"); len(eps) != 1 {
			t.Errorf("Endpoints after DeleteNotificationsBefore: got %d, want 1", len(eps))
		}

		// Nothing left to forget; a forgotten notification is new again.
		if n, err := s.DeleteNotificationsBefore(ctx, t0); err != nil || n != 0 {
			t.Errorf("DeleteNotificationsBefore again: got %d, %v; want 0, nil", n, err)
		}
		checkRecordNotification(t, s, old[0], true)
		checkNotification(t, s, old[0])
	})
}

// newEndpoint returns an enabled endpoint of appID for every event type,
// never failed, with its secret set.
func newEndpoint(appID, id string, createdAt time.Time) *appwheel.WebhookEndpoint {
	return &appwheel.WebhookEndpoint{
		AppID:        appID,
		ID:           id,
		URL:          "https://hooks.example.com/" + appID + "/" + id,
		SealedSecret: []byte("sealed-whsec-of-" + id),
		CreatedAt:    createdAt,
		UpdatedAt:    createdAt.Add(time.Minute),
	}
}

// newNotification returns an invoice.paid notification of appID recorded at
// recordedAt.
func newNotification(appID, id string, recordedAt time.Time) *appwheel.Notification {
	return &appwheel.Notification{
		AppID:      appID,
		ID:         id,
		Type:       appwheel.NotifyInvoicePaid,
		AppUserID:  "user_of_" + appID,
		Created:    recordedAt.Add(-time.Second).Unix(),
		Body:       []byte(`{"id":"` + id + `","type":"invoice.paid"}`),
		RecordedAt: recordedAt,
	}
}

// newAttempt returns a delivered attempt made at at.
func newAttempt(appID, eventID, endpointID string, attempt int, at time.Time) *appwheel.DeliveryAttempt {
	return &appwheel.DeliveryAttempt{
		AppID:      appID,
		EventID:    eventID,
		EndpointID: endpointID,
		Attempt:    attempt,
		At:         at,
		StatusCode: 200,
		Latency:    42 * time.Millisecond,
		Outcome:    appwheel.DeliveryDelivered,
	}
}

func mustCreateEndpoint(t *testing.T, s appwheel.Store, ep *appwheel.WebhookEndpoint) {
	t.Helper()
	if err := s.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatalf("CreateEndpoint(%s, %s): got error %v, want nil", ep.AppID, ep.ID, err)
	}
}

func mustEndpoints(t *testing.T, s appwheel.Store, appID string) []*appwheel.WebhookEndpoint {
	t.Helper()
	eps, err := s.Endpoints(t.Context(), appID)
	if err != nil {
		t.Fatalf("Endpoints(%s): got error %v, want nil", appID, err)
	}
	return eps
}

// checkEndpoint compares the stored endpoint with want, times to the
// microsecond, and returns it. No event types must read as nil.
func checkEndpoint(t *testing.T, s appwheel.Store, want *appwheel.WebhookEndpoint) *appwheel.WebhookEndpoint {
	t.Helper()
	got, err := s.Endpoint(t.Context(), want.AppID, want.ID)
	if err != nil {
		t.Fatalf("Endpoint(%s, %s): got error %v, want nil", want.AppID, want.ID, err)
	}
	if diff := cmp.Diff(want, got, equateMicro); diff != "" {
		t.Errorf("Endpoint(%s, %s) mismatch (-want +got):\n%s", want.AppID, want.ID, diff)
	}
	return got
}

// checkMark marks the endpoint's result and checks the FailingSince it
// returns.
func checkMark(t *testing.T, s appwheel.Store, appID, id string, delivered bool, at, want time.Time) {
	t.Helper()
	got, err := s.MarkEndpointResult(t.Context(), appID, id, delivered, at)
	if err != nil {
		t.Fatalf("MarkEndpointResult(%s, %s, delivered %v): got error %v, want nil", appID, id, delivered, err)
	}
	if !cmp.Equal(want, got, equateMicro) || want.IsZero() != got.IsZero() {
		t.Errorf("MarkEndpointResult(%s, %s, delivered %v): got FailingSince %v, want %v", appID, id, delivered, got, want)
	}
}

func checkRecordNotification(t *testing.T, s appwheel.Store, n *appwheel.Notification, wantNew bool) {
	t.Helper()
	isNew, err := s.RecordNotification(t.Context(), n)
	if err != nil {
		t.Fatalf("RecordNotification(%s, %s): got error %v, want nil", n.AppID, n.ID, err)
	}
	if isNew != wantNew {
		t.Errorf("RecordNotification(%s, %s): got new %v, want %v", n.AppID, n.ID, isNew, wantNew)
	}
}

func checkNotification(t *testing.T, s appwheel.Store, want *appwheel.Notification) {
	t.Helper()
	got, err := s.Notification(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Notification(%s): got error %v, want nil", want.ID, err)
	}
	if diff := cmp.Diff(want, got, equateMicro); diff != "" {
		t.Errorf("Notification(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
}

func mustRecordAttempt(t *testing.T, s appwheel.Store, a *appwheel.DeliveryAttempt) {
	t.Helper()
	if err := s.RecordAttempt(t.Context(), a); err != nil {
		t.Fatalf("RecordAttempt(%s, %s, %s, %d): got error %v, want nil", a.AppID, a.EventID, a.EndpointID, a.Attempt, err)
	}
}

// checkAttempts checks the app's attempts, in order, and returns them.
// Latency compares exactly: a store keeps it to the microsecond.
func checkAttempts(t *testing.T, s appwheel.Store, appID string, failedOnly bool, limit int, want []*appwheel.DeliveryAttempt) []*appwheel.DeliveryAttempt {
	t.Helper()
	got, err := s.Attempts(t.Context(), appID, failedOnly, limit)
	if err != nil {
		t.Fatalf("Attempts(%s, failed %v, limit %d): got error %v, want nil", appID, failedOnly, limit, err)
	}
	if len(want) == 0 && len(got) == 0 {
		return got
	}
	if diff := cmp.Diff(want, got, equateMicro); diff != "" {
		t.Errorf("Attempts(%s, failed %v, limit %d) mismatch (-want +got):\n%s", appID, failedOnly, limit, diff)
	}
	return got
}
