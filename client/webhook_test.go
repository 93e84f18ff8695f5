package client

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/appwheel/appwheel/signature"
)

// The JS SDK's test pins the same vector (sdk/js/test/webhook.test.js): a
// receiver in either language verifies the same delivery.
const (
	vectorSecret    = "awhsec_test_vector"
	vectorTimestamp = 1790000000
	vectorNonce     = "n1"
	vectorBody      = `{"id":"evt_1","type":"payment_method.added","created":1790000000,"appUserId":"u1","data":{}}`
	vectorSignature = "v1=c5c82db96189a28d508d6de06cce503842a641904117e9b004aff4d6f1e7b75d"
)

func vectorHeader() http.Header {
	h := http.Header{}
	h.Set(signature.HeaderTimestamp, strconv.Itoa(vectorTimestamp))
	h.Set(signature.HeaderNonce, vectorNonce)
	h.Set(signature.HeaderSignature, vectorSignature)
	h.Set(signature.HeaderEventID, "evt_1")
	return h
}

func TestVerifyWebhookVector(t *testing.T) {
	ev, err := verifyWebhook([]byte(vectorBody), vectorHeader(), vectorSecret, time.Unix(vectorTimestamp, 0))
	if err != nil {
		t.Fatalf("VerifyWebhook of the test vector: %v", err)
	}
	if ev.ID != "evt_1" || ev.Type != "payment_method.added" || ev.Created != vectorTimestamp || ev.AppUserID != "u1" || string(ev.Data) != "{}" {
		t.Errorf("event = %+v", ev)
	}
}

func TestVerifyWebhookRefuses(t *testing.T) {
	at := time.Unix(vectorTimestamp, 0)
	without := func(name string) http.Header { h := vectorHeader(); h.Del(name); return h }
	with := func(name, v string) http.Header { h := vectorHeader(); h.Set(name, v); return h }
	tests := []struct {
		name   string
		body   string
		header http.Header
		secret string
		now    time.Time
		want   error
	}{
		{"tampered body", `{"id":"evt_1","type":"payment_method.removed","created":1790000000,"appUserId":"u1","data":{}}`, vectorHeader(), vectorSecret, at, ErrWebhookSignatureInvalid},
		{"wrong secret", vectorBody, vectorHeader(), "awhsec_other", at, ErrWebhookSignatureInvalid},
		{"another nonce", vectorBody, with(signature.HeaderNonce, "n2"), vectorSecret, at, ErrWebhookSignatureInvalid},
		{"301 s old", vectorBody, vectorHeader(), vectorSecret, at.Add(301 * time.Second), ErrWebhookTimestamp},
		{"301 s ahead", vectorBody, vectorHeader(), vectorSecret, at.Add(-301 * time.Second), ErrWebhookTimestamp},
		{"no signature", vectorBody, without(signature.HeaderSignature), vectorSecret, at, ErrWebhookMissingHeader},
		{"no timestamp", vectorBody, without(signature.HeaderTimestamp), vectorSecret, at, ErrWebhookMissingHeader},
		{"no nonce", vectorBody, without(signature.HeaderNonce), vectorSecret, at, ErrWebhookMissingHeader},
		{"malformed signature", vectorBody, with(signature.HeaderSignature, "v1=abc"), vectorSecret, at, ErrWebhookMalformed},
		{"timestamp not a number", vectorBody, with(signature.HeaderTimestamp, "soon"), vectorSecret, at, ErrWebhookTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verifyWebhook([]byte(tt.body), tt.header, tt.secret, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("299 s old is fresh", func(t *testing.T) {
		if _, err := verifyWebhook([]byte(vectorBody), vectorHeader(), vectorSecret, at.Add(299*time.Second)); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("a signed body that is not an event", func(t *testing.T) {
		body := []byte(`[1,2]`)
		h := vectorHeader()
		h.Set(signature.HeaderSignature, signature.Sign(vectorSecret, vectorTimestamp, signature.WebhookMethod, signature.WebhookTarget, body, vectorNonce))
		if _, err := verifyWebhook(body, h, vectorSecret, at); !errors.Is(err, ErrWebhookBody) {
			t.Errorf("got %v, want ErrWebhookBody", err)
		}
	})
}
