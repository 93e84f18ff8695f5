package stripe

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	stripego "github.com/stripe/stripe-go/v85"

	"github.com/appwheel/appwheel"
)

// call makes one Stripe API request through fn, the way every method does:
// it retries what stripe-go leaves unretried (see retries), backing off
// between attempts (fn must reuse its params, and so its idempotency key, on
// every attempt), maps the final error to an *appwheel.Error in one place,
// and counts the outcome.
//
// A list that spans several pages makes one call per page, so each page gets
// its own retries and its own count.
func (p *Provider) call(ctx context.Context, op string, acct appwheel.StripeAccount, fn func(sc *stripego.Client) error) error {
	if acct.SecretKey == "" {
		err := appwheel.Errorf(appwheel.ESTRIPE, "the app has no Stripe secret key configured")
		p.metrics.count(op, err)
		return err
	}
	sc := p.client(acct)
	var err error
	for attempt := 0; ; attempt++ {
		err = fn(sc)
		if err == nil || attempt >= p.retries(err) {
			break
		}
		d := p.backoff(attempt)
		p.log.WarnContext(ctx, "stripe request failed; retrying",
			"operation", op, "attempt", attempt+1, "delay", d,
			"status", httpStatus(err), "requestId", requestID(err))
		if serr := p.sleep(ctx, d); serr != nil {
			err = serr
			break
		}
	}
	err = p.mapError(ctx, op, acct.SecretKey, err)
	p.metrics.count(op, err)
	return err
}

// retries returns how many times a call failing with err may be retried
// here. stripe-go retries network errors, unreadable responses and 429
// lock_timeout itself; but it never retries a response that carries a Stripe
// error body, whatever its status (a parsed *stripe.Error only retries on
// lock_timeout, before the status is even looked at). So this layer retries:
//   - 429 rate limits, RateLimitRetries times: stripe-go never does, by
//     design, and a burst over the limit passes within a second or two;
//   - 409 and 5xx, MaxNetworkRetries times: what stripe-go documents that it
//     does but does not.
//
// A response with Stripe-Should-Retry: false is never retried, and one with
// Stripe-Should-Retry: true is retried like a 5xx.
func (p *Provider) retries(err error) int {
	var se *stripego.Error
	if !errors.As(err, &se) || se.Code == stripego.ErrorCodeLockTimeout {
		return 0
	}
	var shouldRetry string
	if se.LastResponse != nil {
		shouldRetry = se.LastResponse.Header.Get("Stripe-Should-Retry")
	}
	switch {
	case shouldRetry == "false":
		return 0
	case se.HTTPStatusCode == http.StatusTooManyRequests:
		return p.rateLimitRetries
	case shouldRetry == "true", se.HTTPStatusCode == http.StatusConflict, se.HTTPStatusCode >= 500:
		return int(p.maxNetworkRetries)
	}
	return 0
}

// backoff returns the wait before retry number attempt (from 0): a random
// duration between half and all of RetryBackoff×2^attempt, so that
// concurrent callers spread out instead of retrying in lockstep.
func (p *Provider) backoff(attempt int) time.Duration {
	d := p.retryBackoff << min(attempt, 10)
	half := d / 2
	return half + rand.N(half+1)
}

// idempotencyKey returns the key to send with one logical write: the
// caller's, or a random one when the caller gave none, made once so every
// retry of the write carries the same key. Stripe refuses keys longer than
// 255 characters; a longer caller key is replaced by its SHA-256, which is
// just as stable across retries.
func idempotencyKey(key string) string {
	switch {
	case key == "":
		return "appwheel-" + cryptorand.Text()
	case len(key) > 255:
		sum := sha256.Sum256([]byte(key))
		return "appwheel-sha256-" + hex.EncodeToString(sum[:])
	}
	return key
}
