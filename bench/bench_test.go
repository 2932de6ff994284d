package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		give    string
		want    string // String() of the result
		wantErr string
	}{
		{give: "dockerd=pidfile:/run/d.pid", want: "dockerd=pidfile:/run/d.pid"},
		{give: "kubelet=pid:42", want: "kubelet=pid:42"},
		{give: "shims=cmd:^containerd-shim .*-address /a( |$)", want: "shims=cmd:^containerd-shim .*-address /a( |$)"},
		{give: "shims=cmd:a=b", want: "shims=cmd:a=b"},
		{give: "nokind", wantErr: "want NAME="},
		{give: "=pid:1", wantErr: "want NAME="},
		{give: "x=pid:zero", wantErr: "bad pid"},
		{give: "x=pid:-1", wantErr: "bad pid"},
		{give: "x=cmd:(", wantErr: "missing closing"},
		{give: "x=exe:/bin/x", wantErr: "unknown kind"},
	}
	for _, tt := range tests {
		m, err := ParseMatcher(tt.give)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseMatcher(%q) = %v, want error with %q", tt.give, err, tt.wantErr)
			}
			continue
		}
		if err != nil || m.String() != tt.want || !m.Runtime {
			t.Errorf("ParseMatcher(%q) = %v (runtime %t), %v; want %s", tt.give, m, m.Runtime, err, tt.want)
		}
	}
}

