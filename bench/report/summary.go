package report

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Metric names of Summary.Ratios. The four resource metrics are also the keys
// of Reference, so a ratio finds its 2018 counterpart by name.
const (
	MetricBatch      = "batch time"
	MetricP50        = "p50"
	MetricP99        = "p99"
	MetricKubeletCPU = "kubelet CPU"
	MetricRuntimeCPU = "runtime CPU"
	MetricKubeletRSS = "kubelet RSS"
	MetricRuntimeRSS = "runtime RSS"
	// MetricFloor is a CRI batch's median over the Docker-direct floor's: what
	// going through a CRI runtime costs over creating the same containers
	// straight through Docker.
	MetricFloor = "batch vs docker floor"
)

// ReferenceMetrics are the metrics Reference has figures for, in the order
// the 2018 announcement gave them.
var ReferenceMetrics = []string{MetricKubeletCPU, MetricRuntimeCPU, MetricKubeletRSS, MetricRuntimeRSS}

// ReferenceBaseline is the runtime the Reference ratios divide by. They are
// put beside ours only when the report's baseline is this runtime: with the
// Docker path as the baseline ours would be the inverse and the comparison
// misleading.
const ReferenceBaseline = "containerd"

// Summary is a Report reduced to medians over its repeats and ratios to its
// baseline runtime.
type Summary struct {
	Baseline string  `json:"baseline,omitempty"`
	Groups   []Group `json:"groups"`
	Ratios   []Ratio `json:"ratios,omitempty"`
}

// Group summarizes the runs of one kind and one runtime.
type Group struct {
	Kind    string `json:"kind"`
	Runtime string `json:"runtime"`
	// Runs counts every run of the group, failed ones included; Failed counts
	// those with an error, which no statistic below includes.
	Runs   int `json:"runs"`
	Failed int `json:"failed"`
	// Concurrency is the concurrency of each run the statistics came from, in
	// repeat order. For the Docker floor that is the best concurrency of each
	// repeat, the one with the shortest batch.
	Concurrency []int               `json:"concurrency,omitempty"`
	Batch       Stat[time.Duration] `json:"batchNs"`
	Latency     LatencyStats        `json:"latency"`
	Kubelet     *LatencyStats       `json:"kubeletLatency,omitempty"`
	Steady      *SteadyStats        `json:"steady,omitempty"`
}

// Label names the group in tables and charts.
func (g Group) Label() string { return g.Runtime + " " + g.Kind }

// Stat is the median of a figure over the repeats and its spread. N is how
// many repeats it came from; with N == 0 the other fields mean nothing.
type Stat[T number] struct {
	Median T   `json:"median"`
	Min    T   `json:"min"`
	Max    T   `json:"max"`
	N      int `json:"n"`
}

// LatencyStats are the medians over the repeats of each run's percentiles.
type LatencyStats struct {
	P50 Stat[time.Duration] `json:"p50Ns"`
	P90 Stat[time.Duration] `json:"p90Ns"`
	P99 Stat[time.Duration] `json:"p99Ns"`
}

// SteadyStats are the steady-state figures of node runs. The totals are
// medians of each run's sum, not sums of the components' medians, so that
// they describe a state that was actually observed.
type SteadyStats struct {
	Components []ComponentStats `json:"components"`
	// RuntimeCPU and RuntimeRSS sum the components with Runtime set.
	RuntimeCPU Stat[float64] `json:"runtimeCpu"`
	RuntimeRSS Stat[uint64]  `json:"runtimeRssBytes"`
	// KubeletCPU and KubeletRSS sum the others, which are the kubelet.
	KubeletCPU Stat[float64] `json:"kubeletCpu"`
	KubeletRSS Stat[uint64]  `json:"kubeletRssBytes"`
}

// ComponentStats is one component's steady state over the repeats.
type ComponentStats struct {
	Name    string        `json:"name"`
	Runtime bool          `json:"runtime"`
	CPU     Stat[float64] `json:"cpu"` // share of one core
	RSS     Stat[uint64]  `json:"rssBytes"`
}

// Ratio is Runtime's median over Over's for one metric of one run kind.
type Ratio struct {
	Metric  string  `json:"metric"`
	Kind    string  `json:"kind"`
	Runtime string  `json:"runtime"`
	Over    string  `json:"over"`
	Value   float64 `json:"value"`
	// Reference is the 2018 figure for the same metric, if there is one that
	// compares the same way.
	Reference *float64 `json:"reference,omitempty"`
}

// Group returns the group of a kind and runtime.
func (s Summary) Group(kind, runtime string) (Group, bool) {
	for _, g := range s.Groups {
		if g.Kind == kind && g.Runtime == runtime {
			return g, true
		}
	}
	return Group{}, false
}

// Ratio returns the ratio of a metric, kind and runtime.
func (s Summary) Ratio(metric, kind, runtime string) (Ratio, bool) {
	for _, r := range s.Ratios {
		if r.Metric == metric && r.Kind == kind && r.Runtime == runtime {
			return r, true
		}
	}
	return Ratio{}, false
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by nearest rank:
// always one of the samples, never an interpolation, which is what a batch
// of 105 pods can honestly claim. It returns 0 for no samples.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return nearestRank(sorted, p)
}

// PercentilesOf returns the P50, P90, P99 and maximum of ds.
func PercentilesOf(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return Percentiles{
		P50: nearestRank(sorted, 50),
		P90: nearestRank(sorted, 90),
		P99: nearestRank(sorted, 99),
		Max: sorted[len(sorted)-1],
	}
}

