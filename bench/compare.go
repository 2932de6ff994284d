package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"dockercri/bench/report"
)

// Target is one CRI runtime under comparison.
type Target struct {
	Name     string
	Endpoint string
	// Components are the runtime's processes for the steady state
	// (dockercri, dockerd, containerd, shims; or containerd, shims).
	Components []Matcher
	// KubeletFlags are extra kubelet flags for this runtime (e.g. containerd's
	// socket for the kubelet's cAdvisor).
	KubeletFlags []string
	// MetricsURL is the runtime's Prometheus endpoint, if it serves one.
	MetricsURL string
}

// Plan is one cribench invocation: which kinds of run, on which runtimes,
// how many times.
type Plan struct {
	Kinds       []string // report.Kind*
	Targets     []Target
	Workload    Workload
	Repeats     int
	Concurrency int // of the CRI batch (0: all at once)
	// Docker and Pause are the floor's Docker endpoint and pause image;
	// FloorConcurrency the concurrencies it tries (0: all at once).
	Docker           string
	Pause            string
	FloorConcurrency []int
	// Kubelet is the binary for node runs, WorkDir their directories.
	Kubelet      string
	WorkDir      string
	FeatureGates string
	Steady       time.Duration
	Interval     time.Duration
	Baseline     string
	Command      string
}

func (p Plan) Has(kind string) bool { return slices.Contains(p.Kinds, kind) }

// steps counts the progress line's steps: a pod started or a steady sample.
func (p Plan) steps() int {
	per := 0
	if p.Has(report.KindBatch) {
		per += len(p.Targets) * p.Workload.Pods
	}
	if p.Has(report.KindDockerFloor) {
		per += len(p.FloorConcurrency) * p.Workload.Pods
	}
	if p.Has(report.KindNode) {
		per += len(p.Targets) * (p.Workload.Pods + int(p.Steady/max(p.Interval, time.Second)))
	}
	return per * p.Repeats
}

// Run carries the plan out. Within each repeat every runtime takes its turn
// at each kind, the order of runtimes reversed on every other repeat, so
// that a drift of the machine (another tenant, a warming cache) falls on
// all of them alike; only the ratios of one report are worth comparing.
func Run(ctx context.Context, p Plan, progress Progress) (report.Report, error) {
	r := report.Report{Started: time.Now(), Command: p.Command, Host: host(), Baseline: p.Baseline, Config: report.Config{
		Pods: p.Workload.Pods, Repeats: p.Repeats, Steady: p.Steady, Image: p.Workload.Image,
		HostNetwork: p.Workload.HostNetwork, Concurrency: p.Concurrency, FloorConcurrency: p.FloorConcurrency,
	}}
	clients, err := p.dial(ctx)
	if err != nil {
		return r, err
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	var floor *Floor
	if p.Has(report.KindDockerFloor) {
		if floor, err = DialDocker(ctx, p.Docker, p.Pause); err != nil {
			return r, err
		}
		defer floor.Close()
	}
	progress.Start(p.steps())
	defer progress.Done()
	for rep := 0; rep < p.Repeats; rep++ {
		order := slices.Clone(p.Targets)
		if rep%2 == 1 {
			slices.Reverse(order)
		}
		if p.Has(report.KindBatch) {
			for _, t := range order {
				progress.Describe(fmt.Sprintf("%d/%d %s batch", rep+1, p.Repeats, t.Name))
				r.Runs = append(r.Runs, clients[t.Name].Batch(ctx, p.Workload, t.Name, rep, p.Concurrency, progress.Step))
			}
		}
		if floor != nil {
			r.Runs = append(r.Runs, p.floorRuns(ctx, floor, rep, progress)...)
		}
		if p.Has(report.KindNode) {
			for _, t := range order {
				progress.Describe(fmt.Sprintf("%d/%d %s node", rep+1, p.Repeats, t.Name))
				r.Runs = append(r.Runs, p.node(ctx, clients[t.Name], t, rep, progress))
			}
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	r.Finished = time.Now()
	return r, nil
}

func (p Plan) dial(ctx context.Context) (map[string]*CRI, error) {
	clients := map[string]*CRI{}
	for _, t := range p.Targets {
		c, err := DialCRI(ctx, t.Endpoint)
		if err != nil {
			for _, c := range clients {
				c.Close()
			}
			return nil, fmt.Errorf("runtime %s: %w", t.Name, err)
		}
		clients[t.Name] = c
		// Leftovers of an interrupted run would count in the steady state.
		if err := c.Remove(ctx, ""); err != nil {
			return nil, fmt.Errorf("runtime %s: %w", t.Name, err)
		}
		if err := c.Pull(ctx, p.Workload.Image); err != nil {
			return nil, fmt.Errorf("runtime %s: %w", t.Name, err)
		}
	}
	return clients, nil
}

func (p Plan) floorRuns(ctx context.Context, f *Floor, rep int, progress Progress) []report.Run {
	if err := f.Ready(ctx, p.Workload); err != nil {
		return []report.Run{{Kind: report.KindDockerFloor, Runtime: "docker", Endpoint: f.Endpoint, Repeat: rep, Error: err.Error()}}
	}
	_ = f.Remove(ctx, "")
	var runs []report.Run
	for _, c := range p.FloorConcurrency {
		progress.Describe(fmt.Sprintf("%d/%d docker floor (concurrency %d)", rep+1, p.Repeats, c))
		runs = append(runs, f.Batch(ctx, p.Workload, rep, c, progress.Step))
	}
	return runs
}

func (p Plan) node(ctx context.Context, c *CRI, t Target, rep int, progress Progress) report.Run {
	k := &Kubelet{
		Bin: p.Kubelet, Dir: filepath.Join(p.WorkDir, "kubelet-"+t.Name), Endpoint: t.Endpoint,
		FeatureGates: p.FeatureGates, Flags: t.KubeletFlags, Node: "cribench-node",
	}
	o := NodeRun{Runtime: t.Name, Repeat: rep, Steady: p.Steady, Interval: p.Interval, Components: t.Components, Timeout: 10 * time.Minute, MetricsURL: t.MetricsURL}
	return Node(ctx, k, c, p.Workload, o, func(string) { progress.Step() })
}

func host() report.Host {
	h := report.Host{CPUs: runtime.NumCPU()}
	h.Hostname, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		h.MemBytes = uint64(si.Totalram) * uint64(si.Unit)
	}
	return h
}