// writeProc writes a process into a fake /proc: its command line and a stat
// line with utime/stime in clock ticks (USER_HZ 100) and rss in pages.
func writeProc(t *testing.T, root string, pid int, cmdline []string, ticks, rssPages int) {
	t.Helper()
	dir := filepath.Join(root, itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := itoa(pid) + " (" + filepath.Base(cmdline[0]) + ") S 1 1 1 0 -1 0 0 0 0 0 " +
		itoa(ticks) + " 0 0 0 20 0 1 0 100 1000000 " + itoa(rssPages) + " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	for name, body := range map[string]string{"stat": stat, "cmdline": strings.Join(cmdline, "\x00") + "\x00"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSamplerReadsComponents(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, 10, []string{"/usr/bin/dockerd", "-H", "unix:///a.sock"}, 250, 100)
	writeProc(t, root, 20, []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-address", "/run/a/containerd.sock"}, 10, 10)
	writeProc(t, root, 21, []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-address", "/run/a/containerd.sock"}, 30, 10)
	writeProc(t, root, 22, []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-address", "/run/b/containerd.sock"}, 99, 99)
	pidfile := filepath.Join(t.TempDir(), "dockerd.pid")
	if err := os.WriteFile(pidfile, []byte("10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var comps []Matcher
	for _, s := range []string{"dockerd=pidfile:" + pidfile, `shims=cmd:^\S*containerd-shim\S* .*-address /run/a/containerd.sock( |$)`} {
		m, err := ParseMatcher(s)
		if err != nil {
			t.Fatal(err)
		}
		comps = append(comps, m)
	}
	s, err := NewSampler(root, comps)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.read()
	if err != nil {
		t.Fatal(err)
	}
	page := uint64(os.Getpagesize())
	if got := r.cpu["dockerd"][10]; got != 2.5 {
		t.Errorf("dockerd CPU seconds = %v, want 2.5", got)
	}
	if got := len(r.cpu["shims"]); got != 2 {
		t.Errorf("shims matched %d processes, want 2 (the other containerd's shim is not ours)", got)
	}
	if r.rss["shims"] != 20*page || r.rss["dockerd"] != 100*page {
		t.Errorf("rss = %v, want shims %d and dockerd %d", r.rss, 20*page, 100*page)
	}
}

func TestCPUUsed(t *testing.T) {
	prev := reading{cpu: map[string]map[int]float64{"x": {1: 1.0, 2: 5.0, 3: 2.0}}}
	cur := reading{cpu: map[string]map[int]float64{"x": {1: 1.5, 2: 5.25, 4: 9.0}}}
	// pid 3 left, pid 4 is new: neither counts.
	if got := cpuUsed(prev, cur, "x"); got != 0.75 {
		t.Errorf("cpuUsed = %v, want 0.75", got)
	}
}

func TestHistogramPercentiles(t *testing.T) {
	bucket := func(upper float64, count uint64) *dto.Bucket {
		return &dto.Bucket{UpperBound: proto.Float64(upper), CumulativeCount: proto.Uint64(count)}
	}
	h := &dto.Histogram{SampleCount: proto.Uint64(100), Bucket: []*dto.Bucket{
		bucket(4, 90), bucket(1, 0), bucket(2, 50), bucket(8, 100),
	}}
	p, err := histogramPercentiles(h)
	if err != nil {
		t.Fatal(err)
	}
	// p50: rank 50 reaches the 2 s bucket's top; p90 the 4 s bucket's;
	// p99: 9 of the last 10 samples into (4, 8]: 4 + 4 × 0.9.
	want := map[string]time.Duration{"p50": 2 * time.Second, "p90": 4 * time.Second, "p99": 7600 * time.Millisecond, "max": 8 * time.Second}
	got := map[string]time.Duration{"p50": p.P50, "p90": p.P90, "p99": p.P99, "max": p.Max}
	for k, w := range want {
		if d := got[k] - w; d > time.Millisecond || d < -time.Millisecond {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if _, err := histogramPercentiles(&dto.Histogram{}); err == nil {
		t.Error("an empty histogram gave percentiles")
	}
}

func TestSandboxConfigHostname(t *testing.T) {
	tests := []struct {
		give        bool // host network
		wantNetwork runtimeapi.NamespaceMode
		wantHost    string
	}{
		{give: true, wantNetwork: runtimeapi.NamespaceMode_NODE, wantHost: ""},
		{give: false, wantNetwork: runtimeapi.NamespaceMode_POD, wantHost: "r1-007"},
	}
	for _, tt := range tests {
		c := Workload{HostNetwork: tt.give, LogDir: "/logs"}.sandboxConfig("r1", 7)
		if got := c.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork(); got != tt.wantNetwork {
			t.Errorf("host network %t: network %v, want %v", tt.give, got, tt.wantNetwork)
		}
		if c.GetHostname() != tt.wantHost || c.GetLogDirectory() != "/logs/r1-007" || c.GetMetadata().GetNamespace() != Namespace {
			t.Errorf("host network %t: %+v", tt.give, c)
		}
		if c.GetLabels()["cribench.run"] != "r1" {
			t.Errorf("labels %v lack the run (its cleanup finds pods by it)", c.GetLabels())
		}
	}
}

func TestManifestIsTheBatchPod(t *testing.T) {
	m := Workload{Image: "reg/busybox:1", HostNetwork: true}.manifest("n1", 3)
	for _, want := range []string{"name: n1-003", "namespace: cribench", `cribench.run: "n1"`, "hostNetwork: true", `image: "reg/busybox:1"`, `command: ["sleep", "86400"]`} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
}

func TestParallelLimitsConcurrency(t *testing.T) {
	tests := []struct{ n, limit, wantMax int }{{10, 3, 3}, {5, 0, 5}, {4, 10, 4}}
	for _, tt := range tests {
		var in, peak = make(chan int, 100), 0
		cur := 0
		done := make(chan struct{})
		go func() {
			for d := range in {
				cur += d
				peak = max(peak, cur)
			}
			close(done)
		}()
		parallel(tt.n, tt.limit, func(int) error { in <- 1; time.Sleep(5 * time.Millisecond); in <- -1; return nil })
		close(in)
		<-done
		if peak > tt.wantMax || peak < 1 {
			t.Errorf("parallel(%d, %d): peak %d, want ≤ %d", tt.n, tt.limit, peak, tt.wantMax)
		}
	}
}

func TestRequestRates(t *testing.T) {
	body := "# TYPE dockercri_docker_request_duration_seconds histogram\n" +
		"dockercri_docker_request_duration_seconds_bucket{method=\"ContainerList\",le=\"+Inf\"} %d\n" +
		"dockercri_docker_request_duration_seconds_sum{method=\"ContainerList\"} 1\n" +
		"dockercri_docker_request_duration_seconds_count{method=\"ContainerList\"} %d\n" +
		"# TYPE go_goroutines gauge\ngo_goroutines 12\n" +
		"# TYPE x_request_errors_total counter\nx_request_errors_total %d\n" +
		"# TYPE go_memstats_mallocs_total counter\ngo_memstats_mallocs_total %d\n"
	n := 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, body, n, n, n/10, n*100)
	}))
	defer srv.Close()
	before, err := requestCounts(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n = 30
	after, err := requestCounts(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got := rates(before, after, 10*time.Second)
	want := map[string]float64{
		`dockercri_docker_request_duration_seconds{method=ContainerList}`: 2,
		"x_request_errors_total": 0.2,
	}
	if len(got) != len(want) {
		t.Fatalf("rates = %v, want %v (gauges and other counters left out)", got, want)
	}
	for k, w := range want {
		if d := got[k] - w; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if m, err := requestCounts(""); m != nil || err != nil {
		t.Errorf("no URL: %v, %v", m, err)
	}
}
