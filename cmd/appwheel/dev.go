package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/sandbox"
)

// devFile is DATA_DIR/dev.json: what scripts, SDK tests and the sandbox
// commands need to reach a running appwheel dev.
type devFile struct {
	AppID           string `json:"appId"`
	Platform        string `json:"platform"`
	AppSecret       string `json:"appSecret"`
	BaseURL         string `json:"baseUrl"`
	StripeAPIBase   string `json:"stripeApiBase"`
	StripeSecretKey string `json:"stripeSecretKey"`
	// The sandbox account's other keys, for an app's own code tried
	// against the sandbox: a front end's, and one restricted to
	// sandbox.RestrictedPermissions (what AppWheel needs).
	StripePublishableKey string            `json:"stripePublishableKey"`
	StripeRestrictedKey  string            `json:"stripeRestrictedKey"`
	WebhookSecret        string            `json:"stripeWebhookSecret"`
	Prices               map[string]string `json:"prices"`
	// NotifyURL, with --notify-url, is where the demo app's events go:
	// its endpoint, and the endpoint's signing secret (new at each start).
	NotifyURL        string `json:"notifyUrl,omitempty"`
	NotifyEndpointID string `json:"notifyEndpointId,omitempty"`
	NotifySecret     string `json:"notifySecret,omitempty"`
}

// The demo product's prices, seeded in the sandbox.
var devPrices = []struct {
	name string
	spec sandbox.PriceSpec
}{
	{"monthly", sandbox.PriceSpec{LookupKey: "appwheel_demo_monthly", ProductName: "AppWheel Demo Pro", Currency: "usd", Interval: "month", IntervalCount: 1, UnitAmount: 999, Nickname: "Pro"}},
	{"yearly", sandbox.PriceSpec{LookupKey: "appwheel_demo_yearly", ProductName: "AppWheel Demo Pro", Currency: "usd", Interval: "year", IntervalCount: 1, UnitAmount: 9900, Nickname: "Pro"}},
}

