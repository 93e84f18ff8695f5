package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testApps(t *testing.T, newStore NewStoreFunc) {
	t.Run("CreateThenGet", func(t *testing.T) {
		s := newStore(t)
		want := newApp("app_1", t0)
		mustCreateApp(t, s, want)
		got, err := s.App(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("App: got error %v, want nil", err)
		}
		checkApp(t, got, want)
	})

	t.Run("CreateWithBranding", func(t *testing.T) {
		s := newStore(t)
		want := newApp("app_1", t0)
		want.Branding = fullBranding()
		mustCreateApp(t, s, want)
		mustCreateApp(t, s, newApp("app_2", t0.Add(time.Second)))
		got, err := s.App(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("App: got error %v, want nil", err)
		}
		checkApp(t, got, want)
		// Apps reads the column too, and no branding as the zero value.
		apps, err := s.Apps(t.Context())
		if err != nil || len(apps) != 2 {
			t.Fatalf("Apps: got %d apps, error %v; want 2, nil", len(apps), err)
		}
		checkApp(t, apps[0], want)
		checkApp(t, apps[1], newApp("app_2", t0.Add(time.Second)))
	})

	t.Run("NotFound", func(t *testing.T) {
		tests := []struct {
			name string
			call func(ctx context.Context, s appwheel.Store) error
		}{
			{"App", func(ctx context.Context, s appwheel.Store) error {
				_, err := s.App(ctx, "app_missing")
				return err
			}},
			{"UpdateApp", func(ctx context.Context, s appwheel.Store) error {
				return s.UpdateApp(ctx, newApp("app_missing", t0))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStoreWithApps(t, newStore, "app_1")
				wantCode(t, tt.name+" of unknown id", tt.call(t.Context(), s), appwheel.ENOTFOUND)
			})
		}
	})

	t.Run("CreateDuplicate", func(t *testing.T) {
		s := newStore(t)
		first := newApp("app_1", t0)
		mustCreateApp(t, s, first)
		second := newApp("app_1", t0.Add(time.Hour))
		second.Name = "Impostor"
		err := s.CreateApp(t.Context(), second)
		wantCode(t, "CreateApp of an existing id", err, appwheel.ECONFLICT)
		got, err := s.App(t.Context(), "app_1")
		if err != nil {
			t.Fatalf("App: got error %v, want nil", err)
		}
		checkApp(t, got, first)
	})

	t.Run("ListOldestFirst", func(t *testing.T) {
		s := newStore(t)
		if apps, err := s.Apps(t.Context()); err != nil || len(apps) != 0 {
			t.Fatalf("Apps of an empty store: got %d apps, error %v; want 0, nil", len(apps), err)
		}
		// Created out of order, so only CreatedAt can give the order.
		for _, a := range []struct {
			id  string
			age time.Duration
		}{{"app_b", 2 * time.Hour}, {"app_c", time.Hour}, {"app_a", 3 * time.Hour}} {
			mustCreateApp(t, s, newApp(a.id, t0.Add(-a.age)))
		}
		apps, err := s.Apps(t.Context())
		if err != nil {
			t.Fatalf("Apps: got error %v, want nil", err)
		}
		var got []string
		for _, a := range apps {
			got = append(got, a.ID)
		}
		if want := []string{"app_a", "app_b", "app_c"}; !cmp.Equal(got, want) {
			t.Fatalf("Apps: got %v, want %v", got, want)
		}
		checkApp(t, apps[0], newApp("app_a", t0.Add(-3*time.Hour)))
	})

	t.Run("UpdateRoundTrip", func(t *testing.T) {
		tests := []struct {
			name     string
			from, to func(a *appwheel.AppRecord)
		}{
			{"every field", nil, func(a *appwheel.AppRecord) {
				a.Name = "Renamed"
				a.Platform = "other"
				a.SealedSecret = []byte("sealed-secret-2")
				a.SealedPreviousSecret = []byte("sealed-secret-1")
				a.PreviousSecretExpiresAt = t0.Add(24 * time.Hour)
				a.SealedStripeSecretKey = []byte("sealed-sk-2")
				a.SealedStripeWebhookSecret = []byte("sealed-whsec-2")
				a.StripeAPIBase = "http://localhost:12111"
				a.RedirectHosts = []string{"example.com", "app.example.com"}
				a.Branding = fullBranding()
				a.Disabled = true
				a.ReadMode = appwheel.ReadLive
				a.CreatedAt = t0.Add(-time.Hour)
				a.UpdatedAt = t0.Add(time.Hour)
			}},
			{"previous secret set", nil, func(a *appwheel.AppRecord) {
				a.SealedPreviousSecret = []byte("sealed-old")
				a.PreviousSecretExpiresAt = t0.Add(time.Hour)
			}},
			{"previous secret cleared", func(a *appwheel.AppRecord) {
				a.SealedPreviousSecret = []byte("sealed-old")
				a.PreviousSecretExpiresAt = t0.Add(time.Hour)
			}, func(a *appwheel.AppRecord) {
				a.SealedPreviousSecret = nil
				a.PreviousSecretExpiresAt = time.Time{}
			}},
			{"webhook secret cleared", nil, func(a *appwheel.AppRecord) {
				a.SealedStripeWebhookSecret = nil
			}},
			{"webhook secret set", func(a *appwheel.AppRecord) {
				a.SealedStripeWebhookSecret = nil
			}, func(a *appwheel.AppRecord) {
				a.SealedStripeWebhookSecret = []byte{0, 1, 2, 0xff}
			}},
			{"redirect hosts set", nil, func(a *appwheel.AppRecord) {
				a.RedirectHosts = []string{"z.example", "a.example"}
			}},
			{"redirect hosts cleared", func(a *appwheel.AppRecord) {
				a.RedirectHosts = []string{"example.com"}
			}, func(a *appwheel.AppRecord) {
				a.RedirectHosts = nil
			}},
			{"branding set", nil, func(a *appwheel.AppRecord) {
				a.Branding = fullBranding()
			}},
			{"branding changed", func(a *appwheel.AppRecord) {
				a.Branding = fullBranding()
			}, func(a *appwheel.AppRecord) {
				a.Branding = appwheel.Branding{AccentColor: "#000000", FrameAncestors: []string{"http://localhost:3000"}}
			}},
			{"branding cleared", func(a *appwheel.AppRecord) {
				a.Branding = fullBranding()
			}, func(a *appwheel.AppRecord) {
				a.Branding = appwheel.Branding{}
			}},
			{"stripe API base cleared", nil, func(a *appwheel.AppRecord) {
				a.StripeAPIBase = ""
			}},
			{"disabled", nil, func(a *appwheel.AppRecord) {
				a.Disabled = true
			}},
			{"enabled again", func(a *appwheel.AppRecord) {
				a.Disabled = true
			}, func(a *appwheel.AppRecord) {
				a.Disabled = false
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStore(t)
				app := newApp("app_1", t0)
				if tt.from != nil {
					tt.from(app)
				}
				mustCreateApp(t, s, app)
				other := newApp("app_2", t0)
				mustCreateApp(t, s, other)

				want := newApp("app_1", t0)
				if tt.from != nil {
					tt.from(want)
				}
				tt.to(want)
				if err := s.UpdateApp(t.Context(), want); err != nil {
					t.Fatalf("UpdateApp: got error %v, want nil", err)
				}
				got, err := s.App(t.Context(), "app_1")
				if err != nil {
					t.Fatalf("App: got error %v, want nil", err)
				}
				checkApp(t, got, want)

				got, err = s.App(t.Context(), "app_2")
				if err != nil {
					t.Fatalf("App of the other app: got error %v, want nil", err)
				}
				checkApp(t, got, other)
			})
		}
	})

	t.Run("TimesRoundTrip", func(t *testing.T) {
		tests := []struct {
			name string
			at   time.Time
		}{
			{"nanoseconds in another zone", t0},
			{"UTC", time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)},
			{"before 1970", time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)},
			{"far future", time.Date(2200, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStore(t)
				want := newApp("app_1", tt.at)
				want.UpdatedAt = tt.at.Add(time.Microsecond)
				want.SealedPreviousSecret = []byte("sealed-old")
				want.PreviousSecretExpiresAt = tt.at.Add(-time.Microsecond)
				mustCreateApp(t, s, want)
				got, err := s.App(t.Context(), "app_1")
				if err != nil {
					t.Fatalf("App: got error %v, want nil", err)
				}
				checkApp(t, got, want)
			})
		}
	})

	t.Run("ZeroTimeStaysZero", func(t *testing.T) {
		s := newStore(t)
		mustCreateApp(t, s, newApp("app_1", t0))
		got, err := s.App(t.Context(), "app_1")
		if err != nil {
			t.Fatalf("App: got error %v, want nil", err)
		}
		if !got.PreviousSecretExpiresAt.IsZero() {
			t.Errorf("PreviousSecretExpiresAt: got %v, want the zero time", got.PreviousSecretExpiresAt)
		}
	})
}

