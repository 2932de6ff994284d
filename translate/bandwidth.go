package translate

import (
	"math"
	"strconv"
	"strings"
)

// Pod annotations that ask the CNI bandwidth plugin for a rate limit, in
// bits per second as a Kubernetes quantity ("10M", "1Gi").
const (
	AnnotationIngressBandwidth = "kubernetes.io/ingress-bandwidth"
	AnnotationEgressBandwidth  = "kubernetes.io/egress-bandwidth"
)

// The kubelet's bounds for those annotations.
const (
	minBandwidth = 1_000
	maxBandwidth = 1_000_000_000_000_000
)

// Bandwidth reads the ingress and egress rates from a pod's annotations
// (0 when absent).
func Bandwidth(annotations map[string]string) (ingress, egress uint64, err error) {
	if v, ok := annotations[AnnotationIngressBandwidth]; ok {
		if ingress, err = bandwidthValue(AnnotationIngressBandwidth, v); err != nil {
			return 0, 0, err
		}
	}
	if v, ok := annotations[AnnotationEgressBandwidth]; ok {
		if egress, err = bandwidthValue(AnnotationEgressBandwidth, v); err != nil {
			return 0, 0, err
		}
	}
	return ingress, egress, nil
}

// BandwidthBurst is the burst the kubelet gave the plugin with a rate: as
// large as the plugin takes, so the rate alone shapes the traffic.
func BandwidthBurst(rate uint64) uint64 {
	if rate == 0 {
		return 0
	}
	return math.MaxInt32
}

var quantitySuffixes = []struct {
	suffix string
	mult   float64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
}

func bandwidthValue(key, v string) (uint64, error) {
	num, mult := strings.TrimSpace(v), 1.0
	for _, s := range quantitySuffixes {
		if strings.HasSuffix(num, s.suffix) {
			num, mult = strings.TrimSuffix(num, s.suffix), s.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || num == "" || strings.ContainsAny(num, "eEx") {
		return 0, cfgInvalid("annotation %s=%q is not a quantity", key, v)
	}
	bits := f * mult
	if bits < minBandwidth || bits > maxBandwidth {
		return 0, cfgInvalid("annotation %s=%q is outside [1k, 1P] bits per second", key, v)
	}
	return uint64(bits), nil
}
