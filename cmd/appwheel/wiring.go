package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/apps"
	"github.com/appwheel/appwheel/crypt"
	"github.com/appwheel/appwheel/jobs"
	"github.com/appwheel/appwheel/logging"
	"github.com/appwheel/appwheel/notify"
	"github.com/appwheel/appwheel/postgres"
	"github.com/appwheel/appwheel/sqlite"
	"github.com/appwheel/appwheel/stripe"
	"github.com/prometheus/client_golang/prometheus"
)

// deps are the parts every command shares, built from the config.
type deps struct {
	cfg       *Config
	logger    *slog.Logger
	store     appwheel.Store
	apps      *apps.Service
	masterKey []byte
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	level, _ := cfg.level() // validated already
	return slog.New(logging.NewHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// open builds the store (running migrations) and the app service.
func open(ctx context.Context, cfg *Config, logger *slog.Logger) (*deps, error) {
	key, err := masterKey(cfg, logger)
	if err != nil {
		return nil, err
	}
	box, err := crypt.NewBox(key)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &deps{cfg: cfg, logger: logger, store: store, apps: apps.NewService(store, box, nil), masterKey: key}, nil
}

func (d *deps) Close() error { return d.store.Close() }

// newNotify is the service of the apps' webhook endpoints, enqueueing its
// deliveries with enqueue (nil for a command that enqueues none).
func newNotify(d *deps, enqueue func(ctx context.Context, ds []notify.Delivery, again bool) error, reg prometheus.Registerer) (*notify.Service, error) {
	box, err := crypt.NewBox(d.masterKey)
	if err != nil {
		return nil, err
	}
	private := d.cfg.AllowPrivateWebhookURLs
	return notify.New(notify.Config{
		Store: d.store, Box: box, Enqueue: enqueue, Registerer: reg,
		// http:// only where it never leaves the machine: to loopback, and
		// only where private addresses are allowed at all.
		Policy: notify.URLPolicy{AllowPrivate: private, AllowHTTP: private},
		Logger: d.logger.With(slog.String("component", "notify")),
	}), nil
}

// openStore opens (and migrates) the configured store: SQLite, or
// PostgreSQL for several replicas.
func openStore(ctx context.Context, cfg *Config) (appwheel.Store, error) {
	if cfg.postgres() {
		db := postgres.NewDB(cfg.DatabaseURL, postgres.Options{MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.DBStatementTimeout})
		if err := db.Open(ctx); err != nil {
			return nil, fmt.Errorf("open database %s: %w", cfg.databaseName(), err)
		}
		return db, nil
	}
	path := cfg.sqlitePath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	db := sqlite.NewDB(path)
	if err := db.Open(ctx); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// newProvider is the Stripe provider as the configuration sets it, with its
// metrics on reg when not nil.
func newProvider(cfg *Config, logger *slog.Logger, reg prometheus.Registerer) *stripe.Provider {
	retries := int64(cfg.StripeMaxRetries)
	if retries == 0 {
		retries = -1 // the provider reads 0 as "default"; here 0 means none
	}
	return stripe.New(stripe.Options{
		HTTPClient:        &http.Client{Timeout: cfg.StripeTimeout},
		MaxNetworkRetries: retries,
		APIBase:           cfg.StripeAPIBase,
		Registerer:        reg,
		Logger:            logger,
	})
}

// jobsConfig configures the background jobs on the store, which hands
// River its database itself: its SQLite file or its PostgreSQL pool.
func jobsConfig(cfg *Config, store appwheel.Store) jobs.Config {
	return jobs.Config{Store: store, JobTimeout: cfg.JobTimeout}
}

// masterKey loads the master key: from the config, else from the key file
// in the data directory, which is created on first start.
func masterKey(cfg *Config, logger *slog.Logger) ([]byte, error) {
	if cfg.MasterKey != "" {
		key, err := crypt.ParseKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("APPWHEEL_MASTER_KEY: %w", err)
		}
		return key, nil
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	key, created, err := crypt.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Warn("created a new master key file; back it up: without it the secrets in the database cannot be read",
			slog.String("path", path))
	}
	return key, nil
}
