// Package portal is AppWheel's hosted billing page: a page an app links its
// user to, where the user sees and manages their own cards, subscriptions
// and invoices, in their language and in the app's colours. Its actions go
// through the billing service, with the API's rules; it reads the mirror.
package portal

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/crypt"
)

// Apps finds an app by id.
type Apps interface {
	App(ctx context.Context, id string) (*appwheel.App, error)
}

// Config is what a Service is built from.
type Config struct {
	Billing *billing.Service
	Apps    Apps
	// Key seals the session tokens: a key of its own, derived from the
	// master key, alike on every replica.
	Key []byte
	// BaseURL is AppWheel's public URL, where the links point.
	BaseURL string
	// OpenTTL is how long a session link opens (DefaultOpenTTL), VisitTTL
	// how long a visit lasts after the user's last step (DefaultVisitTTL).
	OpenTTL, VisitTTL time.Duration
	Logger            *slog.Logger
	Now               func() time.Time
}

// Service serves the billing page and creates its sessions.
type Service struct {
	billing           *billing.Service
	apps              Apps
	box               *crypt.Box
	csrfKey           []byte // keys the forms' anti-forgery tokens
	baseURL           string
	ownHost           string // BaseURL's host: the page's own return URLs go there
	openTTL, visitTTL time.Duration
	log               *slog.Logger
	now               func() time.Time
}

// New returns a Service. It does no I/O.
func New(cfg Config) (*Service, error) {
	box, err := newBox(cfg.Key)
	if err != nil {
		return nil, err
	}
	csrfKey, err := crypt.DeriveKey(cfg.Key, "portal forms")
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, appwheel.Errorf(appwheel.EINVALID, "portal: base URL %s is not an absolute URL", appwheel.Quote(cfg.BaseURL))
	}
	s := &Service{
		billing: cfg.Billing, apps: cfg.Apps, box: box, csrfKey: csrfKey, baseURL: base, ownHost: u.Hostname(),
		openTTL: cfg.OpenTTL, visitTTL: cfg.VisitTTL, log: cfg.Logger, now: cfg.Now,
	}
	if s.openTTL <= 0 {
		s.openTTL = DefaultOpenTTL
	}
	if s.visitTTL <= 0 {
		s.visitTTL = DefaultVisitTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Mux is where Register puts the page's routes: the API's, so that they are
// measured and logged by route like its endpoints.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds the page's routes to mux. The routes' paths carry the
// tokens, which are credentials: what logs them must log the pattern.
func (s *Service) Register(mux Mux) {
	mux.Handle("GET /portal/{token}", http.HandlerFunc(s.handleOpen))
	mux.Handle("GET /portal/v/{token}", http.HandlerFunc(s.handlePage))
	mux.Handle("GET /portal/v/{token}/confirm", http.HandlerFunc(s.handleConfirm))
	mux.Handle("POST /portal/v/{token}/{action}", http.HandlerFunc(s.handleAction))
	mux.Handle("GET /portal/assets/portal.css", http.HandlerFunc(serveCSS))
}
