package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// sandboxCommand drives scenarios on a running appwheel dev, found through
// DATA_DIR/dev.json, over the sandbox's HTTP API (the same calls a script
// could make with curl).
func sandboxCommand() *cobra.Command {
	c := group(&cobra.Command{
		Use:   "sandbox",
		Short: "drive scenarios on a running appwheel dev",
		Long: `Drive scenarios on a running "appwheel dev", found through the dev.json in its
data directory, over the Stripe sandbox's HTTP API (the same calls a script
could make with curl).`,
		Example: `  appwheel sandbox subscribe --user u1 --price monthly
  appwheel sandbox advance --days 31
  appwheel sandbox seed-existing --users 50`,
	})
	c.AddCommand(sandboxSubscribeCommand(), sandboxAdvanceCommand(), sandboxSeedExistingCommand())
	return c
}

// sandboxSubcommand is one sandbox command: c's own flags are added by
// flags, and fn gets a client for the running dev's sandbox, the facts
// dev.json holds and the data directory it is in. Its only configuration
// is --data-dir.
func sandboxSubcommand(c *cobra.Command, flags func(fs *pflag.FlagSet), fn func(cmd *cobra.Command, sc *sandboxClient, dev *devFile, dataDir string) error) *cobra.Command {
	c.Args = noArgs("sandbox " + c.Name())
	flags(c.Flags())
	withConfig(c, "dev-data", []flagSet{dataDirFlags}, func(cmd *cobra.Command, cfg *Config, _ []string) error {
		dev, err := readDevFile(filepath.Join(cfg.DataDir, "dev.json"))
		if errors.Is(err, fs.ErrNotExist) {
			return errNoDevServer
		}
		if err != nil {
			return err
		}
		// Connections are kept for a few requests at a time (seed-existing's).
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = 8
		sc := &sandboxClient{base: dev.StripeAPIBase, key: dev.StripeSecretKey, http: &http.Client{Timeout: 30 * time.Second, Transport: transport}}
		return fn(cmd, sc, dev, cfg.DataDir)
	})
	describeFlag(c, "data-dir", "the running appwheel dev's data `directory`, where its dev.json is")
	return c
}

func sandboxSubscribeCommand() *cobra.Command {
	var user, price, card string
	c := &cobra.Command{
		Use:   "subscribe --user USER [--price monthly|yearly|price_…] [--card pm_…]",
		Short: "subscribe a user to a price, as an app's backend would",
		Long: `Subscribe a user to a price, as an app's backend would. The sandbox charges it as
Stripe does: the subscription's own card (--card, one of the user's), else the
customer's default payment method, else nothing (the payment fails). The first
card a user adds through AppWheel becomes the customer's default.`,
		Example: `  appwheel sandbox subscribe --user u1 --price monthly
  appwheel sandbox subscribe --user u1 --price yearly --card pm_…`,
	}
	return sandboxSubcommand(c, func(fs *pflag.FlagSet) {
		fs.StringVar(&user, "user", "", "the `appUserId` to subscribe (required)")
		fs.StringVar(&price, "price", "monthly", "the `price`: monthly or yearly (the demo product's), or a price_… id")
		fs.StringVar(&card, "card", "", "the user's payment method (`pm_ID`) to charge, set as the subscription's default_payment_method; default the customer's default payment method")
	}, func(cmd *cobra.Command, sc *sandboxClient, dev *devFile, _ string) error {
		if user == "" {
			return usageErrorf("sandbox subscribe needs --user")
		}
		if id, ok := dev.Prices[price]; ok {
			price = id
		}
		return subscribe(cmd.Context(), sc, user, price, card, cmd.OutOrStdout(), cmd.ErrOrStderr())
	})
}

