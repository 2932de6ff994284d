// Package report holds cribench's results: the raw samples (JSON), their
// summary (medians over the repeats, ratios to a baseline runtime), and their
// renderings (a Markdown report, SVG and PNG charts).
//
// One Report is one cribench invocation. Its Runs are in the order they ran;
// compare alternates runtimes within each repeat, so only ratios taken inside
// one Report mean anything on a noisy machine.
package report

import (
	"time"
)

// Run kinds.
const (
	KindBatch       = "batch"        // N pods through a CRI endpoint
	KindDockerFloor = "docker-floor" // the same containers straight through the Docker API
	KindNode        = "node"         // N static pods through a real kubelet, then steady state
)

// Report is everything one cribench invocation measured.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Command  string    `json:"command"` // the command line, to run it again
	Host     Host      `json:"host"`
	Config   Config    `json:"config"`
	// Baseline names the runtime the ratios divide by (e.g. "containerd").
	Baseline string `json:"baseline,omitempty"`
	Runs     []Run  `json:"runs"`
}

// Host describes the machine.
type Host struct {
	Hostname string `json:"hostname"`
	Kernel   string `json:"kernel"`
	CPUs     int    `json:"cpus"`
	MemBytes uint64 `json:"memBytes"`
}

// Config is what every run of the report shared.
type Config struct {
	Pods        int           `json:"pods"`
	Repeats     int           `json:"repeats"`
	Steady      time.Duration `json:"steadyNs"` // steady-state window of node runs
	Image       string        `json:"image"`
	HostNetwork bool          `json:"hostNetwork"`
	// Concurrency of the CRI batch (0: every pod at once).
	Concurrency int `json:"concurrency"`
	// FloorConcurrency lists the Docker-direct floor's concurrencies tried.
	FloorConcurrency []int `json:"floorConcurrency,omitempty"`
}

// Run is one measurement of one runtime.
type Run struct {
	Kind     string `json:"kind"`
	Runtime  string `json:"runtime"` // a name: "dockercri", "containerd", "docker" for the floor
	Endpoint string `json:"endpoint"`
	Repeat   int    `json:"repeat"` // 0-based
	// Concurrency is how many pods were in flight at most (0: all).
	Concurrency int `json:"concurrency"`

	Start time.Time `json:"start"`
	// Batch is the time from the first pod's request to the last pod's
	// container running.
	Batch time.Duration `json:"batchNs"`
	// Pods holds each pod's startup latency: from the batch's start to its
	// container's start as the runtime reports it.
	Pods    []PodSample `json:"pods"`
	Latency Percentiles `json:"latency"`
	// KubeletLatency is the kubelet's own pod start metric (node runs),
	// percentiles estimated from its histogram's buckets.
	KubeletLatency *Percentiles `json:"kubeletLatency,omitempty"`
	// Steady is the steady state after the batch (node runs).
	Steady *Steady `json:"steady,omitempty"`
	// Cleanup is how long removing the batch took.
	Cleanup time.Duration `json:"cleanupNs"`
	Error   string        `json:"error,omitempty"`
}

// PodSample is one pod of a batch.
type PodSample struct {
	Name    string        `json:"name"`
	Latency time.Duration `json:"latencyNs"`
}

// Percentiles of a latency distribution.
type Percentiles struct {
	P50 time.Duration `json:"p50Ns"`
	P90 time.Duration `json:"p90Ns"`
	P99 time.Duration `json:"p99Ns"`
	Max time.Duration `json:"maxNs"`
}

// Steady is the CPU and memory of each component over a window with the
// batch's pods running and the kubelet doing its periodic work.
type Steady struct {
	Duration   time.Duration `json:"durationNs"`
	Components []Component   `json:"components"`
	// Samples are the components' figures over time (every Interval).
	Interval time.Duration  `json:"intervalNs"`
	Samples  []SteadySample `json:"samples"`
	// Requests are the runtime's own request rates over the window (per
	// second), by metric and labels (e.g. dockercri's Docker calls by
	// method), when the runtime serves Prometheus metrics and was given.
	Requests map[string]float64 `json:"requestsPerSecond,omitempty"`
}

// Component is a group of processes summed the way the 2018 reference did
// ("kubelet", "dockercri", "dockerd", "containerd", "shims").
type Component struct {
	Name string `json:"name"`
	// Runtime is true for a part of the container runtime's stack (everything
	// but the kubelet).
	Runtime bool `json:"runtime"`
	// CPU is the share of one core used over the window (0.01 = 1%).
	CPU float64 `json:"cpu"`
	// RSS is the median of the summed resident set sizes over the window.
	RSS uint64 `json:"rssBytes"`
	// Processes is how many processes the component had at the end.
	Processes int `json:"processes"`
}

// SteadySample is one reading of every component.
type SteadySample struct {
	Offset time.Duration      `json:"offsetNs"`
	CPU    map[string]float64 `json:"cpu"` // share of a core since the previous sample
	RSS    map[string]uint64  `json:"rssBytes"`
}

// Reference is the 2018 containerd 1.1 GA comparison (Kubernetes node
// performance benchmark, 105 pods; Docker 18.03 + dockershim vs containerd
// 1.1), as the ratios Docker path / containerd: containerd's kubelet CPU was
// 30.89% lower, runtime CPU 68.13% lower, kubelet RSS 11.30% lower, runtime
// RSS 12.78% lower.
var Reference = map[string]float64{
	"kubelet CPU": 1 / (1 - 0.3089),
	"runtime CPU": 1 / (1 - 0.6813),
	"kubelet RSS": 1 / (1 - 0.1130),
	"runtime RSS": 1 / (1 - 0.1278),
}
