package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/stripe"
)

func appsCommand() *cobra.Command {
	c := group(&cobra.Command{
		Use:   "apps",
		Short: "administer the apps (tenants) the API serves",
		Long: `Administer the apps (tenants) the API serves: each has its own AppID and
AppSecret and its own Stripe account, whose keys are kept encrypted with the
master key. The apps commands work on the database directly, with or without
a server running.`,
		Example: `  appwheel apps create --name shop --stripe-secret-key sk_live_… --stripe-webhook-secret whsec_…
  appwheel apps list
  appwheel apps rotate-secret app_… --grace 24h`,
	})
	c.AddCommand(appsCreateCommand(), appsListCommand(), appsShowCommand(), appsRotateSecretCommand(),
		appsSetReadModeCommand(), appsUpdateCommand(), appsSetDisabledCommand("disable"), appsSetDisabledCommand("enable"), appsLinkCommand(), appsImportCommand(), appsImportStatusCommand(), appsWebhooksCommand())
	return c
}

// appsSets are the configuration the apps commands use: the database and
// the master key that seals the apps' secrets; appsStripeSets add the Stripe
// client's, for the commands that call Stripe (link, import).
var (
	appsSets       = []flagSet{dataDirFlags, storeFlags, masterKeyEnv}
	appsStripeSets = []flagSet{dataDirFlags, storeFlags, masterKeyEnv, stripeFlags}
)

// appsSubcommand is one apps command: c's own flags are added by flags
// (before the configuration's, and with --json into *asJSON, which every
// apps command takes); it opens the store and runs fn on the app service.
func appsSubcommand(c *cobra.Command, asJSON *bool, flags func(fs *pflag.FlagSet), fn func(cmd *cobra.Command, d *deps, args []string) error) *cobra.Command {
	return appsSubcommandOn(appsSets, c, asJSON, flags, fn)
}

// appsSubcommandOn is appsSubcommand with the configuration of sets.
func appsSubcommandOn(sets []flagSet, c *cobra.Command, asJSON *bool, flags func(fs *pflag.FlagSet), fn func(cmd *cobra.Command, d *deps, args []string) error) *cobra.Command {
	if flags != nil {
		flags(c.Flags())
	}
	c.Flags().BoolVar(asJSON, "json", false, "print JSON instead of text")
	return withConfig(c, "data", sets, func(cmd *cobra.Command, cfg *Config, args []string) error {
		d, err := open(cmd.Context(), cfg, newLogger(cfg, cmd.ErrOrStderr()))
		if err != nil {
			return err
		}
		defer d.Close()
		return fn(cmd, d, args)
	})
}

// newBilling is the billing service of an apps command, which talks to each
// app's Stripe account (or its own API base) as serve does.
func newBilling(d *deps) *billing.Service { return newBillingWith(d, nil) }

// newBillingWith is newBilling with its Config changed by configure.
func newBillingWith(d *deps, configure func(*billing.Config)) *billing.Service {
	cfg := billing.Config{
		Store:          d.store,
		Stripe:         newProvider(d.cfg, d.logger, nil),
		Apps:           d.apps,
		DecodeEvent:    stripe.DecodeEvent,
		BackgroundRate: d.cfg.StripeBackgroundRate,
		Logger:         d.logger,
	}
	if configure != nil {
		configure(&cfg)
	}
	return billing.New(cfg)
}

