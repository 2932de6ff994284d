// dockercri-migrate plans and carries out the move of a Docker node to
// containerd: `check` reports what would break, `images` copies the images
// pods use from Docker into containerd's k8s.io namespace.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `usage: dockercri-migrate check|images [flags]

  check    report what stops this Docker node from moving to containerd
           (table, or --json); exit 1 if something blocks, 2 on errors
  images   copy the images pods use (--all: every image) from Docker into
           containerd; --dry-run lists them

flags:
`

// exitError carries the exit code an error stands for.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// failWith marks err as ending the program with code.
func failWith(code int, err error) error {
	if err == nil {
		return nil
	}
	return exitError{code: code, err: err}
}

type options struct {
	dockerEndpoint      string
	containerdAddress   string
	containerdNamespace string
	snapshotter         string
	certsDir            string
	daemonConfig        string
	staticPodPath       string
	json, all, dryRun   bool
	unpack              bool
	timeout             time.Duration
}

func newFlags(name string, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	defaultDocker := "unix:///var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		defaultDocker = h
	}
	fs.StringVar(&o.dockerEndpoint, "docker-endpoint", defaultDocker, "Docker Engine API endpoint ($DOCKER_HOST if set)")
	fs.StringVar(&o.containerdAddress, "containerd-address", "/run/containerd/containerd.sock", "containerd's socket")
	fs.StringVar(&o.containerdNamespace, "containerd-namespace", "k8s.io", "containerd namespace its CRI plugin serves")
	fs.StringVar(&o.snapshotter, "snapshotter", "overlayfs", "containerd snapshotter to unpack copied images into")
	fs.StringVar(&o.certsDir, "containerd-certs-dir", "/etc/containerd/certs.d", "containerd's registry config_path, for the hosts.toml files check prints")
	fs.StringVar(&o.daemonConfig, "daemon-config", "/etc/docker/daemon.json", "Docker's daemon.json")
	fs.StringVar(&o.staticPodPath, "static-pod-path", "/etc/kubernetes/manifests", "the kubelet's static pod manifests")
	fs.BoolVar(&o.json, "json", false, "check: print the report as JSON")
	fs.BoolVar(&o.all, "all", false, "images: copy every Docker image, not only those pods use")
	fs.BoolVar(&o.dryRun, "dry-run", false, "images: list what would be copied")
	fs.BoolVar(&o.unpack, "unpack", true, "images: unpack copied images into the snapshotter")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "check" && args[0] != "images") {
		fmt.Fprint(stderr, usage)
		newFlags("dockercri-migrate", &options{}).PrintDefaults()
		return 2
	}
	var o options
	fs := newFlags(args[0], &o)
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dockercri-migrate %s: unexpected arguments %q\n", args[0], fs.Args())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	var err error
	code := 0
	if args[0] == "check" {
		code, err = runCheck(ctx, o, stdout)
	} else {
		err = runImages(ctx, o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "dockercri-migrate %s: %v\n", args[0], err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 2
	}
	return code
}
