package billing

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/appwheel/appwheel"
)

// Bounds of the parameters the API accepts.
const (
	maxAppUserIDLen = 128  // characters
	maxURLLen       = 2048 // bytes
	maxObjectIDLen  = 255  // bytes, Stripe's own bound on ids
)

func validateAppUserID(id string) error {
	n := utf8.RuneCountInString(id)
	switch {
	case id == "":
		return appwheel.Errorf(appwheel.EINVALID, "appUserId is required")
	case !utf8.ValidString(id):
		return appwheel.Errorf(appwheel.EINVALID, "appUserId must be valid UTF-8")
	case n > maxAppUserIDLen:
		return appwheel.Errorf(appwheel.EINVALID, "appUserId must be at most %d characters, got %d", maxAppUserIDLen, n)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return appwheel.Errorf(appwheel.EINVALID, "appUserId must not contain control characters")
	}
	return nil
}

// Prefixes of the ids a payment method list can hold: PaymentMethods, and
// on older accounts legacy cards and sources.
var paymentMethodPrefixes = []string{"pm_", "card_", "src_"}

// validateObjectID checks that id looks like a Stripe id with one of the
// given prefixes, so ids of the wrong kind are refused before Stripe is
// asked.
func validateObjectID(param string, prefixes []string, id string) error {
	if id == "" {
		return appwheel.Errorf(appwheel.EINVALID, "%s is required", param)
	}
	ok := slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(id, p) && len(id) > len(p) }) &&
		len(id) <= maxObjectIDLen
	for _, r := range id {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			ok = false
			break
		}
	}
	if !ok {
		return appwheel.Errorf(appwheel.EINVALID, "%s must be a Stripe id starting with %s", param, strings.Join(prefixes, " or "))
	}
	return nil
}

// validateRedirectURL accepts an absolute http(s) URL whose host is among
// the app's allowed redirect hosts, when the app lists any.
func validateRedirectURL(param, raw string, allowedHosts []string) error {
	if raw == "" {
		return appwheel.Errorf(appwheel.EINVALID, "%s is required for type checkout", param)
	}
	if len(raw) > maxURLLen {
		return appwheel.Errorf(appwheel.EINVALID, "%s must be at most %d bytes", param, maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || strings.IndexFunc(raw, unicode.IsControl) >= 0 || strings.ContainsAny(raw, " \\") {
		return appwheel.Errorf(appwheel.EINVALID, "%s is not a valid URL", param)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return appwheel.Errorf(appwheel.EINVALID, "%s must be an absolute http or https URL", param)
	}
	if strings.IndexFunc(u.Host, func(r rune) bool { return r > unicode.MaxASCII }) >= 0 {
		// Browsers fold some non-ASCII letters into ASCII ones; comparing
		// only ASCII hosts (IDNs in punycode) keeps the allow-list exact.
		return appwheel.Errorf(appwheel.EINVALID, "%s host must be ASCII (write international names in punycode)", param)
	}
	if u.User != nil {
		return appwheel.Errorf(appwheel.EINVALID, "%s must not carry user information", param)
	}
	if !validHost(u.Hostname()) || !validPort(u.Port()) {
		return appwheel.Errorf(appwheel.EINVALID, "%s host must be a DNS name or an IP address, with a port from 1 to 65535", param)
	}
	if len(allowedHosts) > 0 && !slices.ContainsFunc(allowedHosts, func(h string) bool { return strings.EqualFold(h, u.Hostname()) }) {
		return appwheel.Errorf(appwheel.EFORBIDDEN, "%s host %s is not among the app's allowed redirect hosts", param, appwheel.Quote(u.Hostname()))
	}
	return nil
}

// validHost accepts an IP address or a DNS name: at most 253 bytes, labels
// of 1–63 letters, digits and hyphens, not starting or ending with a hyphen.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

// validPort accepts no port or one from 1 to 65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// ValidateAppUserID is the rule for appUserId, for the other front ends of
// the billing service (the hosted billing page).
func ValidateAppUserID(id string) error { return validateAppUserID(id) }

// ValidateReturnURL checks a URL the user is sent back to, as successUrl
// and cancelUrl are checked: an absolute http(s) URL, on one of the app's
// redirect hosts when it lists any.
func ValidateReturnURL(param, raw string, app *appwheel.App) error {
	if raw == "" {
		return appwheel.Errorf(appwheel.EINVALID, "%s is required", param)
	}
	return validateRedirectURL(param, raw, app.RedirectHosts)
}
