package signature_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel/signature"
)

// Fuzz targets for the request signature. Seed corpora live in
// testdata/fuzz/<FuzzName>/; run a target longer with, e.g.
//
//	go test ./signature -run='^$' -fuzz='^FuzzParse$' -fuzztime=5m
//
// (see FUZZING.md at the repository root).

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// FuzzParse: Parse never panics, accepts exactly "v1=" followed by 64 hex
// digits (either case), and what it accepts round-trips: "v1=" + hex of
// the MAC is the input lowercased.
func FuzzParse(f *testing.F) {
	f.Add("v1=" + strings.Repeat("ab", 32))
	f.Fuzz(func(t *testing.T, header string) {
		sum, err := signature.Parse(header)

		rest, hasScheme := strings.CutPrefix(header, "v1=")
		want := hasScheme && len(rest) == 2*sha256.Size
		for i := 0; want && i < len(rest); i++ {
			want = isHexDigit(rest[i])
		}

		if err != nil {
			if want {
				t.Fatalf("Parse(%q) = %v; want it accepted", header, err)
			}
			if !errors.Is(err, signature.ErrMalformed) {
				t.Fatalf("Parse(%q) error = %v, want ErrMalformed", header, err)
			}
			if sum != nil {
				t.Fatalf("Parse(%q) returned %x with an error", header, sum)
			}
			return
		}
		if !want {
			t.Fatalf("Parse(%q) accepted it as %x; want ErrMalformed", header, sum)
		}
		if len(sum) != sha256.Size {
			t.Fatalf("Parse(%q) = %d bytes, want %d", header, len(sum), sha256.Size)
		}
		if got := "v1=" + hex.EncodeToString(sum); got != strings.ToLower(header) {
			t.Fatalf("round trip: %q, want %q", got, strings.ToLower(header))
		}
	})
}

// canonicalTimestamp returns the decimal digits of s with the sign "+" and
// leading zeros dropped, and whether s is an optional sign and at least one
// ASCII digit: what strconv.ParseInt(s, 10, 64) reads.
func canonicalTimestamp(s string) (digits string, negative, ok bool) {
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		s, negative = s[1:], true
	}
	if s == "" {
		return "", false, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false, false
		}
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		s = "0"
	}
	return s, negative, true
}

// FuzzParseTimestamp: ParseTimestamp never panics and accepts exactly the
// positive decimal int64 values (strconv's syntax: an optional sign and
// ASCII digits; leading zeros and "+" are tolerated since the MAC covers
// the canonical value, not the header's text). For what it accepts, Fresh
// agrees with plain integer arithmetic on Unix seconds.
func FuzzParseTimestamp(f *testing.F) {
	f.Add("1700000000")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := signature.ParseTimestamp(s)

		digits, negative, syntaxOK := canonicalTimestamp(s)
		const maxInt64 = "9223372036854775807"
		fits := len(digits) < len(maxInt64) || len(digits) == len(maxInt64) && digits <= maxInt64
		want := syntaxOK && !negative && digits != "0" && fits

		if err != nil {
			if want {
				t.Fatalf("ParseTimestamp(%q) = %v; want it accepted", s, err)
			}
			if ts != 0 {
				t.Fatalf("ParseTimestamp(%q) = %d with an error", s, ts)
			}
			return
		}
		if !want {
			t.Fatalf("ParseTimestamp(%q) accepted it as %d", s, ts)
		}
		if ts <= 0 || strconv.FormatInt(ts, 10) != digits {
			t.Fatalf("ParseTimestamp(%q) = %d, want %s", s, ts, digits)
		}

		// Fresh is |now - ts| <= Tolerance, whatever ts is.
		now := time.Unix(1_700_000_000, 0)
		d := now.Unix() - ts // no overflow: both positive
		wantFresh := d <= int64(signature.Tolerance/time.Second) && d >= -int64(signature.Tolerance/time.Second)
		if got := signature.Fresh(ts, now); got != wantFresh {
			t.Fatalf("Fresh(%d, %d) = %v, want %v", ts, now.Unix(), got, wantFresh)
		}
	})
}

// FuzzValidNonce: a nonce is accepted iff it is 0–64 bytes of printable,
// non-space ASCII (0x21–0x7e). The empty nonce stands for "no header".
func FuzzValidNonce(f *testing.F) {
	f.Add("n0nce")
	f.Fuzz(func(t *testing.T, nonce string) {
		want := len(nonce) <= signature.MaxNonceLen
		for i := 0; want && i < len(nonce); i++ {
			want = nonce[i] >= 0x21 && nonce[i] <= 0x7e
		}
		if got := signature.ValidNonce(nonce); got != want {
			t.Fatalf("ValidNonce(%q) = %v, want %v", nonce, got, want)
		}
	})
}

// FuzzSignValid: for any request, Sign then Parse then Valid holds; and
// changing any single byte of any input (secret, timestamp, method,
// target, body, nonce) or of the MAC itself makes Valid false.
func FuzzSignValid(f *testing.F) {
	f.Add("s3cret", int64(1700000000), "POST", "/v1/stripe/payment-methods", []byte(`{"appUserId":"u1"}`), "", uint8(0), uint16(0), uint8(1))
	f.Fuzz(func(t *testing.T, secret string, ts int64, method, target string, body []byte, nonce string, field uint8, pos uint16, delta uint8) {
		header := signature.Sign(secret, ts, method, target, body, nonce)
		sum, err := signature.Parse(header)
		if err != nil {
			t.Fatalf("Parse(Sign(...)) = %v; Sign gave %q", err, header)
		}
		if !signature.Valid(sum, secret, ts, method, target, body, nonce) {
			t.Fatal("Valid is false for the request just signed")
		}
		if delta == 0 {
			delta = 1 // a change, not a no-op
		}

		// Change one byte of one input; fields without bytes are skipped.
		flip := func(b []byte) []byte {
			b = append([]byte(nil), b...)
			b[int(pos)%len(b)] ^= delta
			return b
		}
		s2, ts2, m2, tg2, b2, n2, sum2 := secret, ts, method, target, body, nonce, sum
		changed := ""
		for i := range 7 {
			switch (int(field) + i) % 7 {
			case 0:
				if len(secret) > 0 {
					s2, changed = string(flip([]byte(secret))), "secret"
				}
			case 1:
				var b [8]byte
				for j := range b {
					b[j] = byte(uint64(ts) >> (8 * j))
				}
				fb := flip(b[:])
				var v uint64
				for j := range fb {
					v |= uint64(fb[j]) << (8 * j)
				}
				ts2, changed = int64(v), "timestamp"
			case 2:
				if len(method) > 0 {
					m2, changed = string(flip([]byte(method))), "method"
				}
			case 3:
				if len(target) > 0 {
					tg2, changed = string(flip([]byte(target))), "target"
				}
			case 4:
				if len(body) > 0 {
					b2, changed = flip(body), "body"
				}
			case 5:
				if len(nonce) > 0 {
					n2, changed = string(flip([]byte(nonce))), "nonce"
				}
			case 6:
				sum2, changed = flip(sum), "mac"
			}
			if changed != "" {
				break
			}
		}
		if signature.Valid(sum2, s2, ts2, m2, tg2, b2, n2) {
			t.Fatalf("Valid is still true with one byte of the %s changed (pos %d, xor %#x)", changed, pos, delta)
		}
		// The inputs themselves are untouched.
		if !signature.Valid(sum, secret, ts, method, target, body, nonce) {
			t.Fatal("Valid of the original request changed: an input was mutated in place")
		}
	})
}
