package signature_test

import (
	"strings"
	"testing"
	"time"

	"github.com/appwheel/appwheel/signature"
)

func TestSignKnownValue(t *testing.T) {
	// Computed independently with:
	// printf '1700000000\nPOST\n/v1/stripe/payment-methods\n%s' "$(printf '{"a":1}' | sha256sum | cut -d' ' -f1)" |
	//   openssl dgst -sha256 -hmac secret
	got := signature.Sign("secret", 1700000000, "POST", "/v1/stripe/payment-methods", []byte(`{"a":1}`), "")
	want := "v1=9283f2b072881449a12b428929a5f0d97da936dcf92a272e65b5ac71000fc21c"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestValid(t *testing.T) {
	const secret, ts = "s3cret", int64(1700000000)
	body := []byte(`{"appUserId":"u1"}`)
	sum, err := signature.Parse(signature.Sign(secret, ts, "POST", "/v1/x?a=1", body, ""))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret string
		ts     int64
		method string
		target string
		body   string
		nonce  string
		want   bool
	}{
		{"same request", secret, ts, "POST", "/v1/x?a=1", string(body), "", true},
		{"other secret", "other", ts, "POST", "/v1/x?a=1", string(body), "", false},
		{"other timestamp", secret, ts + 1, "POST", "/v1/x?a=1", string(body), "", false},
		{"other method", secret, ts, "GET", "/v1/x?a=1", string(body), "", false},
		{"other query", secret, ts, "POST", "/v1/x?a=2", string(body), "", false},
		{"other body", secret, ts, "POST", "/v1/x?a=1", `{"appUserId":"u2"}`, "", false},
		{"a nonce not signed", secret, ts, "POST", "/v1/x?a=1", string(body), "n1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signature.Valid(sum, tt.secret, tt.ts, tt.method, tt.target, []byte(tt.body), tt.nonce); got != tt.want {
				t.Errorf("Valid = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	bad := []string{"", "v1=", "v2=" + strings.Repeat("a", 64), "v1=" + strings.Repeat("a", 63), "v1=" + strings.Repeat("g", 64), strings.Repeat("a", 64)}
	for _, h := range bad {
		if _, err := signature.Parse(h); err == nil {
			t.Errorf("Parse(%q) = nil error; want ErrMalformed", h)
		}
	}
	if _, err := signature.Parse("v1=" + strings.Repeat("aB", 32)); err != nil {
		t.Errorf("Parse(valid) = %v", err)
	}
}

func TestFresh(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		ts   int64
		want bool
	}{
		{now.Unix(), true},
		{now.Unix() - 300, true},
		{now.Unix() + 300, true},
		{now.Unix() - 301, false},
		{now.Unix() + 301, false},
	}
	for _, tt := range tests {
		if got := signature.Fresh(tt.ts, now); got != tt.want {
			t.Errorf("Fresh(%d) = %v, want %v", tt.ts-now.Unix(), got, tt.want)
		}
	}
}

func TestNonceIsSigned(t *testing.T) {
	a := signature.Sign("s", 1, "GET", "/x", nil, "n1")
	b := signature.Sign("s", 1, "GET", "/x", nil, "n2")
	if a == b || a == signature.Sign("s", 1, "GET", "/x", nil, "") {
		t.Fatal("the nonce does not change the signature")
	}
	sum, _ := signature.Parse(a)
	if !signature.Valid(sum, "s", 1, "GET", "/x", nil, "n1") {
		t.Error("Valid = false for the signed nonce")
	}
	for _, n := range []string{"", "abc-123_XYZ", strings.Repeat("a", 64)} {
		if !signature.ValidNonce(n) {
			t.Errorf("ValidNonce(%q) = false", n)
		}
	}
	for _, n := range []string{"a b", "ü", strings.Repeat("a", 65), "x\n"} {
		if signature.ValidNonce(n) {
			t.Errorf("ValidNonce(%q) = true", n)
		}
	}
}
