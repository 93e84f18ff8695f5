package apps_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
)

// brandingFixture is a Service over a real SQLite database, with one app,
// and a way to read that app back as another process would: through a
// fresh Service on its own connection, which has nothing in memory.
type brandingFixture struct {
	svc   *apps.Service
	app   *appwheel.App
	fresh func() *apps.Service
}

func newBrandingFixture(t *testing.T) *brandingFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	box := newBox(t)
	svc := apps.NewService(openDB(t, path), box, nil)
	return &brandingFixture{
		svc:   svc,
		app:   createApp(t, svc),
		fresh: func() *apps.Service { return apps.NewService(openDB(t, path), box, nil) },
	}
}

// stored returns the app's branding as stored, read by a fresh Service.
func (f *brandingFixture) stored(t *testing.T) appwheel.Branding {
	t.Helper()
	app, err := f.fresh().App(context.Background(), f.app.ID)
	if err != nil {
		t.Fatalf("App through a fresh Service: %v", err)
	}
	return app.Branding
}

// checkBranding compares got with want exactly: no frame ancestors must
// be nil, not an empty slice, so that no branding is the zero value.
func checkBranding(t *testing.T, what string, got, want appwheel.Branding) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: branding mismatch (-want +got):\n%s", what, diff)
	}
	if want.FrameAncestors == nil && got.FrameAncestors != nil {
		t.Errorf("%s: FrameAncestors = %#v, want nil", what, got.FrameAncestors)
	}
}

