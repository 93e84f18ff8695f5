package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// modulePath is the main module's path, for a binary built without module
// information.
const modulePath = "github.com/appwheel/appwheel"

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version and the commit it was built from",
		Long: `Print the binary's version (the main module's: "(devel)" for a build from a
work tree), the Go module, and the commit it was built from with whether the
work tree had changes ("unknown" when the build recorded no VCS information,
as with -buildvcs=false). The same as "appwheel --version".`,
		Example: "  appwheel version\n  appwheel --version",
		Args:    noArgs("version"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText())
			return err
		},
	}
}

// versionText is what version and --version print, from the build
// information Go records in the binary.
func versionText() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(bi)
}

// formatVersion describes bi (nil when the binary has none): the main
// module's version and path, and the vcs.revision, vcs.time and
// vcs.modified settings, "(devel)" and "unknown" standing for what is
// missing.
func formatVersion(bi *debug.BuildInfo) string {
	version, path, goVersion := "(devel)", modulePath, "unknown"
	settings := map[string]string{}
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.Main.Path != "" {
			path = bi.Main.Path
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
	}
	get := func(key string) string {
		if v := settings[key]; v != "" {
			return v
		}
		return "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "appwheel %s\n", version)
	fmt.Fprintf(&b, "  module:   %s\n", path)
	fmt.Fprintf(&b, "  revision: %s\n", get("vcs.revision"))
	fmt.Fprintf(&b, "  time:     %s\n", get("vcs.time"))
	fmt.Fprintf(&b, "  modified: %s\n", get("vcs.modified"))
	fmt.Fprintf(&b, "  go:       %s\n", goVersion)
	return b.String()
}
