package crypt_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/appwheel/appwheel/crypt"
)

func newBox(t *testing.T) *crypt.Box {
	t.Helper()
	key, err := crypt.ParseKey(crypt.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	box, err := crypt.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func TestSealOpen(t *testing.T) {
	box := newBox(t)
	sealed := box.Seal("sk_test_secret", "app_1/stripe_key")
	if bytes.Contains(sealed, []byte("sk_test_secret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := box.Open(sealed, "app_1/stripe_key")
	if err != nil || got != "sk_test_secret" {
		t.Fatalf("Open = %q, %v; want sk_test_secret, nil", got, err)
	}
	if again := box.Seal("sk_test_secret", "app_1/stripe_key"); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal; want a fresh nonce each time")
	}
}

func TestOpenRefuses(t *testing.T) {
	box := newBox(t)
	sealed := box.Seal("s", "app_1/secret")
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name    string
		box     *crypt.Box
		sealed  []byte
		context string
	}{
		{"other context", box, sealed, "app_2/secret"},
		{"other key", newBox(t), sealed, "app_1/secret"},
		{"tampered", box, tampered, "app_1/secret"},
		{"garbage", box, []byte("xyz"), "app_1/secret"},
		{"empty", box, nil, "app_1/secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.box.Open(tt.sealed, tt.context); err == nil {
				t.Fatalf("Open = %q, nil; want an error", got)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	valid := []string{
		strings.Repeat("ab", 32),
		crypt.NewKey(),
		"  " + crypt.NewKey() + "\n",
	}
	for _, s := range valid {
		if _, err := crypt.ParseKey(s); err != nil {
			t.Errorf("ParseKey(%q) = %v; want nil", s, err)
		}
	}
	invalid := []string{"", "short", strings.Repeat("zz", 32), strings.Repeat("ab", 31)}
	for _, s := range invalid {
		if _, err := crypt.ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) = nil; want an error", s)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	key1, created, err := crypt.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(key1) != crypt.KeySize {
		t.Fatalf("first call = %d bytes, created %v, %v; want %d, true, nil", len(key1), created, err, crypt.KeySize)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode = %o, want 600", mode)
	}
	key2, created, err := crypt.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(key1, key2) {
		t.Fatalf("second call: created %v, err %v, same key %v; want false, nil, true", created, err, bytes.Equal(key1, key2))
	}
}
