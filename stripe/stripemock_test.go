package stripe_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/appwheel/appwheel/internal/stripemock"
)

// The contract tests run the Provider against the official stripe-mock,
// which validates every request against Stripe's published OpenAPI spec and
// answers with its fixtures. One stripe-mock serves the whole test binary:
// started on first need, stopped by TestMain.

// stripeMock is the running stripe-mock, shared by the tests.
var stripeMock struct {
	once sync.Once
	mock *stripemock.Mock
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stripeMock.mock != nil {
		stripeMock.mock.Close()
	}
	os.Exit(code)
}

// stripeMockURL returns the base URL of the shared stripe-mock, starting it
// on first use. Without the binary it skips the test, or fails it when
// APPWHEEL_REQUIRE_STRIPE_MOCK is set.
func stripeMockURL(tb testing.TB) string {
	tb.Helper()
	stripeMock.once.Do(func() {
		stripeMock.mock, stripeMock.err = stripemock.Start(context.Background())
	})
	if stripeMock.err != nil {
		stripemock.SkipOrFatal(tb, stripeMock.err)
	}
	return stripeMock.mock.URL
}
