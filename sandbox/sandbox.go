package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config configures a Sandbox. The zero value is an in-memory sandbox on
// the real clock whose URLs are relative (set BaseURL).
type Config struct {
	// BaseURL is the public URL the sandbox is served at, e.g.
	// "http://127.0.0.1:8080/sandbox" (it may be mounted under a path prefix
	// with http.StripPrefix). Every URL the sandbox hands out (checkout url,
	// invoice_pdf, hosted_invoice_url, request_log_url) is built from it,
	// when the object is rendered, so a restart on another port keeps old
	// objects' URLs working.
	BaseURL string

	// StatePath is a JSON snapshot file of all accounts, loaded by Open and
	// rewritten atomically (temp file + rename) after each state change.
	// "" keeps state in memory only.
	StatePath string

	// Logger receives what the sandbox does. nil discards.
	Logger *slog.Logger

	// HTTPClient sends webhook deliveries. nil = a client with a 10s timeout.
	HTTPClient *http.Client

	// Now is the real clock; each account's test clock is Now() plus how far
	// the account was advanced. nil = time.Now.
	Now func() time.Time

	// WebhookRetryBase is the delay before the first retry of a failed
	// webhook delivery; each further retry waits twice as long.
	// Defaults to 1s; tests set milliseconds.
	WebhookRetryBase time.Duration

	// WebhookMaxAttempts bounds the attempts of one delivery. Defaults to 8.
	WebhookMaxAttempts int

	// SearchDelay, when set, leaves an object out of search results until
	// this long after it was created (on the account's clock), as Stripe's
	// search index lags by up to a minute. 0: no delay.
	SearchDelay time.Duration
}

// PriceSpec describes a recurring price for EnsurePrice.
type PriceSpec struct {
	LookupKey     string // identifies the price; required
	ProductName   string // the product, found or created by name; required
	Currency      string // e.g. "usd"; required
	Interval      string // day, week, month or year
	IntervalCount int64  // defaults to 1
	UnitAmount    int64  // minor units, >= 0
	Nickname      string // the price's name for people, optional
}

// Sandbox is a stateful Stripe emulation for development and tests. It is
// safe for concurrent use. Create it with New, then Open it.
type Sandbox struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	handler http.Handler

	// mu guards all state: accounts, hooks, gen, opened/closed. Handlers
	// hold it for the whole of a request's work in memory, which makes each
	// request atomic; file writes and webhook deliveries happen outside it.
	mu       sync.Mutex
	accounts map[string]*account          // by keyHash of the secret key
	keys     map[string]issuedKey         // every issued key, by keyHash (Issue)
	hooks    map[string][]webhookEndpoint // by keyHash; configuration, not state: never persisted
	gen      uint64                       // snapshot generation, bumped per change
	opened   bool
	closed   bool

	persist *persister
	deliver *deliverer
	reqLog  *requestLog
	ids     ids

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a Sandbox configured by cfg with documented defaults. It does
// no I/O: Open loads the state and starts the workers.
func New(cfg Config) *Sandbox {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WebhookRetryBase <= 0 {
		cfg.WebhookRetryBase = time.Second
	}
	if cfg.WebhookMaxAttempts <= 0 {
		cfg.WebhookMaxAttempts = 8
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	s := &Sandbox{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		accounts: map[string]*account{},
		keys:     map[string]issuedKey{},
		hooks:    map[string][]webhookEndpoint{},
		persist:  &persister{path: cfg.StatePath},
		reqLog:   newRequestLog(200),
		stop:     make(chan struct{}),
	}
	s.deliver = newDeliverer(cfg.HTTPClient, cfg.WebhookRetryBase, cfg.WebhookMaxAttempts, cfg.Logger)
	s.handler = s.routes()
	return s
}

// catchUpEvery is how often Open's ticker brings every account's clock-driven
// work (renewals, expiries) up to date, so that with the real clock a
// subscription renews on time even when nobody calls the API.
const catchUpEvery = 30 * time.Second

// Open loads the snapshot at StatePath, if it exists, and starts the webhook
// delivery workers (re-queueing the deliveries the snapshot kept) and the
// renewal ticker.
func (s *Sandbox) Open() error {
	s.mu.Lock()
	if s.opened {
		s.mu.Unlock()
		return errors.New("sandbox: already opened")
	}
	s.opened = true
	snap, err := s.persist.load()
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("sandbox: load state: %w", err)
	}
	if snap != nil {
		s.accounts = snap.Accounts
		for h, a := range s.accounts {
			s.indexKeys(h, a)
		}
		for _, d := range snap.Deliveries {
			d.Due = time.Time{} // retry at once: the endpoint may be back
		}
		s.deliver.enqueue(snap.Deliveries...)
	}
	s.mu.Unlock()

	s.deliver.start()
	s.wg.Add(1)
	go s.tick()
	return nil
}

