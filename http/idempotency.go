package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/appwheel/appwheel"
)

const (
	// idempotencyTTL is how long a key's first response is replayed.
	idempotencyTTL = 24 * time.Hour
	// idempotencyStale is how long a key may stay in flight without a
	// heartbeat of its owner before another request may take it over (the
	// owner's process died); the owner beats every idempotencyHeartbeat
	// while its request runs, however long that is.
	idempotencyStale     = 10 * time.Second
	idempotencyHeartbeat = 2 * time.Second
	maxIdempotencyKeyLen = 255
)

// idempotent runs fn once per (app, Idempotency-Key): the same key with the
// same request gets the first response again, byte for byte, for 24 h; with
// another request, or while the first is still running, it is refused with
// EIDEMPOTENCY. Responses that are safe to retry (Stripe unavailable,
// internal errors, rate limits) are not stored, so a retry runs again.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, c *call, key string, fn apiFunc) reply {
	if len(key) > maxIdempotencyKeyLen || !printableASCII(key) {
		return s.reply(r, nil, appwheel.Errorf(appwheel.EINVALID, "Idempotency-Key must be 1–%d printable ASCII characters", maxIdempotencyKeyLen))
	}
	now := s.now()
	req := &appwheel.IdempotentRequest{
		AppID:       c.app.ID,
		Key:         key,
		RequestHash: requestHash(r, c.body),
		CreatedAt:   now,
		ExpiresAt:   now.Add(idempotencyTTL),
	}
	held, err := s.store.BeginIdempotentRequest(r.Context(), req, now.Add(-idempotencyStale))
	if err != nil {
		return s.reply(r, nil, err)
	}
	if held != nil {
		switch {
		case held.RequestHash != req.RequestHash:
			return s.reply(r, nil, appwheel.Errorf(appwheel.EIDEMPOTENCY, "Idempotency-Key was already used with a different request"))
		case !held.Finished:
			return s.reply(r, nil, appwheel.Errorf(appwheel.EIDEMPOTENCY, "a request with this Idempotency-Key is still in progress; retry shortly"))
		}
		body, err := s.storedResponse(c.app.ID, key, held.Body)
		if err != nil {
			return s.reply(r, nil, err)
		}
		var env struct {
			Code int `json:"code"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return s.reply(r, nil, err)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		return reply{status: held.Status, code: env.Code, body: body}
	}

	stop := s.heartbeat(r.Context(), req)
	data, err := fn(r.Context(), r, c)
	stop()
	rep := s.reply(r, data, err)
	// The outcome is recorded even if the client has gone away meanwhile.
	ctx := context.WithoutCancel(r.Context())
	if retryable(rep.code) {
		err = s.store.AbandonIdempotentRequest(ctx, req)
	} else {
		err = s.store.FinishIdempotentRequest(ctx, req, rep.status, s.apps.SealResponse(c.app.ID, key, rep.body))
	}
	if err != nil {
		s.logger.ErrorContext(ctx, "recording idempotent response", slog.String("error", err.Error()))
	}
	return rep
}

// storedResponse opens a response kept for a key: sealed (SealResponse),
// or, kept before responses were sealed, the envelope's JSON as it was.
func (s *Server) storedResponse(appID, key string, stored []byte) ([]byte, error) {
	if len(stored) > 0 && stored[0] == '{' {
		return stored, nil
	}
	return s.apps.OpenResponse(appID, key, stored)
}

// heartbeat records every idempotencyHeartbeat that req's owner is still
// running it, until stop is called (and returns once no beat is in flight).
func (s *Server) heartbeat(ctx context.Context, req *appwheel.IdempotentRequest) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(idempotencyHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := s.store.HeartbeatIdempotentRequest(context.WithoutCancel(ctx), req, s.now()); err != nil {
					s.logger.WarnContext(ctx, "idempotency key heartbeat failed", slog.String("error", err.Error()))
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

func retryable(code int) bool {
	switch code {
	case appwheel.ESTRIPEUNAVAILABLE, appwheel.EINTERNAL, appwheel.ERATELIMITED:
		return true
	}
	return false
}

// requestHash identifies a request by what it asks: method, target and body.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + "\n" + r.URL.RequestURI() + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
