package main

import (
	"slices"
	"strings"
	"testing"

	"dockercri/bench"
	"dockercri/bench/report"
)

func TestTargets(t *testing.T) {
	tests := []struct {
		name      string
		runtimes  []string
		processes []string
		flags     []string
		metrics   []string
		want      string // name:components:flags per target, or the error's text
	}{
		{
			name:     "two runtimes with their processes",
			runtimes: []string{"dockercri=unix:///a.sock", "containerd=unix:///b.sock"},
			processes: []string{"dockercri/dockerd=pidfile:/d.pid", "containerd/shims=cmd:shim",
				"dockercri/dockercri=pid:7"},
			flags: []string{"containerd=--containerd=/b.sock"},
			want:  "dockercri:dockerd=pidfile:/d.pid,dockercri=pid:7: containerd:shims=cmd:shim:--containerd=/b.sock",
		},
		{name: "no endpoint", runtimes: []string{"x"}, want: "want NAME=ENDPOINT"},
		{name: "twice", runtimes: []string{"x=/a", "x=/b"}, want: "given twice"},
		{name: "process of an unknown runtime", runtimes: []string{"x=/a"}, processes: []string{"y/p=pid:1"}, want: "RUNTIME one of --runtime"},
		{name: "bad process", runtimes: []string{"x=/a"}, processes: []string{"x/p=pid:no"}, want: "bad pid"},
		{name: "metrics of an unknown runtime", runtimes: []string{"x=/a"}, metrics: []string{"y=http://h/metrics"}, want: "--metrics"},
		{name: "metrics not a URL", runtimes: []string{"x=/a"}, metrics: []string{"x=h:1"}, want: "--metrics"},
		{name: "flag of an unknown runtime", runtimes: []string{"x=/a"}, flags: []string{"--v=2"}, want: "RUNTIME one of --runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := targets(tt.runtimes, tt.processes, tt.flags, tt.metrics)
			got := ""
			if err != nil {
				got = err.Error()
			}
			var parts []string
			for _, tg := range ts {
				var comps []string
				for _, c := range tg.Components {
					comps = append(comps, c.String())
				}
				parts = append(parts, tg.Name+":"+strings.Join(comps, ",")+":"+strings.Join(tg.KubeletFlags, ","))
			}
			if err == nil {
				got = strings.Join(parts, " ")
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	one := []bench.Target{{Name: "x", Endpoint: "/a"}}
	tests := []struct {
		cmd     string
		give    bench.Plan
		want    []string
		wantErr string
	}{
		{cmd: "batch", give: bench.Plan{Targets: one}, want: []string{report.KindBatch}},
		{cmd: "batch", wantErr: "--runtime"},
		{cmd: "docker-floor", give: bench.Plan{Docker: "unix:///d.sock"}, want: []string{report.KindDockerFloor}},
		{cmd: "docker-floor", wantErr: "--docker-endpoint"},
		{cmd: "node", give: bench.Plan{Targets: one}, wantErr: "--kubelet"},
		{cmd: "compare", give: bench.Plan{Targets: one}, want: []string{report.KindBatch}},
		{cmd: "compare", give: bench.Plan{Targets: one, Docker: "d", Kubelet: "k"}, want: []string{report.KindBatch, report.KindDockerFloor, report.KindNode}},
	}
	for _, tt := range tests {
		got, err := kinds(tt.cmd, tt.give)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("kinds(%s) error %v, want %q", tt.cmd, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("kinds(%s) = %v, %v; want %v", tt.cmd, got, err, tt.want)
		}
	}
}

func TestInts(t *testing.T) {
	tests := []struct {
		give string
		want []int
		err  bool
	}{
		{give: "0,16", want: []int{0, 16}},
		{give: " 8 ", want: []int{8}},
		{give: "", want: []int{0}},
		{give: "a", err: true},
		{give: "-1", err: true},
	}
	for _, tt := range tests {
		got, err := ints(tt.give)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("ints(%q) = %v, %v", tt.give, got, err)
		}
	}
}