// fullBranding is a branding with every field set, in values a store must
// keep exactly: characters JSON escapes, and frame ancestors in an order
// that is not sorted.
func fullBranding() appwheel.Branding {
	return appwheel.Branding{
		DisplayName:    `Shop <"Zoë"> & Co \ ☕`,
		LogoURL:        "https://cdn.example.com/logo.png?v=2&size=64",
		AccentColor:    "#1a2b3c",
		FrameAncestors: []string{"https://z.example.com", "https://app.example.com:8443", "http://localhost:3000"},
	}
}

// newApp returns a complete app record: sealed secret, stripe key and
// webhook secret set, no previous secret, no redirect hosts, no branding.
func newApp(id string, createdAt time.Time) *appwheel.AppRecord {
	return &appwheel.AppRecord{
		ID:                        id,
		Name:                      "App " + id,
		Platform:                  appwheel.PlatformStripe,
		SealedSecret:              []byte("sealed-secret-of-" + id),
		SealedStripeSecretKey:     []byte("sealed-sk-of-" + id),
		SealedStripeWebhookSecret: []byte("sealed-whsec-of-" + id),
		StripeAPIBase:             "http://localhost:12111",
		ReadMode:                  appwheel.ReadMirror,
		CreatedAt:                 createdAt,
		UpdatedAt:                 createdAt.Add(time.Minute),
	}
}

