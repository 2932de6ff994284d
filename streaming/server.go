// Package streaming serves the exec, attach and port-forward sessions that
// the CRI Exec, Attach and PortForward calls hand out as single-use URLs. The
// HTTP side (SPDY and WebSocket, tokens, resize events, exit statuses) is
// k8s.io/cri-streaming; this package adds the listener with safe defaults,
// absolute URLs, TLS, cancellation when a client goes away, and port
// forwarding into a pod's network namespace. It knows nothing of Docker: the
// runtime behind it is the Runtime interface.
//
// It may import k8s.io/cri-streaming, cri-api, x/sys, k8s.io/utils and the
// standard library; never package shim, which implements Runtime on Docker.
package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"k8s.io/cri-streaming/pkg/streaming"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultAddr binds the loopback interface on a free port: the kubelet on
// the same node proxies every session, so nothing else needs to reach it
// (cri-dockerd binds every interface without TLS).
const DefaultAddr = "127.0.0.1:0"

// TerminalSize is a resize event of a TTY session.
type TerminalSize = remotecommand.TerminalSize

// Runtime runs the sessions. Exec and Attach return when the process or the
// container's stream ends, or when ctx is cancelled because the client went
// away; an exec that exits non-zero returns ExitCode(code).
type Runtime interface {
	Exec(ctx context.Context, containerID string, cmd []string, stdin io.Reader, stdout, stderr io.WriteCloser,
		tty bool, resize <-chan TerminalSize) error
	Attach(ctx context.Context, containerID string, stdin io.Reader, stdout, stderr io.WriteCloser,
		tty bool, resize <-chan TerminalSize) error
	// PodNetNS is the path of a running pod sandbox's network namespace
	// (/proc/<pid>/ns/net), where port forwarding dials.
	PodNetNS(ctx context.Context, podSandboxID string) (string, error)
}

// ExitCode is the error Runtime.Exec returns for a command that exited with
// a non-zero code; the client sees the code.
func ExitCode(code int) error {
	return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
}

// Config is what the daemon's streaming flags decide.
type Config struct {
	// Addr is host:port to listen on; DefaultAddr when empty.
	Addr string
	// TLSCertFile and TLSKeyFile switch the server to HTTPS.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile, with TLS, makes the server require client
	// certificates signed by these CAs.
	TLSClientCAFile string
}

// Server is a listening streaming server.
type Server struct {
	lib   streaming.Server
	lis   net.Listener
	http  *http.Server
	conns *connTracker
	tls   bool
	base  *url.URL
}

// idleTimeout closes a session that moved no data for this long; it is the
// kubelet's own streaming idle timeout.
const idleTimeout = 4 * time.Hour

// New listens on cfg.Addr and prepares the handlers; Serve serves. The
// URLs it hands out carry the address actually bound (port 0 resolved).
func New(cfg Config, rt Runtime) (*Server, error) {
	if rt == nil {
		return nil, errors.New("streaming: no runtime")
	}
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("streaming server: listen on %s: %w", addr, err)
	}
	base := baseURL(lis.Addr().(*net.TCPAddr), tlsCfg != nil)
	libCfg := streaming.DefaultConfig
	libCfg.Addr = lis.Addr().String()
	libCfg.BaseURL = base
	libCfg.StreamIdleTimeout = idleTimeout
	libCfg.TLSConfig = tlsCfg
	lib, err := streaming.NewServer(libCfg, &adapter{rt: rt})
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("streaming server: %w", err)
	}
	conns := newConnTracker()
	s := &Server{lib: lib, lis: lis, conns: conns, tls: tlsCfg != nil, base: base}
	s.http = &http.Server{
		Handler:           conns.wrap(lib),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 30 * time.Second,
	}
	return s, nil
}

// baseURL is where clients reach the listener. An unspecified bind address
// (0.0.0.0, ::) becomes loopback: the kubelet that proxies the sessions runs
// on this node.
func baseURL(addr *net.TCPAddr, tls bool) *url.URL {
	ip := addr.IP
	switch {
	case ip.To4() != nil && ip.IsUnspecified():
		ip = net.IPv4(127, 0, 0, 1)
	case ip.IsUnspecified():
		ip = net.IPv6loopback
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port)), Path: "/"}
}

// Serve serves until Close; it returns nil after Close.
func (s *Server) Serve() error {
	var err error
	if s.tls {
		err = s.http.ServeTLS(s.lis, "", "")
	} else {
		err = s.http.Serve(s.lis)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops listening and ends every session, including the upgraded
// connections http.Server no longer tracks.
func (s *Server) Close() error {
	err := s.http.Close()
	s.conns.closeAll()
	return err
}

// URL is the base URL of every session URL, e.g. http://127.0.0.1:41234/.
func (s *Server) URL() string { return s.base.String() }

// GetExec hands out the single-use URL of an exec session.
func (s *Server) GetExec(req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return s.lib.GetExec(req)
}

// GetAttach hands out the single-use URL of an attach session.
func (s *Server) GetAttach(req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return s.lib.GetAttach(req)
}

// GetPortForward hands out the single-use URL of a port-forward session.
func (s *Server) GetPortForward(req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return s.lib.GetPortForward(req)
}

// ServeHTTP serves the sessions without the listener (tests, or embedding
// in another server).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.http.Handler.ServeHTTP(w, r) }

// adapter is the library's Runtime: exec and attach go to the runtime,
// port forwarding dials inside the pod's network namespace.
type adapter struct{ rt Runtime }

func (a *adapter) Exec(ctx context.Context, id string, cmd []string, in io.Reader, out, errw io.WriteCloser,
	tty bool, resize <-chan remotecommand.TerminalSize) error {
	return a.rt.Exec(ctx, id, cmd, in, out, errw, tty, resize)
}

func (a *adapter) Attach(ctx context.Context, id string, in io.Reader, out, errw io.WriteCloser,
	tty bool, resize <-chan remotecommand.TerminalSize) error {
	return a.rt.Attach(ctx, id, in, out, errw, tty, resize)
}

func (a *adapter) PortForward(ctx context.Context, podSandboxID string, port int32, stream io.ReadWriteCloser) error {
	netns, err := a.rt.PodNetNS(ctx, podSandboxID)
	if err != nil {
		return err
	}
	return PortForward(ctx, netns, port, stream)
}
