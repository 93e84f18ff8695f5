// Package apps administers tenants: creating apps, rotating their secrets,
// disabling them. It is the only code that seals and opens app secrets.
//
// A Service keeps the apps it opens in memory for up to CacheTTL (one
// second), so that a request need not read and decrypt its app: a change
// made through one Service, such as one replica or the CLI, is seen by
// every other after at most CacheTTL, and by the one that made it at once.
// Reload reads past the memory when that second matters.
package apps

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/crypt"
)

// Service reads and changes apps.
type Service struct {
	store appwheel.AppStore
	box   *crypt.Box
	now   func() time.Time
	cache cache
}

// NewService returns a Service over store, sealing secrets with box. now is
// the clock; nil means time.Now.
func NewService(store appwheel.AppStore, box *crypt.Box, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, box: box, now: now, cache: cache{flights: map[string]*flight{}}}
}

// CreateParams describes a new app.
type CreateParams struct {
	Name                string
	Platform            string // only "stripe" today
	StripeSecretKey     string // sk_… or rk_…
	StripeWebhookSecret string // whsec_…, optional
	StripeAPIBase       string // optional: stripe-mock or the sandbox
	RedirectHosts       []string
	// ReadMode is ReadMirror or ReadLive. Defaults to ReadMirror when a
	// webhook secret is given (webhooks keep the mirror), else ReadLive.
	ReadMode string
}

