package report

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	oneToTen := []time.Duration{7, 3, 10, 1, 9, 2, 8, 4, 6, 5} // unsorted on purpose
	oneTo105 := make([]time.Duration, 105)
	for i := range oneTo105 {
		oneTo105[i] = time.Duration(i + 1)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(oneTo105), func(i, j int) {
		oneTo105[i], oneTo105[j] = oneTo105[j], oneTo105[i]
	})

	tests := []struct {
		name string
		give []time.Duration
		p    float64
		want time.Duration
	}{
		{name: "no samples", give: nil, p: 50, want: 0},
		{name: "one sample", give: []time.Duration{42}, p: 99, want: 42},
		{name: "p50 of 10", give: oneToTen, p: 50, want: 5},
		{name: "p90 of 10 is exactly rank 9", give: oneToTen, p: 90, want: 9},
		{name: "p99 of 10", give: oneToTen, p: 99, want: 10},
		{name: "p100 is the max", give: oneToTen, p: 100, want: 10},
		{name: "p0 clamps to the min", give: oneToTen, p: 0, want: 1},
		{name: "above 100 clamps to the max", give: oneToTen, p: 150, want: 10},
		{name: "p50 of 105 pods", give: oneTo105, p: 50, want: 53},
		{name: "p90 of 105 pods", give: oneTo105, p: 90, want: 95},
		{name: "p99 of 105 pods", give: oneTo105, p: 99, want: 104},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.give)
			if got := Percentile(tt.give, tt.p); got != tt.want {
				t.Errorf("Percentile(p=%v) = %v, want %v", tt.p, got, tt.want)
			}
			if !slices.Equal(tt.give, before) {
				t.Errorf("Percentile sorted its input in place")
			}
		})
	}
}

