package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// showBranding returns the app's branding as apps show --json prints it.
func showBranding(t *testing.T, data, id string) brandingView {
	t.Helper()
	return onlyView(t, "apps show --json", mustRun(t, "apps", "show", data, id, "--json")).Branding
}

// onlyView parses the one app a command printed with --json.
func onlyView(t *testing.T, what, out string) appView {
	t.Helper()
	var views []appView
	if err := json.Unmarshal([]byte(out), &views); err != nil || len(views) != 1 {
		t.Fatalf("%s printed %q: %d apps, error %v; want one app", what, out, len(views), err)
	}
	return views[0]
}

func TestAppsUpdate(t *testing.T) {
	dir := t.TempDir()
	data := "--data-dir=" + dir
	id := appIDFrom(t, mustRun(t, "apps", "create", data, "--json", "--name", "shop", "--stripe-secret-key", "sk_test_51ABCDEFghijklmnop"))

	// A new app has no branding, and says so.
	none := brandingView{FrameAncestors: []string{}}
	if got := showBranding(t, data, id); !cmp.Equal(got, none) {
		t.Errorf("branding of a new app: %+v, want %+v", got, none)
	}
	show := mustRun(t, "apps", "show", data, id)
	for _, w := range []string{"BRANDING", "Display name:", "(none: the app's name)", "Frame ancestors:", "(none: no site may embed the page)"} {
		if !strings.Contains(show, w) {
			t.Errorf("show of a new app lacks %q:\n%s", w, show)
		}
	}

	// Every field, normalized, in update's output and show's after it.
	out := mustRun(t, "apps", "update", id, data, "--json",
		"--display-name", "  Zoë's Shop  ", "--logo-url", "https://cdn.example.com/logo.png",
		"--accent-color", "#ABC", "--frame-ancestors", "https://App.Example.com/, http://localhost:3000,https://app.example.com")
	all := brandingView{
		DisplayName:    "Zoë's Shop",
		LogoURL:        "https://cdn.example.com/logo.png",
		AccentColor:    "#aabbcc",
		FrameAncestors: []string{"https://app.example.com", "http://localhost:3000"},
	}
	if v := onlyView(t, "apps update --json", out); v.ID != id || !cmp.Equal(v.Branding, all) {
		t.Errorf("update --json printed %+v; want app %s with branding %+v", v, id, all)
	}
	if got := showBranding(t, data, id); !cmp.Equal(got, all) {
		t.Errorf("show after update: %+v, want %+v", got, all)
	}
	show = mustRun(t, "apps", "show", data, id)
	for _, w := range []string{"Zoë's Shop", "https://cdn.example.com/logo.png", "#aabbcc", "https://app.example.com,http://localhost:3000"} {
		if !strings.Contains(show, w) {
			t.Errorf("show after update lacks %q:\n%s", w, show)
		}
	}
	// list --json carries the branding too.
	if v := onlyView(t, "apps list --json", mustRun(t, "apps", "list", data, "--json")); !cmp.Equal(v.Branding, all) {
		t.Errorf("list --json branding: %+v, want %+v", v.Branding, all)
	}

	// Only the flags given change; the text output is show's.
	out = mustRun(t, "apps", "update", data, "--accent-color", "#102030", id)
	if !strings.Contains(out, "#102030") || !strings.Contains(out, "Zoë's Shop") || !strings.Contains(out, id) {
		t.Errorf("update printed:\n%s", out)
	}
	all.AccentColor = "#102030"
	if got := showBranding(t, data, id); !cmp.Equal(got, all) {
		t.Errorf("show after changing the accent color: %+v, want %+v", got, all)
	}

	// An empty value clears a field, the others staying.
	mustRun(t, "apps", "update", id, data, "--logo-url", "", "--frame-ancestors", "")
	all.LogoURL, all.FrameAncestors = "", []string{}
	if got := showBranding(t, data, id); !cmp.Equal(got, all) {
		t.Errorf("show after clearing: %+v, want %+v", got, all)
	}
	mustRun(t, "apps", "update", id, data, "--display-name=", "--accent-color=")
	if got := showBranding(t, data, id); !cmp.Equal(got, none) {
		t.Errorf("show after clearing everything: %+v, want %+v", got, none)
	}

	// Repeated, the flag adds origins.
	mustRun(t, "apps", "update", id, data, "--frame-ancestors", "https://a.example.com", "--frame-ancestors", "https://b.example.com:8443")
	if got := showBranding(t, data, id).FrameAncestors; !cmp.Equal(got, []string{"https://a.example.com", "https://b.example.com:8443"}) {
		t.Errorf("frame ancestors from a repeated flag: %v", got)
	}
}

