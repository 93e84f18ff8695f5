package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/appwheel/appwheel/signature"
)

// WebhookEvent is an event AppWheel delivered to the app's endpoint (see
// docs/api.md, "Events for the app's server"). Data's shape depends on
// Type; decode it into the matching struct of this package, e.g.
// PaymentMethodEventData for the payment_method.* events.
type WebhookEvent struct {
	ID        string          `json:"id"` // evt_…: the same on every retry; de-duplicate by it
	Type      string          `json:"type"`
	Created   int64           `json:"created"` // Unix seconds
	AppUserID string          `json:"appUserId"`
	Data      json.RawMessage `json:"data"`
}

// Errors of VerifyWebhook, one per way a delivery fails verification
// (errors.Is).
var (
	ErrWebhookMissingHeader    = errors.New("appwheel webhook: missing header")
	ErrWebhookMalformed        = errors.New("appwheel webhook: malformed signature")
	ErrWebhookTimestamp        = errors.New("appwheel webhook: timestamp out of tolerance")
	ErrWebhookSignatureInvalid = errors.New("appwheel webhook: signature does not match")
	ErrWebhookBody             = errors.New("appwheel webhook: body is not an event")
)

// VerifyWebhook checks that body, received with header, is an event that
// AppWheel signed with the endpoint's secret within signature.Tolerance of
// now, and returns it. body must be the request's bytes as received, before
// any JSON decoding. The MAC is compared in constant time.
//
//	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//	ev, err := client.VerifyWebhook(body, r.Header, secret)
func VerifyWebhook(body []byte, header http.Header, secret string) (*WebhookEvent, error) {
	return verifyWebhook(body, header, secret, time.Now())
}

func verifyWebhook(body []byte, header http.Header, secret string, now time.Time) (*WebhookEvent, error) {
	if secret == "" {
		return nil, errors.New("appwheel webhook: no secret given")
	}
	values := map[string]string{}
	for _, name := range []string{signature.HeaderSignature, signature.HeaderTimestamp, signature.HeaderNonce} {
		if values[name] = header.Get(name); values[name] == "" {
			return nil, fmt.Errorf("%w %s", ErrWebhookMissingHeader, name)
		}
	}
	sum, err := signature.Parse(values[signature.HeaderSignature])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebhookMalformed, err)
	}
	ts, err := signature.ParseTimestamp(values[signature.HeaderTimestamp])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebhookTimestamp, err)
	}
	if !signature.Fresh(ts, now) {
		return nil, fmt.Errorf("%w: signed at %d, %s from now (tolerance %s)", ErrWebhookTimestamp,
			ts, now.Sub(time.Unix(ts, 0)).Round(time.Second), signature.Tolerance)
	}
	if !signature.Valid(sum, secret, ts, signature.WebhookMethod, signature.WebhookTarget, body, values[signature.HeaderNonce]) {
		return nil, ErrWebhookSignatureInvalid
	}
	var ev WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		return nil, fmt.Errorf("%w: want a JSON object with an id and a type", ErrWebhookBody)
	}
	return &ev, nil
}