// Create validates p and stores a new app with a fresh AppID and AppSecret.
// The returned App is the only place the new secret is shown.
//
// Returns EINVALID naming the bad parameter.
func (s *Service) Create(ctx context.Context, p CreateParams) (*appwheel.App, error) {
	hosts, err := normalizeHosts(p.RedirectHosts)
	if err != nil {
		return nil, err
	}
	if p.ReadMode == "" {
		p.ReadMode = appwheel.ReadLive
		if p.StripeWebhookSecret != "" {
			p.ReadMode = appwheel.ReadMirror
		}
	}
	if err := validateCreate(p); err != nil {
		return nil, err
	}
	start := s.now()
	now := start.UTC()
	app := &appwheel.App{
		ReadMode: p.ReadMode,
		ID:       "app_" + randomHex(12),
		Name:     p.Name,
		Platform: p.Platform,
		Secret:   newSecret(),
		Stripe: appwheel.StripeAccount{
			SecretKey:     p.StripeSecretKey,
			WebhookSecret: p.StripeWebhookSecret,
			APIBase:       strings.TrimRight(p.StripeAPIBase, "/"),
		},
		RedirectHosts: hosts,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := s.store.CreateApp(ctx, s.seal(app)); err != nil {
		return nil, err
	}
	s.written(app, start)
	return app, nil
}

// load reads the app from the store, never from memory, and opens it.
func (s *Service) load(ctx context.Context, id string) (*appwheel.App, error) {
	rec, err := s.store.App(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.open(rec)
}

// Apps returns every app, oldest first, secrets opened, from the store.
func (s *Service) Apps(ctx context.Context) ([]*appwheel.App, error) {
	recs, err := s.store.Apps(ctx)
	if err != nil {
		return nil, err
	}
	apps := make([]*appwheel.App, 0, len(recs))
	for _, rec := range recs {
		app, err := s.open(rec)
		if err != nil {
			return nil, err
		}
		apps = append(apps, app)
	}
	return apps, nil
}

// RotateSecret gives the app a new AppSecret. The old one keeps working for
// grace (0 ends it at once), so backends can roll the new one out.
//
// Returns ENOTFOUND when there is no such app, EINVALID for a negative grace.
func (s *Service) RotateSecret(ctx context.Context, id string, grace time.Duration) (*appwheel.App, error) {
	if grace < 0 {
		return nil, appwheel.Errorf(appwheel.EINVALID, "grace must not be negative")
	}
	return s.update(ctx, id, func(app *appwheel.App, now time.Time) error {
		app.PreviousSecret = app.Secret
		app.PreviousSecretExpiresAt = now.Add(grace)
		app.Secret = newSecret()
		return nil
	})
}

// SetDisabled disables or re-enables an app. A disabled app's requests are
// refused with EFORBIDDEN.
//
// Returns ENOTFOUND when there is no such app.
func (s *Service) SetDisabled(ctx context.Context, id string, disabled bool) (*appwheel.App, error) {
	return s.update(ctx, id, func(app *appwheel.App, _ time.Time) error {
		app.Disabled = disabled
		return nil
	})
}

// SetStripe replaces the app's Stripe account settings.
//
// Returns ENOTFOUND when there is no such app, EINVALID for a bad setting.
func (s *Service) SetStripe(ctx context.Context, id string, acct appwheel.StripeAccount) (*appwheel.App, error) {
	if err := validateStripe(acct.SecretKey, acct.WebhookSecret, acct.APIBase); err != nil {
		return nil, err
	}
	acct.APIBase = strings.TrimRight(acct.APIBase, "/")
	return s.update(ctx, id, func(app *appwheel.App, _ time.Time) error {
		app.Stripe = acct
		return nil
	})
}

// SetBranding replaces how the app's hosted billing page looks and who may
// embed it with b, normalized: the display name trimmed, the accent color
// as lower-case #rrggbb, each frame ancestor as its origin
// scheme://host[:port] in lower case (without the scheme's default port),
// duplicates dropped. The zero Branding clears it.
//
// Returns ENOTFOUND when there is no such app, EINVALID naming the bad
// field.
func (s *Service) SetBranding(ctx context.Context, id string, b appwheel.Branding) (*appwheel.App, error) {
	b, err := normalizeBranding(b)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, id, func(app *appwheel.App, _ time.Time) error {
		app.Branding = b
		return nil
	})
}

// update applies change to the app as stored, stores it, and serves it
// from memory at once. It reads the store, not the cache: the change must
// start from the latest app, and it changes what it read.
func (s *Service) update(ctx context.Context, id string, change func(*appwheel.App, time.Time) error) (*appwheel.App, error) {
	app, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	start := s.now()
	now := start.UTC()
	if err := change(app, now); err != nil {
		return nil, err
	}
	app.UpdatedAt = now
	if err := s.store.UpdateApp(ctx, s.seal(app)); err != nil {
		return nil, err
	}
	s.written(app, start)
	return app, nil
}

// Each sealed field is bound to its app and column, so values cannot be
// swapped between rows or columns.
func sealContext(appID, field string) string { return appID + "/" + field }

// SealResponse seals an API response of the app kept to be replayed (an
// Idempotency-Key's), which may carry a secret (a SetupIntent's client
// secret), as the app's secrets are sealed, bound to the app and the key.
func (s *Service) SealResponse(appID, key string, body []byte) []byte {
	return s.box.Seal(string(body), sealContext(appID, "idempotent_response/"+key))
}

// OpenResponse opens what SealResponse sealed for the same app and key.
func (s *Service) OpenResponse(appID, key string, sealed []byte) ([]byte, error) {
	body, err := s.box.Open(sealed, sealContext(appID, "idempotent_response/"+key))
	return []byte(body), err
}

func (s *Service) seal(app *appwheel.App) *appwheel.AppRecord {
	sealOptional := func(v, field string) []byte {
		if v == "" {
			return nil
		}
		return s.box.Seal(v, sealContext(app.ID, field))
	}
	return &appwheel.AppRecord{
		ID:                        app.ID,
		Name:                      app.Name,
		Platform:                  app.Platform,
		SealedSecret:              s.box.Seal(app.Secret, sealContext(app.ID, "secret")),
		SealedPreviousSecret:      sealOptional(app.PreviousSecret, "previous_secret"),
		PreviousSecretExpiresAt:   app.PreviousSecretExpiresAt,
		SealedStripeSecretKey:     s.box.Seal(app.Stripe.SecretKey, sealContext(app.ID, "stripe_secret_key")),
		SealedStripeWebhookSecret: sealOptional(app.Stripe.WebhookSecret, "stripe_webhook_secret"),
		StripeAPIBase:             app.Stripe.APIBase,
		ReadMode:                  app.ReadMode,
		RedirectHosts:             slices.Clone(app.RedirectHosts),
		Branding:                  cloneBranding(app.Branding),
		Disabled:                  app.Disabled,
		CreatedAt:                 app.CreatedAt,
		UpdatedAt:                 app.UpdatedAt,
	}
}

func (s *Service) open(rec *appwheel.AppRecord) (*appwheel.App, error) {
	var firstErr error
	open := func(sealed []byte, field string) string {
		if sealed == nil {
			return ""
		}
		v, err := s.box.Open(sealed, sealContext(rec.ID, field))
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("app %s %s: %w", rec.ID, field, err)
		}
		return v
	}
	app := &appwheel.App{
		ID:                      rec.ID,
		Name:                    rec.Name,
		Platform:                rec.Platform,
		Secret:                  open(rec.SealedSecret, "secret"),
		PreviousSecret:          open(rec.SealedPreviousSecret, "previous_secret"),
		PreviousSecretExpiresAt: rec.PreviousSecretExpiresAt,
		Stripe: appwheel.StripeAccount{
			SecretKey:     open(rec.SealedStripeSecretKey, "stripe_secret_key"),
			WebhookSecret: open(rec.SealedStripeWebhookSecret, "stripe_webhook_secret"),
			APIBase:       rec.StripeAPIBase,
		},
		ReadMode:      rec.ReadMode,
		RedirectHosts: slices.Clone(rec.RedirectHosts),
		Branding:      cloneBranding(rec.Branding),
		Disabled:      rec.Disabled,
		CreatedAt:     rec.CreatedAt,
		UpdatedAt:     rec.UpdatedAt,
	}
	return app, firstErr
}

