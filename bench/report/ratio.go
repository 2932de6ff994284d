package report

// ratios computes every runtime's ratios to the baseline of the same kind,
// and every CRI batch's ratio to the Docker floor.
func ratios(s Summary) []Ratio {
	var out []Ratio
	if s.Baseline != "" {
		for _, g := range s.Groups {
			if g.Runtime == s.Baseline || g.Kind == KindDockerFloor {
				continue
			}
			if base, ok := s.Group(g.Kind, s.Baseline); ok {
				out = append(out, baselineRatios(g, base, s.Baseline == ReferenceBaseline)...)
			}
		}
	}
	return append(out, floorRatios(s)...)
}

// baselineRatios compares g to the baseline's group of the same kind.
func baselineRatios(g, base Group, withReference bool) []Ratio {
	var out []Ratio
	// add is curried so that it takes ratioOf's two results directly.
	add := func(metric string) func(float64, bool) {
		return func(v float64, ok bool) {
			if !ok {
				return
			}
			r := Ratio{Metric: metric, Kind: g.Kind, Runtime: g.Runtime, Over: base.Runtime, Value: v}
			if ref, found := Reference[metric]; found && withReference {
				r.Reference = &ref
			}
			out = append(out, r)
		}
	}
	add(MetricBatch)(ratioOf(g.Batch, base.Batch))
	add(MetricP50)(ratioOf(g.Latency.P50, base.Latency.P50))
	add(MetricP99)(ratioOf(g.Latency.P99, base.Latency.P99))
	if g.Steady == nil || base.Steady == nil {
		return out
	}
	add(MetricKubeletCPU)(ratioOf(g.Steady.KubeletCPU, base.Steady.KubeletCPU))
	add(MetricRuntimeCPU)(ratioOf(g.Steady.RuntimeCPU, base.Steady.RuntimeCPU))
	add(MetricKubeletRSS)(ratioOf(g.Steady.KubeletRSS, base.Steady.KubeletRSS))
	add(MetricRuntimeRSS)(ratioOf(g.Steady.RuntimeRSS, base.Steady.RuntimeRSS))
	return out
}

// floorRatios divides each CRI batch's median by the Docker floor's, the best
// concurrency of each repeat. Every CRI runtime gets one, not only dockercri:
// a runtime beating the floor says the floor's Docker path is the slow part.
func floorRatios(s Summary) []Ratio {
	var out []Ratio
	for _, floor := range s.Groups {
		if floor.Kind != KindDockerFloor {
			continue
		}
		for _, g := range s.Groups {
			if g.Kind != KindBatch {
				continue
			}
			if v, ok := ratioOf(g.Batch, floor.Batch); ok {
				out = append(out, Ratio{
					Metric: MetricFloor, Kind: KindBatch, Runtime: g.Runtime,
					Over: floor.Runtime + " floor", Value: v,
				})
			}
		}
	}
	return out
}
