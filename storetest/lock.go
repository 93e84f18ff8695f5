package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
)

func testLocks(t *testing.T, newStore NewStoreFunc) {
	lease := time.Minute
	try := func(t *testing.T, s appwheel.LockStore, name, owner string, now time.Time) bool {
		t.Helper()
		ok, err := s.TryLock(t.Context(), name, owner, now, now.Add(lease))
		if err != nil {
			t.Fatalf("TryLock(%s, %s): %v", name, owner, err)
		}
		return ok
	}

	t.Run("Exclusive", func(t *testing.T) {
		s := newStore(t)
		if !try(t, s, "l", "a", t0) {
			t.Fatal("first TryLock: got false, want true")
		}
		if try(t, s, "l", "b", t0.Add(time.Second)) {
			t.Error("TryLock by b while a holds it: got true, want false")
		}
		if !try(t, s, "l", "a", t0.Add(time.Second)) {
			t.Error("TryLock by the holder again: got false, want true (extends)")
		}
		if !try(t, s, "other", "b", t0) {
			t.Error("TryLock of another name: got false, want true")
		}
	})

	t.Run("Expires", func(t *testing.T) {
		s := newStore(t)
		try(t, s, "l", "a", t0)
		if try(t, s, "l", "b", t0.Add(lease-time.Microsecond)) {
			t.Error("TryLock just before expiry: got true, want false")
		}
		if !try(t, s, "l", "b", t0.Add(lease)) {
			t.Error("TryLock at expiry: got false, want true")
		}
	})

	t.Run("Unlock", func(t *testing.T) {
		s := newStore(t)
		try(t, s, "l", "a", t0)
		if err := s.Unlock(t.Context(), "l", "b"); err != nil {
			t.Fatal(err)
		}
		if try(t, s, "l", "b", t0) {
			t.Error("Unlock by a non-holder released the lease")
		}
		if err := s.Unlock(t.Context(), "l", "a"); err != nil {
			t.Fatal(err)
		}
		if !try(t, s, "l", "b", t0) {
			t.Error("TryLock after Unlock: got false, want true")
		}
	})

	t.Run("Race", func(t *testing.T) {
		s := newStore(t)
		got := race(t, func(i int) (bool, error) {
			return s.TryLock(t.Context(), "l", fmt.Sprint("owner", i), t0, t0.Add(lease))
		})
		holders := 0
		for _, ok := range got {
			if ok {
				holders++
			}
		}
		if holders != 1 {
			t.Errorf("holders = %d, want 1", holders)
		}
	})
}
