package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/billing"
	"github.com/appwheel/appwheel/crypt"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/jobs"
	"github.com/appwheel/appwheel/notify"
	"github.com/appwheel/appwheel/portal"
	"github.com/appwheel/appwheel/stripe"
)

func serveCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "serve",
		Short: "run the HTTP API and its background jobs",
		Long: `Run the HTTP API and its background jobs (webhook events, backfills,
reconciliation) until SIGINT or SIGTERM, then shut down gracefully. It applies
any pending migrations at start; "appwheel migrate" applies them ahead of a
rollout. Several replicas can share one PostgreSQL database (--database-url)
and its master key.`,
		Example: `  appwheel serve --data-dir /var/lib/appwheel --addr 0.0.0.0:8080 --public-url https://pay.example.com
  APPWHEEL_DATABASE_URL=postgres://appwheel@db/appwheel APPWHEEL_MASTER_KEY_FILE=/run/secrets/master.key appwheel serve`,
		Args: noArgs("serve"),
	}
	sets := []flagSet{listenFlags, serverFlags, webhookFlags, dataDirFlags, storeFlags, masterKeyEnv, jobFlags, stripeFlags, logFlags}
	return withConfig(c, "data", sets, func(cmd *cobra.Command, cfg *Config, _ []string) error {
		// Listen first: a taken port fails before the master key and the
		// database are created.
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return err
		}
		defer ln.Close()
		d, err := open(cmd.Context(), cfg, newLogger(cfg, cmd.OutOrStdout()))
		if err != nil {
			return err
		}
		defer d.Close()
		return serve(cmd.Context(), d, ln, nil)
	})
}

// serve runs the API and the background jobs on ln until ctx ends, then
// shuts down gracefully: requests in flight finish, then the jobs stop.
// pageCacheBytes is --page-cache-mb as billing takes it: 0 keeps none.
func pageCacheBytes(mb int) int64 {
	if mb == 0 {
		return -1
	}
	return int64(mb) << 20
}

// mount, when not nil, wraps the API's handler (appwheel dev adds the
// sandbox beside it).
func serve(ctx context.Context, d *deps, ln net.Listener, mount func(api http.Handler) http.Handler) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	provider := newProvider(d.cfg, d.logger, reg)
	linkKey, err := crypt.DeriveKey(d.masterKey, "invoice links")
	if err != nil {
		return err
	}
	var background *jobs.Jobs // the billing service enqueues imports on the jobs, which call it
	notifier, err := newNotify(d, func(ctx context.Context, ds []notify.Delivery, again bool) error {
		return background.EnqueueDeliveries(ctx, ds, again)
	}, reg)
	if err != nil {
		return err
	}
	bill := billing.New(billing.Config{
		Store: d.store, Stripe: provider, Apps: d.apps, DecodeEvent: stripe.DecodeEvent,
		BackgroundRate: d.cfg.StripeBackgroundRate, Logger: d.logger,
		LinkBaseURL: d.cfg.PublicURL, LinkKey: linkKey, PageCacheBytes: pageCacheBytes(d.cfg.PageCacheMB), Notifier: notifier,
		EnqueueImport: func(ctx context.Context, appID, importID string) error {
			return background.EnqueueImport(ctx, appID, importID)
		},
	})
	portalKey, err := crypt.DeriveKey(d.masterKey, "portal sessions")
	if err != nil {
		return err
	}
	billingPage, err := portal.New(portal.Config{
		Billing: bill, Apps: d.apps, Key: portalKey, BaseURL: d.cfg.PublicURL,
		OpenTTL: d.cfg.PortalLinkTTL, VisitTTL: d.cfg.PortalVisitTTL,
		Logger: d.logger.With(slog.String("component", "portal")),
	})
	if err != nil {
		return err
	}
	jc := jobsConfig(d.cfg, d.store)
	jc.Handlers, jc.Deliverer, jc.Logger = bill, notifier, d.logger.With(slog.String("component", "jobs"))
	background, err = jobs.New(jc)
	if err != nil {
		return err
	}
	if err := background.Start(ctx); err != nil {
		return err
	}
	api := appwheelhttp.NewServer(appwheelhttp.Config{
		Apps:    d.apps,
		Billing: bill,
		Webhooks: billing.NewIntake(billing.IntakeConfig{
			Apps: d.apps, Events: d.store, Applier: billing.Wake(background.Wake), VerifyEvent: stripe.VerifyEvent,
		}),
		Store:     d.store,
		Logger:    d.logger,
		Portal:    billingPage,
		Registry:  reg,
		RateLimit: d.cfg.RateLimit,
		RateBurst: d.cfg.RateBurst,
	})
	var handler http.Handler = api
	if mount != nil {
		handler = mount(api)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn),
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	d.logger.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("database", d.cfg.databaseName()))

	select {
	case err = <-errc:
	case <-ctx.Done():
		d.logger.Info("shutting down", slog.Duration("grace", d.cfg.ShutdownTimeout))
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownTimeout)
		defer cancel()
		if err = srv.Shutdown(shutdownCtx); err == nil {
			if err = <-errc; errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
		}
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(err, background.Stop(stopCtx))
}

func migrateCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "migrate",
		Short: "apply the database migrations and exit",
		Long: `Apply the database migrations (AppWheel's tables and its job queue's) and exit.
Running it again is harmless. serve migrates at start too; run this ahead of
a rollout to several replicas.`,
		Example: `  appwheel migrate --data-dir /var/lib/appwheel
  APPWHEEL_DATABASE_URL=postgres://appwheel@db/appwheel appwheel migrate`,
		Args: noArgs("migrate"),
	}
	return withConfig(c, "data", []flagSet{dataDirFlags, storeFlags}, func(cmd *cobra.Command, cfg *Config, _ []string) error {
		ctx := cmd.Context()
		store, err := openStore(ctx, cfg) // opening applies the store's migrations
		if err != nil {
			return err
		}
		defer store.Close()
		// River's own tables, which serve would otherwise create at start.
		jc := jobsConfig(cfg, store)
		jc.Handlers = noHandlers{}
		background, err := jobs.New(jc)
		if err != nil {
			return err
		}
		if err := background.Migrate(ctx); err != nil {
			return err
		}
		newLogger(cfg, cmd.OutOrStdout()).Info("migrations applied", slog.String("database", cfg.databaseName()))
		return nil
	})
}

// noHandlers stands in for the billing service where jobs are only
// migrated or enqueued, never run.
type noHandlers struct{}

func (noHandlers) ApplyEvents(_ context.Context, evs []*appwheel.Event) []error {
	errs := make([]error, len(evs))
	for i := range errs {
		errs[i] = errors.New("this process runs no jobs")
	}
	return errs
}
func (noHandlers) ReconcileApps(context.Context, time.Duration) error { return nil }
func (noHandlers) ContinueImport(context.Context, string, string) (bool, error) {
	return false, errors.New("this process runs no jobs")
}
