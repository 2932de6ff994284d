package report

import (
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	r := syntheticReport()
	r.Runs = append(r.Runs, Run{
		Kind: KindBatch, Runtime: "dockercri", Repeat: 2, Error: "pull failed: a | b\nretrying",
	})
	md := Markdown(r, Summarize(r))

	tests := []struct {
		name string
		want string
	}{
		{name: "title", want: "# cribench: CRI runtime startup and steady state\n"},
		{name: "host and config", want: "Host node-1 (kernel 6.8.0, 2 CPUs, 8.0 GiB RAM). 5 pods × 2 repeats, image registry.k8s.io/pause:3.10, CRI concurrency all, steady window 1m0s, Docker floor concurrency 1, all, baseline containerd.\n"},
		{name: "command keeps its pipe in a code span", want: "Command: `cribench compare --pods 5 --repeats 2 --filter 'a|b'`\n"},
		{name: "batch header", want: BatchTableHeader + "\n|---|---|---|---|---|---|---|\n"},
		{name: "baseline batch row", want: "| containerd | batch | 1.05 (1.00–1.10) | 0.63 | 1.05 | 1.05 | 2 |\n"},
		{name: "failures counted", want: "| dockercri | batch | 2.10 (2.00–2.20) | 1.26 | 2.10 | 2.10 | 3 (1 failed) |\n"},
		{name: "floor names its best concurrency", want: "| docker | docker-floor (best c=all, all) | 0.70 (0.70–0.70) | 0.42 | 0.70 | 0.70 | 4 |\n"},
		{name: "node row", want: "| dockercri | node | 4.10 (4.00–4.20) |"},
		{name: "kubelet latency", want: "| dockercri | node | 2.00 (2.00–2.00) | 4.00 (4.00–4.00) | 6.00 (6.00–6.00) |\n"},
		{name: "steady title", want: "## Steady state (5 pods, 1m0s)\n"},
		{name: "component", want: "| dockercri | dockerd | 2.00 (2.00–2.00) | 80.0 (80.0–80.0) |\n"},
		{name: "runtime total", want: "| dockercri | **runtime total** | 4.50 (4.50–4.50) | 200.0 (200.0–200.0) |\n"},
		{name: "kubelet", want: "| dockercri | kubelet | 4.00 (4.00–4.00) | 120.0 (120.0–120.0) |\n"},
		{name: "ratios header", want: "| metric | ours (runtime/baseline) | 2018 reference |\n"},
		{name: "ratio with reference", want: "| runtime CPU (node) | 3.00× (dockercri/containerd) | 3.14× |\n"},
		{name: "ratio without reference", want: "| p99 (batch) | 2.00× (dockercri/containerd) | — |\n"},
		{name: "floor ratio", want: "| batch vs docker floor (batch) | 3.00× (dockercri/docker floor) | — |\n"},
		{name: "failure escaped on one line", want: "- dockercri batch, repeat 2, concurrency all: pull failed: a \\| b retrying\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(md, tt.want) {
				t.Errorf("report lacks %q; report:\n%s", tt.want, md)
			}
		})
	}
}

func TestMarkdownWithoutNodeRuns(t *testing.T) {
	r := Report{Runs: []Run{run(KindBatch, "dockercri", 0, 0, sec, "")}}
	md := Markdown(r, Summarize(r))
	for _, absent := range []string{"## Steady state", "## Ratios", "## Kubelet", "## Failed runs"} {
		if strings.Contains(md, absent) {
			t.Errorf("report has %q with nothing to put in it", absent)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{give: "plain", want: "plain"},
		{give: "a|b", want: `a\|b`},
		{give: "line\nbreak\r\n  and  spaces", want: "line break and spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			if got := escape(tt.give); got != tt.want {
				t.Errorf("escape(%q) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}

func TestCodeSpan(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{give: "cribench run", want: "`cribench run`"},
		{give: "echo `date`", want: "`` echo `date` ``"},
		{give: "a ``b``", want: "``` a ``b`` ```"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			if got := codeSpan(tt.give); got != tt.want {
				t.Errorf("codeSpan(%q) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}
