package sandbox

import (
	"encoding/json"
	"time"
)

// account is one sandbox account: everything a secret key can see. Accounts
// are created on first use of a key and identified by the key's hash.
type account struct {
	// ID is the account's acct_ ID, derived from the key's hash.
	ID string `json:"id"`
	// PublishableKeyHash and RestrictedKeyHash are the keyHash of the
	// account's other keys (Issue); the keys themselves are not kept.
	PublishableKeyHash string `json:"publishable_key_hash,omitempty"`
	RestrictedKeyHash  string `json:"restricted_key_hash,omitempty"`
	// Offset is how far this account's test clock is ahead of Config.Now.
	Offset time.Duration `json:"offset"`

	Customers        table[*customer]        `json:"customers"`
	PaymentMethods   table[*paymentMethod]   `json:"payment_methods"`
	SetupIntents     table[*setupIntent]     `json:"setup_intents"`
	CheckoutSessions table[*checkoutSession] `json:"checkout_sessions"`
	Products         table[*product]         `json:"products"`
	Prices           table[*price]           `json:"prices"`
	Subscriptions    table[*subscription]    `json:"subscriptions"`
	Invoices         table[*invoice]         `json:"invoices"`
	PaymentIntents   table[*paymentIntent]   `json:"payment_intents"`
	Events           table[*event]           `json:"events"`

	// Idempotency holds the saved responses of writes by Idempotency-Key.
	Idempotency map[string]*idemRecord `json:"idempotency"`
}

func newAccount(hash string) *account {
	return &account{ID: accountID(hash), Idempotency: map[string]*idemRecord{}}
}

// accountID is the acct_ ID of the account whose key hash is hash.
func accountID(hash string) string { return "acct_" + hash[:16] }

// object is what every stored Stripe object implements.
type object interface {
	objectID() string
}

// table keeps objects of one kind in creation order with an index by ID:
// lists are newest first, which is the reverse of this order.
type table[T object] struct {
	items []T
	byID  map[string]T
}

func (t *table[T]) add(v T) {
	if t.byID == nil {
		t.byID = map[string]T{}
	}
	t.items = append(t.items, v)
	t.byID[v.objectID()] = v
}

// get returns the object with id, or the zero T and false.
func (t *table[T]) get(id string) (T, bool) {
	v, ok := t.byID[id]
	return v, ok
}

// newestFirst returns the objects, newest first, that keep says to keep
// (nil keeps all).
func (t *table[T]) newestFirst(keep func(T) bool) []T {
	out := make([]T, 0, len(t.items))
	for i := len(t.items) - 1; i >= 0; i-- {
		if keep == nil || keep(t.items[i]) {
			out = append(out, t.items[i])
		}
	}
	return out
}

// dropOldest removes the oldest objects beyond max.
func (t *table[T]) dropOldest(max int) {
	if len(t.items) <= max {
		return
	}
	for _, v := range t.items[:len(t.items)-max] {
		delete(t.byID, v.objectID())
	}
	t.items = append([]T(nil), t.items[len(t.items)-max:]...)
}

func (t table[T]) MarshalJSON() ([]byte, error) {
	if t.items == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(t.items)
}

func (t *table[T]) UnmarshalJSON(b []byte) error {
	var items []T
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	t.items, t.byID = nil, nil
	for _, v := range items {
		t.add(v)
	}
	return nil
}