func TestSetBrandingNormalizesAndPersists(t *testing.T) {
	tests := []struct {
		name     string
		in, want appwheel.Branding
	}{
		{"zero clears", appwheel.Branding{}, appwheel.Branding{}},
		{"empty frame ancestors are none", appwheel.Branding{FrameAncestors: []string{}}, appwheel.Branding{}},
		{"every field", appwheel.Branding{
			DisplayName:    "  Zoë's Shop ☕ \n",
			LogoURL:        "https://cdn.example.com/logo.png?v=2&size=64#x",
			AccentColor:    "#1A2B3C",
			FrameAncestors: []string{"https://app.example.com"},
		}, appwheel.Branding{
			DisplayName:    "Zoë's Shop ☕",
			LogoURL:        "https://cdn.example.com/logo.png?v=2&size=64#x",
			AccentColor:    "#1a2b3c",
			FrameAncestors: []string{"https://app.example.com"},
		}},
		{"short accent color", appwheel.Branding{AccentColor: "#AbC"}, appwheel.Branding{AccentColor: "#aabbcc"}},
		{"display name of 100 bytes", appwheel.Branding{DisplayName: strings.Repeat("é", 50)}, appwheel.Branding{DisplayName: strings.Repeat("é", 50)}},
		{"blank display name", appwheel.Branding{DisplayName: "   "}, appwheel.Branding{}},
		{"logo URL on an IP address and port", appwheel.Branding{LogoURL: "https://[2001:db8::1]:8443/l.png"}, appwheel.Branding{LogoURL: "https://[2001:db8::1]:8443/l.png"}},
		{"logo URL of 2048 bytes", appwheel.Branding{LogoURL: longURL(2048)}, appwheel.Branding{LogoURL: longURL(2048)}},
		{"frame ancestors normalized", appwheel.Branding{FrameAncestors: []string{
			"HTTPS://App.Example.COM/",
			" https://b.example.com:8443 ",
			"https://c.example.com:0443",
			"http://localhost:3000",
			"http://127.0.0.1",
			"http://[0:0:0:0:0:0:0:1]:8080",
			"https://xn--bcher-kva.example",
			"https://192.0.2.7",
		}}, appwheel.Branding{FrameAncestors: []string{
			"https://app.example.com",
			"https://b.example.com:8443",
			"https://c.example.com",
			"http://localhost:3000",
			"http://127.0.0.1",
			"http://[::1]:8080",
			"https://xn--bcher-kva.example",
			"https://192.0.2.7",
		}}},
		{"frame ancestors deduplicated", appwheel.Branding{FrameAncestors: []string{
			"https://b.example.com", "https://a.example.com", "https://B.example.com/", "https://a.example.com:443", "http://localhost:80", "http://localhost",
		}}, appwheel.Branding{FrameAncestors: []string{"https://b.example.com", "https://a.example.com", "http://localhost"}}},
		{"ten frame ancestors, once deduplicated", appwheel.Branding{FrameAncestors: append(origins(10), "https://o0.example.com/")},
			appwheel.Branding{FrameAncestors: origins(10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBrandingFixture(t)
			// Start from another branding, so that each case is a change.
			if _, err := f.svc.SetBranding(context.Background(), f.app.ID, appwheel.Branding{
				DisplayName: "Before", LogoURL: "https://before.example/l.png", AccentColor: "#000000", FrameAncestors: []string{"https://before.example"},
			}); err != nil {
				t.Fatalf("SetBranding: %v", err)
			}
			got, err := f.svc.SetBranding(context.Background(), f.app.ID, tt.in)
			if err != nil {
				t.Fatalf("SetBranding(%+v): %v", tt.in, err)
			}
			checkBranding(t, "SetBranding's app", got.Branding, tt.want)
			if got.Name != f.app.Name || got.Secret != f.app.Secret || got.Stripe != f.app.Stripe || !cmp.Equal(got.RedirectHosts, f.app.RedirectHosts) {
				t.Errorf("SetBranding changed more than the branding: %+v", got)
			}
			checkBranding(t, "the Service's App", mustApp(t, f.svc, f.app.ID).Branding, tt.want)
			checkBranding(t, "a fresh Service's App", f.stored(t), tt.want)
			list, err := f.fresh().Apps(context.Background())
			if err != nil || len(list) != 1 {
				t.Fatalf("Apps: got %d apps, error %v", len(list), err)
			}
			checkBranding(t, "a fresh Service's Apps", list[0].Branding, tt.want)
		})
	}
}

// A branding refused changes nothing, and the error says which field is
// wrong.
func TestSetBrandingRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   appwheel.Branding
		want string // in the message
	}{
		{"display name too long", appwheel.Branding{DisplayName: strings.Repeat("a", 101)}, "display name must be at most 100 bytes"},
		{"display name too long in runes", appwheel.Branding{DisplayName: strings.Repeat("é", 51)}, "display name must be at most 100 bytes"},
		{"display name with a newline", appwheel.Branding{DisplayName: "Shop\nInc"}, "display name"},
		{"display name with a tab", appwheel.Branding{DisplayName: "Shop\tInc"}, "control characters"},
		{"display name with NUL", appwheel.Branding{DisplayName: "Shop\x00"}, "control characters"},
		{"display name with DEL", appwheel.Branding{DisplayName: "Shop\x7f"}, "control characters"},
		{"display name with a C1 control", appwheel.Branding{DisplayName: "Shop\u0085Inc"}, "control characters"},
		{"display name not UTF-8", appwheel.Branding{DisplayName: "Shop\xff"}, "UTF-8"},

		{"logo URL over http", appwheel.Branding{LogoURL: "http://cdn.example.com/l.png"}, "logo URL"},
		{"logo URL relative", appwheel.Branding{LogoURL: "/logo.png"}, "absolute https URL"},
		{"logo URL without a scheme", appwheel.Branding{LogoURL: "cdn.example.com/l.png"}, "absolute https URL"},
		{"logo URL without a host", appwheel.Branding{LogoURL: "https:///l.png"}, "absolute https URL"},
		{"logo URL opaque", appwheel.Branding{LogoURL: "https:cdn.example.com/l.png"}, "absolute https URL"},
		{"logo URL javascript", appwheel.Branding{LogoURL: "javascript:alert(1)"}, "absolute https URL"},
		{"logo URL data", appwheel.Branding{LogoURL: "data:image/png;base64,AAAA"}, "absolute https URL"},
		{"logo URL with user info", appwheel.Branding{LogoURL: "https://me:pw@cdn.example.com/l.png"}, "user name or password"},
		{"logo URL with a user name", appwheel.Branding{LogoURL: "https://me@cdn.example.com/l.png"}, "user name or password"},
		{"logo URL with a space", appwheel.Branding{LogoURL: "https://cdn.example.com/a b.png"}, "spaces or control characters"},
		{"logo URL with surrounding space", appwheel.Branding{LogoURL: " https://cdn.example.com/l.png"}, "spaces or control characters"},
		{"logo URL with a control character", appwheel.Branding{LogoURL: "https://cdn.example.com/l.png\r\n"}, "spaces or control characters"},
		{"logo URL too long", appwheel.Branding{LogoURL: longURL(2049)}, "at most 2048 bytes"},
		{"logo URL with a bad port", appwheel.Branding{LogoURL: "https://cdn.example.com:99999/l.png"}, "logo URL"},
		{"logo URL with a host a header would split", appwheel.Branding{LogoURL: "https://cdn.example.com;script-src/l.png"}, "logo URL"},
		{"logo URL with a wildcard host", appwheel.Branding{LogoURL: "https://*.example.com/l.png"}, "logo URL"},

		{"accent color without #", appwheel.Branding{AccentColor: "aabbcc"}, "accent color"},
		{"accent color named", appwheel.Branding{AccentColor: "red"}, "accent color"},
		{"accent color of 4 digits", appwheel.Branding{AccentColor: "#abcd"}, "accent color"},
		{"accent color of 5 digits", appwheel.Branding{AccentColor: "#12345"}, "accent color"},
		{"accent color of 7 digits", appwheel.Branding{AccentColor: "#1234567"}, "accent color"},
		{"accent color not hex", appwheel.Branding{AccentColor: "#ggg"}, "accent color"},
		{"accent color with a space", appwheel.Branding{AccentColor: "# abcde"}, "accent color"},
		{"accent color with CSS", appwheel.Branding{AccentColor: "#fff;}"}, "accent color"},
		{"accent color bare #", appwheel.Branding{AccentColor: "#"}, "accent color"},

		{"frame ancestor with a path", appwheel.Branding{FrameAncestors: []string{"https://app.example.com/billing"}}, "frame ancestor"},
		{"frame ancestor with a query", appwheel.Branding{FrameAncestors: []string{"https://app.example.com?x=1"}}, "frame ancestor"},
		{"frame ancestor with an empty query", appwheel.Branding{FrameAncestors: []string{"https://app.example.com/?"}}, "frame ancestor"},
		{"frame ancestor with a fragment", appwheel.Branding{FrameAncestors: []string{"https://app.example.com#top"}}, "frame ancestor"},
		{"frame ancestor over http", appwheel.Branding{FrameAncestors: []string{"http://app.example.com"}}, "http is allowed only for"},
		{"frame ancestor over http to another loopback address", appwheel.Branding{FrameAncestors: []string{"http://127.0.0.2:3000"}}, "http is allowed only for"},
		{"frame ancestor of another scheme", appwheel.Branding{FrameAncestors: []string{"ftp://app.example.com"}}, "must be an origin"},
		{"frame ancestor without a scheme", appwheel.Branding{FrameAncestors: []string{"app.example.com"}}, "must be an origin"},
		{"frame ancestor scheme-relative", appwheel.Branding{FrameAncestors: []string{"//app.example.com"}}, "must be an origin"},
		{"frame ancestor empty", appwheel.Branding{FrameAncestors: []string{"https://app.example.com", ""}}, "must be an origin"},
		{"frame ancestor wildcard", appwheel.Branding{FrameAncestors: []string{"*"}}, "must be an origin"},
		{"frame ancestor wildcard host", appwheel.Branding{FrameAncestors: []string{"https://*.example.com"}}, "must be an origin"},
		{"frame ancestor keyword", appwheel.Branding{FrameAncestors: []string{"'self'"}}, "must be an origin"},
		{"frame ancestor with user info", appwheel.Branding{FrameAncestors: []string{"https://me:pw@app.example.com"}}, "user name or password"},
		{"frame ancestor with port 0", appwheel.Branding{FrameAncestors: []string{"https://app.example.com:0"}}, "must be an origin"},
		{"frame ancestor with a port too high", appwheel.Branding{FrameAncestors: []string{"https://app.example.com:65536"}}, "must be an origin"},
		{"frame ancestor with a second directive", appwheel.Branding{FrameAncestors: []string{"https://app.example.com; script-src *"}}, "must be an origin"},
		{"frame ancestor with a semicolon host", appwheel.Branding{FrameAncestors: []string{"https://app.example.com;script-src"}}, "must be an origin"},
		{"frame ancestor with an IPv6 zone", appwheel.Branding{FrameAncestors: []string{"https://[fe80::1%25eth0]"}}, "must be an origin"},
		{"frame ancestor with a bad IPv4 address", appwheel.Branding{FrameAncestors: []string{"https://999.0.0.1"}}, "must be an origin"},
		{"frame ancestor with a label ending in a hyphen", appwheel.Branding{FrameAncestors: []string{"https://app-.example.com"}}, "must be an origin"},
		{"frame ancestor with a trailing dot", appwheel.Branding{FrameAncestors: []string{"https://app.example.com."}}, "must be an origin"},
		{"frame ancestor not in xn-- form", appwheel.Branding{FrameAncestors: []string{"https://bücher.example"}}, "must be an origin"},
		{"eleven frame ancestors", appwheel.Branding{FrameAncestors: origins(11)}, "at most 10 frame ancestors"},
	}
	before := appwheel.Branding{DisplayName: "Before", AccentColor: "#123456", FrameAncestors: []string{"https://before.example"}}
	f := newBrandingFixture(t)
	if _, err := f.svc.SetBranding(context.Background(), f.app.ID, before); err != nil {
		t.Fatalf("SetBranding: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.SetBranding(context.Background(), f.app.ID, tt.in)
			if code := appwheel.ErrorCode(err); code != appwheel.EINVALID {
				t.Fatalf("SetBranding(%q): error %v (code %d); want EINVALID", fmt.Sprintf("%+v", tt.in), err, code)
			}
			if msg := appwheel.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			} else if strings.Contains(msg, ":pw@") {
				t.Errorf("error %q shows the password", msg)
			}
			checkBranding(t, "the Service's App after a refusal", mustApp(t, f.svc, f.app.ID).Branding, before)
			checkBranding(t, "a fresh Service's App after a refusal", f.stored(t), before)
		})
	}
}

