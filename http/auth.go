package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/signature"
)

// authenticate identifies the app behind a /v1 request (docs/api.md,
// "Authentication"). The rules, all here, in the order they are checked:
//
//  1. The headers: X-AppWheel-App-Id (or the HTTP Basic user, which must
//     agree with it when both are sent) and X-AppWheel-Platform must be
//     present; for a signature, a timestamp within ±300 s, a well-formed
//     X-AppWheel-Signature, and an X-AppWheel-Nonce when given of 1–64
//     printable ASCII characters and required on writes (see isWrite).
//     Otherwise 1002, before the app is looked up.
//  2. The credential: the app must exist, with HTTP Basic an active
//     AppSecret (for curl; no nonce, no replay refusal), or a signature
//     whose HMAC is checked in constant time against every active secret
//     (both during a rotation's grace). An unknown app and a credential
//     that does not match are the same 1002 (errBadCredentials), and
//     nothing below is revealed to a request that fails here. The app may
//     come from memory (apps.CacheTTL), so a secret or MAC that matches no
//     secret there is checked once more against the app as stored: a
//     secret rotated on another replica works at once everywhere, and an
//     old one is refused after at most CacheTTL.
//  3. The authorisation: the platform header must be the app's platform and
//     the route's, and the app must be enabled; otherwise 1003. These
//     checks touch no state, so a wrong platform is 1003 however often the
//     same signed request is sent.
//  4. Only then, for a signed write, the replay store: its signature is
//     recorded in the database (shared by every replica) and a second use
//     within the window is 1002. A read (GET) is authenticated by its
//     signature and window alone, as AWS Signature V4 does: identical reads
//     all pass, and nothing is written to authenticate one.
//
// Step 1 and the app's lookup need no body: serveAPI runs them
// (readCredentials) before it reads the body, so that a request without
// credentials for a known app never has its body read.
//
// Failures (1002) are counted per client address and AppID (authFailures):
// past their budget they are answered 1006, and a credential that matches
// no secret in memory is not checked against the database again.
//
// Returns EUNAUTHENTICATED, ERATELIMITED or EFORBIDDEN; the messages say
// what is wrong but never echo a secret.
func (s *Server) authenticate(r *http.Request, c *credentials, body []byte, platform string) (*appwheel.App, error) {
	app, err := s.verify(r, c, body, platform, !s.failures.exhausted(r, c.appID))
	return app, s.counted(r, c.appID, err)
}

// credentials are a request's, as its headers give them: the app they
// name and what proves it, not yet checked against the body.
type credentials struct {
	appID       string
	platform    string // the header's
	basicSecret string // with HTTP Basic
	signed      *signedRequest
	app         *appwheel.App
	now         time.Time
}

// readCredentials checks a request's headers (authenticate's step 1) and
// looks up the app they name.
func (s *Server) readCredentials(r *http.Request) (*credentials, error) {
	c, err := s.headerCredentials(r)
	if err != nil {
		return nil, s.counted(r, claimedAppID(r), err)
	}
	if c.app, err = findApp(r, c.appID, s.apps.App); err != nil {
		return nil, s.counted(r, c.appID, err)
	}
	return c, nil
}

// counted counts a failed authentication (authFailures) and returns what
// to answer for err.
func (s *Server) counted(r *http.Request, appID string, err error) error {
	if appwheel.ErrorCode(err) == appwheel.EUNAUTHENTICATED {
		return s.failures.failed(r.Context(), r, appID, err)
	}
	return err
}

// claimedAppID is the AppID a request names: the HTTP Basic user, else its
// header.
func claimedAppID(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		return user
	}
	return r.Header.Get(signature.HeaderAppID)
}

