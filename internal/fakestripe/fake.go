// Package fakestripe is a stateful, in-memory fake of the Stripe provider
// (appwheel.Stripe) for unit tests of the billing service and the HTTP layer.
//
// It keeps one set of objects per Stripe account, keyed by the account's
// SecretKey, and behaves like Stripe where AppWheel depends on it: prefixed
// IDs, idempotency keys, newest-first lists, cursor pagination, detach rules
// and Stripe's error messages. Tests seed it with the helpers (AddCustomer,
// AttachCard, AddSubscription, AddInvoice, …), count calls with Calls, and
// inject faults with FailNext, FailNextAfter and SetDelay.
//
// Every method is safe for concurrent use. Values returned are copies:
// mutating them never changes the fake's state.
package fakestripe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
)

var _ appwheel.Stripe = (*Fake)(nil)

// methods are the names of appwheel.Stripe's methods, the names Calls,
// FailNext and SetDelay accept.
var methods = map[string]bool{
	"CreateCustomer":               true,
	"Customer":                     true,
	"SetDefaultPaymentMethod":      true,
	"TagCustomer":                  true,
	"ListCustomers":                true,
	"CreateCheckoutSession":        true,
	"CreateSetupIntent":            true,
	"SetupIntent":                  true,
	"PaymentMethod":                true,
	"PaymentMethods":               true,
	"DetachPaymentMethod":          true,
	"Subscriptions":                true,
	"SetSubscriptionPaymentMethod": true,
	"Invoices":                     true,
	"Price":                        true,
	"Invoice":                      true,
}

// Fake is an in-memory appwheel.Stripe. The zero value is not usable; call New.
type Fake struct {
	mu       sync.Mutex
	tag      string // random, per Fake, so IDs of two fakes never collide
	seq      int64  // last ID / insertion sequence number
	clock    int64  // last Created handed out
	accounts map[string]*account

	calls  map[string]int
	total  int
	faults map[string][]fault
	delays map[string]time.Duration
}

type fault struct {
	err   error
	after bool // run the call, then return err (the response was lost)
}

// account is the state of one Stripe account.
type account struct {
	customers map[string]*customer
	methods   map[string]*paymentMethod
	subs      map[string]*subscription
	prices    map[string]appwheel.Price
	invoices  map[string]*invoice
	sessions  []CheckoutSessionRecord
	intents   []SetupIntentRecord
	setups    map[string]*setup // every SetupIntent, a session's included
	idem      map[string]idemResult
}

type idemResult struct {
	request string // what the key was first used for
	result  any
}

// New returns an empty Fake.
func New() *Fake {
	return &Fake{
		tag:      rand.Text()[:6],
		accounts: make(map[string]*account),
		calls:    make(map[string]int),
		faults:   make(map[string][]fault),
		delays:   make(map[string]time.Duration),
	}
}

// Calls returns how many times the named appwheel.Stripe method was called
// since New or ResetCalls, failed calls included. It panics on a name that
// is not a method of appwheel.Stripe.
func (f *Fake) Calls(method string) int {
	mustMethod(method)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// TotalCalls returns how many appwheel.Stripe calls were made since New or
// ResetCalls. Seeding and inspection helpers are not counted.
func (f *Fake) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

// ResetCalls sets every call counter back to zero. State, pending faults and
// delays are kept.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.calls)
	f.total = 0
}

// FailNext makes the next call of method return err without doing anything.
// It is one-shot; several FailNext calls queue up, first in first out.
func (f *Fake) FailNext(method string, err error) {
	f.addFault(method, fault{err: err})
}

// FailNextAfter makes the next call of method do its work (change state,
// record its idempotency key) and then return err, as when Stripe handled
// a request whose response was lost. One-shot, queued with FailNext's.
func (f *Fake) FailNextAfter(method string, err error) {
	f.addFault(method, fault{err: err, after: true})
}

