package storerow

import (
	"encoding/json"
	"fmt"

	"github.com/appwheel/appwheel"
)

// EncodeEventTypes returns a webhook endpoint's event types as its events
// column's JSON text: an array, [] for none (all types), never null.
func EncodeEventTypes(events []string) (string, error) {
	if len(events) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(events)
	if err != nil {
		return "", fmt.Errorf("endpoint events: %w", err)
	}
	return string(b), nil
}

// DecodeEventTypes reads an events column; no types read as nil, as they
// were written.
func DecodeEventTypes(raw []byte, endpointID string) ([]string, error) {
	var events []string
	if err := json.Unmarshal(raw, &events); err != nil {
		return nil, fmt.Errorf("events of endpoint %q: %w", endpointID, err)
	}
	if len(events) == 0 {
		return nil, nil
	}
	return events, nil
}

// EndpointNotFound is the error of a webhook endpoint the app does not have.
func EndpointNotFound(id string) error {
	return appwheel.Errorf(appwheel.ENOTFOUND, "endpoint %q not found", id)
}
