package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"dockercri/shim"
	"dockercri/shim/cni"
	"dockercri/streaming"
	"dockercri/translate"
)

// options is what the command line decides, checked by parseFlags.
type options struct {
	endpoint, dockerEndpoint, rootDir, pauseImage string
	pullDeadline, requestTimeout, listCacheMaxAge time.Duration
	networkMode                                   string
	restrictOOM                                   shim.OOMRestriction
	streamAddr, streamCert, streamKey, streamCA   string
	networkPlugin                                 string
	cniBinDirs                                    []string
	cniConfDir, cniCacheDir                       string
	cniDefault                                    *cni.Default // --cni-default-network, nil when off
	metricsAddr                                   string
	profiling                                     bool
	mirrors                                       translate.Mirrors
	adoptFrom                                     []string
	showVersion                                   bool
}

// errUsage marks a command line that is wrong as a whole; the usage text has
// been written already.
var errUsage = errors.New("usage")

// parseFlags reads the command line (without the program name). Flags carry
// the names cri-dockerd users know. Anything it cannot take, a stray
// argument included, is an error: a subcommand this build does not have
// must not start the daemon on the default socket.
func parseFlags(args []string, out io.Writer) (*options, error) {
	fs := flag.NewFlagSet("dockercri", flag.ContinueOnError)
	fs.SetOutput(out)
	klog.InitFlags(fs)
	o := &options{}
	var restrictOOM, cniBinDirs, cniDefault, cniDefaultBridge string
	fs.StringVar(&o.endpoint, "container-runtime-endpoint", "unix:///run/dockercri.sock", "CRI endpoint to serve: unix:///path or fd:// (systemd socket activation)")
	fs.StringVar(&o.dockerEndpoint, "docker-endpoint", "unix:///var/run/docker.sock", "Docker Engine API endpoint")
	fs.StringVar(&o.rootDir, "root-directory", "/var/lib/dockercri", "directory for dockercri's own state")
	fs.StringVar(&o.pauseImage, "pod-infra-container-image", "registry.k8s.io/pause:3.10", "image of the pod's infra (pause) container")
	fs.DurationVar(&o.pullDeadline, "image-pull-progress-deadline", time.Minute, "cancel an image pull that reports no progress for this long")
	fs.DurationVar(&o.requestTimeout, "runtime-request-timeout", 2*time.Minute, "deadline of every short Docker call")
	fs.DurationVar(&o.listCacheMaxAge, "list-cache-max-age", 10*time.Second, "answer the kubelet's relists from memory kept current by Docker's events, asking Docker again at least this often (0: ask Docker on every list)")
	fs.StringVar(&o.networkMode, "docker-network-mode", "bridge", "Docker network of pods without host networking when no network plugin is used: bridge or none")
	fs.StringVar(&restrictOOM, "restrict-oom-score-adj", "auto", "never give a container an oom_score_adj below dockercri's own: auto (when CAP_SYS_RESOURCE is missing), true or false")
	fs.StringVar(&o.streamAddr, "streaming-bind-addr", streaming.DefaultAddr, "host:port of the exec, attach and port-forward server (port 0: any free port)")
	fs.StringVar(&o.streamCert, "streaming-tls-cert", "", "TLS certificate of the streaming server (with --streaming-tls-key; plain HTTP without)")
	fs.StringVar(&o.streamKey, "streaming-tls-key", "", "TLS key of the streaming server")
	fs.StringVar(&o.streamCA, "streaming-tls-client-ca", "", "CA bundle the streaming server verifies client certificates against (requires TLS)")
	fs.StringVar(&o.networkPlugin, "network-plugin", "cni", "pod network: cni, or none (or empty) for Docker's own networking (--docker-network-mode)")
	fs.StringVar(&cniBinDirs, "cni-bin-dir", "/opt/cni/bin", "comma-separated directories searched for CNI plugin binaries")
	fs.StringVar(&o.cniConfDir, "cni-conf-dir", "/etc/cni/net.d", "directory of CNI network configs; the first valid one by name is used")
	fs.StringVar(&o.cniCacheDir, "cni-cache-dir", "/var/lib/cni/cache", "directory where CNI keeps the results DEL needs")
	fs.StringVar(&cniDefault, "cni-default-network", "", "pod CIDRs (IPv4, and optionally IPv6: 10.88.0.0/16,fd88::/64) of a default network (bridge, portmap, firewall) that dockercri writes to --cni-conf-dir as "+cni.DefaultConfFile+" while it holds no other config; the kubelet's pod CIDR replaces them; off when empty")
	fs.StringVar(&cniDefaultBridge, "cni-default-bridge", "dcri-cni0", "bridge of the --cni-default-network")
	fs.StringVar(&o.metricsAddr, "metrics-bind-addr", "", "host:port to serve Prometheus metrics on at /metrics, e.g. 127.0.0.1:9090 (off when empty)")
	fs.BoolVar(&o.profiling, "profiling", false, "serve Go's pprof at /debug/pprof/ on the metrics address (needs --metrics-bind-addr)")
	fs.BoolVar(&o.showVersion, "version", false, "print version and exit")
	fs.Func("adopt-checkpoints-from", "root directory of the cri-dockerd or dockershim that ran this node's pods (/var/lib/cri-dockerd, /var/lib/dockershim): their sandbox checkpoints are read, never changed, to adopt those pods (repeatable, or comma-separated)", o.addAdoptFrom)
	fs.Func("registry-mirror", "pull a registry's images from a mirror: <registry>=<url>, e.g. registry.k8s.io=http://127.0.0.1:5000/k8s (repeatable)", o.addMirror)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage // the flag package has said why, with the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(out, "dockercri takes no arguments, only flags: %q\n", fs.Args())
		fs.Usage()
		return nil, errUsage
	}
	o.restrictOOM = shim.OOMRestriction(restrictOOM)
	o.cniBinDirs = strings.Split(cniBinDirs, ",")
	if cniDefault != "" {
		o.cniDefault = &cni.Default{Subnets: strings.Split(cniDefault, ","), Bridge: cniDefaultBridge}
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(out, err)
		return nil, errUsage
	}
	return o, nil
}

