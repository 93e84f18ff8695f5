package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/signature"
)

// authenticate identifies the app behind a /v1 request (API.md,
// "Authentication"): an HMAC signature accepted once within ±300 s, or HTTP
// Basic with the AppSecret for curl. The platform header must match the
// app's platform and the route's, and the app must be enabled.
//
// Returns EUNAUTHENTICATED or EFORBIDDEN; the messages say what is wrong
// but never echo a secret.
func (s *Server) authenticate(r *http.Request, body []byte, platform string) (*appwheel.App, error) {
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
	gotPlatform := r.Header.Get(signature.HeaderPlatform)
	if gotPlatform == "" {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header", signature.HeaderPlatform)
	}

	app, err := s.apps.App(r.Context(), appID)
	if appwheel.ErrorCode(err) == appwheel.ENOTFOUND {
		return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "unknown app %s", appwheel.Quote(appID))
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if isBasic {
		if !basicSecretMatches(basicSecret, app.ActiveSecrets(now)) {
			return nil, appwheel.Errorf(appwheel.EUNAUTHENTICATED, "wrong AppSecret")
		}
	} else if err := s.verifySignature(r, body, app, now); err != nil {
		return nil, err
	}

	if gotPlatform != app.Platform {
		return nil, appwheel.Errorf(appwheel.EFORBIDDEN, "app is registered for platform %q, not %s", app.Platform, appwheel.Quote(gotPlatform))
	}
	if app.Platform != platform {
		return nil, appwheel.Errorf(appwheel.EFORBIDDEN, "this endpoint serves platform %q apps only", platform)
	}
	if app.Disabled {
		return nil, appwheel.Errorf(appwheel.EFORBIDDEN, "app is disabled")
	}
	return app, nil
}

func (s *Server) verifySignature(r *http.Request, body []byte, app *appwheel.App, now time.Time) error {
	tsHeader := r.Header.Get(signature.HeaderTimestamp)
	sigHeader := r.Header.Get(signature.HeaderSignature)
	switch {
	case tsHeader == "":
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header", signature.HeaderTimestamp)
	case sigHeader == "":
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "missing %s header (or Basic auth)", signature.HeaderSignature)
	}
	ts, err := signature.ParseTimestamp(tsHeader)
	if err != nil {
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s: %v", signature.HeaderTimestamp, err)
	}
	if !signature.Fresh(ts, now) {
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s is more than %d s from the server's clock", signature.HeaderTimestamp, int(signature.Tolerance.Seconds()))
	}
	sum, err := signature.Parse(sigHeader)
	if err != nil {
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s: %v", signature.HeaderSignature, err)
	}
	nonce := r.Header.Get(signature.HeaderNonce)
	if !signature.ValidNonce(nonce) {
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "%s must be 1–%d printable ASCII characters", signature.HeaderNonce, signature.MaxNonceLen)
	}
	valid := false
	for _, secret := range app.ActiveSecrets(now) {
		// No early exit: both secrets are always tried, in constant time.
		valid = signature.Valid(sum, secret, ts, r.Method, r.RequestURI, body, nonce) || valid
	}
	if !valid {
		s.logger.InfoContext(r.Context(), "signature mismatch", slog.String("app_id", app.ID))
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "signature does not match the request")
	}
	// The signature is the nonce: the database remembers it until it could
	// no longer pass the freshness check on any replica, whose clocks may
	// differ by up to another Tolerance.
	fresh, err := s.store.UseNonce(r.Context(), app.ID, hex.EncodeToString(sum), time.Unix(ts, 0).Add(2*signature.Tolerance))
	if err != nil {
		return err
	}
	if !fresh {
		return appwheel.Errorf(appwheel.EUNAUTHENTICATED, "request replayed: each signature is accepted once")
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
