package apps_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/sqlite"
)

// clock is a clock tests move by hand, shared by the replicas of a test.
type clock struct{ unixNano atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.unixNano.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.unixNano.Load()) }
func (c *clock) Advance(d time.Duration) { c.unixNano.Add(int64(d)) }

// countingStore is the real store, counting the app reads that reach it.
// before and after, when set, run in the first read only: before the
// database is asked, and once it has answered.
type countingStore struct {
	appwheel.AppStore
	reads         atomic.Int64
	before, after func(ctx context.Context)
}

func (s *countingStore) App(ctx context.Context, id string) (*appwheel.AppRecord, error) {
	first := s.reads.Add(1) == 1
	if first && s.before != nil {
		s.before(ctx)
	}
	rec, err := s.AppStore.App(ctx, id)
	if first && s.after != nil {
		s.after(ctx)
	}
	return rec, err
}

// replicas is one SQLite database with two Services over it, each on its
// own connection to the file, as two processes would be, and one clock.
type replicas struct {
	a, b  *apps.Service
	store *countingStore // b's store
	clock *clock
}

func newReplicas(t *testing.T) *replicas {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	box, clk := newBox(t), newClock()
	store := &countingStore{AppStore: openDB(t, path)}
	return &replicas{
		a:     apps.NewService(openDB(t, path), box, clk.Now),
		b:     apps.NewService(store, box, clk.Now),
		store: store,
		clock: clk,
	}
}

