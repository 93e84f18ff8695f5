package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/appwheel/appwheel/billing"
	appwheelhttp "github.com/appwheel/appwheel/http"
	"github.com/appwheel/appwheel/stripe"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig("serve", args, stderr, nil)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stdout)
	d, err := open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer d.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return serve(ctx, d, ln, nil)
}

// serve runs the API on ln until ctx ends, then shuts down gracefully.
// mount, when not nil, wraps the API's handler (appwheel dev adds the
// sandbox beside it).
func serve(ctx context.Context, d *deps, ln net.Listener, mount func(api http.Handler) http.Handler) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	retries := int64(d.cfg.StripeMaxRetries)
	if retries == 0 {
		retries = -1 // the provider reads 0 as "default"; here 0 means none
	}
	provider := stripe.New(stripe.Options{
		HTTPClient:        &http.Client{Timeout: d.cfg.StripeTimeout},
		MaxNetworkRetries: retries,
		APIBase:           d.cfg.StripeAPIBase,
		Registerer:        reg,
		Logger:            d.logger,
	})
	api := appwheelhttp.NewServer(appwheelhttp.Config{
		Apps:     d.apps,
		Billing:  billing.NewService(d.store, provider, nil),
		Store:    d.store,
		Logger:   d.logger,
		Registry: reg,
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

	go d.cleanExpired(ctx, time.Minute)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	d.logger.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("database", d.cfg.sqlitePath()))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	d.logger.Info("shutting down", slog.Duration("grace", d.cfg.ShutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// cleanExpired forgets expired request nonces and idempotency records
// every interval until ctx ends.
func (d *deps) cleanExpired(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if n, err := d.store.DeleteExpiredNonces(ctx, now); err != nil {
			d.logger.Warn("cleaning expired nonces", slog.String("error", err.Error()))
		} else if n > 0 {
			d.logger.Debug("cleaned expired nonces", slog.Int64("count", n))
		}
		if n, err := d.store.DeleteExpiredIdempotentRequests(ctx, now); err != nil {
			d.logger.Warn("cleaning expired idempotency keys", slog.String("error", err.Error()))
		} else if n > 0 {
			d.logger.Debug("cleaned expired idempotency keys", slog.Int64("count", n))
		}
	}
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig("migrate", args, stderr, nil)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg) // opening applies the migrations
	if err != nil {
		return err
	}
	defer store.Close()
	newLogger(cfg, stdout).Info("migrations applied", slog.String("database", cfg.sqlitePath()))
	return nil
}
