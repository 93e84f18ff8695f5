package http

import (
	"context"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
)

// TestBodyBudget: bodies in flight are bounded: past the budget a request
// waits, and is refused with 1006 when no room comes.
func TestBodyBudget(t *testing.T) {
	b := newBodyBudget(3 * MaxBodyBytes)
	var releases []func()
	for range 3 {
		release, err := b.acquire(t.Context(), -1) // unknown length: MaxBodyBytes
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(ctx, 10); appwheel.ErrorCode(err) != appwheel.ERATELIMITED {
		t.Fatalf("a fourth body past the budget: %v, want 1006", err)
	}
	if release, err := b.acquire(t.Context(), 0); err != nil {
		t.Errorf("a request without a body waits for nothing: %v", err)
	} else {
		release()
	}
	releases[0]()
	release, err := b.acquire(t.Context(), 1<<10)
	if err != nil {
		t.Fatalf("room given back is not given again: %v", err)
	}
	release()
}
