package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/portal"
)

// Config is everything the binary is configured with. Each field a command
// uses comes from its flag, else from its APPWHEEL_* environment variable,
// else its default (defaultConfig); the flag sets below say which command
// uses which. A value that does not parse is an error at start-up, never a
// silent default.
type Config struct {
	// Addr is where the HTTP API listens. Defaults to 127.0.0.1:8080.
	Addr string
	// PublicURL is the URL clients reach AppWheel at, used in the invoice
	// links it hands out. Defaults to http://ADDR.
	PublicURL string
	// DataDir holds the SQLite database and the generated master key file.
	// Defaults to ./data (./dev-data for appwheel dev).
	DataDir string
	// DatabaseURL selects the store: a SQLite file path (or sqlite:PATH,
	// file:PATH), or postgres://… (postgresql://…) for PostgreSQL, which
	// several replicas can share. Any other scheme:// is refused.
	// Defaults to DataDir/appwheel.db.
	DatabaseURL string
	// DBMaxConns bounds PostgreSQL connections per process. Defaults to 10.
	DBMaxConns int
	// DBStatementTimeout bounds each PostgreSQL statement. Defaults to 5s.
	DBStatementTimeout time.Duration
	// JobTimeout bounds one attempt of a background job; a job whose
	// process died is run again after twice that. Defaults to 2m.
	JobTimeout time.Duration
	// MasterKey seals secrets at rest: 32 bytes as base64 or hex, from
	// APPWHEEL_MASTER_KEY or the file named by APPWHEEL_MASTER_KEY_FILE.
	// Defaults to the key in DataDir/master.key, created (mode 0600) on
	// first start.
	MasterKey string
	// StripeAPIBase overrides Stripe's API URL for every app that has no
	// base of its own (stripe-mock in tests). Defaults to Stripe itself.
	StripeAPIBase string
	// StripeTimeout bounds one HTTP request to Stripe. Defaults to 20s.
	StripeTimeout time.Duration
	// StripeBackgroundRate is how many Stripe requests per second
	// background work (backfills, reconcile, event re-fetches) may make per
	// app. Defaults to 20.
	StripeBackgroundRate float64
	// StripeMaxRetries is how often a failed Stripe request is retried
	// (network errors, 409, 429, 5xx; same idempotency key). Defaults to 2.
	StripeMaxRetries int
	// RateLimit is how many API requests per second one app may make on
	// one process, with bursts of RateBurst. Defaults to 100 and 200.
	RateLimit float64
	RateBurst int
	// PageCacheMB bounds the rendered mirror reads a process keeps in
	// memory (billing's page cache), in MiB; 0 keeps none. Defaults to 64.
	PageCacheMB int
	// AllowPrivateWebhookURLs lets apps' webhook endpoints be on loopback,
	// private and link-local addresses, and on http:// when on loopback
	// (dev always does). Defaults to false.
	AllowPrivateWebhookURLs bool
	// PortalLinkTTL is how long a billing page link opens, PortalVisitTTL
	// how long a visit lasts after the user's last step. Default 5m and 1h.
	PortalLinkTTL, PortalVisitTTL time.Duration
	// ShutdownTimeout is how long SIGTERM waits for requests in flight.
	// Defaults to 15s.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error. Defaults to info.
	LogLevel string
}

// defaultConfig is the configuration before flags and environment: every
// field at its default, and dataDir as the data directory. A command's
// flags and environment variables change only the fields it uses; the
// others keep these values.
func defaultConfig(dataDir string) *Config {
	return &Config{
		Addr:                 "127.0.0.1:8080",
		DataDir:              dataDir,
		DBMaxConns:           10,
		DBStatementTimeout:   5 * time.Second,
		JobTimeout:           2 * time.Minute,
		StripeTimeout:        20 * time.Second,
		StripeBackgroundRate: 20,
		StripeMaxRetries:     2,
		RateLimit:            100,
		RateBurst:            200,
		PageCacheMB:          64,
		PortalLinkTTL:        portal.DefaultOpenTTL,
		PortalVisitTTL:       portal.DefaultVisitTTL,
		ShutdownTimeout:      15 * time.Second,
		LogLevel:             "info",
	}
}

