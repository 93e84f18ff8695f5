package http

import (
	"io"
	"net/http"

	"github.com/appwheel/appwheel"
)

// handleWebhook receives Stripe's events for one app:
// POST /v1/stripe/webhooks/{appId}. billing.Intake verifies, records and
// queues the delivery; this handler only reads it off the wire. It answers
// 2xx only once the event is durably recorded and queued; the mirror is
// updated in the background. A bad or missing Stripe-Signature is 400 and
// nothing is recorded.
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
	appID := r.PathValue("appId")
	receipt, err := s.webhooks.Receive(r.Context(), appID, body, r.Header.Get("Stripe-Signature"))
	if appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		infoFrom(r.Context()).appID = appID // an app that exists
	}
	return s.reply(r, receipt, err)
}
