package apps

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/appwheel/appwheel"
)

// CacheTTL is how long App may serve an app from memory instead of the
// database. Every /v1 request and webhook looks its app up, and reading it
// and opening its sealed secrets was some 7% of a mirrored read's CPU;
// apps change rarely. Replicas share only the database, with no way to
// tell each other of a change, so this bounds how stale one may be: a
// change committed at time t (a rotated secret, a disabled app, new Stripe
// settings) is seen by every replica's requests from t+CacheTTL on, by
// each replica's own clock, and by the Service that made it at once. One
// second is the bound the issue sets for a revoked secret or a disabled
// app, and already makes a busy app one read a second per replica.
const CacheTTL = time.Second

// cache holds opened apps for App. Its map holds only apps that exist and
// keeps them for the life of the process: it is bounded by the number of
// apps, which are never deleted (AppStore has no delete). Should apps
// become deletable, a read that finds none should drop the entry.
type cache struct {
	// entries maps an app's ID to its *entry. Every request reads it, so
	// it is a sync.Map, whose reads take no lock: an RWMutex's reader
	// count would be written by every request on every core. Writers hold
	// mu, so that replacing an entry only by a later one is one step.
	entries sync.Map
	mu      sync.Mutex
	flights map[string]*flight // the store read under way, per app
	// seq orders the entries of one app: each read takes a number before
	// it starts and each write after it commits, and an entry is replaced
	// only by a later one, so a slow read that began before a write of
	// this Service cannot put the old app back.
	seq atomic.Uint64
}

// flight is one store read of an app, shared by the callers that want the
// app while it is under way.
type flight struct {
	done chan struct{} // closed once the fields below are set
	e    *entry
	err  error
	// retry says the read ended for a reason of its leader's own (its ctx
	// ended, or it panicked), which says nothing about the app: those
	// waiting on it read again.
	retry bool
}

type entry struct {
	app     *appwheel.App // never handed out: callers get copies
	expires time.Time     // CacheTTL after the read (or write) started
	seq     uint64
}

// App returns the app with the given ID, secrets opened. It may come from
// memory, and then reflects the database as it was at most CacheTTL ago;
// a change made through this Service is seen at once. The App is the
// caller's own copy.
//
// Returns ENOTFOUND when there is no such app (never remembered: an app
// just created elsewhere is found at once).
func (s *Service) App(ctx context.Context, id string) (*appwheel.App, error) {
	if v, ok := s.cache.entries.Load(id); ok {
		if e := v.(*entry); s.now().Before(e.expires) {
			return clone(e.app), nil
		}
	}
	e, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return clone(e.app), nil
}

// Reload is App from the database, never from memory: the app as stored
// at some moment after the call began. It refreshes what App serves. Use
// it when a cached app may be out of date in a way that matters, such as
// a secret rotated on another replica a moment ago.
//
// Returns ENOTFOUND when there is no such app.
func (s *Service) Reload(ctx context.Context, id string) (*appwheel.App, error) {
	called := s.cache.seq.Load()
	for {
		e, err := s.read(ctx, id)
		if err != nil {
			return nil, err
		}
		// A read numbered at or before called may have begun before this
		// call and missed a change: the next one cannot have.
		if e.seq > called {
			return clone(e.app), nil
		}
	}
}

// read loads the app from the store and remembers it. Callers that ask
// while a read of the app is under way wait for it instead of reading too,
// each for no longer than its own ctx allows. It returns the entry read,
// which the caller must not change.
func (s *Service) read(ctx context.Context, id string) (*entry, error) {
	for {
		s.cache.mu.Lock()
		f, joined := s.cache.flights[id]
		if !joined {
			f = &flight{done: make(chan struct{}), retry: true}
			s.cache.flights[id] = f
		}
		s.cache.mu.Unlock()
		if !joined {
			return s.lead(ctx, id, f)
		}
		select {
		case <-f.done:
			if !f.retry {
				return f.e, f.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// lead makes the read f, in the caller's goroutine and under its ctx.
func (s *Service) lead(ctx context.Context, id string, f *flight) (*entry, error) {
	defer func() {
		s.cache.mu.Lock()
		delete(s.cache.flights, id)
		s.cache.mu.Unlock()
		close(f.done)
	}()
	seq, start := s.cache.seq.Add(1), s.now()
	app, err := s.load(ctx, id)
	if err == nil {
		f.e = s.remember(app, start, seq)
	}
	f.err, f.retry = err, err != nil && ctx.Err() != nil
	return f.e, f.err
}

// written remembers app as this Service just stored it, so that this
// replica serves its own change at once. start is when the write began.
func (s *Service) written(app *appwheel.App, start time.Time) {
	s.remember(clone(app), start, s.cache.seq.Add(1))
}

// remember keeps app, read or written from start on, unless the cache
// holds a later entry. It returns the entry made for app.
func (s *Service) remember(app *appwheel.App, start time.Time, seq uint64) *entry {
	// The expiry counts from the start, not the end, of the store's work:
	// an app read before a change committed at t then expires before
	// t+CacheTTL, however slow the read.
	e := &entry{app: app, expires: start.Add(CacheTTL), seq: seq}
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	if old, ok := s.cache.entries.Load(app.ID); !ok || old.(*entry).seq < seq {
		s.cache.entries.Store(app.ID, e)
	}
	return e
}

// clone copies app for a caller, who may change it. RedirectHosts and
// Branding.FrameAncestors are the fields that would otherwise be shared.
func clone(app *appwheel.App) *appwheel.App {
	c := *app
	c.RedirectHosts = slices.Clone(app.RedirectHosts)
	c.Branding = cloneBranding(app.Branding)
	return &c
}