func nearestRank(sorted []time.Duration, p float64) time.Duration {
	// p*n/100 rather than p/100*n: the product of two integers is exact, so
	// a rank that should be whole (p=90, n=10) does not round up past it.
	rank := int(math.Ceil(p * float64(len(sorted)) / 100))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summarize reduces r to medians over its repeats and ratios to r.Baseline.
func Summarize(r Report) Summary {
	s := Summary{Baseline: r.Baseline}
	for _, runs := range groupRuns(r.Runs) {
		s.Groups = append(s.Groups, summarizeGroup(runs))
	}
	sort.SliceStable(s.Groups, func(i, j int) bool {
		a, b := s.Groups[i], s.Groups[j]
		if ka, kb := kindRank(a.Kind), kindRank(b.Kind); ka != kb {
			return ka < kb
		}
		// The baseline first, so tables read "the reference, then the rest".
		if ba, bb := a.Runtime == r.Baseline, b.Runtime == r.Baseline; ba != bb {
			return ba
		}
		return a.Runtime < b.Runtime
	})
	s.Ratios = ratios(s)
	return s
}

func kindRank(kind string) int {
	switch kind {
	case KindBatch:
		return 0
	case KindDockerFloor:
		return 1
	case KindNode:
		return 2
	}
	return 3
}

// groupRuns splits runs by kind and runtime, keeping each group's runs in
// the order they ran.
func groupRuns(runs []Run) [][]Run {
	type key struct{ kind, runtime string }
	index := map[key]int{}
	var groups [][]Run
	for _, run := range runs {
		k := key{run.Kind, run.Runtime}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], run)
	}
	return groups
}

func summarizeGroup(runs []Run) Group {
	g := Group{Kind: runs[0].Kind, Runtime: runs[0].Runtime, Runs: len(runs)}
	ok := make([]Run, 0, len(runs))
	for _, run := range runs {
		if run.Error != "" {
			g.Failed++
			continue
		}
		ok = append(ok, run)
	}
	if g.Kind == KindDockerFloor {
		ok = bestPerRepeat(ok)
	}

	var batch []time.Duration
	var latency, kubelet []Percentiles
	for _, run := range ok {
		g.Concurrency = append(g.Concurrency, run.Concurrency)
		batch = append(batch, run.Batch)
		latency = append(latency, run.Latency)
		if run.KubeletLatency != nil {
			kubelet = append(kubelet, *run.KubeletLatency)
		}
	}
	g.Batch = statOf(batch)
	g.Latency = latencyStats(latency)
	if len(kubelet) > 0 {
		k := latencyStats(kubelet)
		g.Kubelet = &k
	}
	g.Steady = steadyStats(ok)
	return g
}

// bestPerRepeat keeps, of each repeat, the run with the shortest batch: the
// floor is the best Docker can do, whatever concurrency that took.
func bestPerRepeat(runs []Run) []Run {
	best := map[int]Run{}
	for _, run := range runs {
		if b, ok := best[run.Repeat]; !ok || run.Batch < b.Batch {
			best[run.Repeat] = run
		}
	}
	out := make([]Run, 0, len(best))
	for _, run := range best {
		out = append(out, run)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Repeat < out[j].Repeat })
	return out
}

func latencyStats(ps []Percentiles) LatencyStats {
	var p50, p90, p99 []time.Duration
	for _, p := range ps {
		p50 = append(p50, p.P50)
		p90 = append(p90, p.P90)
		p99 = append(p99, p.P99)
	}
	return LatencyStats{P50: statOf(p50), P90: statOf(p90), P99: statOf(p99)}
}

// steadyStats returns nil when no run has a steady state (every kind but
// node).
func steadyStats(runs []Run) *SteadyStats {
	type series struct {
		runtime bool
		cpu     []float64
		rss     []uint64
	}
	var names []string
	byName := map[string]*series{}
	var rtCPU, kCPU []float64
	var rtRSS, kRSS []uint64
	for _, run := range runs {
		if run.Steady == nil {
			continue
		}
		var rc, kc float64
		var rr, kr uint64
		for _, c := range run.Steady.Components {
			sr, ok := byName[c.Name]
			if !ok {
				sr = &series{runtime: c.Runtime}
				byName[c.Name] = sr
				names = append(names, c.Name)
			}
			sr.cpu = append(sr.cpu, c.CPU)
			sr.rss = append(sr.rss, c.RSS)
			if c.Runtime {
				rc, rr = rc+c.CPU, rr+c.RSS
			} else {
				kc, kr = kc+c.CPU, kr+c.RSS
			}
		}
		rtCPU, rtRSS = append(rtCPU, rc), append(rtRSS, rr)
		kCPU, kRSS = append(kCPU, kc), append(kRSS, kr)
	}
	if len(rtCPU) == 0 {
		return nil
	}
	st := &SteadyStats{
		RuntimeCPU: statOf(rtCPU), RuntimeRSS: statOf(rtRSS),
		KubeletCPU: statOf(kCPU), KubeletRSS: statOf(kRSS),
	}
	for _, name := range names {
		sr := byName[name]
		st.Components = append(st.Components, ComponentStats{
			Name: name, Runtime: sr.runtime, CPU: statOf(sr.cpu), RSS: statOf(sr.rss),
		})
	}
	return st
}