func (s *Server) headerCredentials(r *http.Request) (*credentials, error) {
	basicID, basicSecret, isBasic := r.BasicAuth()
	appID := r.Header.Get(signature.HeaderAppID)
	if isBasic {
		if appID != "" && appID != basicID {
			return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s does not match the Basic auth user", signature.HeaderAppID)
		}
		appID = basicID
	}
	if appID == "" {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header", signature.HeaderAppID)
	}
	c := &credentials{appID: appID, platform: r.Header.Get(signature.HeaderPlatform), basicSecret: basicSecret, now: s.now()}
	if c.platform == "" {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header", signature.HeaderPlatform)
	}
	// Everything that needs no app is checked first, so that whether the
	// app exists changes no answer (errBadCredentials).
	if !isBasic {
		var err error
		if c.signed, err = parseSignature(r, c.now); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// verify is authenticate's steps 2 to 4 for credentials read from the
// headers; reload says whether a credential that matches no secret of the
// app in memory is checked against the app as stored.
func (s *Server) verify(r *http.Request, c *credentials, body []byte, platform string, reload bool) (*appwheel.App, error) {
	app, now := c.app, c.now
	matches := func(a *appwheel.App) bool {
		if c.signed == nil {
			return basicSecretMatches(c.basicSecret, a.ActiveSecrets(now))
		}
		return c.signed.matches(r, body, a.ActiveSecrets(now))
	}
	if !matches(app) {
		if !reload {
			return nil, errBadCredentials
		}
		// The app may be from memory, older than a rotation on another
		// replica: only the database can refuse the credential.
		var err error
		if app, err = findApp(r, c.appID, s.apps.Reload); err != nil {
			return nil, err
		}
		if !matches(app) {
			return nil, errBadCredentials
		}
	}

	if c.platform != app.Platform {
		return nil, appwheel.Errorf(appwheel.EFORBIDDEN, "app is registered for platform %q, not %s", app.Platform, appwheel.Quote(c.platform))
	}
	if app.Platform != platform {
		return nil, appwheel.Errorf(appwheel.EFORBIDDEN, "this endpoint serves platform %q apps only", platform)
	}
	if app.Disabled {
		return nil, appwheel.Errorf(appwheel.EFORBIDDEN, "app is disabled")
	}

	if c.signed != nil && isWrite(r.Method) {
		if err := s.useOnce(r, app, c.signed); err != nil {
			return nil, err
		}
	}
	return app, nil
}

// isWrite reports whether requests of this method must carry a nonce and
// are accepted once. Only the safe methods (GET, and HEAD, which the mux
// serves with the GET routes) are reads; every other method is a write, so
// a route added later is replay-protected unless it is a read.
func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// errBadCredentials answers an unknown app and a known one whose AppSecret
// or signature does not match alike, so that no answer tells which AppIDs
// exist.
var errBadCredentials = appwheel.Errorf(appwheel.EUNAUTHENTICATED,
	"unknown app, or the AppSecret or signature does not match it")

// findApp looks up the request's app with find (apps.Service App or
// Reload); an unknown app is errBadCredentials.
func findApp(r *http.Request, id string, find func(context.Context, string) (*appwheel.App, error)) (*appwheel.App, error) {
	app, err := find(r.Context(), id)
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND {
		return nil, errBadCredentials
	}
	return app, err
}

// signedRequest is a request's signature, its headers checked, for the MAC
// check and then the replay check.
type signedRequest struct {
	sum   []byte // the MAC
	ts    int64  // its timestamp, Unix seconds
	nonce string
}

// parseSignature checks the signature headers of a request: everything
// but the MAC, which needs the app's secrets (signedRequest.matches). It
// reads no state and writes none.
func parseSignature(r *http.Request, now time.Time) (*signedRequest, error) {
	tsHeader := r.Header.Get(signature.HeaderTimestamp)
	sigHeader := r.Header.Get(signature.HeaderSignature)
	switch {
	case tsHeader == "":
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header", signature.HeaderTimestamp)
	case sigHeader == "":
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header (or Basic auth)", signature.HeaderSignature)
	}
	ts, err := signature.ParseTimestamp(tsHeader)
	if err != nil {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s: %v", signature.HeaderTimestamp, err)
	}
	if !signature.Fresh(ts, now) {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s is more than %d s from the server's clock", signature.HeaderTimestamp, int(signature.Tolerance.Seconds()))
	}
	sum, err := signature.Parse(sigHeader)
	if err != nil {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s: %v", signature.HeaderSignature, err)
	}
	nonce := r.Header.Get(signature.HeaderNonce)
	if !signature.ValidNonce(nonce) {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s must be 1–%d printable ASCII characters", signature.HeaderNonce, signature.MaxNonceLen)
	}
	if nonce == "" && isWrite(r.Method) {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header: required on %s (1–%d printable ASCII characters, new for each request, and signed)", signature.HeaderNonce, r.Method, signature.MaxNonceLen)
	}
	return &signedRequest{sum: sum, ts: ts, nonce: nonce}, nil
}

// matches reports whether the MAC is the request's under one of secrets.
func (sr *signedRequest) matches(r *http.Request, body []byte, secrets []string) bool {
	valid := false
	for _, secret := range secrets {
		// No early exit: both secrets are always tried, in constant time.
		valid = signature.Valid(sr.sum, secret, sr.ts, r.Method, r.RequestURI, body, sr.nonce) || valid
	}
	return valid
}

// useOnce records a signed write's signature, refusing one already used.
// The signature is the nonce: the database remembers it until it could no
// longer pass the freshness check on any replica, whose clocks may differ
// by up to another Tolerance.
func (s *Server) useOnce(r *http.Request, app *appwheel.App, signed *signedRequest) error {
	fresh, err := s.store.UseNonce(r.Context(), app.ID, hex.EncodeToString(signed.sum), time.Unix(signed.ts, 0).Add(2*signature.Tolerance))
	if err != nil {
		return err
	}
	if !fresh {
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "request replayed: each signature of a %s is accepted once", r.Method)
	}
	return nil
}

// basicSecretMatches compares in constant time, also in length, by
// comparing hashes.
func basicSecretMatches(got string, secrets []string) bool {
	g := sha256.Sum256([]byte(got))
	match := 0
	for _, secret := range secrets {
		w := sha256.Sum256([]byte(secret))
		match |= subtle.ConstantTimeCompare(g[:], w[:])
	}
	return match == 1
}

var errBodyTooLarge = &httpError{
	status: http.StatusRequestEntityTooLarge,
	err:    appwheel.Errorf(appwheel.EINVALID, "request body must be at most 1 MiB"),
}

func isMaxBytes(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
