// Command cribench measures CRI runtimes the way the 2018 containerd 1.1 GA
// node benchmark did: a batch of pods started at once, then the steady CPU
// and memory of the kubelet and of the runtime's processes with them
// running; and the Docker-direct floor under a Docker shim. See the README's
// "Benchmark" section.
//
//	cribench batch        --runtime NAME=ENDPOINT ...
//	cribench docker-floor --docker-endpoint E --pause-image I --floor-concurrency 0,16
//	cribench node         --runtime NAME=ENDPOINT --kubelet BIN --process NAME/COMPONENT=cmd:REGEX ...
//	cribench compare      every kind above, runtimes alternated, --repeats times
//	cribench validate     DIR: check a report directory is complete and well-formed
//	cribench clean        remove cribench's pods from each runtime (and Docker)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"dockercri/bench"
	"dockercri/bench/report"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "batch", "docker-floor", "node", "compare", "clean":
		err = run(ctx, cmd, args)
	case "validate":
		if len(args) != 1 {
			usage()
		}
		if err = report.Validate(args[0]); err == nil {
			fmt.Printf("%s: report well-formed\n", args[0])
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cribench %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cribench batch|docker-floor|node|compare|clean [flags] | cribench validate DIR (-h for flags)")
	os.Exit(2)
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var runtimes, processes, kubeletFlags, metrics list
	fs.Var(&runtimes, "runtime", "NAME=ENDPOINT of a CRI runtime (repeat for several; the first is the Docker path's)")
	fs.Var(&processes, "process", "RUNTIME/COMPONENT=pidfile:PATH|pid:N|cmd:REGEX, the runtime's processes for the steady state (repeat)")
	fs.Var(&metrics, "metrics", "RUNTIME=URL of the runtime's Prometheus metrics: its request rates over the steady state go in the report (repeat)")
	fs.Var(&kubeletFlags, "kubelet-flag", "RUNTIME=FLAG, an extra kubelet flag for that runtime's node runs (repeat)")
	pods := fs.Int("pods", 105, "pods per batch")
	image := fs.String("image", "registry.k8s.io/e2e-test-images/busybox:1.29-2", "the container image (pulled before the batch, untimed)")
	hostNetwork := fs.Bool("host-network", true, "pods in the host's network (false: the runtime's CNI network)")
	concurrency := fs.Int("concurrency", 0, "CRI batch: pods in flight at most (0: all at once)")
	repeats := fs.Int("repeats", 1, "times each runtime takes each kind")
	docker := fs.String("docker-endpoint", "", "docker-floor: the Docker endpoint (the Docker path's dockerd)")
	pause := fs.String("pause-image", "registry.k8s.io/pause:3.10", "docker-floor: the pause image, as the Docker shim names it")
	floorConc := fs.String("floor-concurrency", "0,16", "docker-floor: concurrencies to try, comma-separated (0: all at once); the best counts")
	kubelet := fs.String("kubelet", "", "node: the kubelet binary")
	workDir := fs.String("work-dir", "/var/lib/cribench", "node: the kubelets' directories")
	gates := fs.String("feature-gates", "", "node: the kubelet's feature gates (A=true,B=false)")
	steady := fs.Duration("steady", 5*time.Minute, "node: the steady-state window")
	interval := fs.Duration("interval", 10*time.Second, "node: steady-state sampling interval")
	baseline := fs.String("baseline", "", "the runtime ratios divide by (default: the last --runtime)")
	out := fs.String("out", "cribench-report", "the report directory (report.json, summary.json, report.md, charts)")
	_ = fs.Parse(args)

	p := bench.Plan{
		Workload:    bench.Workload{Pods: *pods, Image: *image, HostNetwork: *hostNetwork},
		Repeats:     max(*repeats, 1),
		Concurrency: *concurrency, Docker: *docker, Pause: *pause, Kubelet: *kubelet, WorkDir: *workDir,
		FeatureGates: *gates, Steady: *steady, Interval: *interval, Baseline: *baseline,
		Command: "cribench " + cmd + " " + strings.Join(args, " "),
	}
	var err error
	if p.FloorConcurrency, err = ints(*floorConc); err != nil {
		return err
	}
	if p.Targets, err = targets(runtimes, processes, kubeletFlags, metrics); err != nil {
		return err
	}
	if p.Baseline == "" && len(p.Targets) > 1 {
		p.Baseline = p.Targets[len(p.Targets)-1].Name
	}
	if cmd == "clean" {
		return clean(ctx, p)
	}
	if p.Kinds, err = kinds(cmd, p); err != nil {
		return err
	}
	if p.Has(report.KindBatch) || p.Has(report.KindNode) {
		p.Workload.LogDir = *workDir + "/logs"
	}
	r, err := bench.Run(ctx, p, &bench.Bar{W: os.Stderr})
	if len(r.Runs) == 0 {
		return err
	}
	s, werr := report.Write(*out, r)
	if werr != nil {
		return errors.Join(err, werr)
	}
	fmt.Print(report.Markdown(r, s))
	fmt.Fprintf(os.Stderr, "report: %s/report.md\n", *out)
	return err
}
