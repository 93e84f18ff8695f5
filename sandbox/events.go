package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// APIVersion is the API version the sandbox serves and stamps on events:
// that of Stripe's OpenAPI specification its objects are checked against
// (stripe-mock's, in the sandbox's tests). A request may ask for it or for
// an earlier version of its release train (acceptedVersion), such as
// stripe-go v85's 2026-03-25.dahlia; stripe-go's webhook.ConstructEvent
// accepts events of its own train.
const APIVersion = "2026-08-26.dahlia"

// acceptedVersion reports whether a Stripe-Version can be answered with
// APIVersion: it is APIVersion or an earlier date of the same train.
// Within a train Stripe's monthly versions only add to the API, so what a
// later one answers, an earlier one's client reads.
func acceptedVersion(v string) bool {
	date, train, ok := strings.Cut(v, ".")
	servedDate, servedTrain, _ := strings.Cut(APIVersion, ".")
	_, err := time.Parse(time.DateOnly, date)
	return ok && err == nil && train == servedTrain && date <= servedDate
}

// maxEvents bounds the events kept per account (Stripe keeps 30 days).
const maxEvents = 10000

// event is a Stripe Event. data.object is the object's JSON when the event
// happened, kept as sent.
type event struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"`
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            eventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int          `json:"pending_webhooks"`
	Request         eventRequest `json:"request"`
	Type            string       `json:"type"`
}

func (e *event) objectID() string { return e.ID }

type eventData struct {
	Object             json.RawMessage `json:"object"`
	PreviousAttributes map[string]any  `json:"previous_attributes,omitempty"`
}

// eventRequest names the API request that caused an event; both are null
// for automatic work such as renewals.
type eventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

var eventsListSpec = listEndpoint(map[string]*spec{
	"type":    str(),
	"types":   arr(str()),
	"created": timeRange(),
})

// listEvents is GET /v1/events: newest first, filtered by type (with *
// wildcards, as Stripe allows: customer.*) or types[].
func listEvents(t *tx, r *request) (any, *apiError) {
	if r.p.has("type") && r.p.has("types") {
		return nil, invalid("types", "You may only specify one of these parameters: type, types.")
	}
	types := r.p.strs("types")
	if typ := r.p.str("type"); typ != "" {
		types = []string{typ}
	}
	evs := t.a.Events.newestFirst(func(e *event) bool {
		if !r.p.inRange(e.Created, "created") {
			return false
		}
		if len(types) == 0 {
			return true
		}
		for _, typ := range types {
			if matchType(typ, e.Type) {
				return true
			}
		}
		return false
	})
	return paginate(evs, r.p, "/v1/events", "event")
}

func matchType(pattern, typ string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(typ, prefix)
	}
	return pattern == typ
}

// getEvent is GET /v1/events/{id}.
func getEvent(t *tx, r *request) (any, *apiError) {
	e, ok := t.a.Events.get(r.id)
	if !ok {
		return nil, notFound("event", r.id)
	}
	return e, nil
}

// eventRoutes are the events endpoints.
func eventRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/v1/events", spec: eventsListSpec, kind: "event", list: true, h: listEvents},
		{method: http.MethodGet, path: "/v1/events/{id}", spec: endpoint(nil), kind: "event", h: getEvent},
	}
}