// devCommand runs the whole product offline with no configuration: the API
// on SQLite and, on the next port, the Stripe sandbox (stripe-go wants the
// Stripe API at the root of its URL, so the sandbox has a listener of its
// own), with a demo app wired to it and its webhooks pointing back at the
// API.
func devCommand() *cobra.Command {
	var o devOptions
	c := &cobra.Command{
		Use:   "dev",
		Short: "the whole product offline: API + Stripe sandbox + demo app",
		Long: `Run the whole product offline, with no configuration: the API on SQLite and, on
the next port, the Stripe sandbox (an emulation of the part of Stripe's API
AppWheel uses, for development and tests, never for production), with a demo
app wired to it and the sandbox's webhooks feeding the API's mirror. It prints
the AppID, AppSecret, URLs and examples, and writes them to DATA_DIR/dev.json
(mode 0600) for scripts and for "appwheel sandbox". A restart on the same data
directory reuses the demo app.`,
		Example: `  appwheel dev
  appwheel dev --addr 127.0.0.1:9000 --data-dir /tmp/appwheel-dev`,
		Args: noArgs("dev"),
	}
	c.Flags().StringVar(&o.sandboxAddr, "sandbox-addr", "", "the Stripe sandbox's `HOST:PORT`; default the API's host and port + 1")
	c.Flags().StringVar(&o.notifyURL, "notify-url", "", "send the demo app's events (payment_method.added, invoice.paid, …) to this `URL` (http:// on loopback too)")
	c.Flags().DurationVar(&o.searchDelay, "sandbox-search-delay", 0, "leave new objects out of the sandbox's search results for this `duration` after they are created, as Stripe's search index lags (up to 1m; 0: none)")
	withConfig(c, "dev-data", []flagSet{listenFlags, dataDirFlags, jobFlags, logFlags}, func(cmd *cobra.Command, cfg *Config, _ []string) error {
		if o.sandboxAddr != "" {
			if err := checkAddr("--sandbox-addr", o.sandboxAddr); err != nil {
				return err
			}
		}
		if o.searchDelay < 0 || o.searchDelay > time.Minute {
			return fmt.Errorf("--sandbox-search-delay %s: give a duration from 0 to 1m, as Stripe's index lags by up to a minute", o.searchDelay)
		}
		return runDev(cmd.Context(), cfg, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
	})
	describeFlag(c, "data-dir", "data `directory`: the SQLite database, master.key, the sandbox's state and dev.json")
	return c
}

// devOptions are dev's own flags.
type devOptions struct {
	sandboxAddr, notifyURL string
	searchDelay            time.Duration
}

func runDev(ctx context.Context, cfg *Config, o devOptions, stdout, stderr io.Writer) error {
	// The demo's endpoints are on this machine: loopback, plain http.
	cfg.AllowPrivateWebhookURLs = true
	// Both listeners first: an address that is taken fails before the data
	// directory, the master key or the database is created.
	ln, sbLn, err := devListeners(cfg.Addr, o.sandboxAddr)
	if err != nil {
		return err
	}
	defer ln.Close()
	defer sbLn.Close()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	d, err := open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer d.Close()

	baseURL, sandboxURL := "http://"+ln.Addr().String(), "http://"+sbLn.Addr().String()
	if cfg.PublicURL == "http://"+cfg.Addr { // the default: use the port actually bound
		cfg.PublicURL = baseURL
	}

	sb := sandbox.New(sandbox.Config{
		BaseURL:     sandboxURL,
		StatePath:   filepath.Join(cfg.DataDir, "sandbox.json"),
		Logger:      logger.With(slog.String("component", "sandbox")),
		SearchDelay: o.searchDelay,
	})
	if err := sb.Open(); err != nil {
		return err
	}
	defer sb.Close()
	sbSrv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go sbSrv.Serve(sbLn)
	defer sbSrv.Close()

	dev, err := prepareDevApp(ctx, d, sb, baseURL, sandboxURL)
	if err != nil {
		return err
	}
	if o.notifyURL != "" {
		if err := devEndpoint(ctx, d, dev, o.notifyURL); err != nil {
			return err
		}
	}
	path := filepath.Join(cfg.DataDir, "dev.json")
	if err := writeDevFile(path, dev); err != nil {
		return err
	}
	printDevBanner(stdout, dev, path, selfCommand(os.Executable, exec.LookPath), cfg.DataDir)
	return serve(ctx, d, ln, nil)
}

// devEndpoint points the demo app's events at url: its endpoint there
// (made on first use, reused after), with a new signing secret.
func devEndpoint(ctx context.Context, d *deps, dev *devFile, url string) error {
	n, err := newNotify(d, nil, nil)
	if err != nil {
		return err
	}
	eps, err := n.Endpoints(ctx, dev.AppID)
	if err != nil {
		return err
	}
	dev.NotifyURL = url
	for _, ep := range eps {
		if ep.URL == url || ep.URL == url+"/" {
			dev.NotifyEndpointID = ep.ID
			if _, err := n.SetDisabled(ctx, dev.AppID, ep.ID, false); err != nil {
				return err
			}
			dev.NotifySecret, err = n.RotateSecret(ctx, dev.AppID, ep.ID)
			return cliError(err)
		}
	}
	ep, secret, err := n.AddEndpoint(ctx, dev.AppID, url, nil)
	if err != nil {
		return fmt.Errorf("--notify-url: %w", cliError(err))
	}
	dev.NotifyEndpointID, dev.NotifySecret = ep.ID, secret
	return nil
}

// devListeners listens on the API's address and the sandbox's: the one
// given, else the API's port + 1, else (that one taken) any free port.
func devListeners(addr, sandboxAddr string) (api, sb net.Listener, err error) {
	if api, err = net.Listen("tcp", addr); err != nil {
		return nil, nil, err
	}
	if sandboxAddr != "" {
		if sb, err = net.Listen("tcp", sandboxAddr); err != nil {
			api.Close()
			return nil, nil, fmt.Errorf("sandbox: %w (choose another with --sandbox-addr)", err)
		}
		return api, sb, nil
	}
	if sb, err = net.Listen("tcp", nextPort(api.Addr().(*net.TCPAddr))); err != nil {
		host, _, _ := net.SplitHostPort(api.Addr().String())
		if sb, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			api.Close()
			return nil, nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	return api, sb, nil
}

// nextPort is the address one port above a, or port 0 (any) when a's is.
func nextPort(a *net.TCPAddr) string {
	port := 0
	if a.Port != 0 {
		port = a.Port + 1
	}
	return net.JoinHostPort(a.IP.String(), strconv.Itoa(port))
}

// prepareDevApp reuses the demo app recorded in dev.json when the database
// still has it, and creates one otherwise; either way it points the app and
// the sandbox's webhooks at this server's address and seeds the prices.
func prepareDevApp(ctx context.Context, d *deps, sb *sandbox.Sandbox, baseURL, sandboxURL string) (*devFile, error) {
	dev := &devFile{Platform: appwheel.PlatformStripe, BaseURL: baseURL, StripeAPIBase: sandboxURL}
	var app *appwheel.App
	if old, err := readDevFile(filepath.Join(d.cfg.DataDir, "dev.json")); err == nil {
		app, err = d.apps.App(ctx, old.AppID)
		if err != nil && appwheel.ErrorCode(err) != appwheel.ENOTFOUND {
			return nil, err
		}
	}
	acct := appwheel.StripeAccount{APIBase: dev.StripeAPIBase}
	if app == nil {
		acct.SecretKey = "sk_test_dev_" + randomHex(12)
		acct.WebhookSecret = "whsec_" + randomHex(16)
		var err error
		app, err = d.apps.Create(ctx, apps.CreateParams{
			Name: "AppWheel dev demo", Platform: appwheel.PlatformStripe,
			StripeSecretKey: acct.SecretKey, StripeWebhookSecret: acct.WebhookSecret, StripeAPIBase: acct.APIBase,
			ReadMode: appwheel.ReadMirror,
		})
		if err != nil {
			return nil, err
		}
	} else {
		acct.SecretKey, acct.WebhookSecret = app.Stripe.SecretKey, app.Stripe.WebhookSecret
		if app.Stripe != acct { // the address changed since last time
			if _, err := d.apps.SetStripe(ctx, app.ID, acct); err != nil {
				return nil, err
			}
		}
	}
	dev.AppID, dev.AppSecret = app.ID, app.Secret
	keys, err := sb.Issue(acct.SecretKey)
	if err != nil {
		return nil, err
	}
	dev.StripeSecretKey, dev.WebhookSecret = keys.Secret, acct.WebhookSecret
	dev.StripePublishableKey, dev.StripeRestrictedKey = keys.Publishable, keys.Restricted

	sb.SetWebhookEndpoint(acct.SecretKey, baseURL+"/v1/stripe/webhooks/"+app.ID, acct.WebhookSecret)
	dev.Prices = map[string]string{}
	for _, p := range devPrices {
		id, err := sb.EnsurePrice(acct.SecretKey, p.spec)
		if err != nil {
			return nil, err
		}
		dev.Prices[p.name] = id
	}
	return dev, nil
}

func readDevFile(path string) (*devFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var dev devFile
	if err := json.Unmarshal(b, &dev); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if dev.AppID == "" || dev.StripeAPIBase == "" {
		return nil, fmt.Errorf("%s: not written by appwheel dev", path)
	}
	return &dev, nil
}

// writeDevFile writes dev.json with mode 0600: it holds the demo app's
// secret, which is what makes it useful to scripts.
func writeDevFile(path string, dev *devFile) error {
	b, err := json.MarshalIndent(dev, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// printDevBanner prints what dev is serving and examples to copy; sandbox
// is the command line that runs "appwheel sandbox" on this dev (see
// sandboxCommandLine).
func printDevBanner(w io.Writer, dev *devFile, path, self, dataDir string) {
	sandbox := sandboxCommandLine(self, dataDir)
	fmt.Fprintf(w, `AppWheel dev: the API on SQLite, and the Stripe SANDBOX (an offline emulation for
development and tests, not Stripe) at %[5]s feeding its mirror through webhooks.

  Base URL:   %[1]s
  AppID:      %[2]s
  Platform:   stripe
  AppSecret:  %[3]s
  Prices:     monthly %[6]s, yearly %[7]s
  Facts for scripts: %[4]s

Add a card (open checkoutUrl in a browser; test card 4242 4242 4242 4242, any future date, any CVC):
  curl -s -u '%[2]s:%[3]s' -H 'X-AppWheel-Platform: stripe' -H 'Content-Type: application/json' \
    -d '{"appUserId":"u1","type":"checkout","successUrl":"%[1]s/healthz","cancelUrl":"%[1]s/healthz"}' \
    %[1]s/v1/stripe/payment-methods
List cards and invoices:
  curl -s -u '%[2]s:%[3]s' -H 'X-AppWheel-Platform: stripe' '%[1]s/v1/stripe/payment-methods?appUserId=u1'
  curl -s -u '%[2]s:%[3]s' -H 'X-AppWheel-Platform: stripe' '%[1]s/v1/stripe/invoices?appUserId=u1'
The hosted billing page of u1 (open data.url in a browser within 5 minutes; "locale":"zh-CN" for Chinese):
  curl -s -u '%[2]s:%[3]s' -H 'X-AppWheel-Platform: stripe' -H 'Content-Type: application/json' \
    -d '{"appUserId":"u1","returnUrl":"%[1]s/healthz"}' %[1]s/v1/stripe/portal-sessions
Subscribe u1 (on its default card, or --card pm_…) and move the sandbox clock on a month:
  %[8]s subscribe --user u1 --price monthly
  %[8]s advance --days 31
JavaScript SDK:
  const appwheel = new AppWheel('%[2]s', 'stripe', '%[3]s', { baseUrl: '%[1]s' })
  appwheel.paymentMethod({ appUserId: 'u1' }).then(res => res.json()).then(console.log)

`, dev.BaseURL, dev.AppID, dev.AppSecret, path, dev.StripeAPIBase, dev.Prices["monthly"], dev.Prices["yearly"], sandbox)
	if dev.NotifyURL == "" {
		fmt.Fprint(w, "The app's events (payment_method.added, invoice.paid, …) go nowhere: start with --notify-url URL to receive them.\n\n")
		return
	}
	fmt.Fprintf(w, `The app's events go to %s (endpoint %s), signed with
  %s
(verify with client.VerifyWebhook or AppWheel.verifyWebhook). The delivery attempts:
  %s apps webhooks deliveries %s --data-dir %s

`, dev.NotifyURL, dev.NotifyEndpointID, dev.NotifySecret, self, dev.AppID, shellQuote(dataDir))
}

// sandboxCommandLine is how a shell runs "appwheel sandbox" on the dev
// whose data directory is dataDir: self (see selfCommand), the command,
// and --data-dir unless dataDir is dev's default.
func sandboxCommandLine(self, dataDir string) string {
	line := self + " sandbox"
	if dataDir != "dev-data" {
		line += " --data-dir " + shellQuote(dataDir)
	}
	return line
}

// selfCommand is what a user types in a shell to run this binary again:
// "appwheel" when that is on PATH and is this very executable, "go run
// ./cmd/appwheel" when this is a binary go run built (in a go-build
// directory or the build cache), else the executable's path.
// executable and lookPath are os.Executable and exec.LookPath.
func selfCommand(executable func() (string, error), lookPath func(string) (string, error)) string {
	exe, err := executable()
	if err != nil {
		return "appwheel"
	}
	if onPath, err := lookPath("appwheel"); err == nil && sameFile(onPath, exe) {
		return "appwheel"
	}
	if builtByGoRun(exe) {
		return "go run ./cmd/appwheel"
	}
	return shellQuote(exe)
}

func sameFile(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}

// cachedExeDir is the directory the build cache keeps an executable of
// go run in: its action ID in hex, then "-d".
var cachedExeDir = regexp.MustCompile(`^[0-9a-f]{64}-d$`)

// builtByGoRun reports whether exe is where go run puts the binary it
// builds: $GOTMPDIR/go-build…/b001/exe/NAME, or (Go 1.24 and later)
// $GOCACHE/xx/ACTIONID-d/NAME.
func builtByGoRun(exe string) bool {
	dir := filepath.Dir(exe)
	if cachedExeDir.MatchString(filepath.Base(dir)) {
		return true
	}
	return filepath.Base(dir) == "exe" && strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(dir))), "go-build")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var errNoDevServer = errors.New("no appwheel dev found: start it first (it writes dev.json in its data directory)")
