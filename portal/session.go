package portal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/crypt"
)

// Sessions. A session link is a sealed token (AES-256-GCM under a key of
// its own, derived from the master key): it names the app, the user, the
// return URL and the locale, and expires, and it cannot be read, forged or
// turned into another user's. Nothing is stored: every replica holding the
// master key opens it, and it needs no clean-up.
//
// The link the app hands out is an opening link, valid for OpenTTL. Opening
// it starts a visit: the page's own URLs carry a visit token, sealed in the
// same way with the visit's random id, valid for VisitTTL and renewed by
// every page served, so a visit lasts while the user acts. The visit id
// keys the anti-forgery token of the page's forms.

// Default lifetimes.
const (
	DefaultOpenTTL  = 5 * time.Minute
	DefaultVisitTTL = time.Hour
)

// Kinds of token; each is sealed under its own context, so neither passes
// for the other.
const (
	openToken  = "open"
	visitToken = "visit"
)

// claims are what a token says.
type claims struct {
	App     string `json:"a"`
	User    string `json:"u"`
	Return  string `json:"r"`
	Locale  string `json:"l,omitempty"` // "" means the browser's choice
	Visit   string `json:"v,omitempty"` // the visit's id (visit tokens)
	Expires int64  `json:"e"`           // Unix seconds
}

// SessionParams is the portal-sessions request.
type SessionParams struct {
	AppUserID string
	ReturnURL string
	Locale    string // optional: en or zh-CN
}

// Session is the portal-sessions response's data.
type Session struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"` // Unix seconds: the link opens until then
}

// CreateSession returns a link that opens the billing page for one user of
// app.
//
// Returns EINVALID for a bad appUserId, returnUrl or locale, EFORBIDDEN for
// a returnUrl on a host the app does not allow.
func (s *Service) CreateSession(ctx context.Context, app *appwheel.App, p SessionParams) (*Session, error) {
	if err := billing.ValidateAppUserID(p.AppUserID); err != nil {
		return nil, err
	}
	if err := billing.ValidateReturnURL("returnUrl", p.ReturnURL, app); err != nil {
		return nil, err
	}
	locale := ""
	if p.Locale != "" {
		l, ok := exactLocale(p.Locale)
		if !ok {
			return nil, appwheel.Errorf(appwheel.EINVALID, "locale must be one of %s, got %s", localeNames(), appwheel.Quote(p.Locale))
		}
		locale = l
	}
	expires := s.now().Add(s.openTTL).Unix()
	token := s.seal(openToken, claims{App: app.ID, User: p.AppUserID, Return: p.ReturnURL, Locale: locale, Expires: expires})
	return &Session{URL: s.baseURL + "/portal/" + token, ExpiresAt: strconv.FormatInt(expires, 10)}, nil
}

// seal makes a token of kind from c.
func (s *Service) seal(kind string, c claims) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings and an integer always encode
	}
	return base64.RawURLEncoding.EncodeToString(s.box.Seal(string(b), "portal "+kind))
}

// open returns the claims of a token of kind that has not expired, or
// false: malformed, forged, of the other kind and expired are one answer.
func (s *Service) open(kind, token string) (claims, bool) {
	var c claims
	if len(token) > maxTokenLen {
		return c, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return c, false
	}
	plain, err := s.box.Open(sealed, "portal "+kind)
	if err != nil || json.Unmarshal([]byte(plain), &c) != nil {
		return c, false
	}
	if s.now().Unix() >= c.Expires || c.App == "" || c.User == "" || (kind == visitToken) != (c.Visit != "") {
		return c, false
	}
	return c, true
}

// maxTokenLen bounds the tokens opened: the longest return URL and user id
// sealed and encoded, with room to spare.
const maxTokenLen = 8 << 10

// newVisit starts a visit from an opening link's claims.
func (s *Service) newVisit(c claims) claims {
	var id [16]byte
	rand.Read(id[:])
	c.Visit = base64.RawURLEncoding.EncodeToString(id[:])
	return c
}

// visitToken renews a visit: the token the page's URLs carry, valid for
// VisitTTL from now.
func (s *Service) renew(c claims) string {
	c.Expires = s.now().Add(s.visitTTL).Unix()
	return s.seal(visitToken, c)
}

// newBox is the sealing of the tokens, under key.
func newBox(key []byte) (*crypt.Box, error) { return crypt.NewBox(key) }