// subscribe creates the subscription as an app's backend would, and the
// sandbox charges it as Stripe does: on card when given, else on the
// customer's invoice_settings.default_payment_method, and on nothing else.
func subscribe(ctx context.Context, sc *sandboxClient, user, price, card string, stdout, stderr io.Writer) error {
	noMethod := fmt.Errorf("user %s has no payment method: add one first", user)
	var found struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	q := url.Values{"query": {fmt.Sprintf("metadata['appwheel_app_user_id']:'%s'", strings.ReplaceAll(user, "'", "\\'"))}}
	if err := sc.do(ctx, "GET", "/v1/customers/search?"+q.Encode(), nil, &found); err != nil {
		return err
	}
	if len(found.Data) == 0 {
		return noMethod
	}
	customer := found.Data[0].ID
	var methods struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := sc.do(ctx, "GET", "/v1/customers/"+customer+"/payment_methods?limit=1", nil, &methods); err != nil {
		return err
	}
	if len(methods.Data) == 0 {
		return noMethod
	}
	form := url.Values{"customer": {customer}, "items[0][price]": {price}}
	if card != "" {
		// The sandbox refuses a card that is not this customer's, as Stripe does.
		form.Set("default_payment_method", card)
	} else {
		var cus struct {
			InvoiceSettings struct {
				DefaultPaymentMethod *string `json:"default_payment_method"`
			} `json:"invoice_settings"`
		}
		if err := sc.do(ctx, "GET", "/v1/customers/"+customer, nil, &cus); err != nil {
			return err
		}
		if cus.InvoiceSettings.DefaultPaymentMethod == nil {
			// A card added through a SetupIntent or Checkout is not made the
			// default. Send the request anyway, as a backend would: Stripe
			// (and so the sandbox) then has nothing to charge the first
			// invoice to, and refuses the subscription.
			fmt.Fprintf(stderr, "warning: customer %s (user %s) has no default payment method, so the first payment will fail; "+
				"pass --card pm_… to charge one of the user's cards\n", customer, user)
		}
	}
	var sub map[string]any
	if err := sc.do(ctx, "POST", "/v1/subscriptions", form, &sub); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "subscription %v for %s: %v\n", sub["id"], user, sub["status"])
	return nil
}

func sandboxAdvanceCommand() *cobra.Command {
	var days int
	c := &cobra.Command{
		Use:   "advance --days N",
		Short: "move the sandbox clock on: renewals, invoices, payment attempts",
		Long: `Move the sandbox's clock on by whole days: subscriptions renew, invoices are
issued and charged (failed payments are retried as Stripe would), and the
sandbox sends the webhooks Stripe would.`,
		Example: `  appwheel sandbox advance --days 31
  appwheel sandbox advance --days 365 --data-dir /tmp/appwheel-dev`,
	}
	return sandboxSubcommand(c, func(fs *pflag.FlagSet) {
		fs.IntVar(&days, "days", 0, "days to move the sandbox clock on, 1 or more (required)")
	}, func(cmd *cobra.Command, sc *sandboxClient, _ *devFile, _ string) error {
		if days < 1 {
			return usageErrorf("sandbox advance needs --days N (N ≥ 1)")
		}
		var out map[string]any
		if err := sc.do(cmd.Context(), "POST", "/_sandbox/advance", url.Values{"days": {strconv.Itoa(days)}}, &out); err != nil {
			return err
		}
		b, _ := json.Marshal(out)
		fmt.Fprintf(cmd.OutOrStdout(), "sandbox clock moved on %d days: %s\n", days, b)
		return nil
	})
}

// sandboxClient makes form-encoded calls to the sandbox as Stripe's clients do.
type sandboxClient struct {
	base, key string
	http      *http.Client
}

func (c *sandboxClient) do(ctx context.Context, method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is appwheel dev running? %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("sandbox: %s (HTTP %d)", e.Error.Message, resp.StatusCode)
		}
		return fmt.Errorf("sandbox: HTTP %d", resp.StatusCode)
	}
	return json.Unmarshal(raw, out)
}