func mustCreateApp(t *testing.T, s appwheel.Store, app *appwheel.AppRecord) {
	t.Helper()
	if err := s.CreateApp(t.Context(), app); err != nil {
		t.Fatalf("CreateApp(%q): got error %v, want nil", app.ID, err)
	}
}

// checkApp compares got with want, times to the microsecond. An empty and a
// nil RedirectHosts are the same, but nil and non-nil sealed secrets are not:
// nil means "no such secret"; and no frame ancestors must read as nil, so
// that no branding is Branding's zero value.
func checkApp(t *testing.T, got, want *appwheel.AppRecord) {
	t.Helper()
	if diff := cmp.Diff(want, got, equateMicro, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("app %q mismatch (-want +got):\n%s", want.ID, diff)
	}
	for _, f := range []struct {
		name      string
		got, want []byte
	}{
		{"SealedPreviousSecret", got.SealedPreviousSecret, want.SealedPreviousSecret},
		{"SealedStripeWebhookSecret", got.SealedStripeWebhookSecret, want.SealedStripeWebhookSecret},
	} {
		if (f.got == nil) != (f.want == nil) {
			t.Errorf("app %q %s: got %s, want %s", want.ID, f.name, nilness(f.got), nilness(f.want))
		}
	}
	// No branding reads as the zero value: no frame ancestors are nil.
	if len(want.Branding.FrameAncestors) == 0 && got.Branding.FrameAncestors != nil {
		t.Errorf("app %q Branding.FrameAncestors: got %#v, want nil", want.ID, got.Branding.FrameAncestors)
	}
}

func nilness(b []byte) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprintf("non-nil %q", b)
}
