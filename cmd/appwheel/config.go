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

	"github.com/spf13/pflag"

	"github.com/appwheel/appwheel/crypt"
)

// Config is everything the binary is configured with. Each field comes from
// a flag, else from its APPWHEEL_* environment variable, else its default.
// A value that does not parse is an error at start-up, never a silent
// default.
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
	// ShutdownTimeout is how long SIGTERM waits for requests in flight.
	// Defaults to 15s.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error. Defaults to info.
	LogLevel string
}

// bindFlags registers the config's flags on fs, with defaults taken from
// the environment; dataDir is the data directory's default.
func (c *Config) bindFlags(fs *pflag.FlagSet, dataDir string) error {
	var errs []error
	envDuration := func(name string, def time.Duration) time.Duration {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", name, v))
		}
		return d
	}
	envInt := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a non-negative integer", name, v))
		}
		return n
	}
	envFloat := func(name string, def float64) float64 {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive number", name, v))
		}
		return f
	}
	masterKey, err := envSecret("APPWHEEL_MASTER_KEY")
	errs = append(errs, err)

	fs.StringVar(&c.Addr, "addr", envString("APPWHEEL_ADDR", "127.0.0.1:8080"), "listen address (APPWHEEL_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", os.Getenv("APPWHEEL_PUBLIC_URL"), "URL clients reach AppWheel at, for invoice links; default http://ADDR (APPWHEEL_PUBLIC_URL)")
	fs.StringVar(&c.DataDir, "data-dir", envString("APPWHEEL_DATA_DIR", dataDir), "data directory (APPWHEEL_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", os.Getenv("APPWHEEL_DATABASE_URL"), "database: SQLite file (PATH, sqlite:PATH, file:PATH) or postgres://…; default DATA_DIR/appwheel.db (APPWHEEL_DATABASE_URL)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", envInt("APPWHEEL_DB_MAX_CONNS", 10), "PostgreSQL connections per process (APPWHEEL_DB_MAX_CONNS)")
	fs.DurationVar(&c.DBStatementTimeout, "db-statement-timeout", envDuration("APPWHEEL_DB_STATEMENT_TIMEOUT", 5*time.Second), "PostgreSQL statement timeout (APPWHEEL_DB_STATEMENT_TIMEOUT)")
	fs.DurationVar(&c.JobTimeout, "job-timeout", envDuration("APPWHEEL_JOB_TIMEOUT", 2*time.Minute), "timeout of one background job attempt (APPWHEEL_JOB_TIMEOUT)")
	c.MasterKey = masterKey
	fs.StringVar(&c.StripeAPIBase, "default-stripe-api-base", os.Getenv("APPWHEEL_STRIPE_API_BASE"), "Stripe API URL for apps without one of their own (APPWHEEL_STRIPE_API_BASE)")
	fs.DurationVar(&c.StripeTimeout, "stripe-timeout", envDuration("APPWHEEL_STRIPE_TIMEOUT", 20*time.Second), "timeout of one Stripe request (APPWHEEL_STRIPE_TIMEOUT)")
	fs.Float64Var(&c.StripeBackgroundRate, "stripe-background-rate", envFloat("APPWHEEL_STRIPE_BACKGROUND_RATE", 20), "Stripe requests/s per app for background work (APPWHEEL_STRIPE_BACKGROUND_RATE)")
	fs.IntVar(&c.StripeMaxRetries, "stripe-max-retries", envInt("APPWHEEL_STRIPE_MAX_RETRIES", 2), "retries of a failed Stripe request (APPWHEEL_STRIPE_MAX_RETRIES)")
	fs.Float64Var(&c.RateLimit, "rate-limit", envFloat("APPWHEEL_RATE_LIMIT", 100), "API requests/s per app per process (APPWHEEL_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", envInt("APPWHEEL_RATE_BURST", 200), "burst of API requests per app (APPWHEEL_RATE_BURST)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envDuration("APPWHEEL_SHUTDOWN_TIMEOUT", 15*time.Second), "grace for requests in flight on SIGTERM (APPWHEEL_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.LogLevel, "log-level", envString("APPWHEEL_LOG_LEVEL", "info"), "debug, info, warn or error (APPWHEEL_LOG_LEVEL)")
	return errors.Join(errs...)
}

// validate checks the parsed config and fills derived defaults.
func (c *Config) validate() error {
	var errs []error
	errs = append(errs, checkAddr("--addr (APPWHEEL_ADDR)", c.Addr))
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("public-url %q: want an absolute http(s) URL", c.PublicURL))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "appwheel.db")
	}
	errs = append(errs, c.checkDatabaseURL())
	if c.DBMaxConns < 1 || c.DBStatementTimeout <= 0 || c.JobTimeout <= 0 {
		errs = append(errs, errors.New("db-max-conns must be at least 1, db-statement-timeout and job-timeout positive"))
	}
	if c.StripeAPIBase != "" && !strings.HasPrefix(c.StripeAPIBase, "http://") && !strings.HasPrefix(c.StripeAPIBase, "https://") {
		errs = append(errs, fmt.Errorf("default-stripe-api-base %q: want an http(s) URL", c.StripeAPIBase))
	}
	if c.StripeTimeout <= 0 || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("timeouts must be positive"))
	}
	if c.RateLimit <= 0 || c.RateBurst < 1 {
		errs = append(errs, errors.New("rate-limit must be positive and rate-burst at least 1"))
	}
	if c.StripeBackgroundRate <= 0 {
		errs = append(errs, errors.New("stripe-background-rate must be positive"))
	}
	if c.StripeMaxRetries < 0 || c.StripeMaxRetries > 10 {
		errs = append(errs, errors.New("stripe-max-retries must be between 0 and 10"))
	}
	if c.MasterKey != "" {
		if _, err := crypt.ParseKey(c.MasterKey); err != nil {
			errs = append(errs, fmt.Errorf("APPWHEEL_MASTER_KEY: %w", err))
		}
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
func (c *Config) checkDatabaseURL() error {
	const want = "want postgres://… or postgresql://… (PostgreSQL), or a SQLite file: PATH, sqlite:PATH or file:PATH"
	if c.postgres() {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			// Not the URL itself: it may hold a password.
			return fmt.Errorf("--database-url (APPWHEEL_DATABASE_URL): not a valid PostgreSQL URL; %s", want)
		}
		return nil
	}
	if m := urlScheme.FindStringSubmatch(c.DatabaseURL); m != nil && m[1] != "sqlite" && m[1] != "file" {
		return fmt.Errorf("--database-url (APPWHEEL_DATABASE_URL): %q is not a supported database; %s", m[1]+"://…", want)
	}
	if c.sqlitePath() == "" {
		return fmt.Errorf("--database-url (APPWHEEL_DATABASE_URL) %q names no SQLite file; %s", c.DatabaseURL, want)
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

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
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
