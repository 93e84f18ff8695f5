package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/appwheel/appwheel"
)

const (
	// userLockLease bounds how long a crashed holder blocks a user's
	// changes. It must outlast any request that holds it: the HTTP layer
	// cancels a request after 60 s, so a live holder never loses its lease.
	userLockLease = 2 * time.Minute
	// userLockWait is how long a change waits for another to finish.
	userLockWait = 10 * time.Second
	userLockPoll = 25 * time.Millisecond
)

// withUserLock runs fn while holding the lease on one user's payment
// methods, so that changes to them (removals, default changes) happen one at
// a time across all replicas: two removals can then never both pass the
// last-method guard.
//
// Returns ERATELIMITED when another change holds the lease for longer than
// userLockWait.
func (s *Service) withUserLock(ctx context.Context, appID, appUserID string, fn func() error) error {
	name := "payment-methods/" + appID + "/" + appUserID
	b := make([]byte, 12)
	rand.Read(b)
	owner := hex.EncodeToString(b)

	// Waiting is measured in real time, not the injected clock: it is how
	// long this caller sleeps, not a fact about the data.
	deadline := time.Now().Add(userLockWait)
	for {
		now := s.now()
		ok, err := s.store.TryLock(ctx, name, owner, now, now.Add(userLockLease))
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return appwheel.Errorf(appwheel.ERATELIMITED, "another change to this user's payment methods is in progress; retry shortly")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(userLockPoll):
		}
	}
	defer s.store.Unlock(context.WithoutCancel(ctx), name, owner)
	return fn()
}
