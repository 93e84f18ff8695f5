// Command appwheel runs AppWheel: the HTTP API (serve), its migrations
// (migrate), tenant administration (apps) and the offline product (dev,
// sandbox).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if code := report(os.Stderr, err); code != 0 {
		os.Exit(code)
	}
}

// exitCode is the process's exit status after run returned err: 0 for
// none, 2 for a command line that does not parse (a usage error), 1 for
// any other failure.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// report prints run's error, if any, to w as main does, and returns the
// exit status: a usage error points at the command's --help.
func report(w io.Writer, err error) int {
	code := exitCode(err)
	switch code {
	case 0:
	case 2:
		var ue *usageError
		errors.As(err, &ue)
		command := ue.command
		if command == "" {
			command = "appwheel"
		}
		fmt.Fprintf(w, "appwheel: %v\nRun '%s --help' for usage.\n", err, command)
	default:
		fmt.Fprintln(w, "appwheel:", err)
	}
	return code
}

// run executes one command line; main is only the process's edge, so the
// tests drive the CLI in-process through run.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var ue *usageError
	if errors.As(err, &ue) && ue.command == "" && cmd != nil {
		ue.command = cmd.CommandPath()
	}
	return err
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := group(&cobra.Command{
		Use:   "appwheel",
		Short: "Stripe payment methods and invoices for your apps' users",
		Long: `AppWheel lets app backends manage their end users' Stripe payment methods and
invoices. It is one binary, on SQLite by default and on PostgreSQL when several
replicas share the load.

Start with "appwheel dev": the API, an offline Stripe sandbox and a demo app,
with no configuration. In production, run "appwheel migrate", then "appwheel
serve"; "appwheel apps" administers the apps (tenants) the API serves.`,
		Example: `  appwheel dev
  appwheel sandbox subscribe --user u1 --price monthly
  appwheel migrate --data-dir /var/lib/appwheel
  appwheel serve --data-dir /var/lib/appwheel --addr 0.0.0.0:8080
  appwheel apps create --name shop --stripe-secret-key sk_live_… --stripe-webhook-secret whsec_…
  appwheel serve --help`,
		Version: versionText(),
		// main prints errors once, in its own format, and no usage dump
		// after an error that is not about usage.
		SilenceErrors: true,
		SilenceUsage:  true,
	})
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("{{.Version}}")
	// Cobra's help shows the Long description instead of the summary;
	// this one shows both.
	root.SetHelpTemplate(`{{.CommandPath}}: {{.Short}}{{with .Long}}

{{. | trimTrailingWhitespaces}}{{end}}

{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}`)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(devCommand(), serveCommand(), migrateCommand(), appsCommand(), sandboxCommand(), versionCommand())

	// Cobra's help and completion commands, made now rather than when the
	// command line runs, to give them examples too. (The completion
	// scripts are written to the output set above.)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Short = "help about any command"
			c.Example = "  appwheel help apps create"
			// Left to itself, "help bogus" shows the root's help and succeeds.
			c.Args = func(c *cobra.Command, args []string) error {
				target, rest, err := c.Root().Find(args)
				if err != nil {
					return &usageError{err: err}
				}
				if len(rest) > 0 && target.HasSubCommands() {
					err := target.Args(target, rest)
					if ue := (*usageError)(nil); errors.As(err, &ue) {
						ue.command = target.CommandPath()
					}
					return err
				}
				return nil
			}
		case "completion":
			group(c)
			c.Short = "generate the completion script for a shell"
			c.Example = `  source <(appwheel completion bash)
  appwheel completion zsh > "${fpath[1]}/_appwheel"
  appwheel completion fish > ~/.config/fish/completions/appwheel.fish`
			for _, shell := range c.Commands() {
				shell.Args = noArgs("completion " + shell.Name())
				shell.Short = "generate the completion script for " + shell.Name()
				shell.Example = map[string]string{
					"bash":       "  source <(appwheel completion bash)\n  appwheel completion bash > /etc/bash_completion.d/appwheel",
					"zsh":        `  appwheel completion zsh > "${fpath[1]}/_appwheel"`,
					"fish":       "  appwheel completion fish > ~/.config/fish/completions/appwheel.fish",
					"powershell": "  appwheel completion powershell | Out-String | Invoke-Expression",
				}[shell.Name()]
			}
		}
	}
	return root
}