func validateCreate(p CreateParams) error {
	if name := strings.TrimSpace(p.Name); name == "" || len(name) > 200 {
		return appwheel.Errorf(appwheel.EINVALID, "name is required (at most 200 bytes)")
	}
	if p.Platform != appwheel.PlatformStripe {
		return appwheel.Errorf(appwheel.EINVALID, "platform must be %q", appwheel.PlatformStripe)
	}
	if err := validateReadMode(p.ReadMode, p.StripeWebhookSecret); err != nil {
		return err
	}
	return validateStripe(p.StripeSecretKey, p.StripeWebhookSecret, p.StripeAPIBase)
}

// validateReadMode refuses a mirror without webhooks to keep it.
func validateReadMode(mode, webhookSecret string) error {
	switch mode {
	case appwheel.ReadLive:
		return nil
	case appwheel.ReadMirror:
		if webhookSecret == "" {
			return appwheel.Errorf(appwheel.EINVALID, "read mode mirror needs a stripe webhook secret")
		}
		return nil
	}
	return appwheel.Errorf(appwheel.EINVALID, "read mode must be %q or %q", appwheel.ReadMirror, appwheel.ReadLive)
}

// SetReadMode switches where the app's reads come from.
//
// Returns ENOTFOUND when there is no such app, EINVALID for an unknown mode
// or a mirror without a webhook secret.
func (s *Service) SetReadMode(ctx context.Context, id, mode string) (*appwheel.App, error) {
	return s.update(ctx, id, func(app *appwheel.App, _ time.Time) error {
		// Checked against the app as stored, which update reads.
		if err := validateReadMode(mode, app.Stripe.WebhookSecret); err != nil {
			return err
		}
		app.ReadMode = mode
		return nil
	})
}

