package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"dockercri/bench/report"
)

// podStartMetric is the kubelet's pod startup SLI: from the kubelet seeing a
// pod to its containers running, image pulls excluded.
const podStartMetric = "kubelet_pod_start_sli_duration_seconds"

// NodeRun is one node run's settings.
type NodeRun struct {
	Runtime  string
	Repeat   int
	Steady   time.Duration
	Interval time.Duration
	// Components are the runtime's processes; the kubelet's is added.
	Components []Matcher
	// Timeout bounds the wait for the batch's containers.
	Timeout time.Duration
	// MetricsURL, when set, is the runtime's Prometheus endpoint: its
	// request counts at both ends of the window give Steady.Requests.
	MetricsURL string
}

// Node starts the kubelet on cri's endpoint, gives it the batch as static
// pods, takes each pod's latency from its container's start as the runtime
// reports it, then samples the steady state, then removes the pods and
// stops the kubelet.
func Node(ctx context.Context, k *Kubelet, cri *CRI, w Workload, o NodeRun, tick func(string)) (run report.Run) {
	id := runID(report.KindNode, o.Runtime, o.Repeat)
	run = report.Run{Kind: report.KindNode, Runtime: o.Runtime, Endpoint: cri.Endpoint, Repeat: o.Repeat}
	fail := func(err error) report.Run { run.Error = err.Error(); return run }
	if err := k.Start(ctx); err != nil {
		return fail(err)
	}
	defer func() {
		cleanupStart := time.Now()
		if err := k.RemovePods(); err != nil && run.Error == "" {
			run.Error = err.Error()
		}
		waitGone(ctx, cri, 2*time.Minute)
		if err := k.Stop(); err != nil && run.Error == "" {
			run.Error = err.Error()
		}
		if err := cri.Remove(ctx, ""); err != nil && run.Error == "" {
			run.Error = err.Error()
		}
		run.Cleanup = time.Since(cleanupStart)
	}()
	start, err := k.AddPods(w, id)
	if err != nil {
		return fail(err)
	}
	run.Start = start
	if err := waitRunning(ctx, cri, w.Pods, start, o.Timeout, &run, tick); err != nil {
		return fail(err)
	}
	finish(&run)
	if p, err := k.podStartLatency(); err == nil {
		run.KubeletLatency = p
	}
	comps := append([]Matcher{{Name: "kubelet", Pid: k.Pid()}}, o.Components...)
	s, err := NewSampler("", comps)
	if err != nil {
		return fail(err)
	}
	before, _ := requestCounts(o.MetricsURL)
	if run.Steady, err = s.Steady(ctx, o.Steady, o.Interval, func() { tick("steady") }); err != nil {
		return fail(err)
	}
	if after, err := requestCounts(o.MetricsURL); err == nil && before != nil {
		run.Steady.Requests = rates(before, after, run.Steady.Duration)
	}
	return run
}

// requestCounts reads the request counters a runtime serves: the count of
// every histogram and the value of every counter whose name speaks of
// requests, by name and labels. nil without a URL.
func requestCounts(url string) (map[string]float64, error) {
	if url == "" {
		return nil, nil
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", url, err)
	}
	out := map[string]float64{}
	for name, f := range families {
		if !strings.Contains(name, "request") {
			continue
		}
		for _, m := range f.GetMetric() {
			key := name + labels(m.GetLabel())
			switch {
			case f.GetType() == dto.MetricType_HISTOGRAM:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			case f.GetType() == dto.MetricType_COUNTER && strings.HasSuffix(name, "_total"):
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out, nil
}

func labels(ls []*dto.LabelPair) string {
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.GetName() + "=" + l.GetValue()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// rates are the counters' growth per second over d.
func rates(before, after map[string]float64, d time.Duration) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if delta := v - before[k]; delta > 0 && d > 0 {
			out[k] = delta / d.Seconds()
		}
	}
	return out
}

// waitRunning polls the runtime until n containers of the namespace run, and
// records each pod's latency from start (the static pod's name has the node
// name appended).
func waitRunning(ctx context.Context, cri *CRI, n int, start time.Time, timeout time.Duration, run *report.Run, tick func(string)) error {
	deadline := time.Now().Add(timeout)
	seen := 0
	for {
		starts, err := cri.ContainerStarts(ctx)
		if err != nil {
			return err
		}
		for ; seen < len(starts) && seen < n; seen++ {
			tick("batch")
		}
		if len(starts) >= n {
			run.Pods = run.Pods[:0]
			for pod, at := range starts {
				run.Pods = append(run.Pods, report.PodSample{Name: pod, Latency: at.Sub(start)})
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d pods running after %s", len(starts), n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// waitGone waits until no pod of the namespace runs (the kubelet stopping
// the static pods it lost).
func waitGone(ctx context.Context, cri *CRI, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		starts, err := cri.ContainerStarts(ctx)
		if err != nil || len(starts) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// podStartLatency reads the kubelet's pod start histogram.
func (k *Kubelet) podStartLatency() (*report.Percentiles, error) {
	resp, err := k.fetch("/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("kubelet metrics: %w", err)
	}
	f, ok := families[podStartMetric]
	if !ok || len(f.GetMetric()) == 0 {
		return nil, fmt.Errorf("kubelet metrics: no %s", podStartMetric)
	}
	return histogramPercentiles(f.GetMetric()[0].GetHistogram())
}

// histogramPercentiles estimates percentiles from a histogram's cumulative
// buckets by linear interpolation inside the bucket, as Prometheus's
// histogram_quantile does.
func histogramPercentiles(h *dto.Histogram) (*report.Percentiles, error) {
	total := float64(h.GetSampleCount())
	if total == 0 {
		return nil, fmt.Errorf("empty histogram")
	}
	buckets := h.GetBucket()
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].GetUpperBound() < buckets[j].GetUpperBound() })
	q := func(p float64) time.Duration {
		rank := p * total
		lower, below := 0.0, 0.0
		for _, b := range buckets {
			upper, count := b.GetUpperBound(), float64(b.GetCumulativeCount())
			if count >= rank {
				if math.IsInf(upper, 1) {
					upper = lower
				}
				frac := 0.0
				if count > below {
					frac = (rank - below) / (count - below)
				}
				return time.Duration((lower + (upper-lower)*frac) * float64(time.Second))
			}
			lower, below = upper, count
		}
		return time.Duration(lower * float64(time.Second))
	}
	return &report.Percentiles{P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: q(1)}, nil
}
