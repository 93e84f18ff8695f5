package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/appwheel/appwheel"
	"github.com/appwheel/appwheel/signature"
)

// The load generator is a closed loop: conns goroutines, each with its own
// keep-alive connection, each sending its next request as soon as the
// previous one is answered. Every API request is signed when it is made,
// with a fresh X-AppWheel-Nonce, exactly as the Go SDK signs it: a
// signature is accepted once, so requests cannot be prepared in advance.
// Latency is measured per request, from just before the request is written
// until the whole response body is read, and kept exactly (one duration per
// request) for the percentiles.

// worker is one connection of the generator.
type worker struct {
	id     int
	seq    int // requests this worker has made so far, in every phase
	rng    *mrand.Rand
	client *http.Client
	buf    bytes.Buffer
	lat    []time.Duration
	errs   int
	first  string // the first failure seen, for the report
}

// makeRequest builds the worker's next request.
type makeRequest func(ctx context.Context, w *worker) (*http.Request, error)

// generator is a set of workers that keep their connections between the
// warm-up and the measured phase.
type generator struct {
	workers []*worker
}

func newGenerator(conns int) *generator {
	g := &generator{}
	for i := range conns {
		tr := &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		}
		var seed [16]byte
		rand.Read(seed[:])
		g.workers = append(g.workers, &worker{
			id:     i,
			rng:    mrand.New(mrand.NewPCG(leUint64(seed[:8]), leUint64(seed[8:]))),
			client: &http.Client{Transport: tr, Timeout: 60 * time.Second},
		})
	}
	return g
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func (g *generator) close() {
	for _, w := range g.workers {
		w.client.CloseIdleConnections()
	}
}

// result is one measured phase.
type result struct {
	requests int
	errors   int
	start    time.Time // when the first request was sent
	elapsed  time.Duration
	lat      []time.Duration // sorted
	firstErr string
}

func (r *result) rps() float64 {
	if r == nil || r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// pct returns the p-th percentile (0 < p ≤ 100) of the successful and
// failed requests' latencies alike, nearest rank.
func (r *result) pct(p float64) time.Duration {
	if r == nil || len(r.lat) == 0 {
		return 0
	}
	rank := int(float64(len(r.lat))*p/100+0.999999) - 1
	rank = max(0, min(rank, len(r.lat)-1))
	return r.lat[rank]
}

// run drives the workers for d (or until ctx ends) and returns what they
// did. Requests in flight at the deadline are finished and counted; the
// elapsed time runs until the last of them is answered.
func (g *generator) run(ctx context.Context, d time.Duration, mk makeRequest) *result {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for _, w := range g.workers {
		w.lat = w.lat[:0]
		w.errs, w.first = 0, ""
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				w.do(ctx, mk)
			}
		}()
	}
	wg.Wait()
	res := &result{start: start, elapsed: time.Since(start)}
	for _, w := range g.workers {
		res.requests += len(w.lat)
		res.errors += w.errs
		res.lat = append(res.lat, w.lat...)
		if res.firstErr == "" {
			res.firstErr = w.first
		}
	}
	slices.Sort(res.lat)
	return res
}

// do sends one request and records its latency and outcome: a success is
// HTTP 200 with envelope code 0.
func (w *worker) do(ctx context.Context, mk makeRequest) {
	w.seq++
	req, err := mk(ctx, w)
	if err != nil {
		w.fail(0, "building the request: "+err.Error())
		return
	}
	t0 := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		w.lat = append(w.lat, time.Since(t0))
		if ctx.Err() == nil {
			w.fail(0, err.Error())
		}
		return
	}
	w.buf.Reset()
	_, err = io.Copy(&w.buf, resp.Body)
	resp.Body.Close()
	w.lat = append(w.lat, time.Since(t0))
	switch {
	case err != nil:
		w.fail(resp.StatusCode, "reading the body: "+err.Error())
	case resp.StatusCode != http.StatusOK || !bytes.HasPrefix(w.buf.Bytes(), []byte(`{"code":0,`)):
		w.fail(resp.StatusCode, w.buf.String())
	}
}

func (w *worker) fail(status int, msg string) {
	w.errs++
	if w.first == "" {
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		w.first = fmt.Sprintf("HTTP %d: %s", status, msg)
	}
}

// signedRequest is an AppWheel API request signed as the Go SDK signs it
// (client.Client.do): timestamp, random nonce, HMAC over the request.
func signedRequest(ctx context.Context, base string, app *appwheel.App, method, target string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	signedTarget := req.URL.RequestURI()
	ts := time.Now().Unix()
	nonce := rand.Text()
	req.Header.Set(signature.HeaderAppID, app.ID)
	req.Header.Set(signature.HeaderPlatform, app.Platform)
	req.Header.Set(signature.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(signature.HeaderNonce, nonce)
	req.Header.Set(signature.HeaderSignature, signature.Sign(app.Secret, ts, method, signedTarget, body, nonce))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// signStripe returns a Stripe-Signature header for payload, made the way
// Stripe makes it (t=…,v1=HMAC-SHA256 of "t.payload"); the same as
// internal/apitest.SignStripe, which lives beside test-only helpers.
func signStripe(payload []byte, secret string, at time.Time) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", at.Unix())
	m.Write(payload)
	return fmt.Sprintf("t=%d,v1=%s", at.Unix(), hex.EncodeToString(m.Sum(nil)))
}
