package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/notify"
)

// appsWebhooksCommand administers the apps' own endpoints, where AppWheel
// sends its events.
func appsWebhooksCommand() *cobra.Command {
	c := group(&cobra.Command{
		Use:   "webhooks",
		Short: "the app's own endpoints, where AppWheel sends its events",
		Long: `Administer the app's webhook endpoints: URLs on the app's own server where
AppWheel sends signed events (payment_method.added, invoice.paid, …; see
docs/api.md, "Events for the app's server"). Each endpoint has its own signing
secret, shown when it is added or rotated, kept encrypted with the master key.`,
		Example: `  appwheel apps webhooks add app_… --url https://shop.example.com/appwheel-events
  appwheel apps webhooks add app_… --url https://shop.example.com/billing --events invoice.paid,invoice.payment_failed
  appwheel apps webhooks deliveries app_… --failed`,
	})
	c.AddCommand(webhooksAddCommand(), webhooksListCommand(), webhooksRemoveCommand(), webhooksRotateCommand(),
		webhooksSetDisabledCommand("disable"), webhooksSetDisabledCommand("enable"), webhooksDeliveriesCommand(), webhooksRedeliverCommand())
	return c
}

// webhooksSubcommand is one webhooks command: fn runs on the endpoints'
// service, after args[0], when want is set, is checked to be an app.
func webhooksSubcommand(sets []flagSet, c *cobra.Command, asJSON *bool, flags func(fs *pflag.FlagSet),
	fn func(cmd *cobra.Command, d *deps, n *notify.Service, args []string) error) *cobra.Command {
	return appsSubcommandOn(sets, c, asJSON, flags, func(cmd *cobra.Command, d *deps, args []string) error {
		n, err := newNotify(d, nil, nil)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(c.Use, "redeliver") {
			if _, err := d.apps.App(cmd.Context(), args[0]); err != nil {
				return cliError(err)
			}
		}
		return cliError(fn(cmd, d, n, args))
	})
}

func webhooksAddCommand() *cobra.Command {
	var (
		asJSON bool
		url    string
		events []string
	)
	c := &cobra.Command{
		Use:   "add APP_ID --url URL [--events TYPE,…]",
		Short: "add an endpoint and print its signing secret (shown this once)",
		Long: `Add a webhook endpoint to the app and print its signing secret, shown this
once. The URL must be https:// on a public address; with
--allow-private-webhook-urls (as serve's) it may be on a loopback, private or
link-local address, and http:// on loopback. --events limits the event types it
is sent (default all: ` + strings.Join(appwheel.NotifyTypes, ", ") + `).`,
		Example: `  appwheel apps webhooks add app_… --url https://shop.example.com/appwheel-events`,
		Args:    exactArgs("APP_ID"),
	}
	return webhooksSubcommand(append(appsSets[:len(appsSets):len(appsSets)], webhookFlags), c, &asJSON, func(fs *pflag.FlagSet) {
		fs.StringVar(&url, "url", "", "the endpoint's `URL` (required)")
		fs.StringSliceVar(&events, "events", nil, "the event `types` it is sent, comma-separated; default all")
	}, func(cmd *cobra.Command, d *deps, n *notify.Service, args []string) error {
		if url == "" {
			return usageErrorf("--url is required")
		}
		ep, secret, err := n.AddEndpoint(cmd.Context(), args[0], url, events)
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		if asJSON {
			v := endpointViewOf(ep)
			return json.NewEncoder(w).Encode(struct {
				endpointView
				Secret string `json:"secret"`
			}{v, secret})
		}
		if err := printEndpoints(w, []*appwheel.WebhookEndpoint{ep}, false); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nSigning secret: %s\nIt is shown this once; verify deliveries with it (client.VerifyWebhook, AppWheel.verifyWebhook).\n", secret)
		return nil
	})
}

func webhooksListCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "list APP_ID",
		Example: `  appwheel apps webhooks list app_… --json`,
		Short:   "list the app's endpoints",
		Args:    exactArgs("APP_ID"),
	}
	return webhooksSubcommand(appsSets, c, &asJSON, nil, func(cmd *cobra.Command, d *deps, n *notify.Service, args []string) error {
		eps, err := n.Endpoints(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return printEndpoints(cmd.OutOrStdout(), eps, asJSON)
	})
}

func webhooksRemoveCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "remove APP_ID ENDPOINT_ID",
		Example: `  appwheel apps webhooks remove app_… we_…`,
		Short:   "remove an endpoint: nothing more is sent to it",
		Args:    exactArgs("APP_ID", "ENDPOINT_ID"),
	}
	return webhooksSubcommand(appsSets, c, &asJSON, nil, func(cmd *cobra.Command, d *deps, n *notify.Service, args []string) error {
		if err := n.RemoveEndpoint(cmd.Context(), args[0], args[1]); err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"removed": args[1]})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Endpoint %s removed.\n", args[1])
		return nil
	})
}

func webhooksRotateCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "rotate-secret APP_ID ENDPOINT_ID",
		Example: `  appwheel apps webhooks rotate-secret app_… we_…`,
		Short:   "give an endpoint a new signing secret (shown this once)",
		Long: `Give an endpoint a new signing secret and print it, shown this once. Deliveries
are signed with it from the next attempt on; the old one no longer verifies.`,
		Args: exactArgs("APP_ID", "ENDPOINT_ID"),
	}
	return webhooksSubcommand(appsSets, c, &asJSON, nil, func(cmd *cobra.Command, d *deps, n *notify.Service, args []string) error {
		secret, err := n.RotateSecret(cmd.Context(), args[0], args[1])
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"endpointId": args[1], "secret": secret})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Signing secret: %s\nIt is shown this once.\n", secret)
		return nil
	})
}

func webhooksSetDisabledCommand(verb string) *cobra.Command {
	var asJSON bool
	short := "stop sending events to an endpoint"
	if verb == "enable" {
		short = "send events to an endpoint again, its failures forgotten"
	}
	c := &cobra.Command{
		Use:     verb + " APP_ID ENDPOINT_ID",
		Example: "  appwheel apps webhooks " + verb + " app_… we_…",
		Short:   short,
		Args:    exactArgs("APP_ID", "ENDPOINT_ID"),
	}
	return webhooksSubcommand(appsSets, c, &asJSON, nil, func(cmd *cobra.Command, d *deps, n *notify.Service, args []string) error {
		ep, err := n.SetDisabled(cmd.Context(), args[0], args[1], verb == "disable")
		if err != nil {
			return err
		}
		return printEndpoints(cmd.OutOrStdout(), []*appwheel.WebhookEndpoint{ep}, asJSON)
	})
}

func webhooksDeliveriesCommand() *cobra.Command {
	var (
		asJSON, failed bool
		limit          int
	)
	c := &cobra.Command{
		Use:     "deliveries APP_ID [--failed] [--limit N]",
		Example: `  appwheel apps webhooks deliveries app_… --failed --limit 20`,
		Short:   "list the latest delivery attempts, newest first",
		Long: `List the app's latest delivery attempts, newest first: the event, the
endpoint, the attempt's number, its status code (0: no answer), latency,
outcome (delivered, retrying, failed) and, while retrying, when the next
attempt is due.`,
		Args: exactArgs("APP_ID"),
	}
	return webhooksSubcommand(appsSets, c, &asJSON, func(fs *pflag.FlagSet) {
		fs.BoolVar(&failed, "failed", false, "only the attempts that failed")
		fs.IntVar(&limit, "limit", 50, "at most `N` attempts (1 to 1000)")
	}, func(cmd *cobra.Command, d *deps, n *notify.Service, args []string) error {
		if limit < 1 || limit > 1000 {
			return usageErrorf("--limit %d: want 1 to 1000", limit)
		}
		attempts, err := n.Attempts(cmd.Context(), args[0], failed, limit)
		if err != nil {
			return err
		}
		return printAttempts(cmd.OutOrStdout(), attempts, asJSON)
	})
}

func webhooksRedeliverCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:     "redeliver EVENT_ID",
		Example: `  appwheel apps webhooks redeliver evt_…`,
		Short:   "send an event again, with the same id, to its app's endpoints",
		Long: `Send an event again, with its id, to each of its app's endpoints that is sent
its type now. The server's jobs deliver it (with retries, as the first time).`,
		Args: exactArgs("EVENT_ID"),
	}
	return webhooksSubcommand(appsSets, c, &asJSON, nil, func(cmd *cobra.Command, d *deps, _ *notify.Service, args []string) error {
		queue, err := openQueue(cmd.Context(), d)
		if err != nil {
			return err
		}
		n, err := newNotify(d, queue.EnqueueDeliveries, nil)
		if err != nil {
			return err
		}
		ev, count, err := n.Redeliver(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"eventId": ev.ID, "appId": ev.AppID, "endpoints": count})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Event %s (%s) of app %s queued for %d endpoint(s).\n", ev.ID, ev.Type, ev.AppID, count)
		return nil
	})
}

// endpointView is what the commands print of an endpoint: never its secret.
type endpointView struct {
	ID             string   `json:"endpointId"`
	AppID          string   `json:"appId"`
	URL            string   `json:"url"`
	Events         []string `json:"events"` // [] means all
	Disabled       bool     `json:"disabled"`
	DisabledReason string   `json:"disabledReason"`
	FailingSince   string   `json:"failingSince"` // RFC 3339, "" when not failing
	CreatedAt      string   `json:"createdAt"`
}

func endpointViewOf(ep *appwheel.WebhookEndpoint) endpointView {
	v := endpointView{
		ID: ep.ID, AppID: ep.AppID, URL: ep.URL, Events: append([]string{}, ep.Events...),
		Disabled: ep.Disabled, DisabledReason: ep.DisabledReason, CreatedAt: ep.CreatedAt.Format(time.RFC3339),
	}
	if !ep.FailingSince.IsZero() {
		v.FailingSince = ep.FailingSince.Format(time.RFC3339)
	}
	return v
}

func printEndpoints(w io.Writer, eps []*appwheel.WebhookEndpoint, asJSON bool) error {
	views := make([]endpointView, 0, len(eps))
	for _, ep := range eps {
		views = append(views, endpointViewOf(ep))
	}
	if asJSON {
		return json.NewEncoder(w).Encode(views)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT ID\tURL\tEVENTS\tDISABLED\tFAILING SINCE\tCREATED")
	for _, v := range views {
		events := strings.Join(v.Events, ",")
		if events == "" {
			events = "all"
		}
		disabled := "no"
		if v.Disabled {
			disabled = "yes (" + v.DisabledReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.URL, events, disabled, cmpOr(v.FailingSince, "-"), v.CreatedAt)
	}
	return tw.Flush()
}

// attemptView is one delivery attempt as deliveries prints it.
type attemptView struct {
	EventID     string `json:"eventId"`
	EndpointID  string `json:"endpointId"`
	Attempt     int    `json:"attempt"`
	At          string `json:"at"`
	StatusCode  int    `json:"statusCode"`
	LatencyMs   int64  `json:"latencyMs"`
	Outcome     string `json:"outcome"`
	Error       string `json:"error"`
	NextRetryAt string `json:"nextRetryAt"` // "" unless retrying
}

func printAttempts(w io.Writer, attempts []*appwheel.DeliveryAttempt, asJSON bool) error {
	views := make([]attemptView, 0, len(attempts))
	for _, a := range attempts {
		v := attemptView{
			EventID: a.EventID, EndpointID: a.EndpointID, Attempt: a.Attempt, At: a.At.Format(time.RFC3339),
			StatusCode: a.StatusCode, LatencyMs: a.Latency.Milliseconds(), Outcome: a.Outcome, Error: a.Error,
		}
		if !a.NextRetryAt.IsZero() {
			v.NextRetryAt = a.NextRetryAt.Format(time.RFC3339)
		}
		views = append(views, v)
	}
	if asJSON {
		return json.NewEncoder(w).Encode(views)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tEVENT ID\tENDPOINT ID\tATTEMPT\tSTATUS\tLATENCY\tOUTCOME\tNEXT RETRY\tERROR")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%dms\t%s\t%s\t%s\n", v.At, v.EventID, v.EndpointID, v.Attempt, v.StatusCode,
			v.LatencyMs, v.Outcome, cmpOr(v.NextRetryAt, "-"), v.Error)
	}
	return tw.Flush()
}

func cmpOr(v, none string) string {
	if v == "" {
		return none
	}
	return v
}
