package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runApps(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	var (
		p       apps.CreateParams
		hosts   stringList
		asJSON  bool
		grace   time.Duration
		mode    string
		needsID = sub != "create" && sub != "list"
	)
	cfg, fs, err := parseConfig("apps "+sub, args, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		switch sub {
		case "create":
			fs.StringVar(&p.Name, "name", "", "app name")
			fs.StringVar(&p.Platform, "platform", appwheel.PlatformStripe, "platform")
			fs.StringVar(&p.StripeSecretKey, "stripe-secret-key", "", "the app's Stripe secret key (sk_… or rk_…); or APPWHEEL_STRIPE_SECRET_KEY[_FILE]")
			fs.StringVar(&p.StripeWebhookSecret, "stripe-webhook-secret", "", "the app's Stripe webhook signing secret (whsec_…); or APPWHEEL_STRIPE_WEBHOOK_SECRET[_FILE]")
			fs.StringVar(&p.StripeAPIBase, "stripe-api-base", "", "Stripe API URL for this app (stripe-mock, the sandbox)")
			fs.Var(&hosts, "redirect-host", "allowed checkout redirect host (repeatable); none means any")
			fs.StringVar(&p.ReadMode, "read-mode", "", "mirror or live; default mirror when a webhook secret is given, else live")
		case "set-read-mode":
			fs.StringVar(&mode, "mode", "", "mirror or live")
		case "rotate-secret":
			fs.DurationVar(&grace, "grace", 24*time.Hour, "how long the old secret keeps working")
		}
	})
	if err != nil {
		return err
	}
	var id string
	if needsID {
		if fs.NArg() != 1 {
			return fmt.Errorf("apps %s takes one app ID", sub)
		}
		id = fs.Arg(0)
	} else if fs.NArg() != 0 {
		return fmt.Errorf("apps %s takes no arguments", sub)
	}

	d, err := open(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer d.Close()

	switch sub {
	case "create":
		p.RedirectHosts = hosts
		// Secrets may come from the environment (or _FILE), to keep them
		// out of the process list and shell history.
		for _, s := range []struct {
			dst  *string
			name string
		}{{&p.StripeSecretKey, "APPWHEEL_STRIPE_SECRET_KEY"}, {&p.StripeWebhookSecret, "APPWHEEL_STRIPE_WEBHOOK_SECRET"}} {
			if *s.dst != "" {
				continue
			}
			if *s.dst, err = envSecret(s.name); err != nil {
				return err
			}
		}
		app, err := d.apps.Create(ctx, p)
		if err != nil {
			return cliError(err)
		}
		return printSecret(stdout, app, asJSON)
	case "list":
		list, err := d.apps.Apps(ctx)
		if err != nil {
			return err
		}
		return printApps(stdout, list, asJSON)
	case "show":
		app, err := d.apps.App(ctx, id)
		if err != nil {
			return cliError(err)
		}
		return printApps(stdout, []*appwheel.App{app}, asJSON)
	case "rotate-secret":
		app, err := d.apps.RotateSecret(ctx, id, grace)
		if err != nil {
			return cliError(err)
		}
		return printSecret(stdout, app, asJSON)
	case "set-read-mode":
		app, err := d.apps.SetReadMode(ctx, id, mode)
		if err != nil {
			return cliError(err)
		}
		return printApps(stdout, []*appwheel.App{app}, asJSON)
	case "disable", "enable":
		app, err := d.apps.SetDisabled(ctx, id, sub == "disable")
		if err != nil {
			return cliError(err)
		}
		return printApps(stdout, []*appwheel.App{app}, asJSON)
	}
	return fmt.Errorf("unknown apps command %q", sub)
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