func appsCreateCommand() *cobra.Command {
	var (
		p      apps.CreateParams
		hosts  []string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "create --name NAME --stripe-secret-key sk_…",
		Short: "create an app and print its AppID and AppSecret",
		Long: `Create an app and print its AppID and AppSecret, which is shown this once.
The Stripe secrets can come from the environment (or a file it names) instead
of the command line, to keep them out of the process list and shell history.
Point the Stripe account's webhook endpoint at /v1/stripe/webhooks/APP_ID.`,
		Example: `  appwheel apps create --name shop --stripe-secret-key sk_live_… --stripe-webhook-secret whsec_…
  APPWHEEL_STRIPE_SECRET_KEY_FILE=/run/secrets/stripe-key appwheel apps create --name shop --redirect-host shop.example.com --json`,
		Args: noArgs("apps create"),
	}
	return appsSubcommand(c, &asJSON, func(fs *pflag.FlagSet) {
		fs.StringVar(&p.Name, "name", "", "the app's `name`")
		fs.StringVar(&p.Platform, "platform", appwheel.PlatformStripe, "the app's `platform`")
		fs.StringVar(&p.StripeSecretKey, "stripe-secret-key", "", "the app's Stripe secret `key` (sk_… or rk_…); or env APPWHEEL_STRIPE_SECRET_KEY[_FILE]")
		fs.StringVar(&p.StripeWebhookSecret, "stripe-webhook-secret", "", "the app's Stripe webhook signing `secret` (whsec_…); or env APPWHEEL_STRIPE_WEBHOOK_SECRET[_FILE]")
		fs.StringVar(&p.StripeAPIBase, "stripe-api-base", "", "Stripe API `URL` for this app (stripe-mock, the sandbox); default Stripe itself")
		// An array, not a slice: each use is one host, never split at commas.
		fs.StringArrayVar(&hosts, "redirect-host", nil, "allowed checkout redirect `host` (repeatable); none means any")
		fs.StringVar(&p.ReadMode, "read-mode", "", "where reads come from, `mode` mirror or live; default mirror when a webhook secret is given, else live")
	}, func(cmd *cobra.Command, d *deps, _ []string) error {
		p.RedirectHosts = hosts
		// Secrets may come from the environment (or _FILE), to keep
		// them out of the process list and shell history.
		for _, s := range []struct {
			dst  *string
			name string
		}{{&p.StripeSecretKey, "APPWHEEL_STRIPE_SECRET_KEY"}, {&p.StripeWebhookSecret, "APPWHEEL_STRIPE_WEBHOOK_SECRET"}} {
			if *s.dst != "" {
				continue
			}
			var err error
			if *s.dst, err = envSecret(s.name); err != nil {
				return err
			}
		}
		app, err := d.apps.Create(cmd.Context(), p)
		if err != nil {
			return cliError(err)
		}
		return printSecret(cmd.OutOrStdout(), app, asJSON)
	})
}

func appsListCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "list the apps",
		Long: `List the apps, never their secrets: only whether each is set, and the Stripe
key's kind and last four characters.`,
		Example: `  appwheel apps list
  appwheel apps list --json --data-dir /var/lib/appwheel`,
		Args: noArgs("apps list"),
	}
	return appsSubcommand(c, &asJSON, nil, func(cmd *cobra.Command, d *deps, _ []string) error {
		list, err := d.apps.Apps(cmd.Context())
		if err != nil {
			return err
		}
		return printApps(cmd.OutOrStdout(), list, asJSON)
	})
}

func appsShowCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show APP_ID",
		Short: "show one app (never its secrets)",
		Long: `Show one app, never its secrets: only whether each is set, and the Stripe
key's kind and last four characters.`,
		Example: `  appwheel apps show app_…
  appwheel apps show app_… --json`,
		Args: oneID("apps show"),
	}
	return appsSubcommand(c, &asJSON, nil, func(cmd *cobra.Command, d *deps, args []string) error {
		app, err := d.apps.App(cmd.Context(), args[0])
		if err != nil {
			return cliError(err)
		}
		return printApp(cmd.OutOrStdout(), app, asJSON)
	})
}

func appsRotateSecretCommand() *cobra.Command {
	var (
		asJSON bool
		grace  time.Duration
	)
	c := &cobra.Command{
		Use:   "rotate-secret APP_ID",
		Short: "issue a new AppSecret; the old one works for --grace",
		Long: `Issue a new AppSecret and print it (shown this once). The previous one keeps
working for --grace, the time to roll the new one out to the app's backends;
0 ends it at once.`,
		Example: `  appwheel apps rotate-secret app_… --grace 1h
  appwheel apps rotate-secret app_… --grace 0 --json`,
		Args: oneID("apps rotate-secret"),
	}
	return appsSubcommand(c, &asJSON, func(fs *pflag.FlagSet) {
		fs.DurationVar(&grace, "grace", 24*time.Hour, "how long the previous secret keeps working")
	}, func(cmd *cobra.Command, d *deps, args []string) error {
		app, err := d.apps.RotateSecret(cmd.Context(), args[0], grace)
		if err != nil {
			return cliError(err)
		}
		return printSecret(cmd.OutOrStdout(), app, asJSON)
	})
}

func appsSetReadModeCommand() *cobra.Command {
	var (
		asJSON bool
		mode   string
	)
	c := &cobra.Command{
		Use:   "set-read-mode APP_ID --mode mirror|live",
		Short: "choose where the app's reads come from",
		Long: `Choose where the app's reads (payment methods, invoices, subscriptions) come
from: mirror, AppWheel's copy fed by Stripe's webhooks (the app needs a webhook
secret), or live, a call to Stripe for each read.`,
		Example: `  appwheel apps set-read-mode app_… --mode mirror
  appwheel apps set-read-mode app_… --mode live`,
		Args: oneID("apps set-read-mode"),
	}
	return appsSubcommand(c, &asJSON, func(fs *pflag.FlagSet) {
		fs.StringVar(&mode, "mode", "", "where reads come from, `mode` mirror or live")
	}, func(cmd *cobra.Command, d *deps, args []string) error {
		app, err := d.apps.SetReadMode(cmd.Context(), args[0], mode)
		if err != nil {
			return cliError(err)
		}
		return printApps(cmd.OutOrStdout(), []*appwheel.App{app}, asJSON)
	})
}

