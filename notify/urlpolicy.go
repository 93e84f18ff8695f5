package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/appwheel/appwheel"
)

// maxURLLen bounds an endpoint URL, in bytes.
const maxURLLen = 2048

// ErrAddressNotAllowed is wrapped by the error a delivery fails with when its
// host resolved, at connect time, to an address the policy refuses.
var ErrAddressNotAllowed = errors.New("address not allowed")

// privateFlag is the serve flag that sets URLPolicy.AllowPrivate.
const privateFlag = "--allow-private-webhook-urls"

// lookupTimeout bounds the resolution of an endpoint's host at registration.
const lookupTimeout = 5 * time.Second

// URLPolicy says which endpoint URLs AppWheel may deliver to.
type URLPolicy struct {
	// AllowPrivate lets endpoints resolve to loopback, private (RFC 1918, RFC 4193 fc00::/7),
	// link-local (169.254.0.0/16, fe80::/10, so also the cloud metadata 169.254.169.254),
	// CGNAT 100.64.0.0/10, unspecified (0.0.0.0, ::) and other non-public addresses
	// (the serve flag --allow-private-webhook-urls; dev sets it).
	AllowPrivate bool
	// AllowHTTP lets an endpoint use http:// when its host is a loopback address or
	// "localhost" (dev only); otherwise only https:// is accepted.
	AllowHTTP bool

	// lookupIP resolves a host name for CheckURL; nil means
	// net.DefaultResolver (tests stub it).
	lookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
}

func defaultLookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// CheckURL validates an endpoint URL when it is registered: absolute, https (or http on
// loopback with AllowHTTP), a host, no user info, no fragment, length ≤ 2048, port if
// any 1–65535. A literal IP host that is not public is refused unless AllowPrivate;
// a host name is resolved (with the resolver given, net.DefaultResolver in
// production) and refused if any of its addresses is not public, unless AllowPrivate.
// Errors are appwheel.Errorf(appwheel.EINVALID, "…") with a message an operator
// understands (say which address and why, and name the flag --allow-private-webhook-urls).
//
// The check at registration is advisory against DNS changes: Client checks
// every address again when it connects.
func (p URLPolicy) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	switch {
	case raw == "":
		return nil, urlInvalid("webhook endpoint URL is required")
	case len(raw) > maxURLLen:
		return nil, urlInvalid("webhook endpoint URL is %d bytes long; at most %d are allowed", len(raw), maxURLLen)
	case strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return nil, urlInvalid("webhook endpoint URL %s must not contain spaces or control characters", appwheel.Quote(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, urlInvalid("webhook endpoint URL %s is not a valid URL", appwheel.Quote(raw))
	}
	if !u.IsAbs() {
		return nil, urlInvalid("webhook endpoint URL %s must be absolute (https://host/path)", appwheel.Quote(raw))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, urlInvalid("webhook endpoint URL %s must use https://, not %s://", appwheel.Quote(raw), u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, urlInvalid("webhook endpoint URL %s must have a host (https://host/path)", appwheel.Quote(raw))
	}
	if u.User != nil {
		return nil, urlInvalid("webhook endpoint URL %s must not contain user info (user:password@); deliveries are authenticated by their signature", appwheel.Quote(raw))
	}
	if strings.Contains(raw, "#") {
		return nil, urlInvalid("webhook endpoint URL %s must not have a fragment (#…)", appwheel.Quote(raw))
	}
	if strings.HasSuffix(u.Host, ":") {
		return nil, urlInvalid("webhook endpoint URL %s has an empty port; give one from 1 to 65535 or none", appwheel.Quote(raw))
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, urlInvalid("webhook endpoint URL %s has port %s; it must be from 1 to 65535", appwheel.Quote(raw), port)
		}
	}

	host := u.Hostname()
	lit, litErr := netip.ParseAddr(host)
	isIP := litErr == nil
	local := isLocalhost(host) || isIP && lit.WithZone("").Unmap().IsLoopback()
	if u.Scheme == "http" && !(p.AllowHTTP && local) {
		return nil, urlInvalid("webhook endpoint URL %s must use https://; http:// is accepted only for localhost in development", appwheel.Quote(raw))
	}

	switch {
	case isIP:
		if !p.allowed(lit) {
			return nil, urlInvalid("webhook endpoint URL host %s is %s; AppWheel delivers only to public addresses (for development, start the server with %s)",
				lit, nonPublicReason(lit), privateFlag)
		}
	case looksNumeric(host):
		// Forms such as 2130706433 or 0x7f.1 that some resolvers read as an
		// IPv4 address (127.0.0.1) but netip does not.
		return nil, urlInvalid("webhook endpoint URL host %s is neither a valid IP address nor a host name", appwheel.Quote(host))
	case p.AllowPrivate:
		// Any address is allowed: no need to resolve.
	case isLocalhost(host):
		return nil, urlInvalid("webhook endpoint URL host %s is a loopback name; AppWheel delivers only to public addresses (for development, start the server with %s)",
			appwheel.Quote(host), privateFlag)
	default:
		if err := p.checkName(ctx, host); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// checkName resolves host and refuses it if any of its addresses is not
// allowed.
func (p URLPolicy) checkName(ctx context.Context, host string) error {
	lookup := p.lookupIP
	if lookup == nil {
		lookup = defaultLookupIP
	}
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := lookup(lctx, host)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return urlInvalid("webhook endpoint URL host %s cannot be resolved: %v", appwheel.Quote(host), err)
	}
	if len(addrs) == 0 {
		return urlInvalid("webhook endpoint URL host %s resolves to no address", appwheel.Quote(host))
	}
	for _, a := range addrs {
		if !p.allowed(a) {
			return urlInvalid("webhook endpoint URL host %s resolves to %s, %s; AppWheel delivers only to public addresses (for development, start the server with %s)",
				appwheel.Quote(host), a, nonPublicReason(a), privateFlag)
		}
	}
	return nil
}

// Client returns the HTTP client deliveries are made with: timeout (the whole
// request) as given, no redirects followed (the 3xx is the answer: CheckRedirect
// returns http.ErrUseLastResponse), no proxy from the environment, no cookies, and a
// dialer whose Control hook refuses, after DNS resolution and at connect time, any
// address the policy does not allow (so a name that resolved to a public address at
// registration and to 127.0.0.1 now is refused: DNS rebinding). Keep-alive on, a
// bounded idle pool (MaxIdleConnsPerHost 4), TLS handshake timeout 10 s,
// ResponseHeaderTimeout within the overall timeout.
func (p URLPolicy) Client(timeout time.Duration) *http.Client {
	const tlsTimeout = 10 * time.Second
	dialTimeout := 10 * time.Second
	if timeout > 0 && timeout < dialTimeout {
		dialTimeout = timeout
	}
	dialer := &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: 30 * time.Second,
		Control:   p.control,
	}
	tr := &http.Transport{
		Proxy:                  nil, // never from the environment
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    tlsTimeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		// Jar nil: no cookies.
	}
}

// control is the dialer's Control hook: it runs for every address the
// dialer connects to, after resolution, and refuses those not allowed.
func (p URLPolicy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q (%s)", ErrAddressNotAllowed, address, network)
	}
	if !p.allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s is %s (start the server with %s to allow it)",
			ErrAddressNotAllowed, ap.Addr(), nonPublicReason(ap.Addr()), privateFlag)
	}
	return nil
}

