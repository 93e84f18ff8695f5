// Package signature implements AppWheel's request signature (docs/api.md,
// "Authentication"), shared by the server and the Go SDK:
//
//	v1=hex(HMAC-SHA256(AppSecret, timestamp "\n" METHOD "\n" request-target "\n" hex(SHA-256(body))))
//
// A request may also carry X-AppWheel-Nonce (1–64 printable ASCII
// characters, no spaces); it is then signed too, appended as "\n" nonce.
// Writes (POST, DELETE) must carry one: the server accepts a write's
// signature once, and the nonce keeps two identical writes in the same
// second apart. Reads (GET) may omit it: they are authenticated by the
// signature and the ±Tolerance window alone, and never refused as replays.
// The SDKs send a random nonce with every request.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Header names of a signed request.
const (
	HeaderAppID     = "X-AppWheel-App-Id"
	HeaderPlatform  = "X-AppWheel-Platform"
	HeaderTimestamp = "X-AppWheel-Timestamp"
	HeaderSignature = "X-AppWheel-Signature"
	HeaderNonce     = "X-AppWheel-Nonce"
	// HeaderEventID names the event of a delivery to an app's endpoint.
	HeaderEventID = "X-AppWheel-Event-Id"
)

// A delivery of an event to an app's own endpoint is signed as a request to
// AppWheel is, with the endpoint's secret, the method WebhookMethod and the
// request-target WebhookTarget in place of the receiver's own path (which
// proxies may rewrite, and which the receiver's verifier need not know),
// and always a nonce. WebhookTarget cannot be a request's target (those
// begin with "/"), so a delivery's signature never signs an API request.
const (
	WebhookMethod = "POST"
	WebhookTarget = "webhook"
)

// MaxNonceLen bounds X-AppWheel-Nonce.
const MaxNonceLen = 64

// Tolerance is how far a request's timestamp may be from the server's clock.
const Tolerance = 300 * time.Second

const scheme = "v1="

// Sign returns the X-AppWheel-Signature value for a request. target is the
// path with its query exactly as sent; body is empty for GET and DELETE;
// nonce is the X-AppWheel-Nonce sent, or "" for none.
func Sign(secret string, timestamp int64, method, target string, body []byte, nonce string) string {
	return scheme + hex.EncodeToString(mac(secret, timestamp, method, target, body, nonce))
}

func mac(secret string, timestamp int64, method, target string, body []byte, nonce string) []byte {
	bodyHash := sha256.Sum256(body)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'\n'})
	m.Write([]byte(method))
	m.Write([]byte{'\n'})
	m.Write([]byte(target))
	m.Write([]byte{'\n'})
	m.Write([]byte(hex.EncodeToString(bodyHash[:])))
	if nonce != "" {
		m.Write([]byte{'\n'})
		m.Write([]byte(nonce))
	}
	return m.Sum(nil)
}

// ErrMalformed is returned for a signature header that is not v1=<64 hex digits>.
var ErrMalformed = errors.New("signature must be v1= followed by 64 hex digits")

// Parse decodes an X-AppWheel-Signature value into the MAC it carries.
func Parse(header string) ([]byte, error) {
	hexMAC, ok := strings.CutPrefix(header, scheme)
	if !ok || len(hexMAC) != 2*sha256.Size {
		return nil, ErrMalformed
	}
	sum, err := hex.DecodeString(hexMAC)
	if err != nil {
		return nil, ErrMalformed
	}
	return sum, nil
}

// ParseTimestamp reads an X-AppWheel-Timestamp value: Unix seconds.
func ParseTimestamp(s string) (int64, error) {
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ts <= 0 {
		return 0, errors.New("timestamp must be Unix seconds")
	}
	return ts, nil
}

// Fresh reports whether timestamp is within Tolerance of now.
func Fresh(timestamp int64, now time.Time) bool {
	d := now.Sub(time.Unix(timestamp, 0))
	return d <= Tolerance && d >= -Tolerance
}

// Valid reports whether sum is the MAC of the request under secret, in
// constant time.
func Valid(sum []byte, secret string, timestamp int64, method, target string, body []byte, nonce string) bool {
	return hmac.Equal(sum, mac(secret, timestamp, method, target, body, nonce))
}

// ValidNonce reports whether an X-AppWheel-Nonce value is well formed: at
// most MaxNonceLen printable ASCII characters other than space. The empty
// string stands for no header, which is well formed too; whether a request
// must carry a nonce (a write must) is the server's rule, not this one.
func ValidNonce(nonce string) bool {
	if len(nonce) > MaxNonceLen {
		return false
	}
	for i := 0; i < len(nonce); i++ {
		if nonce[i] < 0x21 || nonce[i] > 0x7e {
			return false
		}
	}
	return true
}