func TestPercentilesOf(t *testing.T) {
	tests := []struct {
		name string
		give []time.Duration
		want Percentiles
	}{
		{name: "empty", give: nil, want: Percentiles{}},
		{
			name: "ten",
			give: []time.Duration{7, 3, 10, 1, 9, 2, 8, 4, 6, 5},
			want: Percentiles{P50: 5, P90: 9, P99: 10, Max: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PercentilesOf(tt.give); got != tt.want {
				t.Errorf("PercentilesOf() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// groupView is the part of a Group TestSummarizeGroups checks.
type groupView struct {
	Label       string
	Runs        int
	Failed      int
	Concurrency []int
	Batch       Stat[time.Duration]
	P50         Stat[time.Duration]
}

func viewOf(g Group) groupView {
	return groupView{
		Label: g.Label(), Runs: g.Runs, Failed: g.Failed, Concurrency: g.Concurrency,
		Batch: g.Batch, P50: g.Latency.P50,
	}
}

// run is a batch run whose p50 is half its batch time.
func run(kind, runtime string, repeat, concurrency int, batch time.Duration, err string) Run {
	return Run{
		Kind: kind, Runtime: runtime, Repeat: repeat, Concurrency: concurrency, Batch: batch,
		Latency: Percentiles{P50: batch / 2, P90: batch, P99: batch, Max: batch}, Error: err,
	}
}

func TestSummarizeGroups(t *testing.T) {
	oneSec := Stat[time.Duration]{Median: sec, Min: sec, Max: sec, N: 1}
	halfSec := Stat[time.Duration]{Median: sec / 2, Min: sec / 2, Max: sec / 2, N: 1}
	tests := []struct {
		name string
		give []Run
		want []groupView
	}{
		{
			name: "odd count takes the middle",
			give: []Run{
				run(KindBatch, "dockercri", 0, 0, 3*sec, ""),
				run(KindBatch, "dockercri", 1, 0, 1*sec, ""),
				run(KindBatch, "dockercri", 2, 0, 2*sec, ""),
			},
			want: []groupView{{
				Label: "dockercri batch", Runs: 3, Concurrency: []int{0, 0, 0},
				Batch: Stat[time.Duration]{Median: 2 * sec, Min: sec, Max: 3 * sec, N: 3},
				P50:   Stat[time.Duration]{Median: sec, Min: sec / 2, Max: 3 * sec / 2, N: 3},
			}},
		},
		{
			name: "even count takes the mean of the middle two",
			give: []Run{
				run(KindBatch, "containerd", 0, 0, 10*sec, ""),
				run(KindBatch, "containerd", 1, 0, 1*sec, ""),
				run(KindBatch, "containerd", 2, 0, 4*sec, ""),
				run(KindBatch, "containerd", 3, 0, 2*sec, ""),
			},
			want: []groupView{{
				Label: "containerd batch", Runs: 4, Concurrency: []int{0, 0, 0, 0},
				Batch: Stat[time.Duration]{Median: 3 * sec, Min: sec, Max: 10 * sec, N: 4},
				P50:   Stat[time.Duration]{Median: 3 * sec / 2, Min: sec / 2, Max: 5 * sec, N: 4},
			}},
		},
		{
			name: "failed runs are counted but left out",
			give: []Run{
				run(KindBatch, "dockercri", 0, 0, 1*sec, ""),
				run(KindBatch, "dockercri", 1, 0, 100*sec, "timed out"),
				run(KindBatch, "dockercri", 2, 0, 3*sec, ""),
			},
			want: []groupView{{
				Label: "dockercri batch", Runs: 3, Failed: 1, Concurrency: []int{0, 0},
				Batch: Stat[time.Duration]{Median: 2 * sec, Min: sec, Max: 3 * sec, N: 2},
				P50:   Stat[time.Duration]{Median: sec, Min: sec / 2, Max: 3 * sec / 2, N: 2},
			}},
		},
		{
			name: "all failed leaves no samples",
			give: []Run{
				run(KindNode, "dockercri", 0, 0, 0, "kubelet died"),
				run(KindNode, "dockercri", 1, 0, 0, "kubelet died"),
			},
			want: []groupView{{Label: "dockercri node", Runs: 2, Failed: 2}},
		},
		{
			name: "docker floor keeps each repeat's best concurrency",
			give: []Run{
				run(KindDockerFloor, "docker", 0, 10, 5*sec, ""),
				run(KindDockerFloor, "docker", 0, 0, 4*sec, ""),
				run(KindDockerFloor, "docker", 1, 10, 3*sec, ""),
				run(KindDockerFloor, "docker", 1, 0, 6*sec, ""),
				run(KindDockerFloor, "docker", 1, 0, sec, "daemon restarted"),
			},
			want: []groupView{{
				Label: "docker docker-floor", Runs: 5, Failed: 1, Concurrency: []int{0, 10},
				Batch: Stat[time.Duration]{Median: 7 * sec / 2, Min: 3 * sec, Max: 4 * sec, N: 2},
				P50:   Stat[time.Duration]{Median: 7 * sec / 4, Min: 3 * sec / 2, Max: 2 * sec, N: 2},
			}},
		},
		{
			name: "groups are ordered by kind, then runtime",
			give: []Run{
				run(KindNode, "b", 0, 0, sec, ""),
				run(KindDockerFloor, "docker", 0, 0, sec, ""),
				run(KindBatch, "b", 0, 0, sec, ""),
				run(KindBatch, "a", 0, 0, sec, ""),
			},
			want: []groupView{
				{Label: "a batch", Runs: 1, Concurrency: []int{0}, Batch: oneSec, P50: halfSec},
				{Label: "b batch", Runs: 1, Concurrency: []int{0}, Batch: oneSec, P50: halfSec},
				{Label: "docker docker-floor", Runs: 1, Concurrency: []int{0}, Batch: oneSec, P50: halfSec},
				{Label: "b node", Runs: 1, Concurrency: []int{0}, Batch: oneSec, P50: halfSec},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(Report{Runs: tt.give})
			var got []groupView
			for _, g := range s.Groups {
				got = append(got, viewOf(g))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("groups:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSummarizeBaselineFirst(t *testing.T) {
	s := Summarize(syntheticReport())
	var got []string
	for _, g := range s.Groups {
		got = append(got, g.Label())
	}
	want := []string{
		"containerd batch", "dockercri batch", "docker docker-floor", "containerd node", "dockercri node",
	}
	if !slices.Equal(got, want) {
		t.Errorf("group order = %q, want %q", got, want)
	}
}

func TestSummarizeSteady(t *testing.T) {
	node := func(repeat int, kubeletCPU float64, kubeletRSS uint64, withShims bool) Run {
		r := run(KindNode, "containerd", repeat, 0, sec, "")
		r.Steady = &Steady{Components: []Component{
			{Name: "kubelet", CPU: kubeletCPU, RSS: kubeletRSS},
			{Name: "containerd", Runtime: true, CPU: 0.01, RSS: 40 * mib1},
		}}
		if withShims {
			r.Steady.Components = append(r.Steady.Components,
				Component{Name: "shims", Runtime: true, CPU: 0.02, RSS: 10 * mib1})
		}
		return r
	}
	s := Summarize(Report{Runs: []Run{
		node(0, 0.01, 10*mib1, true),
		node(1, 0.03, 21*mib1, false),
		run(KindNode, "containerd", 2, 0, 0, "no steady state: failed"),
	}})
	st := s.Groups[0].Steady
	if st == nil {
		t.Fatal("no steady stats")
	}

	tests := []struct {
		name string
		give float64
		want float64
	}{
		{name: "kubelet CPU: mean of two", give: st.KubeletCPU.Median, want: 0.02},
		{name: "kubelet RSS: mean of two", give: float64(st.KubeletRSS.Median), want: 15.5 * mib1},
		{name: "runtime CPU: median of per-run sums", give: st.RuntimeCPU.Median, want: 0.02},
		{name: "runtime CPU: min", give: st.RuntimeCPU.Min, want: 0.01},
		{name: "runtime RSS: median of per-run sums", give: float64(st.RuntimeRSS.Median), want: 45 * mib1},
		{name: "components in order", give: float64(len(st.Components)), want: 3},
		{name: "a component missing from a run has fewer samples", give: float64(st.Components[2].CPU.N), want: 1},
		{name: "shims median over its one sample", give: st.Components[2].CPU.Median, want: 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !approx(tt.give, tt.want) {
				t.Errorf("got %v, want %v", tt.give, tt.want)
			}
		})
	}
	if names := []string{st.Components[0].Name, st.Components[1].Name, st.Components[2].Name}; !slices.Equal(names, []string{"kubelet", "containerd", "shims"}) {
		t.Errorf("components = %q", names)
	}
}

func TestSummarizeRatios(t *testing.T) {
	ref := func(metric string) *float64 {
		v := Reference[metric]
		return &v
	}
	floor := []Ratio{
		{Metric: MetricFloor, Kind: KindBatch, Runtime: "containerd", Over: "docker floor", Value: 1.5},
		{Metric: MetricFloor, Kind: KindBatch, Runtime: "dockercri", Over: "docker floor", Value: 3},
	}
	withBaseline := func(b string) Report {
		r := syntheticReport()
		r.Baseline = b
		return r
	}
	baselineFailed := syntheticReport()
	for i := range baselineFailed.Runs {
		if baselineFailed.Runs[i].Runtime == "containerd" && baselineFailed.Runs[i].Kind == KindBatch {
			baselineFailed.Runs[i].Error = "failed"
		}
	}

	tests := []struct {
		name string
		give Report
		want []Ratio
	}{
		{
			name: "containerd baseline gets the 2018 reference",
			give: syntheticReport(),
			want: append([]Ratio{
				{Metric: MetricBatch, Kind: KindBatch, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricP50, Kind: KindBatch, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricP99, Kind: KindBatch, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricBatch, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricP50, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricP99, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricKubeletCPU, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2, Reference: ref(MetricKubeletCPU)},
				{Metric: MetricRuntimeCPU, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 3, Reference: ref(MetricRuntimeCPU)},
				{Metric: MetricKubeletRSS, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2, Reference: ref(MetricKubeletRSS)},
				{Metric: MetricRuntimeRSS, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 200.0 / 90, Reference: ref(MetricRuntimeRSS)},
			}, floor...),
		},
		{
			name: "another baseline gets no reference, which would read inverted",
			give: withBaseline("dockercri"),
			want: []Ratio{
				{Metric: MetricBatch, Kind: KindBatch, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricP50, Kind: KindBatch, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricP99, Kind: KindBatch, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricBatch, Kind: KindNode, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricP50, Kind: KindNode, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricP99, Kind: KindNode, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricKubeletCPU, Kind: KindNode, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricRuntimeCPU, Kind: KindNode, Runtime: "containerd", Over: "dockercri", Value: 1.0 / 3},
				{Metric: MetricKubeletRSS, Kind: KindNode, Runtime: "containerd", Over: "dockercri", Value: 0.5},
				{Metric: MetricRuntimeRSS, Kind: KindNode, Runtime: "containerd", Over: "dockercri", Value: 90.0 / 200},
				// The baseline's group comes first, so its floor ratio does too.
				floor[1], floor[0],
			},
		},
		{name: "no baseline: only the floor", give: withBaseline(""), want: floor},
		{name: "baseline not in the report: only the floor", give: withBaseline("cri-o"), want: floor},
		{
			name: "baseline without samples gives no ratio of that kind",
			give: baselineFailed,
			want: []Ratio{
				{Metric: MetricBatch, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricP50, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricP99, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2},
				{Metric: MetricKubeletCPU, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2, Reference: ref(MetricKubeletCPU)},
				{Metric: MetricRuntimeCPU, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 3, Reference: ref(MetricRuntimeCPU)},
				{Metric: MetricKubeletRSS, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 2, Reference: ref(MetricKubeletRSS)},
				{Metric: MetricRuntimeRSS, Kind: KindNode, Runtime: "dockercri", Over: "containerd", Value: 200.0 / 90, Reference: ref(MetricRuntimeRSS)},
				floor[1],
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.give).Ratios
			if !ratiosEqual(got, tt.want) {
				t.Errorf("ratios:\n got %s\nwant %s", ratiosString(got), ratiosString(tt.want))
			}
		})
	}
}

func TestStatOfUnsigned(t *testing.T) {
	// The mean of the middle two must not overflow near the type's maximum.
	big := uint64(math.MaxUint64 - 1)
	got := statOf([]uint64{big, big - 2})
	if want := big - 1; got.Median != want {
		t.Errorf("median = %d, want %d", got.Median, want)
	}
}

func approx(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func ratiosEqual(a, b []Ratio) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Metric != y.Metric || x.Kind != y.Kind || x.Runtime != y.Runtime || x.Over != y.Over ||
			!approx(x.Value, y.Value) || (x.Reference == nil) != (y.Reference == nil) ||
			(x.Reference != nil && !approx(*x.Reference, *y.Reference)) {
			return false
		}
	}
	return true
}

func ratiosString(rs []Ratio) string {
	s := "["
	for _, r := range rs {
		ref := "-"
		if r.Reference != nil {
			ref = fmtFloat(*r.Reference)
		}
		s += "\n  " + r.Metric + "/" + r.Kind + " " + r.Runtime + "/" + r.Over + "=" + fmtFloat(r.Value) + " ref=" + ref
	}
	return s + "\n]"
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }
