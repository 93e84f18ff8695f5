// Package http is AppWheel's HTTP API (docs/api.md): authentication, the
// envelope, one handler file per resource, and the operational endpoints.
package http

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apiref"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/portal"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Store is the part of the database the transport itself needs: replay
// refusal, Idempotency-Key records, and a readiness probe. Everything else
// is the services'.
type Store interface {
	appwheel.NonceStore
	appwheel.IdempotencyStore
	Ping(ctx context.Context) error
}

// Config is what a Server is built from.
type Config struct {
	Apps    *apps.Service
	Billing *billing.Service
	// Webhooks receives Stripe's webhook deliveries.
	Webhooks *billing.Intake
	Store    Store
	Logger   *slog.Logger
	// Portal is the hosted billing page: createPortalSession makes its
	// links, and its pages are served under /portal/. Nil means neither.
	Portal *portal.Service
	// Registry receives the HTTP metrics and is served at /metrics. Nil
	// means a private one.
	Registry *prometheus.Registry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RateLimit is how many API requests per second each app may make on
	// this process, with bursts of RateBurst; beyond it requests get 1006
	// and Retry-After. Defaults to 100/s and 200.
	RateLimit float64
	RateBurst int
	// RequestTimeout bounds the work of one API request, Stripe calls
	// included; it must stay below the per-user lease and the server's
	// write timeout.
	// Defaults to 60s.
	RequestTimeout time.Duration
}

// Server serves the API. It is an http.Handler.
type Server struct {
	apps       *apps.Service
	billing    *billing.Service
	webhooks   *billing.Intake
	portal     *portal.Service
	store      Store
	logger     *slog.Logger
	now        func() time.Time
	timeout    time.Duration
	limiter    *keyedBuckets // per app: API requests
	failures   *authFailures
	bodies     *bodyBudget
	linkLimits linkLimits
	metrics    *metrics
	mux        *http.ServeMux
	handler    http.Handler
}

// NewServer builds the routes. It does no I/O.
func NewServer(cfg Config) *Server {
	s := &Server{
		apps:     cfg.Apps,
		billing:  cfg.Billing,
		webhooks: cfg.Webhooks,
		portal:   cfg.Portal,
		store:    cfg.Store,
		logger:   cfg.Logger,
		now:      cfg.Now,
		timeout:  cfg.RequestTimeout,
		mux:      http.NewServeMux(),
	}
	if s.timeout <= 0 {
		s.timeout = 60 * time.Second
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 100
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = 200
	}
	s.limiter = newKeyedBuckets(cfg.RateLimit, cfg.RateBurst)
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.failures = newAuthFailures(s.now, s.logger)
	s.bodies = newBodyBudget(MaxBodiesInFlight)
	s.linkLimits = newLinkLimits()
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg)

	stripe := appwheel.PlatformStripe
	s.mux.Handle("POST /v1/stripe/payment-methods", s.api(stripe, s.handleCreatePaymentMethod))
	s.mux.Handle("GET /v1/stripe/payment-methods", s.api(stripe, s.handleListPaymentMethods))
	s.mux.Handle("DELETE /v1/stripe/payment-methods/{methodId}", s.api(stripe, s.handleRemovePaymentMethod))
	s.mux.Handle("POST /v1/stripe/payment-methods/{methodId}/default", s.api(stripe, s.handleSetDefaultPaymentMethod))
	s.mux.Handle("GET /v1/stripe/invoices", s.api(stripe, s.handleListInvoices))
	s.mux.Handle("GET /v1/stripe/subscriptions", s.api(stripe, s.handleListSubscriptions))
	s.mux.Handle("POST /v1/stripe/customer-links", s.api(stripe, s.handleLinkCustomer))
	s.mux.Handle("POST /v1/stripe/customer-imports", s.api(stripe, s.handleStartCustomerImport))
	s.mux.Handle("GET /v1/stripe/customer-imports/latest", s.api(stripe, s.handleCustomerImportStatus))

	if s.webhooks != nil {
		s.mux.HandleFunc("POST /v1/stripe/webhooks/{appId}", s.handleWebhook)
	}
	if s.portal != nil {
		s.mux.Handle("POST /v1/stripe/portal-sessions", s.api(stripe, s.handleCreatePortalSession))
		// The page's routes, on this mux so that they pass through observe:
		// measured and logged by route pattern, never by path, since their
		// paths carry the session tokens.
		s.portal.Register(pageRoutes{s})
	}

	s.mux.HandleFunc("GET /invoice-links/{token}", s.handleInvoiceLink)
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.mux.Handle("GET /openapi.json", apiref.SpecHandler())
	s.mux.Handle("GET /docs", apiref.DocsHandler())
	s.mux.HandleFunc(notFoundPattern, s.handleNoRoute)

	s.handler = s.observe(canonicalPaths(s.mux, s))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// call is an authenticated API request.