// A flagSet is a named group of configuration fields, defined once here
// and given to each command that uses them (see withConfig): a command
// has the flags, reads the environment variables and validates the values
// of its sets only.
type flagSet struct {
	flags []configFlag
	// env, when not nil, reads the set's fields that only the environment
	// sets (the master key, which never belongs on a command line).
	env func(c *Config) error
	// envHelp describes those fields in the command's help.
	envHelp string
}

// configFlag is one configuration flag: its name, the environment
// variable that sets it when the flag is not given, how it is defined,
// and how its value is checked.
type configFlag struct {
	name, env, usage string
	define           func(fs *pflag.FlagSet, c *Config, usage string)
	// check, when not nil, validates the value once flags and environment
	// are read; label names the flag and its variable, for the message.
	check func(c *Config, label string) error
}

// newFlag is a configFlag for a field of type T, which define
// ((*pflag.FlagSet).StringVar and the like) adds with the field's default.
func newFlag[T any](name, env string, field func(*Config) *T, define func(fs *pflag.FlagSet, p *T, name string, value T, usage string),
	usage string, check func(c *Config, label string) error) configFlag {
	return configFlag{name: name, env: env, usage: usage, check: check, define: func(fs *pflag.FlagSet, c *Config, usage string) {
		p := field(c)
		define(fs, p, name, *p, usage)
	}}
}

