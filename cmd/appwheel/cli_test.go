package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ownFlags is every command's flags (besides --help): what its --help
// lists, and the only flags it accepts. A command missing here fails
// TestHelpEveryCommand, so a new one cannot go without help.
var ownFlags = map[string][]string{
	"appwheel":                    {"version"},
	"dev":                         {"sandbox-addr", "notify-url", "sandbox-search-delay", "addr", "data-dir", "job-timeout", "log-level"},
	"serve":                       {"addr", "public-url", "rate-limit", "rate-burst", "page-cache-mb", "portal-link-ttl", "portal-visit-ttl", "shutdown-timeout", "allow-private-webhook-urls", "data-dir", "database-url", "db-max-conns", "db-statement-timeout", "job-timeout", "default-stripe-api-base", "stripe-timeout", "stripe-background-rate", "stripe-max-retries", "log-level"},
	"migrate":                     {"data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps":                        {},
	"apps create":                 {"name", "platform", "stripe-secret-key", "stripe-webhook-secret", "stripe-api-base", "redirect-host", "read-mode", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps list":                   {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps show":                   {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps rotate-secret":          {"grace", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps set-read-mode":          {"mode", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps update":                 {"display-name", "logo-url", "accent-color", "frame-ancestors", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps disable":                {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps enable":                 {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps link":                   {"user", "customer", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout", "default-stripe-api-base", "stripe-timeout", "stripe-background-rate", "stripe-max-retries"},
	"apps import":                 {"metadata-key", "csv", "dry-run", "report", "background", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout", "default-stripe-api-base", "stripe-timeout", "stripe-background-rate", "stripe-max-retries"},
	"apps import-status":          {"wait", "report", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps webhooks":               {},
	"apps webhooks add":           {"url", "events", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout", "allow-private-webhook-urls"},
	"apps webhooks list":          {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps webhooks remove":        {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps webhooks rotate-secret": {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps webhooks disable":       {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps webhooks enable":        {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps webhooks deliveries":    {"failed", "limit", "json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"apps webhooks redeliver":     {"json", "data-dir", "database-url", "db-max-conns", "db-statement-timeout"},
	"sandbox":                     {},
	"sandbox subscribe":           {"user", "price", "card", "data-dir"},
	"sandbox advance":             {"days", "data-dir"},
	"sandbox seed-existing":       {"users", "user-prefix", "data-dir"},
	"version":                     {},
	"help":                        {},
	"completion":                  {},
	"completion bash":             {"no-descriptions"},
	"completion zsh":              {"no-descriptions"},
	"completion fish":             {"no-descriptions"},
	"completion powershell":       {"no-descriptions"},
}

// envOnly is what a command reads from the environment alone, which its
// help describes.
var envOnly = map[string][]string{
	"serve":       {"APPWHEEL_MASTER_KEY", "APPWHEEL_MASTER_KEY_FILE"},
	"apps create": {"APPWHEEL_MASTER_KEY", "APPWHEEL_MASTER_KEY_FILE", "APPWHEEL_STRIPE_SECRET_KEY", "APPWHEEL_STRIPE_WEBHOOK_SECRET"},
	"apps list":   {"APPWHEEL_MASTER_KEY"}, "apps show": {"APPWHEEL_MASTER_KEY"}, "apps rotate-secret": {"APPWHEEL_MASTER_KEY"},
	"apps set-read-mode": {"APPWHEEL_MASTER_KEY"}, "apps disable": {"APPWHEEL_MASTER_KEY"}, "apps enable": {"APPWHEEL_MASTER_KEY"},
	"apps update": {"APPWHEEL_MASTER_KEY"},
}

// commandPaths walks the command tree: each command's path without the
// leading "appwheel" ("appwheel" for the root), hidden ones left out.
func commandPaths(t *testing.T) map[string]*cobra.Command {
	t.Helper()
	paths := map[string]*cobra.Command{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), "appwheel ")
		paths[path] = c
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCommand(&bytes.Buffer{}, &bytes.Buffer{}))
	return paths
}

// flagLine is one line of a help's "Flags:" section: "  -h, --help   help for serve".
var flagLine = regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9-]+)(?: \S+)?\s{2,}(\S.*)$`)

// helpFlags parses the "Flags:" section of a help text into each flag's
// description.
func helpFlags(t *testing.T, help string) map[string]string {
	t.Helper()
	_, section, ok := strings.Cut(help, "\nFlags:\n")
	if !ok {
		t.Fatalf("no Flags: section in\n%s", help)
	}
	section, _, _ = strings.Cut(section, "\n\n")
	flags := map[string]string{}
	for line := range strings.Lines(section) {
		m := flagLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil {
			t.Fatalf("flag line %q does not parse", line)
		}
		flags[m[1]] = m[2]
	}
	return flags
}

// mentionsFlag reports whether text names --name as a flag of its own
// (not as the tail of a longer one, --stripe-api-base in
// --default-stripe-api-base).
func mentionsFlag(text, name string) bool {
	return regexp.MustCompile(`(^|[^a-z0-9-])--` + regexp.QuoteMeta(name) + `($|[^a-z0-9-])`).MatchString(text)
}

// Every command has help: it succeeds, summarizes the command, shows an
// example, and lists its own flags, each described, and no other.
func TestHelpEveryCommand(t *testing.T) {
	commands := commandPaths(t)
	var all []string // every flag of any command
	for path, c := range commands {
		if _, ok := ownFlags[path]; !ok {
			t.Errorf("command %q is missing from ownFlags", path)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) { all = append(all, f.Name) })
	}
	slices.Sort(all)
	all = slices.Compact(all)

	for path, want := range ownFlags {
		t.Run(path, func(t *testing.T) {
			c := commands[path]
			if c == nil {
				t.Fatalf("no command %q", path)
			}
			args := strings.Fields(path)
			if path == "appwheel" {
				args = nil
			}
			for _, help := range [][]string{append(slices.Clone(args), "--help"), append(slices.Clone(args), "-h"), append([]string{"help"}, args...)} {
				out, err := runCLI(t, help...)
				if err != nil || exitCode(err) != 0 {
					t.Fatalf("appwheel %s: err = %v", strings.Join(help, " "), err)
				}
				if !strings.Contains(out, c.Short) || c.Short == "" {
					t.Errorf("appwheel %s lacks the summary %q:\n%s", strings.Join(help, " "), c.Short, out)
				}
				if !strings.Contains(out, "\nExamples:\n  ") || c.Example == "" {
					t.Errorf("appwheel %s shows no example:\n%s", strings.Join(help, " "), out)
				}
				flags := helpFlags(t, out)
				got := slices.Sorted(func(yield func(string) bool) {
					for name := range flags {
						if name != "help" && !yield(name) {
							return
						}
					}
				})
				if w := slices.Sorted(slices.Values(want)); !slices.Equal(got, w) {
					t.Errorf("appwheel %s lists flags\n  %v\nwant\n  %v", strings.Join(help, " "), got, w)
				}
				for name, desc := range flags {
					if len(strings.Fields(desc)) < 2 {
						t.Errorf("--%s is not described: %q", name, desc)
					}
					if f := c.Flags().Lookup(name); f != nil && strings.Contains(f.Usage, "(env APPWHEEL_") && !strings.Contains(desc, "(env APPWHEEL_") {
						t.Errorf("--%s does not name its variable: %q", name, desc)
					}
				}
				if c.HasSubCommands() {
					continue // a group's examples are its commands', with their flags
				}
				for _, name := range all {
					if !slices.Contains(want, name) && name != "help" && mentionsFlag(out, name) {
						t.Errorf("appwheel %s mentions --%s, not one of its flags:\n%s", strings.Join(help, " "), name, out)
					}
				}
				for _, env := range envOnly[path] {
					if !strings.Contains(out, env) {
						t.Errorf("appwheel %s does not describe %s:\n%s", strings.Join(help, " "), env, out)
					}
				}
			}
		})
	}
}

// Help is there however it is asked for, and says what matters of each
// command (bench reads serve's for "postgres").
func TestHelpSays(t *testing.T) {
	for _, args := range [][]string{
		{}, {"apps"}, {"sandbox"}, {"help", "sandbox"}, {"completion"},
		{"apps", "rotate-secret", "APP_ID", "-h"}, {"help", "apps", "create"},
	} {
		out, err := runCLI(t, args...)
		if err != nil || !strings.Contains(out, "Usage:") || strings.Contains(out, "no appwheel dev found") {
			t.Errorf("appwheel %v: err %v, printed:\n%s", args, err, out)
		}
	}
	for args, want := range map[string][]string{
		"serve -h":                 {"--database-url", "postgres://"},
		"sandbox subscribe --help": {"--card", "--user", "--price"},
		"--help":                   {"appwheel sandbox subscribe --user u1", "Available Commands:", "completion", "version"},
		"apps --help":              {"rotate-secret", "set-read-mode", "appwheel apps create --name"},
		"sandbox --help":           {"subscribe", "advance", "appwheel sandbox advance --days 31"},
	} {
		out := mustRun(t, strings.Fields(args)...)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("appwheel %s lacks %q:\n%s", args, w, out)
			}
		}
	}
}

// The configuration flags say what they default to and which variable
// sets them, whatever the environment holds now.
func TestHelpDescribesConfig(t *testing.T) {
	t.Setenv("APPWHEEL_ADDR", "10.0.0.1:1")
	t.Setenv("APPWHEEL_DATA_DIR", "/from/env")
	for args, want := range map[string][]string{
		"serve --help":              {`(env APPWHEEL_ADDR) (default "127.0.0.1:8080")`, `(env APPWHEEL_DATA_DIR) (default "data")`, "(env APPWHEEL_DB_STATEMENT_TIMEOUT) (default 5s)", "postgres://", "APPWHEEL_MASTER_KEY_FILE"},
		"dev --help":                {`(env APPWHEEL_DATA_DIR) (default "dev-data")`, "--sandbox-addr HOST:PORT", "--addr HOST:PORT"},
		"sandbox advance --help":    {`where its dev.json is (env APPWHEEL_DATA_DIR) (default "dev-data")`},
		"apps create --help":        {"--redirect-host host", "APPWHEEL_STRIPE_SECRET_KEY[_FILE]"},
		"apps rotate-secret --help": {"--grace duration", "(default 24h0m0s)"},
	} {
		out := mustRun(t, strings.Fields(args)...)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("appwheel %s lacks %q:\n%s", args, w, out)
			}
		}
		if strings.Contains(out, "10.0.0.1:1") || strings.Contains(out, "/from/env") {
			t.Errorf("appwheel %s shows the environment's values as defaults:\n%s", args, out)
		}
	}
}

// A command line that does not parse says what is wrong, names the
// nearest command or flag, and exits 2, before anything is created.
func TestUnknownCommandsAndFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"bogus"}, []string{`unknown command "bogus" for "appwheel"`}},
		{[]string{"serv"}, []string{`unknown command "serv"`, "did you mean serve?"}},
		{[]string{"migrat"}, []string{"did you mean migrate?"}},
		{[]string{"vesion"}, []string{"did you mean version?"}},
		{[]string{"apps", "lst"}, []string{`unknown command "lst" for "appwheel apps"`, "did you mean list?"}},
		{[]string{"apps", "rotate"}, []string{"did you mean rotate-secret?"}},
		{[]string{"sandbox", "advnce"}, []string{`for "appwheel sandbox"`, "did you mean advance?"}},
		{[]string{"sandbox", "bogus"}, []string{`unknown command "bogus" for "appwheel sandbox"`}},
		{[]string{"completion", "bsh"}, []string{"did you mean bash or zsh?"}},
		{[]string{"completion", "bahs"}, []string{"did you mean bash?"}},
		{[]string{"serve", "--adr", "127.0.0.1:0", "--data-dir", dir}, []string{"unknown flag: --adr", "did you mean --addr?"}},
		{[]string{"apps", "create", "--nmae", "x", "--data-dir", dir}, []string{"unknown flag: --nmae", "did you mean --name?"}},
		{[]string{"sandbox", "advance", "--day", "3", "--data-dir", dir}, []string{"did you mean --days?"}},
		{[]string{"apps", "list", "--jsn", "--data-dir", dir}, []string{"did you mean --json?"}},
		{[]string{"migrate", "--addr", "127.0.0.1:0", "--data-dir", dir}, []string{"unknown flag: --addr", "appwheel serve", "not of appwheel migrate"}},
		{[]string{"sandbox", "advance", "--days", "1", "--database-url", "x", "--data-dir", dir}, []string{"unknown flag: --database-url"}},
		{[]string{"apps", "list", "--bogus", "--data-dir", dir}, []string{"unknown flag: --bogus"}},
		{[]string{"serve", "-x", "--data-dir", dir}, []string{"unknown shorthand flag: 'x'"}},
		{[]string{"help", "bogus"}, []string{`unknown command "bogus" for "appwheel"`}},
		{[]string{"apps", "--json"}, []string{"unknown flag: --json", "a flag of the appwheel apps commands: put it after the command"}},
		{[]string{"help", "apps", "shw"}, []string{`unknown command "shw" for "appwheel apps"`, "did you mean show?"}},
		{[]string{"version", "extra"}, []string{"version takes no arguments"}},
		{[]string{"completion", "bash", "extra"}, []string{"completion bash takes no arguments"}},
		{[]string{"apps", "bogus"}, []string{`unknown command "bogus" for "appwheel apps"`}},
		{[]string{"apps", "rotate-secret", "app_x", "--grace", "soon", "--data-dir", dir}, []string{`invalid argument "soon" for "--grace"`}},
		{[]string{"apps", "rotate-secret", "app_x", "--grace", "1h", "extra", "--data-dir", dir}, []string{"apps rotate-secret takes one app ID"}},
		{[]string{"apps", "show", "--data-dir", dir}, []string{"apps show takes one app ID"}},
		{[]string{"apps", "list", "extra", "--data-dir", dir}, []string{"apps list takes no arguments"}},
		{[]string{"serve", "extra", "--data-dir", dir}, []string{"serve takes no arguments"}},
		{[]string{"apps", "--data-dir", dir}, []string{"unknown flag: --data-dir"}},
		{[]string{"migrate", "--log-level", "warn", "--data-dir", dir}, []string{"unknown flag: --log-level"}},
		{[]string{"sandbox", "advance", "--days", "1", "--addr", "x", "--data-dir", dir}, []string{"unknown flag: --addr"}},
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

// exitCode and report are main's mapping of run's error to the process's
// exit status and message.
func TestExitCode(t *testing.T) {
	usage := &usageError{err: errors.New(`unknown command "serv" for "appwheel"; did you mean serve?`), command: "appwheel"}
	for _, tt := range []struct {
		name    string
		err     error
		code    int
		printed string
	}{
		{"success", nil, 0, ""},
		{"usage", usage, 2, "appwheel: unknown command \"serv\" for \"appwheel\"; did you mean serve?\nRun 'appwheel --help' for usage.\n"},
		{"wrapped usage", fmt.Errorf("x: %w", &usageError{err: errors.New("bad"), command: "appwheel apps list"}), 2, "appwheel: x: bad\nRun 'appwheel apps list --help' for usage.\n"},
		{"usage without command", usageErrorf("bad"), 2, "appwheel: bad\nRun 'appwheel --help' for usage.\n"},
		{"failure", errors.New("open database: locked"), 1, "appwheel: open database: locked\n"},
		{"cancelled", context.Canceled, 1, "appwheel: context canceled\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.code {
				t.Errorf("exitCode = %d, want %d", got, tt.code)
			}
			var w bytes.Buffer
			if got := report(&w, tt.err); got != tt.code || w.String() != tt.printed {
				t.Errorf("report = %d, printed %q; want %d, %q", got, w.String(), tt.code, tt.printed)
			}
		})
	}
	// run fills in the command a usage error's hint names.
	for args, want := range map[string]string{
		"apps list --bogus": "appwheel apps list",
		"sandbox bogus":     "appwheel sandbox",
		"help apps bogus":   "appwheel apps",
		"bogus":             "appwheel",
	} {
		_, err := runCLI(t, strings.Fields(args)...)
		var ue *usageError
		if !errors.As(err, &ue) || ue.command != want {
			t.Errorf("%s: err = %#v; want a usage error of %s", args, err, want)
		}
	}
}

// Every command that takes arguments takes its flags before them, after
// them, or both.
func TestFlagsAroundArguments(t *testing.T) {
	dir := t.TempDir()
	id := appIDFrom(t, mustRun(t, "apps", "create", "--name", "shop", "--stripe-secret-key", "sk_test_51ABCDEFghijklmnop",
		"--stripe-webhook-secret", "whsec_x", "--json", "--data-dir", dir))
	data := "--data-dir=" + dir
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"show, flags after", []string{"apps", "show", id, "--json", data}, `"appId":"` + id},
		{"show, flags before", []string{"apps", "show", "--json", data, id}, `"appId":"` + id},
		{"show, flags around", []string{"apps", "show", data, id, "--json"}, `"appId":"` + id},
		{"rotate-secret, flags after", []string{"apps", "rotate-secret", id, "--grace", "1h", "--json", data}, `"appId":"` + id},
		{"rotate-secret, flags before", []string{"apps", "rotate-secret", "--grace=1h", "--json", data, id}, `"appId":"` + id},
		{"set-read-mode, flags after", []string{"apps", "set-read-mode", id, "--mode", "live", data, "--json"}, `"readMode":"live"`},
		{"set-read-mode, flags before", []string{"apps", "set-read-mode", "--mode", "mirror", "--json", data, id}, `"readMode":"mirror"`},
		{"disable, flags after", []string{"apps", "disable", id, data, "--json"}, `"disabled":true`},
		{"enable, flags before", []string{"apps", "enable", "--json", data, id}, `"disabled":false`},
		{"disable, flags before", []string{"apps", "disable", data, "--json", id}, `"disabled":true`},
		{"enable, flags after", []string{"apps", "enable", id, "--json", data}, `"disabled":false`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if out := mustRun(t, tt.args...); !strings.Contains(out, tt.want) {
				t.Errorf("appwheel %v printed %s; want %s", tt.args, out, tt.want)
			}
		})
	}
	// "--" ends the flags: what follows is an argument even if it looks
	// like a flag.
	if _, err := runCLI(t, "apps", "show", data, "--", "--json"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("apps show -- --json: err = %v; want --json taken for an app ID", err)
	}
}

// A command reads the environment variables of the fields it uses, the
// flag winning, and ignores the others.
func TestEnvironmentPerCommand(t *testing.T) {
	envDir, flagDir := t.TempDir(), t.TempDir()
	t.Setenv("APPWHEEL_DATA_DIR", envDir)
	mustRun(t, "migrate")
	mustRun(t, "migrate", "--data-dir", flagDir)
	for _, dir := range []string{envDir, flagDir} {
		if _, err := os.Stat(filepath.Join(dir, "appwheel.db")); err != nil {
			t.Errorf("migrate: %v", err)
		}
	}
	t.Setenv("APPWHEEL_DATABASE_URL", "sqlite:"+filepath.Join(envDir, "other.db"))
	mustRun(t, "migrate")
	if _, err := os.Stat(filepath.Join(envDir, "other.db")); err != nil {
		t.Errorf("APPWHEEL_DATABASE_URL: %v", err)
	}

	// What migrate does not use is not read: not a failure, even when it
	// would be one for serve.
	for _, kv := range [][2]string{{"APPWHEEL_ADDR", "8080"}, {"APPWHEEL_LOG_LEVEL", "loud"}, {"APPWHEEL_MASTER_KEY", "short"}, {"APPWHEEL_STRIPE_TIMEOUT", "soon"}} {
		t.Setenv(kv[0], kv[1])
	}
	mustRun(t, "migrate")
	// sandbox reads only APPWHEEL_DATA_DIR.
	if _, err := runCLI(t, "sandbox", "advance", "--days", "1"); !errors.Is(err, errNoDevServer) {
		t.Errorf("sandbox advance: err = %v; want %v", err, errNoDevServer)
	}
	// The master key is read where it is used.
	if _, err := runCLI(t, "apps", "list"); err == nil || !strings.Contains(err.Error(), "APPWHEEL_MASTER_KEY") {
		t.Errorf("apps list with APPWHEEL_MASTER_KEY=short: err = %v", err)
	}
}

func TestCompletion(t *testing.T) {
	for shell, start := range map[string]string{
		"bash": "# bash completion V2 for appwheel", "zsh": "#compdef appwheel", "fish": "# fish completion for appwheel", "powershell": "# powershell completion for appwheel",
	} {
		out, err := runCLI(t, "completion", shell)
		if err != nil || !strings.HasPrefix(out, start) {
			t.Errorf("completion %s: err %v, printed %.80q…; want %q first", shell, err, out, start)
		}
	}
	// The script completes the product's commands: cobra's __complete,
	// which the script calls, lists them.
	out := mustRun(t, "__complete", "apps", "")
	for _, name := range []string{"create", "rotate-secret", "set-read-mode"} {
		if !strings.Contains(out, name) {
			t.Errorf("__complete apps '' lacks %s:\n%s", name, out)
		}
	}
	if out := mustRun(t, "__complete", "serve", "--db-"); !strings.Contains(out, "--db-statement-timeout") || strings.Contains(out, "--days") {
		t.Errorf("__complete serve --db-:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	out := mustRun(t, "version")
	for _, w := range []string{"appwheel ", "github.com/appwheel/appwheel", "revision: ", "modified: "} {
		if !strings.Contains(out, w) {
			t.Errorf("version lacks %q:\n%s", w, out)
		}
	}
	if v := mustRun(t, "--version"); v != out {
		t.Errorf("--version printed\n%s\nversion\n%s", v, out)
	}

	for _, tt := range []struct {
		name string
		bi   *debug.BuildInfo
		want []string
	}{
		{"no build info", nil, []string{"appwheel (devel)\n", "module:   github.com/appwheel/appwheel\n", "revision: unknown\n", "modified: unknown\n"}},
		{"no VCS", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/appwheel/appwheel", Version: "(devel)"}},
			[]string{"appwheel (devel)\n", "revision: unknown\n", "go:       go1.26.0\n"}},
		{"release", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/appwheel/appwheel", Version: "v1.4.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "25e2fb6c0ffee"}, {Key: "vcs.time", Value: "2025-12-02T04:31:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, []string{"appwheel v1.4.0\n", "revision: 25e2fb6c0ffee\n", "time:     2025-12-02T04:31:00Z\n", "modified: true\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := formatVersion(tt.bi)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("formatVersion lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// The dev banner's sandbox commands are ones the user can paste.
func TestSelfCommand(t *testing.T) {
	bin := t.TempDir()
	installed := filepath.Join(bin, "appwheel")
	other := filepath.Join(t.TempDir(), "appwheel")
	link := filepath.Join(t.TempDir(), "appwheel")
	for _, f := range []string{installed, other} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(installed, link); err != nil {
		t.Fatal(err)
	}
	goRunTmp := filepath.Join(os.TempDir(), "go-build2927464157", "b001", "exe", "appwheel")
	goRunCached := filepath.Join("/root/.cache/go-build/0f", strings.Repeat("0f", 32)+"-d", "appwheel")
	found := func(path string) func(string) (string, error) {
		return func(string) (string, error) { return path, nil }
	}
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	exe := func(path string) func() (string, error) {
		return func() (string, error) { return path, nil }
	}
	for _, tt := range []struct {
		name       string
		executable func() (string, error)
		lookPath   func(string) (string, error)
		want       string
	}{
		{"installed on PATH", exe(installed), found(installed), "appwheel"},
		{"on PATH through a symlink", exe(installed), found(link), "appwheel"},
		{"go run, none on PATH", exe(goRunTmp), notFound, "go run ./cmd/appwheel"},
		{"go run from the build cache", exe(goRunCached), notFound, "go run ./cmd/appwheel"},
		{"go run, another appwheel on PATH", exe(goRunTmp), found(other), "go run ./cmd/appwheel"},
		{"a build not on PATH", exe(other), notFound, other},
		{"a build, another appwheel on PATH", exe(other), found(installed), other},
		{"a path to quote", exe("/home/me/my tools/appwheel"), notFound, "'/home/me/my tools/appwheel'"},
		{"no executable", func() (string, error) { return "", errors.New("unsupported") }, found(installed), "appwheel"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := selfCommand(tt.executable, tt.lookPath); got != tt.want {
				t.Errorf("selfCommand = %q, want %q", got, tt.want)
			}
		})
	}

	for _, tt := range []struct{ self, dataDir, want string }{
		{"appwheel", "dev-data", "appwheel sandbox"},
		{"go run ./cmd/appwheel", "dev-data", "go run ./cmd/appwheel sandbox"},
		{"appwheel", "/tmp/d", "appwheel sandbox --data-dir /tmp/d"},
		{"go run ./cmd/appwheel", "my data", "go run ./cmd/appwheel sandbox --data-dir 'my data'"},
		{"appwheel", "it's", `appwheel sandbox --data-dir 'it'\''s'`},
	} {
		if got := sandboxCommandLine(tt.self, tt.dataDir); got != tt.want {
			t.Errorf("sandboxCommandLine(%q, %q) = %q, want %q", tt.self, tt.dataDir, got, tt.want)
		}
	}

	var banner bytes.Buffer
	printDevBanner(&banner, &devFile{BaseURL: "http://127.0.0.1:8080", AppID: "app_1", Prices: map[string]string{},
		NotifyURL: "http://127.0.0.1:3000/e", NotifyEndpointID: "we_1", NotifySecret: "awhsec_1"}, "d/dev.json", "go run ./cmd/appwheel", "d")
	if w := "\n  go run ./cmd/appwheel apps webhooks deliveries app_1 --data-dir d\n"; !strings.Contains(banner.String(), w) {
		t.Errorf("banner lacks %q:\n%s", w, banner.String())
	}
	for _, w := range []string{"\n  go run ./cmd/appwheel sandbox --data-dir d subscribe --user u1 --price monthly\n", "\n  go run ./cmd/appwheel sandbox --data-dir d advance --days 31\n"} {
		if !strings.Contains(banner.String(), w) {
			t.Errorf("banner lacks %q:\n%s", w, banner.String())
		}
	}
}
