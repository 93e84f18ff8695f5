package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/appwheel/appwheel/logging"
)

// requestInfo is what the outer middleware learns about a request from the
// layers inside it, for the access log and the metrics.
type requestInfo struct {
	id    string
	code  int // envelope code written
	appID string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe wraps every request: it assigns the request id, recovers panics
// into a 5000 envelope, and records the access log line and the metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		info := &requestInfo{id: requestID(r)}
		ctx := logging.WithRequestID(context.WithValue(r.Context(), infoKey{}, info), info.id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", info.id)
		sw := &statusWriter{ResponseWriter: w}

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.ErrorContext(ctx, "panic", slog.Any("panic", p))
				if sw.status == 0 {
					writeReply(sw, r, s.reply(r, nil, errors.New("panic")))
				}
			}
			route := r.Pattern
			if route == "" || route == notFoundPattern {
				route = "unmatched"
			}
			elapsed := s.now().Sub(start)
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(info.code)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
			s.logger.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", sw.status),
				slog.Int("code", info.code),
				slog.String("app_id", info.appID),
				slog.Duration("duration", elapsed),
			)
		}()
		next.ServeHTTP(sw, r)
	})
}

// requestID keeps a caller's well-formed X-Request-Id, for tracing across
// services, and makes a new one otherwise.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); len(id) >= 8 && len(id) <= 64 {
		ok := true
		for _, c := range id {
			if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	b := make([]byte, 12)
	rand.Read(b)
	return "req_" + hex.EncodeToString(b)
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "appwheel_http_requests_total",
			Help: "HTTP requests by route pattern and envelope code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "appwheel_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}
