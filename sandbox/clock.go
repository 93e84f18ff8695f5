package sandbox

import (
	"encoding/json"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Each account has a test clock: Config.Now plus how far the account was
// advanced. Advance (sandbox.go) moves it, which renews subscriptions; the
// control endpoints here expose it over HTTP, authenticated like the API.

// advance moves the account's clock forward by d and does what became due.
func (t *tx) advance(d time.Duration) time.Time {
	t.a.Offset += d
	t.now = t.s.now().Add(t.a.Offset)
	t.changed = true
	t.catchUp()
	return t.now
}

// clockView is the JSON of an account's clock.
type clockView struct {
	Object  string `json:"object"`
	Now     int64  `json:"now"`
	NowISO  string `json:"now_iso"`
	Offset  int64  `json:"offset_seconds"`
	Sandbox string `json:"sandbox"`
}

func (s *Sandbox) clockJSON(now time.Time, offset time.Duration) []byte {
	return mustJSON(clockView{Object: "sandbox.clock", Now: now.Unix(), NowISO: now.UTC().Format(time.RFC3339),
		Offset: int64(offset / time.Second), Sandbox: "AppWheel Stripe sandbox, for development and tests only"})
}

// advanceHandler is POST /_sandbox/advance with days=N (form, query or a
// JSON body {"days": N}; N may be fractional): Advance by N days, answering
// the account's new clock time.
func (s *Sandbox) advanceHandler(w http.ResponseWriter, r *http.Request) {
	reqID := "req_" + randomString(14)
	w.Header().Set("Request-Id", reqID)
	_, k, aerr := s.authenticate(r)
	if aerr == nil && k.kind != keySecret {
		aerr = unauthorized("The sandbox clock can only be moved with a secret key.")
	}
	if aerr != nil {
		s.writeError(w, r, reqID, aerr)
		return
	}
	days, aerr := readDays(r)
	if aerr != nil {
		s.writeError(w, r, reqID, aerr)
		return
	}
	var now time.Time
	var offset time.Duration
	err := s.run(k.account, func(t *tx) {
		now, offset = t.advance(time.Duration(days*float64(24*time.Hour))), t.a.Offset
	})
	if err != nil {
		s.writeError(w, r, reqID, &apiError{Status: http.StatusInternalServerError, Type: errAPI, Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.clockJSON(now, offset))
}

// readDays reads the days parameter of the advance endpoint.
func readDays(r *http.Request) (float64, *apiError) {
	var raw string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		return 0, invalid("days", "Could not read the request body: %v", err)
	}
	if ct == "application/json" {
		var v struct {
			Days json.Number `json:"days"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return 0, invalid("days", "Invalid JSON body: %v", err)
		}
		raw = v.Days.String()
	} else {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return 0, invalid("days", "Invalid request body: %v", err)
		}
		for k := range vals {
			if k != "days" {
				return 0, unknownParam(k)
			}
		}
		raw = vals.Get("days")
		if raw == "" {
			raw = r.URL.Query().Get("days")
		}
	}
	if strings.TrimSpace(raw) == "" {
		return 0, missingParam("days")
	}
	days, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(days) || math.IsInf(days, 0) || days < 0 || days > 36500 {
		return 0, invalid("days", "Invalid days: %s. Give a number of days from 0 to 36500; the clock only moves forward.", raw)
	}
	return days, nil
}

// clockHandler is GET /_sandbox/clock: the account's clock time.
func (s *Sandbox) clockHandler(w http.ResponseWriter, r *http.Request) {
	reqID := "req_" + randomString(14)
	w.Header().Set("Request-Id", reqID)
	_, k, aerr := s.authenticate(r)
	if aerr != nil {
		s.writeError(w, r, reqID, aerr)
		return
	}
	var now time.Time
	var offset time.Duration
	if err := s.run(k.account, func(t *tx) { now, offset = t.now, t.a.Offset }); err != nil {
		s.writeError(w, r, reqID, &apiError{Status: http.StatusInternalServerError, Type: errAPI, Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.clockJSON(now, offset))
}
