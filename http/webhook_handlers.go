package http

import (
	"context"
	"io"
	"net/http"

	"github.com/appwheel/appwheel"
)

// Enqueuer hands a recorded webhook event to the background job that
// applies it. Enqueueing an event twice runs it once.
type Enqueuer interface {
	EnqueueEvent(ctx context.Context, appID, eventID string) error
}

// handleWebhook receives Stripe's events for one app:
// POST /v1/stripe/webhooks/{appId}. It answers 2xx only once the event is
// durably recorded and queued; the mirror is updated in the background. A
// bad or missing Stripe-Signature is 400 and nothing is recorded.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	writeReply(w, r, s.receiveWebhook(w, r))
}

func (s *Server) receiveWebhook(w http.ResponseWriter, r *http.Request) reply {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if isMaxBytes(err) {
			return s.reply(r, nil, errBodyTooLarge)
		}
		return s.reply(r, nil, appwheel.Errorf(appwheel.EINVALID, "cannot read request body"))
	}
	ctx := r.Context()
	app, err := s.apps.App(ctx, r.PathValue("appId"))
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND {
		return s.reply(r, nil, appwheel.Errorf(appwheel.ENOTFOUND, "no such app"))
	}
	if err != nil {
		return s.reply(r, nil, err)
	}
	infoFrom(ctx).appID = app.ID
	if app.Stripe.WebhookSecret == "" {
		return s.reply(r, nil, appwheel.Errorf(appwheel.EINVALID, "app has no Stripe webhook signing secret"))
	}
	ev, err := s.verifyEvent(body, r.Header.Get("Stripe-Signature"), app.Stripe.WebhookSecret)
	if err != nil {
		return s.reply(r, nil, err)
	}
	ev.AppID, ev.ReceivedAt = app.ID, s.now()
	fresh, err := s.store.RecordEvent(ctx, ev)
	if err != nil {
		return s.reply(r, nil, err)
	}
	// Queued on every delivery, duplicates too: the job runs once per event
	// and skips an applied one, and a delivery whose queueing failed before
	// (a 5xx, retried by Stripe) is queued now.
	if err := s.events.EnqueueEvent(ctx, app.ID, ev.ID); err != nil {
		return s.reply(r, nil, err)
	}
	return s.reply(r, map[string]any{"eventId": ev.ID, "duplicate": !fresh}, nil)
}