// The flag sets. Each command takes the ones whose fields it uses:
//
//	serve:     dataDirFlags storeFlags masterKeyEnv listenFlags serverFlags webhookFlags jobFlags stripeFlags logFlags
//	dev:       dataDirFlags listenFlags jobFlags logFlags (and its own --sandbox-addr)
//	migrate:   dataDirFlags storeFlags
//	apps …:    dataDirFlags storeFlags masterKeyEnv (apps webhooks add: and webhookFlags)
//	sandbox …: dataDirFlags
var (
	dataDirFlags = flagSet{flags: []configFlag{
		newFlag("data-dir", "APPWHEEL_DATA_DIR", func(c *Config) *string { return &c.DataDir }, (*pflag.FlagSet).StringVar,
			"data `directory`: the SQLite database and master.key", nonEmpty(func(c *Config) string { return c.DataDir })),
	}}

	storeFlags = flagSet{flags: []configFlag{
		newFlag("database-url", "APPWHEEL_DATABASE_URL", func(c *Config) *string { return &c.DatabaseURL }, (*pflag.FlagSet).StringVar,
			"the database: a SQLite file (PATH, sqlite:PATH, file:PATH) or postgres://… for PostgreSQL, which several replicas can share; default DATA_DIR/appwheel.db",
			func(c *Config, label string) error { return c.checkDatabaseURL(label) }),
		newFlag("db-max-conns", "APPWHEEL_DB_MAX_CONNS", func(c *Config) *int { return &c.DBMaxConns }, (*pflag.FlagSet).IntVar,
			"PostgreSQL connections per process", atLeast(func(c *Config) int { return c.DBMaxConns }, 1)),
		newFlag("db-statement-timeout", "APPWHEEL_DB_STATEMENT_TIMEOUT", func(c *Config) *time.Duration { return &c.DBStatementTimeout }, (*pflag.FlagSet).DurationVar,
			"PostgreSQL statement timeout", positive(func(c *Config) time.Duration { return c.DBStatementTimeout })),
	}}

	masterKeyEnv = flagSet{
		env: func(c *Config) error {
			key, err := envSecret("APPWHEEL_MASTER_KEY")
			if err != nil {
				return err
			}
			if key != "" {
				if _, err := crypt.ParseKey(key); err != nil {
					return fmt.Errorf("APPWHEEL_MASTER_KEY: %w", err)
				}
			}
			c.MasterKey = key
			return nil
		},
		envHelp: `  APPWHEEL_MASTER_KEY        the master key that seals secrets at rest: 32 bytes as
                             64 hex digits or base64; default the key in
                             DATA_DIR/master.key, created (mode 0600) on first start
  APPWHEEL_MASTER_KEY_FILE   a file holding the master key (set one of the two)`,
	}

	listenFlags = flagSet{flags: []configFlag{
		newFlag("addr", "APPWHEEL_ADDR", func(c *Config) *string { return &c.Addr }, (*pflag.FlagSet).StringVar,
			"the API's `HOST:PORT` (port 0: any free port)", func(c *Config, label string) error { return checkAddr(label, c.Addr) }),
	}}

	serverFlags = flagSet{flags: []configFlag{
		newFlag("public-url", "APPWHEEL_PUBLIC_URL", func(c *Config) *string { return &c.PublicURL }, (*pflag.FlagSet).StringVar,
			"`URL` clients reach AppWheel at, for the invoice links it hands out; default http://ADDR",
			func(c *Config, label string) error {
				if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%s %q: want an absolute http(s) URL", label, c.PublicURL)
				}
				return nil
			}),
		newFlag("rate-limit", "APPWHEEL_RATE_LIMIT", func(c *Config) *float64 { return &c.RateLimit }, (*pflag.FlagSet).Float64Var,
			"API requests per second one app may make on one process", positive(func(c *Config) float64 { return c.RateLimit })),
		newFlag("rate-burst", "APPWHEEL_RATE_BURST", func(c *Config) *int { return &c.RateBurst }, (*pflag.FlagSet).IntVar,
			"burst of API requests one app may make above --rate-limit", atLeast(func(c *Config) int { return c.RateBurst }, 1)),
		newFlag("page-cache-mb", "APPWHEEL_PAGE_CACHE_MB", func(c *Config) *int { return &c.PageCacheMB }, (*pflag.FlagSet).IntVar,
			"`MiB` of rendered mirror reads kept in memory, served again while the user's mirror is unchanged (0: none)",
			atLeast(func(c *Config) int { return c.PageCacheMB }, 0)),
		newFlag("portal-link-ttl", "APPWHEEL_PORTAL_LINK_TTL", func(c *Config) *time.Duration { return &c.PortalLinkTTL }, (*pflag.FlagSet).DurationVar,
			"how long a billing page link (POST /v1/stripe/portal-sessions) opens", positive(func(c *Config) time.Duration { return c.PortalLinkTTL })),
		newFlag("portal-visit-ttl", "APPWHEEL_PORTAL_VISIT_TTL", func(c *Config) *time.Duration { return &c.PortalVisitTTL }, (*pflag.FlagSet).DurationVar,
			"how long a billing page visit lasts after the user's last step", positive(func(c *Config) time.Duration { return c.PortalVisitTTL })),
		newFlag("shutdown-timeout", "APPWHEEL_SHUTDOWN_TIMEOUT", func(c *Config) *time.Duration { return &c.ShutdownTimeout }, (*pflag.FlagSet).DurationVar,
			"how long SIGTERM waits for requests in flight", positive(func(c *Config) time.Duration { return c.ShutdownTimeout })),
	}}

	webhookFlags = flagSet{flags: []configFlag{
		newFlag("allow-private-webhook-urls", "APPWHEEL_ALLOW_PRIVATE_WEBHOOK_URLS", func(c *Config) *bool { return &c.AllowPrivateWebhookURLs }, (*pflag.FlagSet).BoolVar,
			"let apps' webhook endpoints be on loopback, private and link-local addresses (and http:// on loopback); checked again at each delivery",
			func(*Config, string) error { return nil }),
	}}

	jobFlags = flagSet{flags: []configFlag{
		newFlag("job-timeout", "APPWHEEL_JOB_TIMEOUT", func(c *Config) *time.Duration { return &c.JobTimeout }, (*pflag.FlagSet).DurationVar,
			"timeout of one background job attempt; a dead process's jobs run again after twice this", positive(func(c *Config) time.Duration { return c.JobTimeout })),
	}}

	stripeFlags = flagSet{flags: []configFlag{
		newFlag("default-stripe-api-base", "APPWHEEL_STRIPE_API_BASE", func(c *Config) *string { return &c.StripeAPIBase }, (*pflag.FlagSet).StringVar,
			"Stripe API `URL` for the apps without one of their own (stripe-mock in tests); default Stripe itself",
			func(c *Config, label string) error {
				if c.StripeAPIBase != "" && !strings.HasPrefix(c.StripeAPIBase, "http://") && !strings.HasPrefix(c.StripeAPIBase, "https://") {
					return fmt.Errorf("%s %q: want an http(s) URL", label, c.StripeAPIBase)
				}
				return nil
			}),
		newFlag("stripe-timeout", "APPWHEEL_STRIPE_TIMEOUT", func(c *Config) *time.Duration { return &c.StripeTimeout }, (*pflag.FlagSet).DurationVar,
			"timeout of one HTTP request to Stripe", positive(func(c *Config) time.Duration { return c.StripeTimeout })),
		newFlag("stripe-background-rate", "APPWHEEL_STRIPE_BACKGROUND_RATE", func(c *Config) *float64 { return &c.StripeBackgroundRate }, (*pflag.FlagSet).Float64Var,
			"Stripe requests per second per app for background work (backfills, reconcile, event re-fetches)",
			positive(func(c *Config) float64 { return c.StripeBackgroundRate })),
		newFlag("stripe-max-retries", "APPWHEEL_STRIPE_MAX_RETRIES", func(c *Config) *int { return &c.StripeMaxRetries }, (*pflag.FlagSet).IntVar,
			"retries of a failed Stripe request (network errors, 409, 429, 5xx), 0 to 10",
			func(c *Config, label string) error {
				if c.StripeMaxRetries < 0 || c.StripeMaxRetries > 10 {
					return fmt.Errorf("%s %d: want 0 to 10", label, c.StripeMaxRetries)
				}
				return nil
			}),
	}}

	logFlags = flagSet{flags: []configFlag{
		newFlag("log-level", "APPWHEEL_LOG_LEVEL", func(c *Config) *string { return &c.LogLevel }, (*pflag.FlagSet).StringVar,
			"`level` of the JSON logs: debug, info, warn or error", func(c *Config, label string) error {
				if _, err := c.level(); err != nil {
					return fmt.Errorf("%s: %w", label, err)
				}
				return nil
			}),
	}}
)