// usageError is a command line that does not parse (unknown command or
// flag, wrong arguments): main exits 2 for it, and points at --help.
type usageError struct {
	err     error
	command string // filled in by run
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

// group makes c a command that only holds subcommands. Bare, it prints its
// help; followed by anything else it is a usage error naming the nearest
// command (left to itself, cobra prints the help and succeeds for
// "appwheel apps bogus").
func group(c *cobra.Command) *cobra.Command {
	c.SuggestionsMinimumDistance = 2
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		if s := nearestCommands(cmd, args[0]); len(s) > 0 {
			return usageErrorf("unknown command %q for %q; did you mean %s?", args[0], cmd.CommandPath(), strings.Join(s, " or "))
		}
		return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	c.DisableFlagsInUseLine = true
	return c
}

// nearestCommands are the names of c's subcommands closest to name: the
// ones name begins or names as a SuggestFor, else the nearest within
// c.SuggestionsMinimumDistance edits (cobra's own SuggestionsFor lists
// every command within the distance, "dev" as well as "serve" for "serv").
func nearestCommands(c *cobra.Command, name string) []string {
	var best []string
	bestDist := c.SuggestionsMinimumDistance + 1
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() {
			continue
		}
		d := editDistance(strings.ToLower(name), sub.Name())
		if strings.HasPrefix(sub.Name(), strings.ToLower(name)) || slices.ContainsFunc(sub.SuggestFor, func(s string) bool { return strings.EqualFold(s, name) }) {
			d = 0
		}
		switch {
		case d < bestDist:
			best, bestDist = []string{sub.Name()}, d
		case d == bestDist:
			best = append(best, sub.Name())
		}
	}
	return best
}

// flagError makes a flag that does not parse a usage error, and names the
// flag meant: the nearest of the command's own, else the commands that
// have the flag given.
func flagError(c *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return &usageError{err: err}
	}
	if s := nearestFlag(c.Flags(), name); s != "" {
		return &usageError{err: fmt.Errorf("%w; did you mean --%s?", err, s)}
	}
	var owners []string
	below := true // every owner is one of c's subcommands
	var walk func(*cobra.Command)
	walk = func(o *cobra.Command) {
		if f := o.Flags().Lookup(name); f != nil && !f.Hidden && o != c {
			owners = append(owners, o.CommandPath())
			below = below && strings.HasPrefix(o.CommandPath(), c.CommandPath()+" ")
		}
		for _, sub := range o.Commands() {
			walk(sub)
		}
	}
	walk(c.Root())
	switch {
	case len(owners) == 0:
		return &usageError{err: err}
	case below && c.HasSubCommands():
		return &usageError{err: fmt.Errorf("%w (a flag of the %s commands: put it after the command)", err, c.CommandPath())}
	case len(owners) > 3:
		owners = append(owners[:3], "…")
	}
	return &usageError{err: fmt.Errorf("%w (it is a flag of %s, not of %s)", err, strings.Join(owners, ", "), c.CommandPath())}
}

// nearestFlag is the name of fs's flag closest to name (within two edits,
// or one that name begins), or "" when none is.
func nearestFlag(fs *pflag.FlagSet, name string) string {
	best, bestDist := "", 3
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(strings.ToLower(name), f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range ra {
		cur := make([]int, len(rb)+1)
		cur[0] = i + 1
		for j := range rb {
			cost := 1
			if ra[i] == rb[j] {
				cost = 0
			}
			cur[j+1] = slices.Min([]int{prev[j+1] + 1, cur[j] + 1, prev[j] + cost})
		}
		prev = cur
	}
	return prev[len(rb)]
}

// noArgs and oneID check a command's positional arguments; name is how
// the error calls the command.
func noArgs(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 0 {
			return usageErrorf("%s takes no arguments", name)
		}
		return nil
	}
}

func oneID(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErrorf("%s takes one app ID", name)
		}
		return nil
	}
}

// exactArgs checks that a command has the positional arguments named.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageErrorf("%s takes %s", cmd.CommandPath(), strings.Join(names, " "))
		}
		return nil
	}
}

// withConfig gives c the flags of the sets (and only those), with dataDir
// as the data directory's default, notes the environment in its help, and
// makes it run fn with the config loaded and validated: a value that does
// not parse fails here, before anything is created.
func withConfig(c *cobra.Command, dataDir string, sets []flagSet, fn func(cmd *cobra.Command, cfg *Config, args []string) error) *cobra.Command {
	cfg := defaultConfig(dataDir)
	c.Flags().SortFlags = false // in the sets' order, which groups them
	cfg.defineFlags(c.Flags(), sets)
	if c.Long == "" {
		c.Long = c.Short + "."
	}
	c.Long += "\n\n" + envHelp(sets)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := cfg.load(cmd.Flags(), sets); err != nil {
			return err
		}
		return fn(cmd, cfg, args)
	}
	return c
}