func (f *Fake) addFault(method string, ft fault) {
	mustMethod(method)
	if ft.err == nil {
		panic("fakestripe: nil error for " + method)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = append(f.faults[method], ft)
}

// SetDelay makes every later call of method wait d before it runs, or until
// its context is done (the call then fails as described at wait). A zero d
// removes the delay.
func (f *Fake) SetDelay(method string, d time.Duration) {
	mustMethod(method)
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		delete(f.delays, method)
		return
	}
	f.delays[method] = d
}

func mustMethod(method string) {
	if !methods[method] {
		panic(fmt.Sprintf("fakestripe: %q is not a method of appwheel.Stripe", method))
	}
}

// call runs op, under the lock, as the named appwheel.Stripe method: it
// counts the call, applies faults and delays, and checks the account.
func call[T any](ctx context.Context, f *Fake, method string, acct appwheel.StripeAccount, op func(a *account) (T, error)) (T, error) {
	var zero T
	f.mu.Lock()
	f.calls[method]++
	f.total++
	var ft *fault
	if q := f.faults[method]; len(q) > 0 {
		first := q[0]
		ft = &first
		f.faults[method] = q[1:]
	}
	delay := f.delays[method]
	f.mu.Unlock()

	if err := wait(ctx, method, delay); err != nil {
		return zero, err
	}
	if ft != nil && !ft.after {
		return zero, ft.err
	}
	if acct.SecretKey == "" {
		return zero, stripeError(401, "invalid_request_error", "", "",
			"You did not provide an API key. You need to provide your API key in the Authorization header.")
	}

	f.mu.Lock()
	v, err := op(f.account(acct))
	f.mu.Unlock()
	if err != nil {
		return zero, err
	}
	if ft != nil {
		return zero, ft.err
	}
	return v, nil
}

// wait sleeps d, or less if ctx is done first. A done context fails the
// call as the stripe/ provider fails it: canceled is the context's error,
// wrapped (an internal error); a deadline is ESTRIPEUNAVAILABLE.
func wait(ctx context.Context, method string, d time.Duration) error {
	if ctx.Err() == nil && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("fakestripe %s: %w", method, err)
	default:
		return unavailable()
	}
}

// account returns the state of acct, creating it on first use. Callers hold mu.
func (f *Fake) account(acct appwheel.StripeAccount) *account {
	a := f.accounts[acct.SecretKey]
	if a == nil {
		a = &account{
			customers: make(map[string]*customer),
			methods:   make(map[string]*paymentMethod),
			subs:      make(map[string]*subscription),
			prices:    make(map[string]appwheel.Price),
			invoices:  make(map[string]*invoice),
			setups:    make(map[string]*setup),
			idem:      make(map[string]idemResult),
		}
		f.accounts[acct.SecretKey] = a
	}
	return a
}

// seed runs a seeding or inspection helper under the lock. It panics on an
// account without a SecretKey, which is a bug in the test.
func (f *Fake) seed(acct appwheel.StripeAccount, fn func(a *account)) {
	if acct.SecretKey == "" {
		panic("fakestripe: StripeAccount without a SecretKey")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.account(acct))
}

// newID returns a fresh ID with the given prefix, such as "cus". Callers hold mu.
func (f *Fake) newID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%s%08d", prefix, f.tag, f.seq)
}

// now returns a Created timestamp later than every one handed out before.
// Callers hold mu.
func (f *Fake) now() int64 {
	f.clock = max(f.clock+1, time.Now().Unix())
	return f.clock
}

// idempotent runs fn once per idempotency key of the account: a key used
// again for the same request returns the first result; used for another
// request it is Stripe's idempotency_error. An empty key never dedupes.
// Failed requests are not recorded. Callers hold mu.
func idempotent[T any](a *account, key, request string, fn func() (T, error)) (T, error) {
	if key == "" {
		return fn()
	}
	if r, ok := a.idem[key]; ok {
		if r.request != request {
			var zero T
			return zero, stripeError(400, "idempotency_error", "", "", fmt.Sprintf(
				"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key))
		}
		return r.result.(T), nil
	}
	v, err := fn()
	if err != nil {
		return v, err
	}
	a.idem[key] = idemResult{request: request, result: v}
	return v, nil
}
