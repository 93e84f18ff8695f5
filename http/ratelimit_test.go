package http_test

import (
	"testing"

	"github.com/appwheel/appwheel"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/internal/apitest"
)

// TestRateLimitPerApp floods one app: past its burst it gets 1006 with a
// Retry-After, while another app is served as usual. The server's clock
// moves one second per signed request, refilling 0.1 token each time.
func TestRateLimitPerApp(t *testing.T) {
	e := &env{Env: apitest.New(t, func(c *appwheelhttp.Config) { c.RateLimit, c.RateBurst = 0.1, 3 }), t: t}
	flood, calm := e.NewApp("flood"), e.NewApp("calm")
	for i := range 3 {
		if r := e.do(flood, req{method: "GET", target: listTarget}); r.Code != 0 {
			t.Fatalf("request %d within the burst: code %d", i, r.Code)
		}
	}
	r := e.do(flood, req{method: "GET", target: listTarget}).want(t, 429, appwheel.ERATELIMITED)
	if got := r.Header.Get("Retry-After"); got == "" || got == "0" {
		t.Errorf("Retry-After = %q, want a positive number of seconds", got)
	}
	e.do(calm, req{method: "GET", target: listTarget}).want(t, 200, 0)
	if n := e.Stripe.TotalCalls(); n != 0 {
		t.Errorf("Stripe calls = %d, want 0", n)
	}
}
