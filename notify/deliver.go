package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/signature"
)

// ErrBusy is Deliver's answer when the endpoint has its most attempts in
// flight in this process already: try again shortly; no attempt was made.
var ErrBusy = errors.New("notify: the endpoint has its most deliveries in flight")

// maxResponse is how much of an endpoint's answer is read: its status is
// what counts, and a short excerpt of the body is kept for the operator.
const maxResponse = 64 << 10

// Attempt says which attempt at a delivery Deliver makes.
type Attempt struct {
	Number int       // 1 for the first
	Since  time.Time // when the delivery was first enqueued
	// Next is when the next attempt would be made should this one fail,
	// zero when this one is the last.
	Next time.Time
}

// Deliver makes one attempt at delivering d. It returns nil when the event
// was delivered (a 2xx answer), or will never be (the endpoint or the
// event is gone, the endpoint is disabled); ErrBusy; or the attempt's
// failure, to retry at a.Next.
func (s *Service) Deliver(ctx context.Context, d Delivery, at Attempt) error {
	attempt, next := at.Number, at.Next
	ep, err := s.store.Endpoint(ctx, d.AppID, d.EndpointID)
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if ep.Disabled {
		return nil
	}
	n, err := s.store.Notification(ctx, d.EventID)
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND || err == nil && n.AppID != d.AppID {
		return nil
	}
	if err != nil {
		return err
	}
	secret, err := s.secret(ep)
	if err != nil {
		return err
	}
	// The slot is held for the request alone, not the bookkeeping.
	release, ok := s.acquire(ctx, ep)
	if !ok {
		return ErrBusy
	}
	start := s.now()
	status, sendErr := s.send(ctx, ep, n, secret)
	release()
	a := &appwheel.DeliveryAttempt{
		AppID: d.AppID, EventID: d.EventID, EndpointID: d.EndpointID, Attempt: attempt,
		At: start, StatusCode: status, Latency: s.now().Sub(start), Outcome: appwheel.DeliveryDelivered,
	}
	if sendErr != nil {
		a.Error, a.Outcome, a.NextRetryAt = sendErr.Error(), appwheel.DeliveryRetrying, next
		if next.IsZero() {
			a.Outcome = appwheel.DeliveryFailed
		}
	}
	s.metrics.observe(a)
	// The attempt's record and the endpoint's state are bookkeeping: were
	// they to fail after a delivery, retrying would send the event again,
	// so their errors are logged, not returned.
	if err := s.store.RecordAttempt(context.WithoutCancel(ctx), a); err != nil {
		s.log.ErrorContext(ctx, "recording a delivery attempt failed", slog.String("app_id", d.AppID),
			slog.String("event_id", d.EventID), slog.String("error", err.Error()))
	}
	s.markEndpoint(ctx, ep, sendErr == nil, start, at)
	if sendErr != nil {
		s.log.WarnContext(ctx, "event delivery failed", slog.String("app_id", d.AppID), slog.String("endpoint_id", d.EndpointID),
			slog.String("event_id", d.EventID), slog.Int("attempt", attempt), slog.Int("status", status),
			slog.String("outcome", a.Outcome), slog.String("error", sendErr.Error()))
	}
	return sendErr
}

// send POSTs n to ep, signed with secret, and returns the status of the
// answer (0 for none) and why it is not a delivery (nil for a 2xx).
func (s *Service) send(ctx context.Context, ep *appwheel.WebhookEndpoint, n *appwheel.Notification, secret string) (int, error) {
	ts := s.now().Unix()
	nonce := "dlv_" + rand.Text()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(n.Body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "AppWheel-Webhooks/1")
	h.Set(signature.HeaderAppID, n.AppID)
	h.Set(signature.HeaderPlatform, "stripe")
	h.Set(signature.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(signature.HeaderNonce, nonce)
	h.Set(signature.HeaderEventID, n.ID)
	h.Set(signature.HeaderSignature, signature.Sign(secret, ts, signature.WebhookMethod, signature.WebhookTarget, n.Body, nonce))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// markEndpoint records an attempt's outcome on its endpoint, and disables
// an endpoint that has failed every attempt for FailingLimit, or every
// attempt of a delivery now given up (which was retried for that long).
func (s *Service) markEndpoint(ctx context.Context, ep *appwheel.WebhookEndpoint, delivered bool, at time.Time, a Attempt) {
	if delivered && ep.FailingSince.IsZero() {
		return // nothing to clear (a failure since it was read is cleared by the next success)
	}
	ctx = context.WithoutCancel(ctx)
	since, err := s.store.MarkEndpointResult(ctx, ep.AppID, ep.ID, delivered, at)
	if err != nil {
		if appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
			s.log.ErrorContext(ctx, "recording an endpoint's state failed", slog.String("app_id", ep.AppID),
				slog.String("endpoint_id", ep.ID), slog.String("error", err.Error()))
		}
		return
	}
	// A delivery given up failed every attempt for FailingLimit: if the
	// endpoint has failed every attempt since the delivery's first (made
	// within a minute of its enqueueing, unless the endpoint was busy), it
	// has failed for that long too.
	givenUp := a.Next.IsZero() && !since.After(a.Since.Add(time.Minute))
	if delivered || since.IsZero() || at.Sub(since) < s.failingLimit && !givenUp {
		return
	}
	fresh, err := s.store.Endpoint(ctx, ep.AppID, ep.ID)
	if err != nil || fresh.Disabled {
		return
	}
	fresh.Disabled, fresh.DisabledReason, fresh.UpdatedAt = true, appwheel.DisabledFailing, s.now()
	if err := s.store.UpdateEndpoint(ctx, fresh); err != nil {
		s.log.ErrorContext(ctx, "disabling a failing endpoint failed", slog.String("app_id", ep.AppID),
			slog.String("endpoint_id", ep.ID), slog.String("error", err.Error()))
		return
	}
	s.metrics.disabled.Inc()
	s.log.ErrorContext(ctx, "endpoint disabled: every delivery failed", slog.String("app_id", ep.AppID),
		slog.String("endpoint_id", ep.ID), slog.Time("failing_since", since), slog.Duration("limit", s.failingLimit))
}

// busyWait is how long an attempt waits for one of its endpoint's slots
// before it gives up (ErrBusy): long enough for a healthy endpoint's
// attempt in flight to end, short enough that a hung endpoint holds a
// worker for no time to speak of.
const busyWait = 100 * time.Millisecond

// acquire takes one of ep's slots for an attempt in flight in this
// process, waiting up to busyWait for one, and reports whether it did.
func (s *Service) acquire(ctx context.Context, ep *appwheel.WebhookEndpoint) (release func(), ok bool) {
	k := endpointKey{ep.AppID, ep.ID}
	s.mu.Lock()
	sem, found := s.inFlight[k]
	if !found {
		sem = make(chan struct{}, s.perEndpoint)
		s.inFlight[k] = sem
	}
	s.mu.Unlock()
	release = func() { <-sem }
	select {
	case sem <- struct{}{}:
		return release, true
	default:
	}
	t := time.NewTimer(busyWait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return release, true
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, false
}
