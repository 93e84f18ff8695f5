package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"
)

// tx is one unit of work on one account, done under the state lock: an API
// request, a checkout page submission, an Advance, a tick. It collects the
// events it emits; end delivers them and persists the state if it changed.
type tx struct {
	s    *Sandbox
	hash string
	a    *account
	now  time.Time // the account's clock; billing moves it to period ends while it works
	// req is the request that caused the work; the zero value marks
	// automatic work (renewals), whose events have a null request.
	req     eventRequest
	changed bool
	events  []*event
}

// run does fn on the account of hash (created on first use) under the
// state lock, its clock-driven work caught up first, then ends the tx. A
// panic in fn (a sandbox bug) is logged and returned as an error, with the
// lock released, so that one bad request cannot wedge the sandbox.
func (s *Sandbox) run(hash string, fn func(t *tx)) (err error) {
	s.mu.Lock()
	a := s.accounts[hash]
	t := &tx{s: s, hash: hash, a: a}
	if a == nil {
		t.a = newAccount(hash)
		s.accounts[hash] = t.a
		t.changed = true
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("sandbox: internal error (a sandbox bug)", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("sandbox: internal error: %v", p)
		}
		t.end()
	}()
	t.now = s.now().Add(t.a.Offset)
	t.catchUp()
	fn(t)
	return nil
}

// end queues the webhook deliveries of the events emitted, snapshots the
// state if it changed, unlocks, and then writes the snapshot.
func (t *tx) end() {
	s := t.s
	if len(t.events) > 0 {
		s.deliver.enqueue(s.deliveriesFor(t.hash, t.events)...)
		t.changed = true
	}
	var snap []byte
	var gen uint64
	if t.changed {
		s.gen++
		gen = s.gen
		if s.persist.path != "" {
			snap = s.snapshot()
		}
	}
	s.mu.Unlock()
	if snap != nil {
		if err := s.persist.write(gen, snap); err != nil {
			s.log.Error("sandbox: writing the state snapshot failed", "path", s.persist.path, "error", err)
		}
	}
}

// unix is the tx's clock in Unix seconds, which is how Stripe stamps objects.
func (t *tx) unix() int64 { return t.now.Unix() }

// emit records an event of typ about o as it is now, with the attributes
// that changed (before is o's rendering before the change; nil for events
// that are not updates).
func (t *tx) emit(typ string, o object, before map[string]any) {
	raw := t.renderJSON(o)
	e := t.emitRaw(typ, raw)
	if before != nil {
		e.Data.PreviousAttributes = diff(before, decodeMap(raw))
	}
}

// emitRaw records an event of typ whose data.object is raw.
func (t *tx) emitRaw(typ string, raw json.RawMessage) *event {
	e := &event{
		ID:              t.newID("evt"),
		Object:          "event",
		APIVersion:      APIVersion,
		Created:         t.unix(),
		Data:            eventData{Object: raw},
		PendingWebhooks: len(t.s.hooks[t.hash]),
		Request:         t.req,
		Type:            typ,
	}
	t.a.Events.add(e)
	t.a.Events.dropOldest(maxEvents)
	t.events = append(t.events, e)
	t.changed = true
	return e
}

// emitUpdate emits typ (a *.updated event) if o changed since before.
func (t *tx) emitUpdate(typ string, o object, before map[string]any) {
	if before == nil {
		return
	}
	after := t.renderMap(o)
	if len(diff(before, after)) == 0 {
		return
	}
	t.emit(typ, o, before)
}

// renderJSON is o's JSON as the API answers it.
func (t *tx) renderJSON(o object) json.RawMessage {
	b, err := json.Marshal(t.view(o))
	if err != nil {
		panic(err) // our own types always marshal
	}
	return b
}

// renderMap is o's JSON as a generic map, for diffs and expansion.
func (t *tx) renderMap(o object) map[string]any {
	return decodeMap(t.renderJSON(o))
}

// decodeMap decodes a JSON object keeping numbers exact (json.Number), so
// that maps decoded alike compare with reflect.DeepEqual.
func decodeMap(raw []byte) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	_ = dec.Decode(&m)
	return m
}

// diff returns the previous values of what changed from before to after:
// nested objects by their changed keys, anything else (arrays included)
// whole, as Stripe's previous_attributes has it.
func diff(before, after map[string]any) map[string]any {
	out := map[string]any{}
	for k, bv := range before {
		av, ok := after[k]
		if ok && reflect.DeepEqual(bv, av) {
			continue
		}
		bm, bIsMap := bv.(map[string]any)
		am, aIsMap := av.(map[string]any)
		if bIsMap && aIsMap {
			if d := diff(bm, am); len(d) > 0 {
				out[k] = d
			}
			continue
		}
		out[k] = bv
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			out[k] = nil
		}
	}
	return out
}
