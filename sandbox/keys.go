package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
)

// Keys are the API keys of one sandbox account, as Stripe's dashboard
// shows them: the secret key, the publishable key a front end uses with
// Stripe.js, and a restricted key with RestrictedPermissions.
type Keys struct {
	Secret      string `json:"secret"`      // sk_test_…
	Publishable string `json:"publishable"` // pk_test_…
	Restricted  string `json:"restricted"`  // rk_test_…
}

// Access is what a restricted key may do with one resource.
type Access string

const (
	Read  Access = "read"
	Write Access = "write" // implies Read
)

// RestrictedPermissions are the permissions of the restricted key Issue
// returns: what AppWheel needs of an app's Stripe account, so that code
// tried against the sandbox with it learns what a restricted key for
// AppWheel must allow. Resources are named as in Stripe's permission
// names (rak_customer_write). A resource not listed is refused, as at
// Stripe.
var RestrictedPermissions = map[string]Access{
	"customer":         Write,
	"payment_method":   Write,
	"setup_intent":     Write,
	"checkout_session": Write,
	"subscription":     Write,
	"invoice":          Read,
	"price":            Read,
	"product":          Read,
	"event":            Read,
}

// resources names the resource of each URL's first segment under /v1/.
var resources = map[string]string{
	"customers": "customer", "payment_methods": "payment_method", "setup_intents": "setup_intent",
	"checkout": "checkout_session", "subscriptions": "subscription", "invoices": "invoice",
	"prices": "price", "products": "product", "events": "event", "payment_intents": "payment_intent",
}

// keyKind is which of an account's keys a request came with.
type keyKind uint8

const (
	keySecret keyKind = iota + 1
	keyPublishable
	keyRestricted
)

// issuedKey is what a key hash stands for: an account (by its secret key's
// hash) and which of its keys it is.
type issuedKey struct {
	account string
	kind    keyKind
}

// Issue registers the account of secretKey (sk_test_ followed by letters,
// digits or underscores) and returns its keys. Only issued keys are
// accepted by the API, as at Stripe, where a key is something the
// dashboard hands out. It is idempotent: the publishable and restricted
// keys are derived from the secret key (one-way), so the same secret key
// always gets the same keys and the state keeps only their hashes.
func (s *Sandbox) Issue(secret string) (Keys, error) {
	if !validKeySuffix(secret, "sk_test_") {
		return Keys{}, errors.New("sandbox: a secret key is sk_test_ followed by letters, digits or underscores")
	}
	k := Keys{Secret: secret, Publishable: derivedKey(secret, "pk_test_"), Restricted: derivedKey(secret, "rk_test_")}
	h := keyHash(secret)
	err := s.run(h, func(t *tx) {
		if t.a.PublishableKeyHash == "" {
			t.a.PublishableKeyHash, t.a.RestrictedKeyHash = keyHash(k.Publishable), keyHash(k.Restricted)
			t.changed = true
		}
		s.indexKeys(h, t.a)
	})
	return k, err
}

// indexKeys records which key hashes stand for account h: none for an
// account of a state file older than issued keys, which any key made on
// first use, until Issue issues its keys. Called under the state lock.
func (s *Sandbox) indexKeys(h string, a *account) {
	if a.PublishableKeyHash == "" {
		return
	}
	s.keys[h] = issuedKey{account: h, kind: keySecret}
	s.keys[a.PublishableKeyHash] = issuedKey{account: h, kind: keyPublishable}
	s.keys[a.RestrictedKeyHash] = issuedKey{account: h, kind: keyRestricted}
}

// derivedKey is the key with prefix that belongs with secret: 32 base62
// characters of an HMAC of the secret, so knowing the publishable key,
// which front ends publish, tells nothing of the secret one.
func derivedKey(secret, prefix string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("appwheel-sandbox-key:" + prefix))
	n := new(big.Int).SetBytes(m.Sum(nil))
	var b strings.Builder
	b.WriteString(prefix)
	base := big.NewInt(62)
	for b.Len() < len(prefix)+32 {
		var r big.Int
		n.DivMod(n, base, &r)
		b.WriteByte(base62[r.Int64()])
	}
	return b.String()
}

// validKeySuffix reports whether key is prefix followed by 1–247 letters,
// digits or underscores.
func validKeySuffix(key, prefix string) bool {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok || rest == "" || len(rest) > 247 {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// issued looks a key up: the account it belongs to and its kind, or false
// for a key the sandbox never issued.
func (s *Sandbox) issued(key string) (issuedKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[keyHash(key)]
	return k, ok
}

// permitted refuses a restricted key's request for a resource or an access
// RestrictedPermissions does not grant, in Stripe's words.
func permitted(key, accountHash string, rt route, method string) *apiError {
	resource := resourceOf(rt.path)
	need := Read
	if method != http.MethodGet {
		need = Write
	}
	switch have := RestrictedPermissions[resource]; {
	case have == Write, have == Read && need == Read:
		return nil
	}
	return &apiError{Status: http.StatusForbidden, Type: errInvalidRequest, Message: fmt.Sprintf(
		"The provided key '%s' does not have the required permissions for this endpoint on account '%s'. Having the 'rak_%s_%s' permission would allow this request to continue.",
		maskKey(key), accountID(accountHash), resource, need)}
}

// resourceOf is the resource a route's path belongs to, by its first
// segment under /v1/.
func resourceOf(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/v1/"), "/")
	return resources[seg]
}