// A bad value is refused, naming what is wrong, and changes nothing.
func TestAppsUpdateRefuses(t *testing.T) {
	dir := t.TempDir()
	data := "--data-dir=" + dir
	id := appIDFrom(t, mustRun(t, "apps", "create", data, "--json", "--name", "shop", "--stripe-secret-key", "sk_test_51ABCDEFghijklmnop"))
	mustRun(t, "apps", "update", id, data, "--display-name", "Shop", "--accent-color", "#123456", "--frame-ancestors", "https://app.example.com")
	before := showBranding(t, data, id)

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--accent-color", "red"}, "accent color"},
		{[]string{"--logo-url", "http://cdn.example.com/logo.png"}, "logo URL"},
		{[]string{"--logo-url", "https://user:pw@cdn.example.com/logo.png"}, "user name or password"},
		{[]string{"--display-name", strings.Repeat("x", 101)}, "at most 100 bytes"},
		{[]string{"--display-name", "Shop\nInc"}, "control characters"},
		{[]string{"--frame-ancestors", "https://app.example.com/billing"}, "frame ancestor"},
		{[]string{"--frame-ancestors", "http://app.example.com"}, "http is allowed only for"},
		// A good field with a bad one is not half applied.
		{[]string{"--display-name", "Other", "--accent-color", "#12345"}, "accent color"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{"apps", "update", id, data}, tt.args...)
			_, err := runCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("appwheel %v: err = %v; want one mentioning %q", args, err, tt.want)
			}
			if code := exitCode(err); code != 1 {
				t.Errorf("appwheel %v: exit %d, want 1", args, code)
			}
			if got := showBranding(t, data, id); !cmp.Equal(got, before) {
				t.Errorf("branding after a refused update: %+v, want %+v", got, before)
			}
		})
	}

	if _, err := runCLI(t, "apps", "update", "app_missing", data, "--display-name", "x"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("update of an unknown app: err = %v; want not found", err)
	}
}

// Without a flag to change, or without one app ID, update is a usage
// error that says what it takes, before the database is opened.
func TestAppsUpdateUsage(t *testing.T) {
	dir := t.TempDir()
	data := "--data-dir=" + dir
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"apps", "update", "app_x", data}, []string{"--display-name", "--logo-url", "--accent-color", "--frame-ancestors"}},
		{[]string{"apps", "update", "app_x", data, "--json"}, []string{"--display-name", "--frame-ancestors"}},
		{[]string{"apps", "update", data, "--display-name", "x"}, []string{"apps update takes one app ID"}},
		{[]string{"apps", "update", "app_x", "app_y", data, "--display-name", "x"}, []string{"apps update takes one app ID"}},
		{[]string{"apps", "update", "app_x", data, "--display-nme", "x"}, []string{"unknown flag: --display-nme", "did you mean --display-name?"}},
	} {
		_, err := runCLI(t, tt.args...)
		if code := exitCode(err); code != 2 {
			t.Errorf("appwheel %v: exit %d (err %v), want 2", tt.args, code, err)
		}
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("appwheel %v: err = %v; want one mentioning %q", tt.args, err, w)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("usage errors created %v in the data directory", entries)
	}
}