type call struct {
	app  *appwheel.App
	body []byte
}

// apiFunc handles an authenticated request and returns the envelope's data
// or an error; the wrapper does the rest.
type apiFunc func(ctx context.Context, r *http.Request, c *call) (any, error)

// api wraps an apiFunc with what every /v1 endpoint does: read the body
// within MaxBodyBytes, authenticate, honour Idempotency-Key, and write the
// envelope.
func (s *Server) api(platform string, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := s.serveAPI(w, r, platform, fn)
		writeReply(w, r, rep)
	})
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, platform string, fn apiFunc) reply {
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	r = r.WithContext(ctx)
	// The headers first: a request that names no app it can prove is
	// answered before its body is read.
	creds, err := s.readCredentials(r)
	if err != nil {
		return s.reply(r, nil, err)
	}
	release, err := s.bodies.acquire(ctx, r.ContentLength)
	if err != nil {
		return s.reply(r, nil, err)
	}
	defer release()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if isMaxBytes(err) {
			return s.reply(r, nil, errBodyTooLarge)
		}
		return s.reply(r, nil, appwheel.Errorf(appwheel.EINVALID, "cannot read request body"))
	}
	if len(body) > 0 && !isJSON(r.Header.Get("Content-Type")) {
		return s.reply(r, nil, appwheel.Errorf(appwheel.EINVALID, "header Content-Type must be application/json for a request with a body, got %s",
			appwheel.Quote(r.Header.Get("Content-Type"))))
	}
	app, err := s.authenticate(r, creds, body, platform)
	if err != nil {
		return s.reply(r, nil, err)
	}
	infoFrom(r.Context()).appID = app.ID
	if ok, wait := s.limiter.allow(app.ID, s.now()); !ok {
		w.Header().Set("Retry-After", retryAfterSeconds(wait))
		return s.reply(r, nil, appwheel.Errorf(appwheel.ERATELIMITED, "too many requests for this app; retry after %s s", retryAfterSeconds(wait)))
	}
	c := &call{app: app, body: body}
	if key := r.Header.Get("Idempotency-Key"); key != "" && (r.Method == http.MethodPost || r.Method == http.MethodDelete) {
		return s.idempotent(w, r, c, key, fn)
	}
	data, err := fn(r.Context(), r, c)
	return s.reply(r, data, err)
}

// isJSON reports whether a Content-Type is application/json (with any
// parameters, such as charset=utf-8).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeReply(w, r, s.reply(r, map[string]string{"status": "ok"}, nil))
}

// handleReadyz reports whether the database answers, within 2 s.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.logger.WarnContext(ctx, "not ready", slog.String("error", err.Error()))
		writeReply(w, r, s.reply(r, nil, &httpError{
			status: http.StatusServiceUnavailable,
			err:    appwheel.Errorf(appwheel.EINTERNAL, "database unreachable"),
		}))
		return
	}
	writeReply(w, r, s.reply(r, map[string]string{"status": "ready"}, nil))
}

// canonicalPaths answers a 404 envelope for a path that is not in clean
// form (//x, /./x, /x/../y), which the mux would otherwise redirect with a
// bare HTML body.
func canonicalPaths(next http.Handler, s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != "" && path.Clean(p) != p && path.Clean(p)+"/" != p {
			writeReply(w, r, s.reply(r, nil, appwheel.Errorf(appwheel.ENOTFOUND, "no route %s %s", r.Method, p)))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// notFoundPattern catches every request no other route takes.
const notFoundPattern = "/"

// handleNoRoute answers 405 when the path exists for other methods, and 404
// otherwise, both in the envelope.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != notFoundPattern && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		for _, m := range allowed {
			w.Header().Add("Allow", m)
		}
		writeReply(w, r, s.reply(r, nil, &httpError{
			status: http.StatusMethodNotAllowed,
			err:    appwheel.Errorf(appwheel.EINVALID, "method %s is not allowed on %s", r.Method, r.URL.Path),
		}))
		return
	}
	writeReply(w, r, s.reply(r, nil, appwheel.Errorf(appwheel.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path)))
}