// Close stops the workers and writes the state a last time, with the
// deliveries still pending, which the next Open retries.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if !s.opened || s.closed {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	close(s.stop)
	s.wg.Wait()
	s.deliver.close()

	s.mu.Lock()
	s.gen++
	gen, snap, err := s.gen, s.snapshot(), error(nil)
	s.mu.Unlock()
	if s.persist.path != "" {
		err = s.persist.write(gen, snap)
	}
	return err
}

// tick runs the clock-driven work of every account periodically.
func (s *Sandbox) tick() {
	defer s.wg.Done()
	t := time.NewTicker(catchUpEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			hashes := sortedKeys(s.accounts)
			s.mu.Unlock()
			for _, h := range hashes {
				s.run(h, func(*tx) {})
			}
		}
	}
}

// SetWebhookEndpoint makes the account of secretKey deliver its events from
// now on to url, signed with signingSecret (whsec_…). Setting an endpoint
// again for the same url replaces its secret; an empty signingSecret removes
// the endpoint. Endpoints are configuration: they are not kept in the
// snapshot, `appwheel dev` sets them at each start.
func (s *Sandbox) SetWebhookEndpoint(secretKey, url, signingSecret string) {
	h := keyHash(secretKey)
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := s.hooks[h][:0:0]
	for _, ep := range s.hooks[h] {
		if ep.URL != url {
			eps = append(eps, ep)
		}
	}
	if signingSecret != "" {
		eps = append(eps, webhookEndpoint{URL: url, Secret: signingSecret})
	}
	s.hooks[h] = eps
}

// Advance moves the test clock of the account of secretKey forward by d and
// runs what became due: subscriptions renew period by period (an invoice
// and a payment attempt each), cancel at period end, incomplete ones expire,
// checkout sessions expire. It returns the account's new clock time.
func (s *Sandbox) Advance(secretKey string, d time.Duration) (time.Time, error) {
	h, err := s.issuedSecret(secretKey)
	if err != nil {
		return time.Time{}, err
	}
	if d < 0 {
		return time.Time{}, errors.New("sandbox: the clock only moves forward")
	}
	var now time.Time
	err = s.run(h, func(t *tx) { now = t.advance(d) })
	return now, err
}

// EnsurePrice returns the ID of the active price with p.LookupKey, creating
// it (and its product, found or created by name) the first time. It is
// idempotent by lookup key: the same spec returns the same price; a changed
// spec creates a new price that takes the lookup key over, as Stripe's
// transfer_lookup_key does, since Stripe prices cannot change amount.
func (s *Sandbox) EnsurePrice(secretKey string, p PriceSpec) (id string, err error) {
	h, err := s.issuedSecret(secretKey)
	if err != nil {
		return "", err
	}
	if rerr := s.run(h, func(t *tx) { id, err = t.ensurePrice(p) }); rerr != nil {
		return "", rerr
	}
	if err != nil {
		return "", fmt.Errorf("sandbox: ensure price %q: %w", p.LookupKey, err)
	}
	return id, nil
}

// issuedSecret returns the account hash of secretKey, an issued secret key.
func (s *Sandbox) issuedSecret(secretKey string) (string, error) {
	if k, ok := s.issued(secretKey); ok && k.kind == keySecret {
		return k.account, nil
	}
	return "", errors.New("sandbox: not a secret key this sandbox issued (Issue)")
}

// ServeHTTP serves the Stripe API at /v1/…, the checkout page at
// /checkout/{id}, invoice pages at /invoices/{id} and /invoices/{id}/pdf,
// and the sandbox's own control endpoints at /_sandbox/….
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}
