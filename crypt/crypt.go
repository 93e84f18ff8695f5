// Package crypt seals secrets at rest (AppSecrets, Stripe keys, webhook
// secrets) with the master key, using AES-256-GCM.
package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the master key's length in bytes (AES-256).
const KeySize = 32

// version prefixes every sealed value, so the format can change later
// without guessing what an old value is.
const version byte = 1

// Box seals and opens secrets with one master key.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a KeySize-byte master key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. context binds the result to where it is stored
// (for example "app_x/stripe_key"), so a sealed value copied into another
// row or column fails to open.
func (b *Box) Seal(plaintext, context string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, []byte(plaintext), []byte(context))
}

// Open decrypts a value made by Seal with the same context.
func (b *Box) Open(sealed []byte, context string) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != version {
		return "", errors.New("crypt: not a sealed value")
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(context))
	if err != nil {
		return "", errors.New("crypt: cannot open sealed value (wrong master key?)")
	}
	return string(plain), nil
}

// ParseKey reads a master key written as 64 hex digits or as base64
// (standard or URL alphabet, padded or not) of KeySize bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("master key must be %d bytes as 64 hex digits or base64", KeySize)
}

// NewKey returns a fresh random master key, base64-encoded.
func NewKey() string {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// DeriveKey derives a KeySize-byte key for one purpose (label) from the
// master key, so that each use of the master key has a key of its own.
func DeriveKey(master []byte, label string) ([]byte, error) {
	return hkdf.Key(sha256.New, master, nil, "appwheel "+label, KeySize)
}
