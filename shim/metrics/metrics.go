// Package metrics holds dockercri's Prometheus collectors, on a registry of
// their own, and the HTTP server of /metrics (--metrics-bind-addr). A nil
// *Metrics records nothing, so callers need no "are metrics on" checks.
//
// It may import the Prometheus client, gRPC's codes, klog and the standard
// library; never package shim.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/codes"
)

const namespace = "dockercri"

// Buckets span a cached status (well under a millisecond) to a slow pull
// or a stop that waits out its grace period.
var buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// Metrics is the set of dockercri's collectors.
type Metrics struct {
	reg            *prometheus.Registry
	rpcDuration    *prometheus.HistogramVec
	rpcErrors      *prometheus.CounterVec
	inFlight       prometheus.Gauge
	dockerDuration *prometheus.HistogramVec
}

// New registers the collectors, with the Go runtime's and the process's, on
// a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		rpcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "cri", Name: "request_duration_seconds",
			Help:    "Duration of CRI calls, by method and gRPC code (a stream counts from open to end).",
			Buckets: buckets,
		}, []string{"method", "code"}),
		rpcErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "cri", Name: "request_errors_total",
			Help: "CRI calls that failed, by method and gRPC code.",
		}, []string{"method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "cri", Name: "requests_in_flight",
			Help: "CRI calls being served, open streams included.",
		}),
		dockerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "docker", Name: "request_duration_seconds",
			Help:    "Duration of Docker Engine API calls, by client method (a streaming call until Docker answered).",
			Buckets: buckets,
		}, []string{"method"}),
	}
	m.reg.MustRegister(m.rpcDuration, m.rpcErrors, m.inFlight, m.dockerDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the collectors are registered (for tests and for
// serving them some other way).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// StartRPC counts a CRI call in flight; the returned func ends it with
// its gRPC code, recording its duration and, unless OK, an error.
func (m *Metrics) StartRPC(method string) func(code codes.Code) {
	if m == nil {
		return func(codes.Code) {}
	}
	start := time.Now()
	m.inFlight.Inc()
	return func(code codes.Code) {
		m.inFlight.Dec()
		m.rpcDuration.WithLabelValues(method, code.String()).Observe(time.Since(start).Seconds())
		if code != codes.OK {
			m.rpcErrors.WithLabelValues(method, code.String()).Inc()
		}
	}
}

// ObserveDocker records a Docker call that began at start.
func (m *Metrics) ObserveDocker(method string, start time.Time) {
	if m == nil {
		return
	}
	m.dockerDuration.WithLabelValues(method).Observe(time.Since(start).Seconds())
}
