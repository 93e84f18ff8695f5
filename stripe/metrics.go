package stripe

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appwheel/appwheel"
)

// Operations, the values of the operation label: one per kind of Stripe call.
const (
	opCreateCustomer          = "create_customer"
	opGetCustomer             = "get_customer"
	opSetDefaultPaymentMethod = "set_default_payment_method"
	opTagCustomer             = "tag_customer"
	opListCustomers           = "list_customers"
	opCreateCheckoutSession   = "create_checkout_session"
	opCreateSetupIntent       = "create_setup_intent"
	opGetSetupIntent          = "get_setup_intent"
	opGetPaymentMethod        = "get_payment_method"
	opListPaymentMethods      = "list_payment_methods"
	opDetachPaymentMethod     = "detach_payment_method"
	opListSubscriptions       = "list_subscriptions"
	opSetSubscriptionPM       = "set_subscription_payment_method"
	opListInvoices            = "list_invoices"
	opGetPrice                = "get_price"
	opGetInvoice              = "get_invoice"
)

// Outcomes, the values of the outcome label.
const (
	outcomeOK          = "ok"
	outcomeNotFound    = "not_found"    // ENOTFOUND
	outcomeStripeError = "stripe_error" // ESTRIPE: Stripe declined or rejected it
	outcomeUnavailable = "unavailable"  // ESTRIPEUNAVAILABLE
	// outcomeCanceled counts calls whose caller went away; they say nothing
	// about Stripe, so they must not raise an "unavailable" alert.
	outcomeCanceled = "canceled"
)

// metrics holds the provider's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
}

// newMetrics registers appwheel_stripe_requests_total with reg (a private
// registry when nil). A second Provider on the same registry shares the
// counter instead of failing. Every label pair starts at zero, so rates and
// alerts work before the first failure.
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appwheel_stripe_requests_total",
		Help: "Stripe API calls by operation and outcome (ok, not_found, stripe_error, unavailable, canceled), counted once per call after retries.",
	}, []string{"operation", "outcome"})
	if err := reg.Register(requests); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err) // a different collector with this name: a wiring bug
		}
		requests = are.ExistingCollector.(*prometheus.CounterVec)
	}
	operations := []string{
		opCreateCustomer, opGetCustomer, opListCustomers, opTagCustomer, opSetDefaultPaymentMethod,
		opCreateCheckoutSession, opCreateSetupIntent, opGetSetupIntent, opGetPaymentMethod,
		opListPaymentMethods, opDetachPaymentMethod, opListSubscriptions, opSetSubscriptionPM, opListInvoices,
		opGetPrice, opGetInvoice,
	}
	outcomes := []string{outcomeOK, outcomeNotFound, outcomeStripeError, outcomeUnavailable, outcomeCanceled}
	for _, op := range operations {
		for _, o := range outcomes {
			requests.WithLabelValues(op, o)
		}
	}
	return &metrics{requests: requests}
}

// count records the outcome of one call, err being its mapped error.
func (m *metrics) count(op string, err error) {
	m.requests.WithLabelValues(op, outcome(err)).Inc()
}

func outcome(err error) string {
	switch appwheel.ErrorCode(err) {
	case 0:
		return outcomeOK
	case appwheel.ENOTFOUND:
		return outcomeNotFound
	case appwheel.ESTRIPE:
		return outcomeStripeError
	case appwheel.ESTRIPEUNAVAILABLE:
		return outcomeUnavailable
	}
	return outcomeCanceled
}
