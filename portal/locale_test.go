package portal

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestCatalogsMatch: every language has every string, and every string the
// page names is in the catalogs.
func TestCatalogsMatch(t *testing.T) {
	en := locales[0]
	for _, l := range locales[1:] {
		for k := range en.strings {
			if _, ok := l.strings[k]; !ok {
				t.Errorf("%s lacks %q", l.name, k)
			}
		}
		for k := range l.strings {
			if _, ok := en.strings[k]; !ok {
				t.Errorf("%s has %q, which en lacks", l.name, k)
			}
		}
	}
	// The keys the templates and the code name literally; error pages also
	// name key + ".text".
	used := map[string]bool{}
	files, _ := filepath.Glob("templates/*.html")
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range slices.Concat(files, goFiles) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?:\bT|text) "([a-zA-Z]+\.[a-zA-Z.]+)"`).FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`writeError\(w, r, v, [^,]+, "([a-zA-Z.]+)"\)`).FindAllStringSubmatch(string(b), -1) {
			k := m[1]
			used[k], used[k+".text"] = true, true
		}
	}
	if len(used) < 40 {
		t.Fatalf("found only %d keys in use: the test's patterns no longer match the code", len(used))
	}
	for k := range used {
		if _, ok := en.strings[k]; !ok && filepath.Ext(k) != "" {
			t.Errorf("%q is used but not in the catalogs", k)
		}
	}
}

func TestFormats(t *testing.T) {
	en, zh := pickLocale("en", ""), pickLocale("zh-CN", "")
	for _, c := range []struct {
		l         *locale
		minor     int64
		cur, want string
	}{
		{en, 1234, "usd", "$12.34"},
		{zh, 1234, "usd", "US$12.34"},
		{en, 123456789, "eur", "€1,234,567.89"},
		{en, 5000, "jpy", "¥5,000"}, // zero-decimal: minor units are yen
		{zh, 990, "cny", "￥9.90"},   // CLDR's yuan sign in Chinese is full-width
		{en, 42, "xyz", "42 XYZ"},   // not a currency: said plainly
	} {
		if got := c.l.money(c.minor, c.cur); got != c.want {
			t.Errorf("%s money(%d, %s) = %q, want %q", c.l.name, c.minor, c.cur, got, c.want)
		}
	}
	const day = 1798761600 // 2027-01-01T00:00:00Z
	if got := en.date(day); got != "Jan 1, 2027" {
		t.Errorf("en date = %q", got)
	}
	if got := zh.date(day); got != "2027年1月1日" {
		t.Errorf("zh-CN date = %q", got)
	}
	if got := en.date(0); got != "" {
		t.Errorf("no date = %q, want empty", got)
	}
}
