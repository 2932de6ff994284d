// Command dockercri serves the Kubernetes CRI over a unix socket and runs
// pods and images on Docker Engine. Flags carry the names cri-dockerd users
// know, so a node can swap binaries.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"dockercri/shim"
	"dockercri/shim/cni"
	"dockercri/shim/metrics"
	"dockercri/streaming"
	"dockercri/translate"
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
	if err := run(); err != nil {
		klog.ErrorS(err, "dockercri failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func run() error {
	fs := flag.NewFlagSet("dockercri", flag.ExitOnError)
	klog.InitFlags(fs)
	var (
		endpoint       = fs.String("container-runtime-endpoint", "unix:///run/dockercri.sock", "CRI endpoint to serve: unix:///path or fd:// (systemd socket activation)")
		dockerEndpoint = fs.String("docker-endpoint", "unix:///var/run/docker.sock", "Docker Engine API endpoint")
		rootDir        = fs.String("root-directory", "/var/lib/dockercri", "directory for dockercri's own state")
		pauseImage     = fs.String("pod-infra-container-image", "registry.k8s.io/pause:3.10", "image of the pod's infra (pause) container")
		pullDeadline   = fs.Duration("image-pull-progress-deadline", time.Minute, "cancel an image pull that reports no progress for this long")
		requestTimeout = fs.Duration("runtime-request-timeout", 2*time.Minute, "deadline of every short Docker call")
		networkMode    = fs.String("docker-network-mode", "bridge", "Docker network of pods without host networking when no network plugin is used: bridge or none")
		restrictOOM    = fs.String("restrict-oom-score-adj", "auto", "never give a container an oom_score_adj below dockercri's own: auto (when CAP_SYS_RESOURCE is missing), true or false")
		streamAddr     = fs.String("streaming-bind-addr", streaming.DefaultAddr, "host:port of the exec, attach and port-forward server (port 0: any free port)")
		streamCert     = fs.String("streaming-tls-cert", "", "TLS certificate of the streaming server (with --streaming-tls-key; plain HTTP without)")
		streamKey      = fs.String("streaming-tls-key", "", "TLS key of the streaming server")
		streamClientCA = fs.String("streaming-tls-client-ca", "", "CA bundle the streaming server verifies client certificates against (requires TLS)")
		networkPlugin  = fs.String("network-plugin", "cni", "pod network: cni, or none (or empty) for Docker's own networking (--docker-network-mode)")
		cniBinDirs     = fs.String("cni-bin-dir", "/opt/cni/bin", "comma-separated directories searched for CNI plugin binaries")
		cniConfDir     = fs.String("cni-conf-dir", "/etc/cni/net.d", "directory of CNI network configs; the first valid one by name is used")
		cniCacheDir    = fs.String("cni-cache-dir", "/var/lib/cni/cache", "directory where CNI keeps the results DEL needs")
		metricsAddr    = fs.String("metrics-bind-addr", "", "host:port to serve Prometheus metrics on at /metrics, e.g. 127.0.0.1:9090 (off when empty)")
		showVersion    = fs.Bool("version", false, "print version and exit")
	)
	var mirrors translate.Mirrors
	fs.Func("registry-mirror", "pull a registry's images from a mirror: <registry>=<url>, e.g. registry.k8s.io=http://127.0.0.1:5000/k8s (repeatable)", func(v string) error {
		m, err := translate.ParseMirror(v)
		if err != nil {
			return err
		}
		for _, o := range mirrors {
			if o.Registry == m.Registry {
				return fmt.Errorf("registry %s has two mirrors", m.Registry)
			}
		}
		mirrors = append(mirrors, m)
		return nil
	})
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Printf("dockercri %s (commit %s)\n", version, commit())
		return nil
	}
	if err := os.MkdirAll(*rootDir, 0o700); err != nil {
		return fmt.Errorf("root directory: %w", err)
	}
	host, err := shim.ProbeHost(shim.OOMRestriction(*restrictOOM))
	if err != nil {
		return err
	}
	if host.Capabilities != nil {
		klog.InfoS("Host lacks capabilities Docker's privileged mode asks for; privileged containers get the host's set", "capabilities", len(host.Capabilities))
	}
	if host.MinOOMScoreAdj != nil {
		klog.InfoS("OOM scores are restricted", "minimum", *host.MinOOMScoreAdj)
	}
	dockerClient, err := shim.NewDockerClient(*dockerEndpoint)
	if err != nil {
		return err
	}
	defer dockerClient.Close()
	var m *metrics.Metrics
	var metricsSrv *metrics.Server
	if *metricsAddr != "" {
		m = metrics.New()
		if metricsSrv, err = metrics.Listen(*metricsAddr, m); err != nil {
			return err
		}
		defer metricsSrv.Close()
	}
	docker := shim.WithDockerMetrics(dockerClient, m)
	streamSrv, err := streaming.New(streaming.Config{
		Addr: *streamAddr, TLSCertFile: *streamCert, TLSKeyFile: *streamKey, TLSClientCAFile: *streamClientCA,
	}, shim.NewStreamingRuntime(docker))
	if err != nil {
		return err
	}
	defer streamSrv.Close()
	var network shim.PodNetwork
	switch *networkPlugin {
	case "cni":
		n, err := cni.New(cni.Config{
			BinDirs: strings.Split(*cniBinDirs, ","), ConfDir: *cniConfDir, CacheDir: *cniCacheDir, Timeout: *requestTimeout,
		})
		if err != nil {
			return err
		}
		network = n
	case "none", "":
	default:
		return fmt.Errorf("--network-plugin=%q: want cni or none", *networkPlugin)
	}
	svc, err := shim.New(docker, shim.Config{
		RootDirectory:             *rootDir,
		PodInfraImage:             *pauseImage,
		ImagePullProgressDeadline: *pullDeadline,
		RuntimeRequestTimeout:     *requestTimeout,
		NetworkMode:               *networkMode,
		Host:                      host,
		Streaming:                 streamSrv,
		Network:                   network,
		Mirrors:                   mirrors,
		Metrics:                   m,
	})
	if err != nil {
		return err
	}
	lis, err := shim.Listen(*endpoint)
	if err != nil {
		return err
	}
	defer svc.Close()
	srv := shim.NewGRPCServer(svc)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	go func() {
		if err := streamSrv.Serve(); err != nil {
			serveErr <- fmt.Errorf("streaming server: %w", err)
		}
	}()
	if metricsSrv != nil {
		go func() {
			if err := metricsSrv.Serve(); err != nil {
				serveErr <- err
			}
		}()
	}
	resumeCtx, stopResume := context.WithCancel(context.Background())
	defer stopResume()
	go resume(resumeCtx, svc, *requestTimeout)
	klog.InfoS("dockercri serving", "version", version, "endpoint", *endpoint, "docker", *dockerEndpoint, "streaming", streamSrv.URL())
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
	svc.EndEventStreams() // they never end on their own: a graceful stop would wait them out
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
