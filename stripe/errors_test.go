package stripe_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/stripe"
)

// Calls the error tests make, one per kind of request.
var (
	getPaymentMethod = func(p *stripe.Provider) error {
		_, err := p.PaymentMethod(context.Background(), acct, "pm_123")
		return err
	}
	setDefault = func(p *stripe.Provider) error {
		return p.SetDefaultPaymentMethod(context.Background(), acct, "cus_123", "pm_404", "key-1")
	}
	createSetupIntent = func(p *stripe.Provider) error {
		_, err := p.CreateSetupIntent(context.Background(), acct, appwheel.CreateSetupIntentParams{CustomerID: "cus_123", IdempotencyKey: "key-1"})
		return err
	}
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name         string
		replies      []reply
		retries      int64 // Options.MaxNetworkRetries
		call         func(*stripe.Provider) error
		wantCode     int
		wantMessage  string
		wantDetail   *appwheel.StripeErrorDetail
		wantAttempts int
	}{{
		name: "402 card_error with decline code is ESTRIPE with Stripe's details",
		replies: []reply{{status: 402, body: `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
			"param":"payment_method","message":"Your card has insufficient funds."}}`}},
		call:        createSetupIntent,
		wantCode:    appwheel.ESTRIPE,
		wantMessage: "Your card has insufficient funds.",
		wantDetail: &appwheel.StripeErrorDetail{Type: "card_error", Code: "card_declined", DeclineCode: "insufficient_funds",
			Param: "payment_method", RequestID: "req_test123", HTTPStatus: 402},
		wantAttempts: 1,
	}, {
		name:         "404 resource_missing is ENOTFOUND",
		replies:      []reply{{status: 404, body: stripeError("invalid_request_error", "resource_missing", "No such PaymentMethod: 'pm_123'")}},
		call:         getPaymentMethod,
		wantCode:     appwheel.ENOTFOUND,
		wantMessage:  "no such payment method",
		wantAttempts: 1,
	}, {
		name: "400 resource_missing on the default payment method param is ENOTFOUND",
		replies: []reply{{status: 400, body: `{"error":{"type":"invalid_request_error","code":"resource_missing",
			"param":"invoice_settings[default_payment_method]","message":"No such PaymentMethod: 'pm_404'"}}`}},
		call:         setDefault,
		wantCode:     appwheel.ENOTFOUND,
		wantMessage:  "no such payment method",
		wantAttempts: 1,
	}, {
		name:         "404 on a customer operation is ENOTFOUND naming the customer",
		replies:      []reply{{status: 404, body: stripeError("invalid_request_error", "resource_missing", "No such customer: 'cus_123'")}},
		call:         createSetupIntent,
		wantCode:     appwheel.ENOTFOUND,
		wantMessage:  "no such customer",
		wantAttempts: 1,
	}, {
		name:         "404 for a URL Stripe does not serve is ESTRIPE, not ENOTFOUND",
		replies:      []reply{{status: 404, body: stripeError("invalid_request_error", "", "Unrecognized request URL (GET: /v2/v1/payment_methods/pm_123).")}},
		call:         getPaymentMethod,
		wantCode:     appwheel.ESTRIPE,
		wantMessage:  "Unrecognized request URL (GET: /v2/v1/payment_methods/pm_123).",
		wantDetail:   &appwheel.StripeErrorDetail{Type: "invalid_request_error", RequestID: "req_test123", HTTPStatus: 404},
		wantAttempts: 1,
	}, {
		name:         "400 invalid_request_error is ESTRIPE with Stripe's message",
		replies:      []reply{{status: 400, body: stripeError("invalid_request_error", "parameter_invalid_empty", "You passed an empty string for 'customer'.")}},
		call:         createSetupIntent,
		wantCode:     appwheel.ESTRIPE,
		wantMessage:  "You passed an empty string for 'customer'.",
		wantDetail:   &appwheel.StripeErrorDetail{Type: "invalid_request_error", Code: "parameter_invalid_empty", RequestID: "req_test123", HTTPStatus: 400},
		wantAttempts: 1,
	}, {
		name:         "401 is ESTRIPE saying the app's key was rejected",
		replies:      []reply{{status: 401, body: stripeError("invalid_request_error", "", "Invalid API Key provided: sk_test_********Leak")}},
		call:         getPaymentMethod,
		wantCode:     appwheel.ESTRIPE,
		wantMessage:  "Stripe rejected the app's Stripe secret key (HTTP 401); check the key configured for this app",
		wantDetail:   &appwheel.StripeErrorDetail{Type: "invalid_request_error", RequestID: "req_test123", HTTPStatus: 401},
		wantAttempts: 1,
	}, {
		name:         "403 permission error is ESTRIPE",
		replies:      []reply{{status: 403, body: stripeError("invalid_request_error", "", "The provided key does not have the required permissions.")}},
		call:         getPaymentMethod,
		wantCode:     appwheel.ESTRIPE,
		wantMessage:  "The provided key does not have the required permissions.",
		wantDetail:   &appwheel.StripeErrorDetail{Type: "invalid_request_error", RequestID: "req_test123", HTTPStatus: 403},
		wantAttempts: 1,
	}, {
		name:         "500 repeatedly is ESTRIPEUNAVAILABLE after stripe-go's retries",
		replies:      []reply{{status: 500, body: stripeError("api_error", "", "Something went wrong on Stripe's end.")}},
		retries:      2,
		call:         createSetupIntent,
		wantCode:     appwheel.ESTRIPEUNAVAILABLE,
		wantMessage:  "Stripe is unavailable; safe to retry",
		wantDetail:   &appwheel.StripeErrorDetail{Type: "api_error", RequestID: "req_test123", HTTPStatus: 500},
		wantAttempts: 3,
	}, {
		name:         "502 with a proxy's HTML page is ESTRIPEUNAVAILABLE",
		replies:      []reply{{status: 502, body: "<html>Bad Gateway</html>", header: map[string]string{"Content-Type": "text/html"}}},
		call:         getPaymentMethod,
		wantCode:     appwheel.ESTRIPEUNAVAILABLE,
		wantMessage:  "Stripe is unavailable; safe to retry",
		wantAttempts: 1,
	}, {
		name:         "429 rate_limit is ESTRIPEUNAVAILABLE after our retries",
		replies:      []reply{{status: 429, body: stripeError("invalid_request_error", "rate_limit", "Too many requests hit the API too quickly.")}},
		call:         createSetupIntent,
		wantCode:     appwheel.ESTRIPEUNAVAILABLE,
		wantMessage:  "Stripe is rate limiting this app's account; safe to retry",
		wantDetail:   &appwheel.StripeErrorDetail{Type: "invalid_request_error", Code: "rate_limit", RequestID: "req_test123", HTTPStatus: 429},
		wantAttempts: 3, // 1 + RateLimitRetries (default 2)
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t, tt.replies...)
			h := newHarness(t, f.URL, func(o *stripe.Options) {
				if tt.retries != 0 {
					o.MaxNetworkRetries = tt.retries
				}
			})
			err := tt.call(h.p)
			var e *appwheel.Error
			if !errors.As(err, &e) {
				t.Fatalf("got error %v (%T), want *appwheel.Error", err, err)
			}
			if e.Code != tt.wantCode {
				t.Errorf("got code %d, want %d", e.Code, tt.wantCode)
			}
			if e.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", e.Message, tt.wantMessage)
			}
			if diff := cmp.Diff(tt.wantDetail, e.Stripe); diff != "" {
				t.Errorf("Stripe detail (-want +got):\n%s", diff)
			}
			if got := len(f.received()); got != tt.wantAttempts {
				t.Errorf("got %d requests, want %d", got, tt.wantAttempts)
			}
		})
	}
}

// TestUnreachable checks that Stripe out of reach is ESTRIPEUNAVAILABLE.
func TestUnreachable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + l.Addr().String()
		l.Close() // nothing listens there any more
		h := newHarness(t, base)
		checkCode(t, getPaymentMethod(h.p), appwheel.ESTRIPEUNAVAILABLE)
	})

	t.Run("slow server beyond the HTTP client's timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		h := newHarness(t, srv.URL, func(o *stripe.Options) {
			o.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		})
		err := createSetupIntent(h.p)
		checkCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
		if got, want := appwheel.ErrorMessage(err), "Stripe is unavailable; safe to retry"; got != want {
			t.Errorf("got message %q, want %q", got, want)
		}
	})

	t.Run("caller's deadline passes while Stripe is slow", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}))
		defer srv.Close()
		h := newHarness(t, srv.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := h.p.PaymentMethod(ctx, acct, "pm_123")
		checkCode(t, err, appwheel.ESTRIPEUNAVAILABLE)
	})
}

// TestContextCanceled checks that a caller who went away gets its context
// error back, not a Stripe code: nothing is wrong with Stripe.
func TestContextCanceled(t *testing.T) {
	f := newFakeStripe(t, reply{status: 200, body: `{"id":"pm_123","object":"payment_method"}`})
	h := newHarness(t, f.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.p.PaymentMethod(ctx, acct, "pm_123")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
	if got := appwheel.ErrorCode(err); got != appwheel.EINTERNAL {
		t.Errorf("got code %d, want %d (internal)", got, appwheel.EINTERNAL)
	}
}

// TestSecretKeyNeverLeaks makes Stripe (or what poses as it) echo the secret
// key back in every way it could, and checks that neither the error a client
// may see nor the log contains it.
func TestSecretKeyNeverLeaks(t *testing.T) {
	tests := []struct {
		name  string
		reply reply
	}{
		{"401 echoing the key", reply{status: 401, body: stripeError("invalid_request_error", "", "Invalid API Key provided: "+testKey)}},
		{"400 echoing the key", reply{status: 400, body: stripeError("invalid_request_error", "", "Bad key "+testKey)}},
		{"402 echoing the key", reply{status: 402, body: stripeError("card_error", "card_declined", "Declined for "+testKey)}},
		{"500 echoing the key", reply{status: 500, body: stripeError("api_error", "", "Oops "+testKey)}},
		{"non-JSON error echoing the key", reply{status: 503, body: "upstream said " + testKey}},
		{"not an error object echoing the key", reply{status: 400, body: `{"message":"` + testKey + `"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t, tt.reply)
			h := newHarness(t, f.URL)
			err := createSetupIntent(h.p)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			for what, s := range map[string]string{
				"Error()": err.Error(), "client message": appwheel.ErrorMessage(err), "log": h.logs.String(),
			} {
				if strings.Contains(s, testKey) {
					t.Errorf("%s contains the secret key: %s", what, s)
				}
			}
			if got := f.received()[0].Header.Get("Authorization"); got != "Bearer "+testKey {
				t.Errorf("got Authorization %q, want the app's key as bearer", got)
			}
		})
	}
	t.Run("missing key", func(t *testing.T) {
		h := newHarness(t, "http://127.0.0.1:1")
		_, err := h.p.PaymentMethod(context.Background(), appwheel.StripeAccount{}, "pm_123")
		checkCode(t, err, appwheel.ESTRIPE)
	})
}

func checkCode(t *testing.T, err error, want int) {
	t.Helper()
	if got := appwheel.ErrorCode(err); got != want {
		t.Errorf("got code %d (%v), want %d", got, err, want)
	}
}
