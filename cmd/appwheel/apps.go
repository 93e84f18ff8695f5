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

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
)

func appsCommand() *cobra.Command {
	c := group(&cobra.Command{Use: "apps", Short: "administer the apps (tenants)"})
	c.AddCommand(appsCreateCommand(), appsListCommand(), appsShowCommand(), appsRotateSecretCommand(),
		appsSetReadModeCommand(), appsSetDisabledCommand("disable"), appsSetDisabledCommand("enable"))
	return c
}

// appsSubcommand is one apps command: it opens the store, runs fn on the
// app service, and takes --json (into *asJSON) like every apps command.
func appsSubcommand(use, short string, args cobra.PositionalArgs, asJSON *bool, fn func(cmd *cobra.Command, d *deps, args []string) error) *cobra.Command {
	c := withConfig(&cobra.Command{Use: use, Short: short, Args: args}, "data", func(cmd *cobra.Command, cfg *Config, args []string) error {
		d, err := open(cmd.Context(), cfg, newLogger(cfg, cmd.ErrOrStderr()))
		if err != nil {
			return err
		}
		defer d.Close()
		return fn(cmd, d, args)
	})
	c.Flags().BoolVar(asJSON, "json", false, "print JSON")
	return c
}

func appsCreateCommand() *cobra.Command {
	var (
		p      apps.CreateParams
		hosts  []string
		asJSON bool
	)
	c := appsSubcommand("create", "create an app and print its AppID and AppSecret", noArgs("apps create"), &asJSON,
		func(cmd *cobra.Command, d *deps, _ []string) error {
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
	fs := c.Flags()
	fs.StringVar(&p.Name, "name", "", "app name")
	fs.StringVar(&p.Platform, "platform", appwheel.PlatformStripe, "platform")
	fs.StringVar(&p.StripeSecretKey, "stripe-secret-key", "", "the app's Stripe secret key (sk_… or rk_…); or APPWHEEL_STRIPE_SECRET_KEY[_FILE]")
	fs.StringVar(&p.StripeWebhookSecret, "stripe-webhook-secret", "", "the app's Stripe webhook signing secret (whsec_…); or APPWHEEL_STRIPE_WEBHOOK_SECRET[_FILE]")
	fs.StringVar(&p.StripeAPIBase, "stripe-api-base", "", "Stripe API URL for this app (stripe-mock, the sandbox)")
	// An array, not a slice: each use is one host, never split at commas.
	fs.StringArrayVar(&hosts, "redirect-host", nil, "allowed checkout redirect `host` (repeatable); none means any")
	fs.StringVar(&p.ReadMode, "read-mode", "", "mirror or live; default mirror when a webhook secret is given, else live")
	return c
}

func appsListCommand() *cobra.Command {
	var asJSON bool
	return appsSubcommand("list", "list the apps", noArgs("apps list"), &asJSON, func(cmd *cobra.Command, d *deps, _ []string) error {
		list, err := d.apps.Apps(cmd.Context())
		if err != nil {
			return err
		}
		return printApps(cmd.OutOrStdout(), list, asJSON)
	})
}

func appsShowCommand() *cobra.Command {
	var asJSON bool
	return appsSubcommand("show APP_ID", "show one app (never its secrets)", oneID("apps show"), &asJSON, func(cmd *cobra.Command, d *deps, args []string) error {
		app, err := d.apps.App(cmd.Context(), args[0])
		if err != nil {
			return cliError(err)
		}
		return printApps(cmd.OutOrStdout(), []*appwheel.App{app}, asJSON)
	})
}

func appsRotateSecretCommand() *cobra.Command {
	var (
		asJSON bool
		grace  time.Duration
	)
	c := appsSubcommand("rotate-secret APP_ID", "issue a new AppSecret; the old one works for --grace", oneID("apps rotate-secret"), &asJSON,
		func(cmd *cobra.Command, d *deps, args []string) error {
			app, err := d.apps.RotateSecret(cmd.Context(), args[0], grace)
			if err != nil {
				return cliError(err)
			}
			return printSecret(cmd.OutOrStdout(), app, asJSON)
		})
	c.Flags().DurationVar(&grace, "grace", 24*time.Hour, "how long the old secret keeps working")
	return c
}

func appsSetReadModeCommand() *cobra.Command {
	var (
		asJSON bool
		mode   string
	)
	c := appsSubcommand("set-read-mode APP_ID --mode mirror|live", "choose where the app's reads come from", oneID("apps set-read-mode"), &asJSON,
		func(cmd *cobra.Command, d *deps, args []string) error {
			app, err := d.apps.SetReadMode(cmd.Context(), args[0], mode)
			if err != nil {
				return cliError(err)
			}
			return printApps(cmd.OutOrStdout(), []*appwheel.App{app}, asJSON)
		})
	c.Flags().StringVar(&mode, "mode", "", "mirror or live")
	return c
}

// appsSetDisabledCommand is apps disable or apps enable.
func appsSetDisabledCommand(name string) *cobra.Command {
	var asJSON bool
	return appsSubcommand(name+" APP_ID", name+" an app", oneID("apps "+name), &asJSON, func(cmd *cobra.Command, d *deps, args []string) error {
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
	ID               string   `json:"appId"`
	Name             string   `json:"name"`
	Platform         string   `json:"platform"`
	Disabled         bool     `json:"disabled"`
	StripeKey        string   `json:"stripeSecretKey"`
	WebhookSecretSet bool     `json:"stripeWebhookSecretSet"`
	StripeAPIBase    string   `json:"stripeApiBase,omitempty"`
	ReadMode         string   `json:"readMode"`
	RedirectHosts    []string `json:"redirectHosts"`
	CreatedAt        string   `json:"createdAt"`
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
			CreatedAt:        a.CreatedAt.Format(time.RFC3339),
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

// maskKey keeps a Stripe key's kind and last four characters.
func maskKey(k string) string {
	if len(k) < 12 {
		return "…"
	}
	prefix := k[:strings.LastIndex(k[:8], "_")+1]
	return prefix + "…" + k[len(k)-4:]
}
