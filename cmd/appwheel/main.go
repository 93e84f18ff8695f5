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
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

const usage = `appwheel: Stripe payment methods and invoices for your apps' users.

Usage:
  appwheel dev     [--addr HOST:PORT] [--data-dir DIR] [--sandbox-addr HOST:PORT]   the whole product offline: API + Stripe sandbox + demo app
  appwheel serve   [flags]             run the HTTP API
  appwheel migrate [flags]             apply database migrations and exit
  appwheel apps create --name N --platform stripe --stripe-secret-key sk_… [--stripe-webhook-secret whsec_…] [--stripe-api-base URL] [--redirect-host H …] [--json]
  appwheel apps list [--json]
  appwheel apps show ID [--json]
  appwheel apps rotate-secret ID [--grace 24h] [--json]
  appwheel apps set-read-mode ID --mode mirror|live
  appwheel apps disable ID
  appwheel apps enable ID
  appwheel sandbox subscribe [--data-dir DIR] --user U [--price monthly|yearly|price_…] [--card pm_…]   on a running dev
  appwheel sandbox advance   [--data-dir DIR] --days N                                                 on a running dev

Flags may come before or after a command's arguments. Every command takes the
configuration flags; run "appwheel serve -h" to list them, and
"appwheel COMMAND -h" for any command's own.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "appwheel: %v\nRun '%s --help' for usage.\n", err, ue.command)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "appwheel:", err)
		os.Exit(1)
	}
}

// run executes one command line; main is only the process's edge, so the
// tests drive the CLI in-process through run.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	var ue *usageError
	if errors.As(err, &ue) && cmd != nil {
		ue.command = cmd.CommandPath()
	}
	return err
}

func newRootCommand() *cobra.Command {
	root := group(&cobra.Command{
		Use: "appwheel",
		// main prints errors once, in its own format, and no usage dump
		// after an error that is not about usage.
		SilenceErrors: true,
		SilenceUsage:  true,
		// The command set is the product's; no generated completion command.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	})
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })
	// The top-level help is the synopsis above, which says more than a
	// list of command names.
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if c == root {
			fmt.Fprint(c.OutOrStdout(), usage)
			return
		}
		defaultHelp(c, args)
	})
	root.AddCommand(devCommand(), serveCommand(), migrateCommand(), appsCommand(), sandboxCommand())
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
// help; followed by anything else it is a usage error (left to itself,
// cobra prints the help and succeeds for "appwheel apps bogus").
func group(c *cobra.Command) *cobra.Command {
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			return usageErrorf("unknown command %q for %q; did you mean %s?", args[0], cmd.CommandPath(), strings.Join(s, " or "))
		}
		return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	c.DisableFlagsInUseLine = true
	return c
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

// withConfig gives c the configuration flags, with dataDir as the data
// directory's default, and makes it run fn with the validated config: a
// value that does not parse fails here, before anything is created.
func withConfig(c *cobra.Command, dataDir string, fn func(cmd *cobra.Command, cfg *Config, args []string) error) *cobra.Command {
	cfg := &Config{}
	envErr := cfg.bindFlags(c.Flags(), dataDir)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if envErr != nil {
			return envErr
		}
		if err := cfg.validate(); err != nil {
			return err
		}
		return fn(cmd, cfg, args)
	}
	return c
}