func validateStripe(secretKey, webhookSecret, apiBase string) error {
	if !strings.HasPrefix(secretKey, "sk_") && !strings.HasPrefix(secretKey, "rk_") {
		return appwheel.Errorf(appwheel.EINVALID, "stripe secret key must start with sk_ or rk_")
	}
	if webhookSecret != "" && !strings.HasPrefix(webhookSecret, "whsec_") {
		return appwheel.Errorf(appwheel.EINVALID, "stripe webhook secret must start with whsec_")
	}
	if apiBase != "" {
		u, err := url.Parse(apiBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return appwheel.Errorf(appwheel.EINVALID, "stripe API base must be an absolute http(s) URL")
		}
	}
	return nil
}

// normalizeHosts lower-cases redirect hosts and refuses anything that is
// not a bare host name (no scheme, path or port).
func normalizeHosts(hosts []string) ([]string, error) {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		u, err := url.Parse("http://" + h)
		if h == "" || err != nil || u.Host != h || u.Port() != "" {
			return nil, appwheel.Errorf(appwheel.EINVALID, "redirect host %q must be a bare host name", h)
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// The limits of an app's branding.
const (
	maxDisplayName    = 100  // bytes, once trimmed
	maxLogoURL        = 2048 // bytes
	maxFrameAncestors = 10   // once normalized and deduplicated
)

// normalizeBranding validates b and returns it normalized (see
// SetBranding), a copy sharing nothing with b. No frame ancestors are nil.
//
// The billing page puts these values in its HTML and, the logo's and the
// frame ancestors' hosts, in its Content-Security-Policy header; so a host
// must be a plain DNS name or IP address, nothing a header could read as
// more than one.
func normalizeBranding(b appwheel.Branding) (appwheel.Branding, error) {
	var (
		out appwheel.Branding
		err error
	)
	if out.DisplayName, err = normalizeDisplayName(b.DisplayName); err != nil {
		return appwheel.Branding{}, err
	}
	if err := validateLogoURL(b.LogoURL); err != nil {
		return appwheel.Branding{}, err
	}
	out.LogoURL = b.LogoURL
	if out.AccentColor, err = normalizeAccentColor(b.AccentColor); err != nil {
		return appwheel.Branding{}, err
	}
	if out.FrameAncestors, err = normalizeFrameAncestors(b.FrameAncestors); err != nil {
		return appwheel.Branding{}, err
	}
	return out, nil
}

func normalizeDisplayName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case !utf8.ValidString(name):
		return "", appwheel.Errorf(appwheel.EINVALID, "display name must be valid UTF-8")
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", appwheel.Errorf(appwheel.EINVALID, "display name %s must not contain control characters", appwheel.Quote(name))
	case len(name) > maxDisplayName:
		return "", appwheel.Errorf(appwheel.EINVALID, "display name must be at most %d bytes, not %d", maxDisplayName, len(name))
	}
	return name, nil
}

// validateLogoURL accepts "" or an absolute https URL without user info.
func validateLogoURL(raw string) error {
	if raw == "" {
		return nil
	}
	if len(raw) > maxLogoURL {
		return appwheel.Errorf(appwheel.EINVALID, "logo URL must be at most %d bytes, not %d", maxLogoURL, len(raw))
	}
	if !utf8.ValidString(raw) || strings.ContainsFunc(raw, controlOrSpace) {
		return appwheel.Errorf(appwheel.EINVALID, "logo URL %s must not contain spaces or control characters", appwheel.Quote(raw))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.Host == "" {
		return appwheel.Errorf(appwheel.EINVALID, "logo URL %s must be an absolute https URL, such as https://cdn.example.com/logo.png", appwheel.Quote(raw))
	}
	if u.User != nil {
		// Not quoted: the message would show the password.
		return appwheel.Errorf(appwheel.EINVALID, "logo URL must not carry a user name or password")
	}
	if _, _, ok := hostPort(u); !ok {
		return appwheel.Errorf(appwheel.EINVALID, "logo URL %s must name a DNS host (internationalized names in their xn-- form) or an IP address, and a port from 1 to 65535 if any", appwheel.Quote(raw))
	}
	return nil
}

// normalizeAccentColor accepts "", #rgb or #rrggbb, and returns lower-case
// #rrggbb.
func normalizeAccentColor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	digits, ok := strings.CutPrefix(c, "#")
	if !ok || (len(digits) != 3 && len(digits) != 6) || strings.ContainsFunc(digits, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F')
	}) {
		return "", appwheel.Errorf(appwheel.EINVALID, "accent color %s must be a hex color, #rgb or #rrggbb", appwheel.Quote(c))
	}
	digits = strings.ToLower(digits)
	if len(digits) == 3 {
		digits = string([]byte{digits[0], digits[0], digits[1], digits[1], digits[2], digits[2]})
	}
	return "#" + digits, nil
}

