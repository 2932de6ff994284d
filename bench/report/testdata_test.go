package report

import (
	"fmt"
	"time"
)

const (
	mib1 = 1 << 20
	sec  = time.Second
	ms   = time.Millisecond
)

// syntheticReport is two runtimes × two repeats of batch and node runs, and a
// Docker floor tried at two concurrencies per repeat: every table and chart
// has something to show.
func syntheticReport() Report {
	r := Report{
		Started:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Finished: time.Date(2026, 1, 2, 3, 34, 5, 0, time.UTC),
		Command:  "cribench compare --pods 5 --repeats 2 --filter 'a|b'",
		Host:     Host{Hostname: "node-1", Kernel: "6.8.0", CPUs: 2, MemBytes: 8 << 30},
		Config: Config{
			Pods: 5, Repeats: 2, Steady: time.Minute, Image: "registry.k8s.io/pause:3.10",
			FloorConcurrency: []int{1, 0},
		},
		Baseline: "containerd",
	}
	for repeat := range 2 {
		for _, rt := range []string{"dockercri", "containerd"} {
			// dockercri is made twice as slow, so its ratios are about 2.
			scale := time.Duration(1)
			if rt == "dockercri" {
				scale = 2
			}
			b := batchRun(KindBatch, rt, repeat, 0, scale*(sec+time.Duration(repeat)*100*ms))
			r.Runs = append(r.Runs, b)
			n := batchRun(KindNode, rt, repeat, 0, scale*(2*sec+time.Duration(repeat)*100*ms))
			n.KubeletLatency = &Percentiles{P50: scale * sec, P90: scale * 2 * sec, P99: scale * 3 * sec}
			n.Steady = steady(rt, float64(scale))
			r.Runs = append(r.Runs, n)
		}
		r.Runs = append(r.Runs,
			batchRun(KindDockerFloor, "docker", repeat, 1, 900*ms),
			batchRun(KindDockerFloor, "docker", repeat, 0, 700*ms))
	}
	return r
}

// batchRun makes a run of 5 pods started evenly over its batch time.
func batchRun(kind, runtime string, repeat, concurrency int, batch time.Duration) Run {
	run := Run{
		Kind: kind, Runtime: runtime, Repeat: repeat, Concurrency: concurrency,
		Endpoint: "unix:///run/" + runtime + ".sock", Batch: batch,
	}
	var ds []time.Duration
	for i := range 5 {
		d := batch * time.Duration(i+1) / 5
		run.Pods = append(run.Pods, PodSample{Name: fmt.Sprintf("pod-%d", i), Latency: d})
		ds = append(ds, d)
	}
	run.Latency = PercentilesOf(ds)
	return run
}

func steady(runtime string, scale float64) *Steady {
	comps := []Component{{Name: "kubelet", CPU: 0.02 * scale, RSS: uint64(60*scale) * mib1, Processes: 1}}
	if runtime == "dockercri" {
		comps = append(comps,
			Component{Name: "dockercri", Runtime: true, CPU: 0.01, RSS: 30 * mib1, Processes: 1},
			Component{Name: "dockerd", Runtime: true, CPU: 0.02, RSS: 80 * mib1, Processes: 1})
	}
	comps = append(comps,
		Component{Name: "containerd", Runtime: true, CPU: 0.01, RSS: 40 * mib1, Processes: 1},
		Component{Name: "shims", Runtime: true, CPU: 0.005, RSS: 50 * mib1, Processes: 5})
	return &Steady{Duration: time.Minute, Components: comps, Interval: 10 * time.Second}
}