// allowed reports whether the policy lets a delivery reach ip.
func (p URLPolicy) allowed(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	return p.AllowPrivate || nonPublicReason(ip) == ""
}

type reservedPrefix struct {
	prefix netip.Prefix
	why    string
}

// reserved4 lists the IPv4 special-purpose blocks (IANA registry) that
// netip's predicates do not cover and that are not globally reachable.
var reserved4 = []reservedPrefix{
	{netip.MustParsePrefix("0.0.0.0/8"), `in 0.0.0.0/8 ("this network")`},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared carrier-grade NAT address (100.64.0.0/10)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address (192.0.2.0/24)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "a deprecated 6to4 relay address (192.88.99.0/24)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address (198.51.100.0/24)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address (203.0.113.0/24)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address (240.0.0.0/4, with the broadcast address)"},
}

// reserved6 lists IPv6 special-purpose blocks, checked before requiring
// global unicast (2000::/3).
var reserved6 = []reservedPrefix{
	{netip.MustParsePrefix("::/96"), "a deprecated IPv4-compatible address (::/96)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address (64:ff9b:1::/48)"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address (100::/64)"},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment (2001::/23)"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address (2001:db8::/32)"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address (3fff::/20)"},
	{netip.MustParsePrefix("fec0::/10"), "a deprecated site-local address (fec0::/10)"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	global6   = netip.MustParsePrefix("2000::/3")
)

// nonPublicReason says why ip is not a public address, as a phrase for an
// error message ("a loopback address"); "" if it is public.
func nonPublicReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not a valid IP address"
	}
	ip = ip.WithZone("").Unmap()
	switch {
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate() && ip.Is4():
		return "a private address (RFC 1918)"
	case ip.IsPrivate():
		return "a unique local address (RFC 4193, fc00::/7)"
	case ip.IsLinkLocalUnicast():
		return "a link-local address (169.254.0.0/16, fe80::/10: where cloud metadata services such as 169.254.169.254 live)"
	case ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	if ip.Is4() {
		for _, r := range reserved4 {
			if r.prefix.Contains(ip) {
				return r.why
			}
		}
		return ""
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		v4 := netip.AddrFrom4([4]byte(b[12:16]))
		if why := nonPublicReason(v4); why != "" {
			return fmt.Sprintf("a NAT64 address (64:ff9b::/96) of %s, %s", v4, why)
		}
		return ""
	case sixToFour.Contains(ip):
		v4 := netip.AddrFrom4([4]byte(b[2:6]))
		if why := nonPublicReason(v4); why != "" {
			return fmt.Sprintf("a 6to4 address (2002::/16) of %s, %s", v4, why)
		}
		return ""
	}
	for _, r := range reserved6 {
		if r.prefix.Contains(ip) {
			return r.why
		}
	}
	if !global6.Contains(ip) {
		return "outside the IPv6 global unicast range (2000::/3)"
	}
	return ""
}

// isLocalhost reports whether host is "localhost" or a name under it
// (RFC 6761: always loopback).
func isLocalhost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// looksNumeric reports whether host's last label is a number (decimal or
// 0x hex): no top-level domain is, but inet_aton reads such a host as an
// IPv4 address.
func looksNumeric(host string) bool {
	h := strings.TrimSuffix(host, ".")
	if i := strings.LastIndexByte(h, '.'); i >= 0 {
		h = h[i+1:]
	}
	if h == "" {
		return false
	}
	if len(h) > 2 && (h[:2] == "0x" || h[:2] == "0X") {
		h = h[2:]
		return strings.Trim(h, "0123456789abcdefABCDEF") == ""
	}
	return strings.Trim(h, "0123456789") == ""
}

func urlInvalid(format string, args ...any) error {
	return appwheel.Errorf(appwheel.EINVALID, format, args...)
}