// normalizeFrameAncestors normalizes each origin and drops duplicates,
// keeping the first's place. None is nil.
func normalizeFrameAncestors(origins []string) ([]string, error) {
	var out []string
	for _, o := range origins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > maxFrameAncestors {
		return nil, appwheel.Errorf(appwheel.EINVALID, "at most %d frame ancestors are allowed, not %d", maxFrameAncestors, len(out))
	}
	return out, nil
}

// normalizeOrigin returns a frame ancestor as its origin: https (or http
// for a loopback host), host and port, in lower case, without the scheme's
// default port. Surrounding spaces are dropped; a path other than "/", a
// query or a fragment is refused.
func normalizeOrigin(raw string) (string, error) {
	notOrigin := func() error {
		return appwheel.Errorf(appwheel.EINVALID,
			"frame ancestor %s must be an origin, scheme://host[:port] with no path, such as https://app.example.com", appwheel.Quote(raw))
	}
	s := strings.TrimSpace(raw)
	if s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, controlOrSpace) || strings.ContainsAny(s, "?#") {
		return "", notOrigin()
	}
	u, err := url.Parse(s)
	if err == nil && u.User != nil {
		// Not quoted: the message would show the password.
		return "", appwheel.Errorf(appwheel.EINVALID, "frame ancestor must not carry a user name or password")
	}
	if err != nil || u.Opaque != "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", notOrigin()
	}
	host, port, ok := hostPort(u)
	if !ok {
		return "", notOrigin()
	}
	switch u.Scheme {
	case "https":
		if port == "443" {
			port = ""
		}
	case "http":
		if host != "localhost" && host != "127.0.0.1" && host != "[::1]" {
			return "", appwheel.Errorf(appwheel.EINVALID,
				"frame ancestor %s must use https: http is allowed only for localhost, 127.0.0.1 and [::1]", appwheel.Quote(raw))
		}
		if port == "80" {
			port = ""
		}
	default:
		return "", notOrigin()
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

// hostPort returns u's host and port normalized, and whether they are
// valid: the host a DNS name of letters, digits and hyphens (an
// internationalized one in its xn-- form), lower-cased; an IPv4 address;
// or an IPv6 address, in brackets and its canonical form, without a zone.
// The port, if any, is a number from 1 to 65535, returned without leading
// zeros; "" when there is none.
func hostPort(u *url.URL) (host, port string, ok bool) {
	host = strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", "", false
		}
		port = strconv.Itoa(n)
	}
	if strings.HasPrefix(u.Host, "[") {
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", "", false
		}
		return "[" + addr.String() + "]", port, true
	}
	if len(host) == 0 || len(host) > 253 {
		return "", "", false
	}
	labels := strings.Split(host, ".")
	if last := labels[len(labels)-1]; last != "" && strings.Trim(last, "0123456789") == "" {
		// A name ending in a number is an IPv4 address to a browser.
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is4() {
			return "", "", false
		}
		return addr.String(), port, true
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.ContainsFunc(l, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-')
		}) {
			return "", "", false
		}
	}
	return host, port, true
}

func controlOrSpace(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }

// cloneBranding copies b, sharing nothing with it.
func cloneBranding(b appwheel.Branding) appwheel.Branding {
	b.FrameAncestors = slices.Clone(b.FrameAncestors)
	return b
}

// newSecret returns a fresh AppSecret: 32 random bytes, URL-safe base64.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "aws_" + base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