// brandingFlags are apps update's own flags, each one field of the app's
// appwheel.Branding.
var brandingFlags = []string{"display-name", "logo-url", "accent-color", "frame-ancestors"}

func appsUpdateCommand() *cobra.Command {
	var (
		asJSON bool
		b      appwheel.Branding
	)
	c := &cobra.Command{
		Use:   "update APP_ID [--display-name S] [--logo-url URL] [--accent-color #hex] [--frame-ancestors a,b]",
		Short: "change how the app's hosted billing page looks",
		Long: `Change the app's branding: how its hosted billing page looks, and which sites
may embed it in a frame. Only the flags given change, and an empty value clears
its field (--logo-url ''). The page's title is --display-name, or the app's
name; --frame-ancestors lists the origins (https://host[:port], http only for
localhost, 127.0.0.1 and [::1]) whose pages may show it in a frame, and none
means no site may.`,
		Example: `  appwheel apps update app_… --display-name "Shop" --accent-color "#1a2b3c"
  appwheel apps update app_… --logo-url https://cdn.example.com/logo.png --frame-ancestors https://app.example.com,https://www.example.com
  appwheel apps update app_… --logo-url '' --frame-ancestors '' --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := oneID("apps update")(cmd, args); err != nil {
				return err
			}
			for _, name := range brandingFlags {
				if cmd.Flags().Changed(name) {
					return nil
				}
			}
			return usageErrorf("apps update needs at least one of --%s: the fields to change", strings.Join(brandingFlags, ", --"))
		},
	}
	return appsSubcommand(c, &asJSON, func(fs *pflag.FlagSet) {
		fs.StringVar(&b.DisplayName, "display-name", "", "the billing page's `title` (at most 100 bytes); empty means the app's name")
		fs.StringVar(&b.LogoURL, "logo-url", "", "the billing page's logo, an https `URL`; empty means none")
		fs.StringVar(&b.AccentColor, "accent-color", "", "the billing page's accent `color`, #rgb or #rrggbb; empty means the default")
		fs.StringSliceVar(&b.FrameAncestors, "frame-ancestors", nil, "the `origins` that may embed the billing page in a frame, comma-separated (at most 10); empty means none")
	}, func(cmd *cobra.Command, d *deps, args []string) error {
		// The flags given change the branding as stored; the others keep it.
		app, err := d.apps.Reload(cmd.Context(), args[0])
		if err != nil {
			return cliError(err)
		}
		next, fs := app.Branding, cmd.Flags()
		if fs.Changed("display-name") {
			next.DisplayName = b.DisplayName
		}
		if fs.Changed("logo-url") {
			next.LogoURL = b.LogoURL
		}
		if fs.Changed("accent-color") {
			next.AccentColor = b.AccentColor
		}
		if fs.Changed("frame-ancestors") {
			next.FrameAncestors = b.FrameAncestors
		}
		app, err = d.apps.SetBranding(cmd.Context(), args[0], next)
		if err != nil {
			return cliError(err)
		}
		return printApp(cmd.OutOrStdout(), app, asJSON)
	})
}

// appsSetDisabledCommand is apps disable or apps enable.
func appsSetDisabledCommand(name string) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     name + " APP_ID",
		Short:   name + " an app",
		Long:    "Disable an app: its requests are refused (1003) until it is enabled again.",
		Example: "  appwheel apps " + name + " app_…",
		Args:    oneID("apps " + name),
	}
	if name == "enable" {
		c.Long = "Enable an app that was disabled: its requests are served again."
	}
	return appsSubcommand(c, &asJSON, nil, func(cmd *cobra.Command, d *deps, args []string) error {
		app, err := d.apps.SetDisabled(cmd.Context(), args[0], name == "disable")
		if err != nil {
			return cliError(err)
		}
		return printApps(cmd.OutOrStdout(), []*appwheel.App{app}, asJSON)
	})
}

// cliError shows an *appwheel.Error by its message alone.
func cliError(err error) error {
	var e *appwheel.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

// printSecret shows a new AppSecret: the only time it is ever shown.
func printSecret(w io.Writer, app *appwheel.App, asJSON bool) error {
	if asJSON {
		out := map[string]string{"appId": app.ID, "platform": app.Platform, "appSecret": app.Secret}
		if !app.PreviousSecretExpiresAt.IsZero() {
			out["previousSecretExpiresAt"] = app.PreviousSecretExpiresAt.Format(time.RFC3339)
		}
		return json.NewEncoder(w).Encode(out)
	}
	fmt.Fprintf(w, "AppID:     %s\nPlatform:  %s\nAppSecret: %s\n", app.ID, app.Platform, app.Secret)
	if !app.PreviousSecretExpiresAt.IsZero() {
		fmt.Fprintf(w, "The previous secret works until %s.\n", app.PreviousSecretExpiresAt.Format(time.RFC3339))
	}
	fmt.Fprintln(w, "The AppSecret is shown this once; store it now.")
	return nil
}

// appView is what list and show print: never a secret, only whether one is set.
type appView struct {
	ID               string       `json:"appId"`
	Name             string       `json:"name"`
	Platform         string       `json:"platform"`
	Disabled         bool         `json:"disabled"`
	StripeKey        string       `json:"stripeSecretKey"`
	WebhookSecretSet bool         `json:"stripeWebhookSecretSet"`
	StripeAPIBase    string       `json:"stripeApiBase,omitempty"`
	ReadMode         string       `json:"readMode"`
	RedirectHosts    []string     `json:"redirectHosts"`
	Branding         brandingView `json:"branding"`
	CreatedAt        string       `json:"createdAt"`
}

// brandingView is an app's appwheel.Branding, every key present.
type brandingView struct {
	DisplayName    string   `json:"displayName"`
	LogoURL        string   `json:"logoUrl"`
	AccentColor    string   `json:"accentColor"`
	FrameAncestors []string `json:"frameAncestors"`
}

func printApps(w io.Writer, list []*appwheel.App, asJSON bool) error {
	views := make([]appView, 0, len(list))
	for _, a := range list {
		views = append(views, appView{
			ID: a.ID, Name: a.Name, Platform: a.Platform, Disabled: a.Disabled,
			StripeKey:        maskKey(a.Stripe.SecretKey),
			WebhookSecretSet: a.Stripe.WebhookSecret != "",
			StripeAPIBase:    a.Stripe.APIBase,
			ReadMode:         a.ReadMode,
			RedirectHosts:    append([]string{}, a.RedirectHosts...),
			Branding: brandingView{
				DisplayName:    a.Branding.DisplayName,
				LogoURL:        a.Branding.LogoURL,
				AccentColor:    a.Branding.AccentColor,
				FrameAncestors: append([]string{}, a.Branding.FrameAncestors...),
			},
			CreatedAt: a.CreatedAt.Format(time.RFC3339),
		})
	}
	if asJSON {
		return json.NewEncoder(w).Encode(views)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP ID\tNAME\tPLATFORM\tDISABLED\tREAD MODE\tSTRIPE KEY\tWEBHOOK SECRET\tREDIRECT HOSTS\tCREATED")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\t%v\t%s\t%s\n", v.ID, v.Name, v.Platform, v.Disabled, v.ReadMode,
			v.StripeKey, v.WebhookSecretSet, strings.Join(v.RedirectHosts, ","), v.CreatedAt)
	}
	return tw.Flush()
}

// printApp shows one app, as show and update do: with --json as the list
// does, a list of one; else the list's line, then the app's branding.
func printApp(w io.Writer, app *appwheel.App, asJSON bool) error {
	if err := printApps(w, []*appwheel.App{app}, asJSON); err != nil || asJSON {
		return err
	}
	b := app.Branding
	or := func(v, none string) string {
		if v == "" {
			return "(" + none + ")"
		}
		return v
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nBRANDING")
	fmt.Fprintf(tw, "Display name:\t%s\n", or(b.DisplayName, "none: the app's name"))
	fmt.Fprintf(tw, "Logo URL:\t%s\n", or(b.LogoURL, "none"))
	fmt.Fprintf(tw, "Accent color:\t%s\n", or(b.AccentColor, "none: the default"))
	fmt.Fprintf(tw, "Frame ancestors:\t%s\n", or(strings.Join(b.FrameAncestors, ","), "none: no site may embed the page"))
	return tw.Flush()
}

// maskKey keeps a Stripe key's kind and last four characters.
func maskKey(k string) string {
	if len(k) < 12 {
		return "…"
	}
	prefix := k[:strings.LastIndex(k[:8], "_")+1]
	return prefix + "…" + k[len(k)-4:]
}
