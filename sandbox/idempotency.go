package sandbox

import (
	"net/http"
	"sync"
	"time"
)

// idemRecord is the saved answer of a write sent with an Idempotency-Key:
// the same key with the same request replays it; with another request it
// is refused, as Stripe does for 24 hours.
type idemRecord struct {
	Fingerprint string `json:"fingerprint"` // method, path and parameters
	Status      int    `json:"status"`
	Body        []byte `json:"body"`
	RequestID   string `json:"request_id"`
	Created     int64  `json:"created"` // account clock
}

// idemTTL is how long Stripe keeps idempotency keys.
const idemTTL = 24 * time.Hour

// pruneIdempotency forgets keys older than idemTTL on the account's clock,
// which keeps the state small (stripe-go sends a fresh key with every
// write) and lets Advance expire keys as time at Stripe would.
func (t *tx) pruneIdempotency() {
	cutoff := t.now.Add(-idemTTL).Unix()
	for k, rec := range t.a.Idempotency {
		if rec.Created < cutoff {
			delete(t.a.Idempotency, k)
			t.changed = true
		}
	}
}

// requestLog keeps the last failed requests in memory, so that an error's
// request_log_url leads somewhere, as Stripe's Dashboard log does.
type requestLog struct {
	mu      sync.Mutex
	max     int
	entries []requestLogEntry
}

type requestLogEntry struct {
	ID       string    `json:"id"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Status   int       `json:"status"`
	Time     time.Time `json:"time"`
	Response []byte    `json:"-"`
}

func newRequestLog(max int) *requestLog { return &requestLog{max: max} }

func (l *requestLog) add(e requestLogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	if len(l.entries) > l.max {
		l.entries = append([]requestLogEntry(nil), l.entries[len(l.entries)-l.max:]...)
	}
}

func (l *requestLog) get(id string) (requestLogEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.entries {
		if e.ID == id {
			return e, true
		}
	}
	return requestLogEntry{}, false
}

// requestLogHandler is GET /_sandbox/requests/{id}: the failed request and
// the error it got.
func (s *Sandbox) requestLogHandler(w http.ResponseWriter, r *http.Request) {
	e, ok := s.reqLog.get(r.PathValue("id"))
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		w.Write(mustJSON(map[string]any{"error": map[string]string{
			"type": errInvalidRequest, "message": "The AppWheel sandbox keeps the last 200 failed requests in memory only; this one is not among them.",
		}}))
		return
	}
	w.Write(mustJSON(map[string]any{
		"id": e.ID, "method": e.Method, "path": e.Path, "status": e.Status, "time": e.Time,
		"response": rawJSON(e.Response), "sandbox": "AppWheel Stripe sandbox, for development and tests only",
	}))
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
