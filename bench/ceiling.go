package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	_ "net/http/pprof" // the ceiling server's profile, on its own listener
	"os"
	"path/filepath"
	"time"

	"github.com/appwheel/appwheel"
)

// The ceiling: a minimal net/http server that answers the two read routes
// with a fixed body, byte for byte a body the mirror served (so the same
// size), and does nothing else: no authentication, no database. It runs as
// a child process, like appwheel serve, so that it competes with the load
// generator for the CPUs the way the real server does, and it is measured
// with the same generator, which still signs every request.

// ceilingCommand is the hidden first argument that makes the harness's own
// binary the ceiling server.
const ceilingCommand = "ceiling-server"

// runCeiling serves: ADDR PAYMENT_METHODS_BODY_FILE INVOICES_BODY_FILE [PPROF_ADDR].
func runCeiling(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: ceiling-server ADDR PM_BODY INVOICES_BODY [PPROF_ADDR]")
	}
	pm, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	inv, err := os.ReadFile(args[2])
	if err != nil {
		return err
	}
	if len(args) > 3 && args[3] != "" {
		go http.ListenAndServe(args[3], nil) // net/http/pprof's DefaultServeMux
	}
	fixed := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/stripe/payment-methods", fixed(pm))
	mux.HandleFunc("GET /v1/stripe/invoices", fixed(inv))
	mux.HandleFunc("GET /readyz", fixed([]byte(`{"code":0,"data":{"status":"ready"},"message":"success"}`)))
	srv := &http.Server{Addr: args[0], Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	return srv.ListenAndServe()
}

// startCeiling runs the harness's own binary as the ceiling server.
func (b *bench) startCeiling(ctx context.Context, bodies *sampleBodies) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pmFile, invFile := filepath.Join(b.tmp, "ceiling-pm.json"), filepath.Join(b.tmp, "ceiling-invoices.json")
	if err := os.WriteFile(pmFile, bodies.paymentMethods, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(invFile, bodies.invoices, 0o600); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr}
	if b.opt.cpuprofileDir != "" {
		if s.pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if s.proc, err = startProc("ceiling server", filepath.Join(b.tmp, "ceiling.log"), baseEnv(), self, ceilingCommand, addr, pmFile, invFile, s.pprofAddr); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, s.proc, s.base+"/readyz", nil, 30*time.Second); err != nil {
		s.stop(2 * time.Second)
		return nil, err
	}
	return s, nil
}

// ceilingRows measures the ceiling server with each read's body.
func (b *bench) ceilingRows(ctx context.Context, bodies *sampleBodies) {
	pm := &line{id: "1a", what: fmt.Sprintf("ceiling: minimal net/http, fixed %d-byte envelope (= 2a's body)", len(bodies.paymentMethods)),
		setup: fmt.Sprintf("child process, %d conns", b.opt.conns)}
	inv := &line{id: "1b", what: fmt.Sprintf("ceiling: minimal net/http, fixed %d-byte envelope (= 2b's body)", len(bodies.invoices)),
		setup: pm.setup}
	pm.stripeText, inv.stripeText = "n/a", "n/a"
	b.lines = append(b.lines, pm, inv)
	s, err := b.startCeiling(ctx, bodies)
	if err != nil {
		pm.note, inv.note = "failed: "+err.Error(), "failed: "+err.Error()
		return
	}
	defer s.stop(5 * time.Second)
	// Signed like the real requests, though the ceiling does not check.
	app := &appwheel.App{ID: "app_ceiling", Platform: appwheel.PlatformStripe, Secret: "ceiling"}
	get := func(target string) makeRequest {
		return func(ctx context.Context, w *worker) (*http.Request, error) {
			return signedRequest(ctx, s.base, app, http.MethodGet, fmt.Sprintf(target, w.rng.IntN(b.opt.users)), nil)
		}
	}
	b.measure(ctx, pm, s, b.opt.conns, "1a-ceiling-paymentMethod", false, get("/v1/stripe/payment-methods?appUserId=u-%d"))
	b.measure(ctx, inv, s, b.opt.conns, "1b-ceiling-invoices", false, get("/v1/stripe/invoices?appUserId=u-%d&limit=20"))
}

// fetchClient keeps a connection per caller alive, for sweepTenants' many
// concurrent fetches (http.DefaultClient keeps two per host, so most would
// dial again).
var fetchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}

// fetchOnce makes one signed GET and returns the body of a successful
// response.
func fetchOnce(ctx context.Context, base string, app *appwheel.App, target string) ([]byte, error) {
	req, err := signedRequest(ctx, base, app, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	res, err := fetchClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK || !bytes.HasPrefix(body, []byte(`{"code":0,`)) {
		return nil, fmt.Errorf("HTTP %d: %.300s", res.StatusCode, body)
	}
	return body, nil
}
