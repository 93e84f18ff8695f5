package stripemock

import (
	"os"
	"regexp"
	"testing"
)

// TestScriptPinsVersion keeps scripts/test, which installs stripe-mock, on
// the Version whose spec SpecPath finds.
func TestScriptPinsVersion(t *testing.T) {
	script, err := os.ReadFile("../../scripts/test")
	if err != nil {
		t.Fatal(err)
	}
	pinned := ""
	if m := regexp.MustCompile(`(?m)^STRIPE_MOCK_VERSION=(\S+)$`).FindSubmatch(script); m != nil {
		pinned = string(m[1])
	}
	if pinned != Version {
		t.Errorf("scripts/test pins STRIPE_MOCK_VERSION=%q, want %q (Version)", pinned, Version)
	}
}

func TestSpecPath(t *testing.T) {
	p := SpecPath(t)
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		t.Errorf("SpecPath = %s: %v", p, err)
	}
}
