package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// Handler serves the registry in Prometheus' text (or negotiated) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Server serves /metrics on its own listener.
type Server struct {
	srv *http.Server
	lis net.Listener
}

// Listen binds addr ("127.0.0.1:9090"; port 0 picks a free one) now, so a
// taken port fails dockercri at start rather than later in the background.
// With profiling, Go's pprof handlers are served beside /metrics under
// /debug/pprof/ (CPU and heap profiles of dockercri itself; off by default,
// since a profile shows the program's internals to whoever can reach it).
func Listen(addr string, m *Metrics, profiling bool) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return &Server{lis: lis, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the bound address (with the port picked for port 0).
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve serves until Close; it returns nil after Close.
func (s *Server) Serve() error {
	klog.InfoS("Serving metrics", "address", "http://"+s.Addr()+"/metrics")
	if err := s.srv.Serve(s.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// Close stops the server, giving scrapes in progress a moment.
func (s *Server) Close() error {
	// At shutdown no caller's context is left: a fresh one, bounded.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
