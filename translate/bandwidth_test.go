package translate

import (
	"errors"
	"testing"
)

func TestBandwidth(t *testing.T) {
	tests := []struct {
		name        string
		give        map[string]string
		wantIn      uint64
		wantOut     uint64
		wantInvalid bool
	}{
		{name: "none", give: nil},
		{name: "decimal suffix", give: map[string]string{AnnotationIngressBandwidth: "10M"}, wantIn: 10_000_000},
		{name: "binary suffix", give: map[string]string{AnnotationEgressBandwidth: "1Gi"}, wantOut: 1 << 30},
		{name: "plain and fraction", give: map[string]string{AnnotationIngressBandwidth: "2000", AnnotationEgressBandwidth: "1.5k"}, wantIn: 2000, wantOut: 1500},
		{name: "below 1k", give: map[string]string{AnnotationIngressBandwidth: "999"}, wantInvalid: true},
		{name: "above 1P", give: map[string]string{AnnotationEgressBandwidth: "2P"}, wantInvalid: true},
		{name: "garbage", give: map[string]string{AnnotationIngressBandwidth: "fast"}, wantInvalid: true},
		{name: "exponent smuggled", give: map[string]string{AnnotationIngressBandwidth: "1e9"}, wantInvalid: true},
		{name: "negative", give: map[string]string{AnnotationIngressBandwidth: "-10M"}, wantInvalid: true},
		{name: "empty", give: map[string]string{AnnotationIngressBandwidth: ""}, wantInvalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, out, err := Bandwidth(tt.give)
			if tt.wantInvalid {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil || in != tt.wantIn || out != tt.wantOut {
				t.Fatalf("Bandwidth = %d, %d, %v; want %d, %d", in, out, err, tt.wantIn, tt.wantOut)
			}
		})
	}
	if BandwidthBurst(0) != 0 || BandwidthBurst(1000) == 0 {
		t.Fatal("BandwidthBurst: a rate gets a burst, no rate none")
	}
}