func openDB(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(path)
	if err := db.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func newBox(tb testing.TB) *crypt.Box {
	tb.Helper()
	key, err := crypt.ParseKey(crypt.NewKey())
	if err != nil {
		tb.Fatal(err)
	}
	box, err := crypt.NewBox(key)
	if err != nil {
		tb.Fatal(err)
	}
	return box
}

func createApp(tb testing.TB, s *apps.Service) *appwheel.App {
	tb.Helper()
	app, err := s.Create(context.Background(), apps.CreateParams{
		Name: "cached", Platform: appwheel.PlatformStripe, StripeSecretKey: "sk_test_cached",
		StripeWebhookSecret: "whsec_cached", RedirectHosts: []string{"example.com"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return app
}

func mustApp(t *testing.T, s *apps.Service, id string) *appwheel.App {
	t.Helper()
	app, err := s.App(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestChangeSeenByOtherReplicaAfterCacheTTL changes an app through one
// Service and watches another over the same database: it serves its
// cached app until CacheTTL after it read it, and the change from then on.
func TestChangeSeenByOtherReplicaAfterCacheTTL(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(s *apps.Service, id string) (*appwheel.App, error)
		field  func(*appwheel.App) any // what the change changes
	}{{
		name:   "rotated secret",
		change: func(s *apps.Service, id string) (*appwheel.App, error) { return s.RotateSecret(ctx, id, 0) },
		field:  func(a *appwheel.App) any { return a.Secret },
	}, {
		name:   "disabled",
		change: func(s *apps.Service, id string) (*appwheel.App, error) { return s.SetDisabled(ctx, id, true) },
		field:  func(a *appwheel.App) any { return a.Disabled },
	}, {
		name: "Stripe settings",
		change: func(s *apps.Service, id string) (*appwheel.App, error) {
			return s.SetStripe(ctx, id, appwheel.StripeAccount{SecretKey: "sk_test_new", WebhookSecret: "whsec_new"})
		},
		field: func(a *appwheel.App) any { return a.Stripe },
	}, {
		name: "read mode",
		change: func(s *apps.Service, id string) (*appwheel.App, error) {
			return s.SetReadMode(ctx, id, appwheel.ReadLive)
		},
		field: func(a *appwheel.App) any { return a.ReadMode },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplicas(t)
			id := createApp(t, r.a).ID
			before := tt.field(mustApp(t, r.b, id)) // b reads it now, at r.clock.Now()
			changed, err := tt.change(r.a, id)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.field(changed)
			if cmp.Equal(before, want) {
				t.Fatalf("the change changed nothing: %v", want)
			}
			if got := tt.field(mustApp(t, r.a, id)); !cmp.Equal(got, want) {
				t.Errorf("the replica that made the change: got %v, want %v at once", got, want)
			}
			r.clock.Advance(apps.CacheTTL - time.Nanosecond)
			if got := tt.field(mustApp(t, r.b, id)); !cmp.Equal(got, before) {
				t.Errorf("other replica just before CacheTTL: got %v, want the cached %v", got, before)
			}
			r.clock.Advance(time.Nanosecond)
			if got := tt.field(mustApp(t, r.b, id)); !cmp.Equal(got, want) {
				t.Errorf("other replica at CacheTTL: got %v, want %v", got, want)
			}
			if n := r.store.reads.Load(); n != 2 {
				t.Errorf("b's store reads = %d, want 2 (one per CacheTTL)", n)
			}
		})
	}
}

func TestReloadSeesChangeAtOnce(t *testing.T) {
	ctx := context.Background()
	r := newReplicas(t)
	id := createApp(t, r.a).ID
	mustApp(t, r.b, id)
	rotated, err := r.a.RotateSecret(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := r.b.Reload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if reloaded.Secret != rotated.Secret {
		t.Errorf("Reload: got the old secret, want the rotated one")
	}
	// Reload refreshed what App serves.
	if got := mustApp(t, r.b, id); got.Secret != rotated.Secret {
		t.Errorf("App after Reload: got the old secret, want the rotated one")
	}
	if n := r.store.reads.Load(); n != 2 {
		t.Errorf("store reads = %d, want 2", n)
	}
	if _, err := r.b.Reload(ctx, "app_nope"); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
		t.Errorf("Reload of an unknown app: err = %v, want ENOTFOUND", err)
	}
}

func TestUnknownAppNotCached(t *testing.T) {
	r := newReplicas(t)
	for range 2 {
		if _, err := r.b.App(context.Background(), "app_nope"); appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
			t.Fatalf("err = %v, want ENOTFOUND", err)
		}
	}
	if n := r.store.reads.Load(); n != 2 {
		t.Errorf("store reads = %d, want 2: a missing app is asked for again", n)
	}
	// An app created elsewhere is found at once.
	id := createApp(t, r.a).ID
	mustApp(t, r.b, id)
}

// TestConcurrentMissesReadOnce holds the first store read until every
// caller has asked: one read serves them all.
func TestConcurrentMissesReadOnce(t *testing.T) {
	r := newReplicas(t)
	id := createApp(t, r.a).ID
	entered, release := make(chan struct{}), make(chan struct{})
	r.store.before = func(context.Context) { close(entered); <-release }

	const n = 16
	got := make([]*appwheel.App, n)
	errs := make([]error, n)
	var asked, done sync.WaitGroup
	asked.Add(n)
	for i := range n {
		done.Go(func() {
			asked.Done()
			got[i], errs[i] = r.b.App(context.Background(), id)
		})
	}
	asked.Wait()
	<-entered
	// Give the callers a moment to reach the cache. One that is late
	// finds the app cached, which is one read too, so this cannot fail a
	// right cache; it lets a cache without coalescing read more than once.
	time.Sleep(20 * time.Millisecond)
	close(release)
	done.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i].ID != id {
			t.Errorf("caller %d: app %s, want %s", i, got[i].ID, id)
		}
		for j := range i {
			if got[i] == got[j] {
				t.Errorf("callers %d and %d share one *App", j, i)
			}
		}
	}
	if reads := r.store.reads.Load(); reads != 1 {
		t.Errorf("store reads = %d, want 1", reads)
	}
}

// TestSharedReadSurvivesCallersLeaving: a caller waiting on another's read
// that gives up returns at once; when the one whose read it is gives up,
// the read fails for it alone, and those still waiting read again.
func TestSharedReadSurvivesCallersLeaving(t *testing.T) {
	r := newReplicas(t)
	id := createApp(t, r.a).ID
	entered, release := make(chan struct{}), make(chan struct{})
	r.store.before = func(context.Context) { close(entered); <-release }
	app := func(ctx context.Context) <-chan error {
		ch := make(chan error, 1)
		go func() {
			_, err := r.b.App(ctx, id)
			ch <- err
		}()
		return ch
	}

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leader := app(leaderCtx)
	<-entered // the leader's read is under way, held before the database
	waiterCtx, cancelWaiter := context.WithCancel(context.Background())
	leaving, staying := app(waiterCtx), app(context.Background())
	time.Sleep(20 * time.Millisecond) // to join the leader's read

	cancelWaiter()
	if err := <-leaving; !errors.Is(err, context.Canceled) {
		t.Errorf("the waiter that left: err = %v, want context.Canceled", err)
	}
	cancelLeader()
	close(release) // the leader now asks the database with its ctx ended
	if err := <-leader; err == nil {
		t.Error("the leader that left: no error, want its ctx's")
	}
	if err := <-staying; err != nil {
		t.Errorf("the waiter that stayed: %v", err)
	}
	if n := r.store.reads.Load(); n != 2 {
		t.Errorf("store reads = %d, want 2: the leader's, and the one that replaced it", n)
	}
}

// TestReloadDoesNotShareAnOlderRead: a read that began before a change
// answers the App calls that joined it, but not a Reload called after the
// change, which reads again.
func TestReloadDoesNotShareAnOlderRead(t *testing.T) {
	ctx := context.Background()
	r := newReplicas(t)
	id := createApp(t, r.a).ID
	old := mustApp(t, r.a, id)
	answered, release := make(chan struct{}), make(chan struct{})
	r.store.after = func(context.Context) { close(answered); <-release }

	early := make(chan *appwheel.App)
	go func() {
		app, err := r.b.App(ctx, id)
		if err != nil {
			t.Error(err)
		}
		early <- app
	}()
	<-answered // the old secret is read, not yet returned
	rotated, err := r.a.RotateSecret(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan *appwheel.App)
	go func() {
		app, err := r.b.Reload(ctx, id)
		if err != nil {
			t.Error(err)
		}
		reloaded <- app
	}()
	time.Sleep(20 * time.Millisecond) // to join the early read
	close(release)
	if app := <-early; app == nil || app.Secret != old.Secret {
		t.Errorf("App that began before the rotation: want the old secret")
	}
	if app := <-reloaded; app == nil || app.Secret != rotated.Secret {
		t.Errorf("Reload called after the rotation: want the rotated secret")
	}
	if got := mustApp(t, r.b, id); got.Secret != rotated.Secret {
		t.Errorf("App after both: got the old secret, want the rotated one")
	}
}

// TestOwnChangeNotUndoneBySlowRead: a read that began before this
// Service's own change, and ends after it, does not put the old app back.
func TestOwnChangeNotUndoneBySlowRead(t *testing.T) {
	ctx := context.Background()
	r := newReplicas(t)
	id := createApp(t, r.a).ID
	answered, release := make(chan struct{}), make(chan struct{})
	r.store.after = func(context.Context) { close(answered); <-release }

	done := make(chan struct{})
	go func() {
		defer close(done)
		if app, err := r.b.App(ctx, id); err != nil || app.Disabled {
			t.Errorf("App that began before the change: %+v, %v; want the enabled app", app, err)
		}
	}()
	<-answered
	if _, err := r.b.SetDisabled(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	if !mustApp(t, r.b, id).Disabled {
		t.Error("App after its own SetDisabled: enabled, want disabled at once")
	}
}

// TestCallersGetCopies: changing an App a Service returned changes
// nothing it serves later.
func TestCallersGetCopies(t *testing.T) {
	ctx := context.Background()
	r := newReplicas(t)
	created := createApp(t, r.b)
	want := *created
	want.RedirectHosts = []string{"example.com"}
	mess := func(a *appwheel.App) {
		a.Secret, a.Disabled, a.Stripe.SecretKey = "aws_mine", true, "sk_mine"
		a.RedirectHosts[0] = "evil.example"
	}
	mess(created) // returned by Create, which caches the app
	mess(mustApp(t, r.b, created.ID))
	reloaded, err := r.b.Reload(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	mess(reloaded)
	if diff := cmp.Diff(&want, mustApp(t, r.b, created.ID)); diff != "" {
		t.Errorf("cached app changed by callers (-want +got):\n%s", diff)
	}

	updated, err := r.b.SetReadMode(ctx, created.ID, appwheel.ReadMirror)
	if err != nil {
		t.Fatal(err)
	}
	want = *updated
	want.RedirectHosts = []string{"example.com"}
	mess(updated) // returned by an update, which caches the app
	if diff := cmp.Diff(&want, mustApp(t, r.b, created.ID)); diff != "" {
		t.Errorf("cached app changed by the caller of an update (-want +got):\n%s", diff)
	}
}

// BenchmarkApp is what every authenticated request and webhook pays to
// find its app (from memory, but for one read per CacheTTL).
func BenchmarkApp(b *testing.B) {
	s := apps.NewService(openDB(b, filepath.Join(b.TempDir(), "x.db")), newBox(b), nil)
	app := createApp(b, s)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.App(ctx, app.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.App(ctx, app.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkReload is a read from the database, what App cost before it
// cached, and what a request with a wrong secret costs.
func BenchmarkReload(b *testing.B) {
	s := apps.NewService(openDB(b, filepath.Join(b.TempDir(), "x.db")), newBox(b), nil)
	app := createApp(b, s)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Reload(ctx, app.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// TestExpiryCountsFromReadStart: a slow read does not stretch CacheTTL,
// which counts from when the read began.
func TestExpiryCountsFromReadStart(t *testing.T) {
	r := newReplicas(t)
	id := createApp(t, r.a).ID
	r.store.after = func(context.Context) { r.clock.Advance(apps.CacheTTL / 2) }
	mustApp(t, r.b, id) // read from t to t+CacheTTL/2
	r.clock.Advance(apps.CacheTTL/2 - time.Nanosecond)
	mustApp(t, r.b, id)
	if n := r.store.reads.Load(); n != 1 {
		t.Fatalf("store reads = %d before CacheTTL, want 1", n)
	}
	r.clock.Advance(time.Nanosecond)
	mustApp(t, r.b, id)
	if n := r.store.reads.Load(); n != 2 {
		t.Errorf("store reads = %d at CacheTTL after the read began, want 2", n)
	}
}