func TestSetBrandingUnknownApp(t *testing.T) {
	f := newBrandingFixture(t)
	_, err := f.svc.SetBranding(context.Background(), "app_missing", appwheel.Branding{DisplayName: "x"})
	if code := appwheel.ErrorCode(err); code != appwheel.ENOTFOUND {
		t.Errorf("SetBranding of an unknown app: error %v (code %d), want ENOTFOUND", err, code)
	}
}

// The frame ancestors an App holds are its own: changing the slice given to
// SetBranding, or the one of an App returned, changes neither the app
// served from memory nor the one stored.
func TestBrandingIsNotShared(t *testing.T) {
	f := newBrandingFixture(t)
	in := appwheel.Branding{FrameAncestors: []string{"https://a.example.com", "https://b.example.com"}}
	want := appwheel.Branding{FrameAncestors: []string{"https://a.example.com", "https://b.example.com"}}
	got, err := f.svc.SetBranding(context.Background(), f.app.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	in.FrameAncestors[0] = "https://evil.example"
	got.Branding.FrameAncestors[1] = "https://evil.example"
	served := mustApp(t, f.svc, f.app.ID)
	checkBranding(t, "App after changing SetBranding's slices", served.Branding, want)
	served.Branding.FrameAncestors[0] = "https://evil.example"
	checkBranding(t, "App after changing App's slice", mustApp(t, f.svc, f.app.ID).Branding, want)
	reloaded, err := f.svc.Reload(context.Background(), f.app.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkBranding(t, "Reload", reloaded.Branding, want)
	checkBranding(t, "a fresh Service's App", f.stored(t), want)
}

// origins returns n distinct valid origins, already normalized.
func origins(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("https://o%d.example.com", i))
	}
	return out
}

// longURL returns a valid https URL of n bytes.
func longURL(n int) string {
	const prefix = "https://cdn.example.com/"
	return prefix + strings.Repeat("a", n-len(prefix))
}