func (o *options) addAdoptFrom(v string) error {
	for _, dir := range strings.Split(v, ",") {
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("%q: want an absolute directory", dir)
		}
		o.adoptFrom = append(o.adoptFrom, filepath.Clean(dir))
	}
	return nil
}

func (o *options) addMirror(v string) error {
	m, err := translate.ParseMirror(v)
	if err != nil {
		return err
	}
	for _, other := range o.mirrors {
		if other.Registry == m.Registry {
			return fmt.Errorf("registry %s has two mirrors", m.Registry)
		}
	}
	o.mirrors = append(o.mirrors, m)
	return nil
}

// validate checks what one flag alone, or two together, can get wrong, so
// that a bad command line fails before anything is opened.
func (o *options) validate() error {
	switch {
	case !strings.HasPrefix(o.endpoint, "unix://") && !strings.HasPrefix(o.endpoint, "fd://"):
		return fmt.Errorf("--container-runtime-endpoint=%q: want unix:///path or fd://", o.endpoint)
	case o.dockerEndpoint == "":
		return errors.New("--docker-endpoint is empty")
	case o.rootDir == "":
		return errors.New("--root-directory is empty")
	case slices.Contains(o.adoptFrom, filepath.Clean(o.rootDir)):
		return fmt.Errorf("--adopt-checkpoints-from=%s is also --root-directory: dockercri needs a directory of its own", o.rootDir)
	case o.pullDeadline <= 0:
		return fmt.Errorf("--image-pull-progress-deadline=%s: want a positive duration", o.pullDeadline)
	case o.listCacheMaxAge < 0:
		return fmt.Errorf("--list-cache-max-age=%s: want 0 (off) or a positive duration", o.listCacheMaxAge)
	case o.requestTimeout <= 0:
		return fmt.Errorf("--runtime-request-timeout=%s: want a positive duration", o.requestTimeout)
	case o.networkMode != "bridge" && o.networkMode != "none":
		return fmt.Errorf("--docker-network-mode=%q: want bridge or none", o.networkMode)
	case o.networkPlugin != "cni" && o.networkPlugin != "none" && o.networkPlugin != "":
		return fmt.Errorf("--network-plugin=%q: want cni or none", o.networkPlugin)
	case o.cniDefault != nil && o.networkPlugin != "cni":
		return fmt.Errorf("--cni-default-network needs --network-plugin=cni, not %q", o.networkPlugin)
	case (o.streamCert == "") != (o.streamKey == ""):
		return errors.New("--streaming-tls-cert and --streaming-tls-key go together")
	case o.streamCA != "" && o.streamCert == "":
		return errors.New("--streaming-tls-client-ca requires --streaming-tls-cert and --streaming-tls-key")
	}
	if o.cniDefault != nil {
		if err := o.cniDefault.Validate(); err != nil {
			return fmt.Errorf("--cni-default-network: %w", err)
		}
	}
	switch o.restrictOOM {
	case shim.OOMRestrictAuto, shim.OOMRestrictOn, shim.OOMRestrictOff:
	default:
		return fmt.Errorf("--restrict-oom-score-adj=%q: want auto, true or false", o.restrictOOM)
	}
	if o.profiling && o.metricsAddr == "" {
		return fmt.Errorf("--profiling needs --metrics-bind-addr (pprof is served there)")
	}
	for flagName, addr := range map[string]string{"--streaming-bind-addr": o.streamAddr, "--metrics-bind-addr": o.metricsAddr} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s=%q: want host:port: %w", flagName, addr, err)
		}
	}
	return nil
}
