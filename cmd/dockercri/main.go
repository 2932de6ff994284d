// Command dockercri serves the Kubernetes CRI over a unix socket and runs
// pods and images on Docker Engine. Flags carry the names cri-dockerd users
// know, so a node can swap binaries.
//
// It only wires: flags.go parses and checks the command line, node.go builds
// the service and its servers from it, main.go serves until a signal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"dockercri/shim"
)

// version and buildCommit are set at build time with
// -ldflags "-X main.version=… -X main.buildCommit=…" (the Makefile does).
var (
	version     = "0.1.0-dev"
	buildCommit = ""
)

// stopGrace is how long in-flight calls get to finish on SIGTERM.
const stopGrace = 10 * time.Second

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case err != nil:
		os.Exit(2)
	}
	if o.showVersion {
		fmt.Printf("dockercri %s (commit %s)\n", version, commit())
		return
	}
	if err := run(o); err != nil {
		klog.ErrorS(err, "dockercri failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

// run builds the node from the options and serves until a signal or a
// server's failure.
func run(o *options) error {
	n, err := newNode(o)
	if err != nil {
		return err
	}
	defer n.close()
	lis, err := shim.Listen(o.endpoint)
	if err != nil {
		return err
	}
	srv := shim.NewGRPCServer(n.svc)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	go func() {
		if err := n.stream.Serve(); err != nil {
			serveErr <- fmt.Errorf("streaming server: %w", err)
		}
	}()
	if n.metrics != nil {
		go func() {
			if err := n.metrics.Serve(); err != nil {
				serveErr <- err
			}
		}()
	}
	// The resume loop lives as long as the process: a context of its own.
	resumeCtx, stopResume := context.WithCancel(context.Background())
	defer stopResume()
	go resume(resumeCtx, n.svc, o.requestTimeout)
	klog.InfoS("dockercri serving", "version", version, "endpoint", o.endpoint, "docker", o.dockerEndpoint, "streaming", n.stream.URL())
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		klog.ErrorS(err, "Notifying systemd failed")
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case sig := <-sigs:
		klog.InfoS("Stopping", "signal", sig.String())
	case err := <-serveErr:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	n.svc.EndEventStreams() // they never end on their own: a graceful stop would wait them out
	gracefulStop(srv)
	return nil
}

// resume picks up the log copies of containers started before this
// process. Docker may be down or still coming up, so it retries in the
// background instead of holding up serving.
func resume(ctx context.Context, svc *shim.Service, timeout time.Duration) {
	for {
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		err := svc.Resume(callCtx)
		cancel()
		if err == nil {
			return
		}
		klog.V(2).InfoS("Resuming container log copies failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// gracefulStop lets in-flight calls finish, then cuts the rest (a pull may
// run for minutes).
func gracefulStop(srv *grpc.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		srv.Stop()
	}
}

// commit is the revision the Makefile stamped in, else the one the Go
// toolchain recorded (absent with -buildvcs=false).
func commit() string {
	if buildCommit != "" {
		return buildCommit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
