package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestChartNames(t *testing.T) {
	only := func(kinds ...string) Report {
		r := syntheticReport()
		r.Runs = slices.DeleteFunc(r.Runs, func(run Run) bool { return !slices.Contains(kinds, run.Kind) })
		return r
	}
	noBaseline := syntheticReport()
	noBaseline.Baseline = ""
	allFailed := only(KindBatch)
	for i := range allFailed.Runs {
		allFailed.Runs[i].Error = "failed"
	}

	tests := []struct {
		name string
		give Report
		want []string
	}{
		{name: "everything", give: syntheticReport(), want: []string{ChartLatency, ChartBatch, ChartCPU, ChartRSS, ChartRatios}},
		{name: "no node runs: no steady state, no reference ratios", give: only(KindBatch, KindDockerFloor), want: []string{ChartLatency, ChartBatch}},
		{name: "no baseline: no ratios chart", give: noBaseline, want: []string{ChartLatency, ChartBatch, ChartCPU, ChartRSS}},
		{name: "every run failed: nothing to draw", give: allFailed, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChartNames(Summarize(tt.give)); !slices.Equal(got, tt.want) {
				t.Errorf("ChartNames() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCharts(t *testing.T) {
	r := syntheticReport()
	dir := filepath.Join(t.TempDir(), "charts")
	paths, err := Charts(r, Summarize(r), dir)
	if err != nil {
		t.Fatalf("Charts: %v", err)
	}
	var want []string
	for _, name := range []string{ChartLatency, ChartBatch, ChartCPU, ChartRSS, ChartRatios} {
		want = append(want, filepath.Join(dir, name+".svg"), filepath.Join(dir, name+".png"))
	}
	if !slices.Equal(paths, want) {
		t.Errorf("Charts() = %q, want %q", paths, want)
	}
}

func TestWriteValidate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "out")
	s, err := Write(dir, syntheticReport())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if len(s.Groups) != 5 {
		t.Errorf("Write returned %d groups, want 5", len(s.Groups))
	}
	for _, f := range []string{ReportFile, SummaryFile, MarkdownFile, "ratios.png", "cpu.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if err := Validate(dir); err != nil {
		t.Errorf("Validate of what Write wrote: %v", err)
	}
}

func TestValidateCorrupted(t *testing.T) {
	// Write once; each case corrupts its own copy.
	written := t.TempDir()
	if _, err := Write(written, syntheticReport()); err != nil {
		t.Fatalf("Write: %v", err)
	}

	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		want    []string // substrings of the joined error
	}{
		{
			name: "p90 below p50",
			corrupt: editReport(func(r *Report) {
				r.Runs[0].Latency.P90 = r.Runs[0].Latency.P50 - 1
			}),
			want: []string{"run 0 (dockercri batch, repeat 0): latency: p50 1.2s > p90 1.199999999s", "does not match"},
		},
		{
			name:    "missing png",
			corrupt: remove("latency.png"),
			want:    []string{"latency.png: no such file"},
		},
		{
			name:    "empty png",
			corrupt: overwrite("batch.png", ""),
			want:    []string{"batch.png: empty"},
		},
		{
			name:    "svg that is not one",
			corrupt: overwrite("cpu.svg", "GIF89a"),
			want:    []string{"cpu.svg: not a SVG file"},
		},
		{
			name:    "png that is not one",
			corrupt: overwrite("rss.png", "<svg/>"),
			want:    []string{"rss.png: not a PNG file"},
		},
		{
			name:    "markdown without its table",
			corrupt: overwrite(MarkdownFile, "# cribench\n"),
			want:    []string{"report.md: no batch table"},
		},
		{
			name:    "stale summary",
			corrupt: overwrite(SummaryFile, `{"groups":[]}`),
			want:    []string{"summary.json does not match report.json"},
		},
		{
			name: "bad runs",
			corrupt: editReport(func(r *Report) {
				r.Runs[0].Kind = "bogus"
				r.Runs[1].Runtime = ""
				r.Runs[2].Batch = 0
				r.Runs[2].Pods = nil
				r.Runs[3].Steady = nil
				r.Runs[3].KubeletLatency.P99 = 0
			}),
			want: []string{
				`unknown kind "bogus"`, "no runtime name", "batch time 0s not positive", "no pods",
				"node run without a steady state", "run 3 (containerd node, repeat 0): kubelet latency: p90 2s > p99 0s",
			},
		},
		{
			name: "steady state without memory",
			corrupt: editReport(func(r *Report) {
				for i := range r.Runs[1].Steady.Components {
					r.Runs[1].Steady.Components[i].RSS = 0
				}
				r.Runs[1].Steady.Components[0].CPU = -1
			}),
			want: []string{"component kubelet: CPU -1", "component shims: 5 processes but no RSS", "no component has any RSS"},
		},
		{
			name:    "no runs",
			corrupt: editReport(func(r *Report) { r.Runs = nil }),
			want:    []string{"report.json: no runs"},
		},
		{
			name:    "report not JSON",
			corrupt: overwrite(ReportFile, "{"),
			want:    []string{"report.json: unexpected end of JSON input"},
		},
		{
			name:    "no report",
			corrupt: remove(ReportFile),
			want:    []string{"report.json: no such file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(written)); err != nil {
				t.Fatal(err)
			}
			tt.corrupt(t, dir)
			err := Validate(dir)
			if err == nil {
				t.Fatal("Validate passed a corrupted report")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate error lacks %q; got:\n%v", want, err)
				}
			}
		})
	}
}

func editReport(edit func(*Report)) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		path := filepath.Join(dir, ReportFile)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var r Report
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		edit(&r)
		if data, err = json.Marshal(r); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func remove(name string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func overwrite(name, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
