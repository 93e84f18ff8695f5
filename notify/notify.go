// Package notify tells an app what happened to its users, without polling:
// signed event deliveries to the app's own servers ("webhook endpoints").
//
// The billing service calls Notify once it has applied a Stripe webhook to
// the mirror and knows the fact it carries (a card added, an invoice paid,
// …). Notify records the event once per fact (its id is derived from the
// Stripe event's, so applying that again records nothing new) and enqueues
// one delivery per endpoint that wants it, on River (package jobs), which
// retries each for up to three days, across restarts and replicas. Deliver
// makes one attempt: signed like a request to AppWheel, with the
// endpoint's secret, through a client that refuses private addresses.
package notify

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/crypt"
)

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultFailingLimit = 72 * time.Hour
	// DefaultEndpointConcurrency bounds one endpoint's deliveries in flight
	// in one process, so that a slow endpoint holds few of the workers and
	// never delays the other apps' deliveries.
	DefaultEndpointConcurrency = 4
)

// Delivery names one event to deliver to one endpoint: a job.
type Delivery struct {
	AppID      string `json:"app_id"`
	EventID    string `json:"event_id"`
	EndpointID string `json:"endpoint_id"`
}

// Config is what a Service is built from.
type Config struct {
	Store appwheel.NotifyStore
	// Box seals the endpoints' secrets (the master key's box).
	Box *crypt.Box
	// Policy says which URLs endpoints may have and deliveries may reach.
	Policy URLPolicy
	// Enqueue schedules deliveries (jobs.EnqueueDeliveries): each one at
	// most once however often it is enqueued, unless again, when each is
	// scheduled once more even though it ran before (a redelivery).
	Enqueue func(ctx context.Context, ds []Delivery, again bool) error
	// Timeout bounds one delivery attempt (DefaultTimeout).
	Timeout time.Duration
	// FailingLimit is how long an endpoint may fail every attempt before it
	// is disabled (DefaultFailingLimit), and how long a delivery is retried.
	FailingLimit time.Duration
	// EndpointConcurrency bounds an endpoint's attempts in flight in this
	// process (DefaultEndpointConcurrency).
	EndpointConcurrency int
	Logger              *slog.Logger
	Now                 func() time.Time
	// Registerer receives the delivery metrics (a private registry when nil).
	Registerer prometheus.Registerer
}

// Service manages endpoints and delivers events to them.
type Service struct {
	store        appwheel.NotifyStore
	box          *crypt.Box
	policy       URLPolicy
	enqueue      func(ctx context.Context, ds []Delivery, again bool) error
	client       httpDoer
	failingLimit time.Duration
	perEndpoint  int
	log          *slog.Logger
	now          func() time.Time
	metrics      *metrics

	mu       sync.Mutex
	inFlight map[endpointKey]chan struct{} // an endpoint's attempts in flight: a semaphore
}

type endpointKey struct{ appID, id string }

// New returns a Service. It does no I/O.
func New(cfg Config) *Service {
	s := &Service{
		store: cfg.Store, box: cfg.Box, policy: cfg.Policy, enqueue: cfg.Enqueue,
		failingLimit: cfg.FailingLimit, perEndpoint: cfg.EndpointConcurrency,
		log: cfg.Logger, now: cfg.Now, inFlight: map[endpointKey]chan struct{}{},
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s.client = cfg.Policy.Client(timeout)
	if s.failingLimit <= 0 {
		s.failingLimit = DefaultFailingLimit
	}
	if s.perEndpoint <= 0 {
		s.perEndpoint = DefaultEndpointConcurrency
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = newMetrics(cfg.Registerer)
	return s
}

// FailingLimit is how long a delivery is retried, and an endpoint may fail,
// before giving up.
func (s *Service) FailingLimit() time.Duration { return s.failingLimit }

// Wants reports whether any of the app's endpoints is sent events of type
// typ, so that the caller renders an event only when it will be sent.
func (s *Service) Wants(ctx context.Context, appID, typ string) (bool, error) {
	eps, err := s.store.Endpoints(ctx, appID)
	if err != nil {
		return false, err
	}
	for _, ep := range eps {
		if ep.Wants(typ) {
			return true, nil
		}
	}
	return false, nil
}

// Notify records each of ns (once: one whose id is recorded already
// records nothing) and enqueues its delivery to each of its app's endpoints
// that want it now, all in one go. Enqueueing again is harmless, so a
// caller that failed half-way calls Notify again.
func (s *Service) Notify(ctx context.Context, ns ...*appwheel.Notification) error {
	endpoints := map[string][]*appwheel.WebhookEndpoint{} // by app
	var ds []Delivery
	for _, n := range ns {
		if n.RecordedAt.IsZero() {
			n.RecordedAt = s.now()
		}
		if _, err := s.store.RecordNotification(ctx, n); err != nil {
			return err
		}
		eps, ok := endpoints[n.AppID]
		if !ok {
			var err error
			if eps, err = s.store.Endpoints(ctx, n.AppID); err != nil {
				return err
			}
			endpoints[n.AppID] = eps
		}
		ds = append(ds, deliveries(n, eps)...)
	}
	if len(ds) == 0 {
		return nil
	}
	return s.enqueue(ctx, ds, false)
}

// Redeliver sends the event with the given id again, with the same id, to
// each of its app's endpoints that want it now, and returns it with the
// number of endpoints.
func (s *Service) Redeliver(ctx context.Context, eventID string) (*appwheel.Notification, int, error) {
	n, err := s.store.Notification(ctx, eventID)
	if err != nil {
		return nil, 0, err
	}
	count, err := s.deliver(ctx, n, true)
	return n, count, err
}

// deliver enqueues n's deliveries to the endpoints that want it.
func (s *Service) deliver(ctx context.Context, n *appwheel.Notification, again bool) (int, error) {
	eps, err := s.store.Endpoints(ctx, n.AppID)
	if err != nil {
		return 0, err
	}
	ds := deliveries(n, eps)
	if len(ds) == 0 {
		return 0, nil
	}
	return len(ds), s.enqueue(ctx, ds, again)
}

// deliveries are n's to those of its app's endpoints eps that want it.
func deliveries(n *appwheel.Notification, eps []*appwheel.WebhookEndpoint) []Delivery {
	var ds []Delivery
	for _, ep := range eps {
		if ep.Wants(n.Type) {
			ds = append(ds, Delivery{AppID: n.AppID, EventID: n.ID, EndpointID: ep.ID})
		}
	}
	return ds
}

// httpDoer is the part of *http.Client deliveries use.
type httpDoer interface {
	Do(req *http.Request) (*http.Response, error)
}
