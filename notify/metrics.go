package notify

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appwheel/appwheel"
)

// metrics holds the deliveries' Prometheus collectors.
type metrics struct {
	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	disabled   prometheus.Counter
}

// newMetrics registers the delivery metrics with reg (a private registry
// when nil); a second Service on the same registry shares them. Every
// outcome starts at zero, so rates and alerts work before the first
// failure.
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		deliveries: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "appwheel_webhook_deliveries_total",
			Help: "Attempts at delivering events to apps' endpoints, by outcome: delivered, retrying (failed, to be retried), failed (the last attempt failed).",
		}, []string{"outcome"})),
		latency: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "appwheel_webhook_delivery_duration_seconds",
			Help:    "Time from sending an event to an app's endpoint to its answer (or the attempt's failure).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		})),
		disabled: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "appwheel_webhook_endpoints_disabled_total",
			Help: "Endpoints disabled because every delivery to them failed for the failing limit (3 days by default).",
		})),
	}
	for _, o := range []string{appwheel.DeliveryDelivered, appwheel.DeliveryRetrying, appwheel.DeliveryFailed} {
		m.deliveries.WithLabelValues(o)
	}
	return m
}

func (m *metrics) observe(a *appwheel.DeliveryAttempt) {
	m.deliveries.WithLabelValues(a.Outcome).Inc()
	m.latency.Observe(a.Latency.Seconds())
}

// register registers c with reg, or returns the collector registered
// already under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			return already.ExistingCollector.(C)
		}
		panic(err)
	}
	return c
}
