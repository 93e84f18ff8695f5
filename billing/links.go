package billing

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
)

// Invoice links. Stripe's invoice_pdf and hosted_invoice_url expire, so
// mirrored invoices are not served with the URLs Stripe gave when they were
// mirrored. Each read instead hands out an AppWheel link, signed and valid
// for InvoiceLinkTTL, that fetches the invoice from Stripe when followed
// and redirects to the URL Stripe gives then: a link is never stale.
const InvoiceLinkTTL = 30 * 24 * time.Hour

// Kinds of invoice link.
const (
	LinkPDF    = "pdf"
	LinkHosted = "hosted"
)

// invoiceLink returns a signed link to an invoice's PDF or hosted page,
// handed out at now (Unix seconds). It expires InvoiceLinkTTL after the end
// of now's hour, so every link handed out in one hour is the same: a page of
// invoices rendered in that hour may be served again until the hour ends
// (linkHourEnd), each link then still valid for at least InvoiceLinkTTL.
func (s *Service) invoiceLink(appID, invoiceID, kind string, now int64) string {
	// A page of invoices hands out two links per invoice, so this is built
	// in one buffer with a pooled keyed hash: it was most of a rendered
	// page's allocations (BenchmarkReadJSON).
	expires := linkHourEnd(now) + int64(InvoiceLinkTTL/time.Second)
	var buf [160]byte
	payload := append(buf[:0], appID...)
	payload = append(append(payload, '.'), invoiceID...)
	payload = append(append(payload, '.'), kind...)
	payload = strconv.AppendInt(append(payload, '.'), expires, 10)
	var sum [sha256.Size]byte
	mac := s.linkMAC(sum[:0], payload)
	enc := base64.RawURLEncoding
	const path = "/invoice-links/"
	link := make([]byte, 0, len(s.linkBase)+len(path)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(len(mac)))
	link = append(append(link, s.linkBase...), path...)
	link = append(enc.AppendEncode(link, payload), '.')
	return string(enc.AppendEncode(link, mac))
}

// linkHourEnd is the end of now's hour (Unix seconds), when the links
// handed out change.
func linkHourEnd(now int64) int64 {
	const hour = int64(time.Hour / time.Second)
	return (now/hour + 1) * hour
}

// linkMAC appends payload's MAC, truncated to 16 bytes, to dst. The keyed
// hashes are pooled: a reset one starts from its saved keyed state, where a
// new one hashes the key again.
func (s *Service) linkMAC(dst, payload []byte) []byte {
	m, _ := s.linkMACs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.linkKey)
	}
	m.Reset()
	m.Write(payload)
	dst = m.Sum(dst)[:len(dst)+16]
	s.linkMACs.Put(m)
	return dst
}

// FollowInvoiceLink checks a link's token and returns the URL Stripe gives
// now for the invoice's PDF or hosted page, refreshing the mirror's copy.
//
// Returns ENOTFOUND for a token that is malformed, forged or expired, or an
// invoice or URL that no longer exists; ESTRIPEUNAVAILABLE from Stripe.
func (s *Service) FollowInvoiceLink(ctx context.Context, token string) (string, error) {
	notFound := appwheel.Errorf(appwheel.ENOTFOUND, "no such invoice link (it may have expired)")
	encPayload, encMAC, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(encPayload)
	mac, err2 := base64.RawURLEncoding.DecodeString(encMAC)
	if !ok || err1 != nil || err2 != nil || len(s.linkKey) == 0 || !hmac.Equal(mac, s.linkMAC(nil, payload)) {
		return "", notFound
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 4 {
		return "", notFound
	}
	appID, invoiceID, kind := parts[0], parts[1], parts[2]
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return "", notFound
	}
	app, err := s.apps.App(ctx, appID)
	if isNotFound(err) || (err == nil && app.Disabled) {
		return "", notFound
	}
	if err != nil {
		return "", err
	}
	urls, err := s.invoiceURLs(ctx, app, invoiceID)
	if isNotFound(err) {
		return "", notFound
	}
	if err != nil {
		return "", err
	}
	url := urls.pdf
	if kind == LinkHosted {
		url = urls.hosted
	}
	if url == "" {
		return "", notFound
	}
	return url, nil
}

// LinkURLTTL is how long the URLs Stripe gave for an invoice are reused for
// its links: a link followed again and again (a crawler, a flood: the links
// need no credentials) costs its app's Stripe budget at most one call per
// invoice per LinkURLTTL on each replica.
const LinkURLTTL = time.Minute

// invoiceURLs is an invoice's URLs at Stripe now: fetched from Stripe (and
// the mirror's copy refreshed with it) unless fetched less than LinkURLTTL
// ago; concurrent misses of one invoice make one call.
type invoiceURLs struct{ pdf, hosted string }

type linkKey struct{ appID, invoiceID string }

// clockFunc is the service's clock as the link cache's: expiry follows the
// same clock as everything else (tests move it). It gives no ticks, so
// entries expire when looked up; the cache's size bounds the rest.
type clockFunc func() time.Time

func (c clockFunc) NowNano() int64 {
	if c == nil {
		return time.Now().UnixNano()
	}
	return c().UnixNano()
}

func (clockFunc) Tick(time.Duration) <-chan time.Time { return nil }

func (s *Service) invoiceURLs(ctx context.Context, app *appwheel.App, invoiceID string) (invoiceURLs, error) {
	k := linkKey{app.ID, invoiceID}
	if u, ok := s.linkURLs.GetIfPresent(k); ok {
		return u, nil
	}
	v, err, _ := s.linkFetches.Do(app.ID+"/"+invoiceID, func() (any, error) {
		inv, err := s.stripe.Invoice(ctx, app.Stripe, invoiceID)
		if err != nil {
			return nil, err
		}
		if s.owns(ctx, app, inv.CustomerID) {
			sub, err := s.mirroredSubscription(ctx, app, inv)
			if err == nil {
				err = s.withPriceTerms(ctx, app, inv, sub)
			}
			if err != nil {
				return nil, err
			}
			if _, err := s.store.SaveInvoice(ctx, app.ID, inv, s.fetchVersion()); err != nil {
				return nil, err
			}
		}
		u := invoiceURLs{pdf: inv.InvoicePDF, hosted: inv.HostedInvoiceURL}
		s.linkURLs.Set(k, u)
		return u, nil
	})
	if err != nil {
		return invoiceURLs{}, err
	}
	return v.(invoiceURLs), nil
}