// defineFlags adds the sets' flags to fs, each with its default and its
// environment variable in its description.
func (c *Config) defineFlags(fs *pflag.FlagSet, sets []flagSet) {
	for _, s := range sets {
		for _, f := range s.flags {
			f.define(fs, c, f.usage+" (env "+f.env+")")
		}
	}
}

// describeFlag gives c's configuration flag name a description of its
// own, for a command that uses the field in its own way; the environment
// variable is still named.
func describeFlag(c *cobra.Command, name, usage string) {
	f := c.Flags().Lookup(name)
	_, env, _ := strings.Cut(f.Usage, " (env ")
	f.Usage = usage + " (env " + env
}

// load completes the config once fs is parsed: each of the sets' flags
// not given on the command line is set from its environment variable,
// then the derived defaults are filled and every value is checked, so a
// value that does not parse fails at start, before anything is created.
func (c *Config) load(fs *pflag.FlagSet, sets []flagSet) error {
	var errs []error
	for _, s := range sets {
		for _, f := range s.flags {
			v := os.Getenv(f.env)
			if v == "" || fs.Changed(f.name) {
				continue
			}
			// Value.Set, not fs.Set: the flag stays "not given".
			if err := fs.Lookup(f.name).Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %s", f.env, v, wantType(fs.Lookup(f.name).Value.Type())))
			}
		}
		if s.env != nil {
			errs = append(errs, s.env(c))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err // a value that did not parse is not checked as well
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if c.DatabaseURL == "" && c.DataDir != "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "appwheel.db")
	}
	for _, s := range sets {
		for _, f := range s.flags {
			if f.check != nil {
				errs = append(errs, f.check(c, "--"+f.name+" ("+f.env+")"))
			}
		}
	}
	return errors.Join(errs...)
}

