// Package bench runs cribench's measurements: a batch of pods through a CRI
// endpoint, the same containers straight through the Docker API (the floor
// no Docker shim can beat), the batch through a real kubelet followed by a
// steady state, and the alternation of runtimes that compares them. Results
// go into a report.Report.
package bench

import (
	"fmt"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/bench/report"
)

// Namespace is the Kubernetes namespace of every pod cribench creates, and
// how its leftovers are found.
const Namespace = "cribench"

// Workload is the shape of one batch: N pods of one container each.
type Workload struct {
	Pods  int
	Image string
	// Command keeps the container running (the image's shell by default).
	Command []string
	// HostNetwork puts the pods in the host's network namespace (no CNI).
	HostNetwork bool
	// LogDir holds the pods' log directories (CRI runs).
	LogDir string
}

// command is the workload's, or a sleep long enough for any steady state.
func (w Workload) command() []string {
	if len(w.Command) > 0 {
		return w.Command
	}
	return []string{"sleep", "86400"}
}

// podName names pod i of a run: unique across runs and repeats, so that a
// runtime never sees a name of an earlier run still being removed.
func podName(run string, i int) string { return fmt.Sprintf("%s-%03d", run, i) }

// sandboxConfig is pod i's CRI sandbox config.
func (w Workload) sandboxConfig(run string, i int) *runtimeapi.PodSandboxConfig {
	name := podName(run, i)
	network, hostname := runtimeapi.NamespaceMode_POD, name
	if w.HostNetwork {
		// As the kubelet: a pod in the host's network keeps the host's
		// name (containerd refuses a hostname without a UTS namespace).
		network, hostname = runtimeapi.NamespaceMode_NODE, ""
	}
	return &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{
			Name: name, Namespace: Namespace, Uid: fmt.Sprintf("cribench-%s-%d", run, i),
		},
		Hostname:     hostname,
		LogDirectory: w.logDir(name),
		Labels:       map[string]string{"app": "cribench", "cribench.run": run},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: network},
			},
		},
	}
}

func (w Workload) logDir(pod string) string {
	if w.LogDir == "" {
		return ""
	}
	return w.LogDir + "/" + pod
}

// containerConfig is the one container of every pod.
func (w Workload) containerConfig() *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: w.Image},
		Command:  w.command(),
		LogPath:  "app.log",
		Linux:    &runtimeapi.LinuxContainerConfig{},
	}
}

// runID names a run: its kind's initial, the runtime and the repeat, and the
// time, short enough for a hostname.
func runID(kind, runtime string, repeat int) string {
	return fmt.Sprintf("%c%s%d-%s", kind[0], short(runtime), repeat, time.Now().Format("150405"))
}

func short(s string) string {
	out := make([]byte, 0, 6)
	for i := 0; i < len(s) && len(out) < 6; i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}

// finish fills a run's percentiles and batch time from its pods' latencies.
func finish(run *report.Run) {
	ds := make([]time.Duration, len(run.Pods))
	for i, p := range run.Pods {
		ds[i] = p.Latency
		run.Batch = max(run.Batch, p.Latency)
	}
	run.Latency = report.PercentilesOf(ds)
}
