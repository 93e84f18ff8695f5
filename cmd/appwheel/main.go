// Command appwheel runs AppWheel: the HTTP API (serve), its migrations
// (migrate) and tenant administration (apps).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `appwheel: Stripe payment methods and invoices for your apps' users.

Usage:
  appwheel dev     [--addr HOST:PORT] [--data-dir DIR]   the whole product offline: API + Stripe sandbox + demo app
  appwheel serve   [flags]             run the HTTP API
  appwheel migrate [flags]             apply database migrations and exit
  appwheel apps create --name N --platform stripe --stripe-secret-key sk_… [--stripe-webhook-secret whsec_…] [--stripe-api-base URL] [--redirect-host H …] [--json]
  appwheel apps list [--json]
  appwheel apps show ID [--json]
  appwheel apps rotate-secret ID [--grace 24h] [--json]
  appwheel apps set-read-mode ID --mode mirror|live
  appwheel apps disable ID
  appwheel apps enable ID
  appwheel sandbox subscribe [--data-dir DIR] --user U [--price monthly|yearly|price_…]   on a running dev
  appwheel sandbox advance   [--data-dir DIR] --days N                                   on a running dev

Every command takes the configuration flags; run "appwheel serve -h" to list them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "appwheel:", err)
		os.Exit(1)
	}
}

// run dispatches a command line; main is only the process's edge.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "apps":
		return runApps(ctx, args[1:], stdout, stderr)
	case "dev":
		return runDev(ctx, args[1:], stdout, stderr)
	case "sandbox":
		return runSandbox(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// parseConfig parses the config flags (and extra, command-specific ones
// registered by the caller via define) from args.
func parseConfig(name string, args []string, stderr io.Writer, define func(*flag.FlagSet)) (*Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("appwheel "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &Config{}
	dataDir := "data"
	if name == "dev" || strings.HasPrefix(name, "sandbox") {
		dataDir = "dev-data"
	}
	envErr := cfg.bindFlags(fs, dataDir)
	if define != nil {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if envErr != nil {
		return nil, nil, envErr
	}
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}