// wantType says what a flag of a pflag type takes.
func wantType(typ string) string {
	switch typ {
	case "duration":
		return "want a duration such as 30s, 5m or 1h"
	case "int":
		return "want a whole number"
	case "float64":
		return "want a number"
	}
	return "want a " + typ
}

// envHelp is the help's note on the environment for a command with sets.
func envHelp(sets []flagSet) string {
	var only []string
	for _, s := range sets {
		if s.envHelp != "" {
			only = append(only, s.envHelp)
		}
	}
	if len(only) == 0 {
		return "A flag marked (env NAME) can also be set with the environment variable NAME;\nthe flag wins when both are given."
	}
	return "A flag marked (env NAME) can also be set with the environment variable NAME;\nthe flag wins when both are given. These are read from the environment only:\n\n" + strings.Join(only, "\n")
}

func nonEmpty(field func(*Config) string) func(*Config, string) error {
	return func(c *Config, label string) error {
		if field(c) == "" {
			return fmt.Errorf("%s must not be empty", label)
		}
		return nil
	}
}

func positive[T time.Duration | float64](field func(*Config) T) func(*Config, string) error {
	return func(c *Config, label string) error {
		if v := field(c); v <= 0 {
			return fmt.Errorf("%s %v: want more than 0", label, v)
		}
		return nil
	}
}

func atLeast(field func(*Config) int, min int) func(*Config, string) error {
	return func(c *Config, label string) error {
		if v := field(c); v < min {
			return fmt.Errorf("%s %d: want at least %d", label, v, min)
		}
		return nil
	}
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// postgres reports whether the database URL names PostgreSQL.
func (c *Config) postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// databaseName is what logs say about the database: the SQLite path, or
// PostgreSQL's host and database without credentials.
func (c *Config) databaseName() string {
	if !c.postgres() {
		return c.sqlitePath()
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "postgres"
	}
	return "postgres://" + u.Host + u.Path
}

// sqlitePath is the SQLite file the database URL names.
func (c *Config) sqlitePath() string {
	for _, prefix := range []string{"sqlite://", "sqlite:", "file://", "file:"} {
		if p, ok := strings.CutPrefix(c.DatabaseURL, prefix); ok {
			return p
		}
	}
	return c.DatabaseURL
}

// urlScheme matches a URL's scheme and "://" (RFC 3986's scheme syntax).
var urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// checkDatabaseURL refuses a database URL the binary would otherwise take
// for a SQLite path: "mysql://x" used to become a file named "mysql:/x".
// label names the flag and its variable.
func (c *Config) checkDatabaseURL(label string) error {
	const want = "want postgres://… or postgresql://… (PostgreSQL), or a SQLite file: PATH, sqlite:PATH or file:PATH"
	if c.postgres() {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			// Not the URL itself: it may hold a password.
			return fmt.Errorf("%s: not a valid PostgreSQL URL; %s", label, want)
		}
		return nil
	}
	if m := urlScheme.FindStringSubmatch(c.DatabaseURL); m != nil && m[1] != "sqlite" && m[1] != "file" {
		return fmt.Errorf("%s: %q is not a supported database; %s", label, m[1]+"://…", want)
	}
	if c.sqlitePath() == "" {
		return fmt.Errorf("%s %q names no SQLite file; %s", label, c.DatabaseURL, want)
	}
	return nil
}

// checkAddr refuses a listen address net.Listen would refuse, so that it
// fails at start, before a data directory, key or database is created.
// name says where the address came from.
func checkAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("%s %q: want HOST:PORT with a port from 0 to 65535", name, addr)
	}
	return nil
}

// envSecret reads NAME, or the file named by NAME_FILE (for secrets mounted
// as files); setting both is an error.
func envSecret(name string) (string, error) {
	v, file := os.Getenv(name), os.Getenv(name+"_FILE")
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("set %s or %s_FILE, not both", name, name)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return v, nil
}
