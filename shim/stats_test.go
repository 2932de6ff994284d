package shim

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/cgroups"
)

// fakeCgroups lays out the files of the fake's running containers (which
// all report pid 4242) as a cgroup v1 host does.
func fakeCgroups(t *testing.T) (cgroups.Roots, func(cpuNanos uint64)) {
	t.Helper()
	r := cgroups.Roots{Proc: t.TempDir(), Cgroup: t.TempDir()}
	put := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put(filepath.Join(r.Proc, "4242/cgroup"), "8:pids:/c\n4:memory:/c\n2:cpuacct:/c\n")
	put(filepath.Join(r.Proc, "4242/net/dev"), "h1\nh2\n  eth0: 500 5 1 0 0 0 0 0 700 7 2 0 0 0 0 0\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n")
	put(filepath.Join(r.Cgroup, "memory/c/memory.usage_in_bytes"), "3000\n")
	put(filepath.Join(r.Cgroup, "memory/c/memory.stat"), "total_inactive_file 1000\ntotal_rss 1500\ntotal_pgfault 9\ntotal_pgmajfault 1\n")
	put(filepath.Join(r.Cgroup, "memory/c/memory.limit_in_bytes"), "10000\n")
	put(filepath.Join(r.Cgroup, "pids/c/pids.current"), "3\n")
	setCPU := func(n uint64) {
		put(filepath.Join(r.Cgroup, "cpuacct/c/cpuacct.usage"), strconv.FormatUint(n, 10))
	}
	setCPU(1_000_000)
	return r, setCPU
}

func startedContainer(t *testing.T, c *testClients, sbID string, sb *runtimeapi.PodSandboxConfig, name string) string {
	t.Helper()
	id := createContainer(t, c, sbID, sb, name)
	if _, err := c.runtime.StartContainer(testContext(t), &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestListContainerStats(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	roots, setCPU := fakeCgroups(t)
	c.svc.stats.roots = roots
	ctx := testContext(t)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	id := startedContainer(t, c, sbID, sb, "app")
	createContainer(t, c, sbID, sb, "not-started")

	resp, err := c.runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetStats()) != 1 {
		t.Fatalf("stats of %d containers, want the running one", len(resp.GetStats()))
	}
	st := resp.GetStats()[0]
	if st.GetAttributes().GetId() != id || st.GetAttributes().GetMetadata().GetName() != "app" || st.GetAttributes().GetAnnotations()["a/b"] != "c" {
		t.Fatalf("attributes = %v", st.GetAttributes())
	}
	mem := st.GetMemory()
	if st.GetCpu().GetUsageCoreNanoSeconds().GetValue() != 1_000_000 || mem.GetWorkingSetBytes().GetValue() != 2000 ||
		mem.GetUsageBytes().GetValue() != 3000 || mem.GetRssBytes().GetValue() != 1500 || mem.GetAvailableBytes().GetValue() != 8000 ||
		mem.GetPageFaults().GetValue() != 9 || mem.GetMajorPageFaults().GetValue() != 1 {
		t.Fatalf("stats = %v", st)
	}

	// The second read: no inspect, a rate from the two samples.
	setCPU(1_000_000 + 500_000_000)
	f.resetCalls()
	resp, err = c.runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if calls := f.callLog(); len(calls) != 1 || !strings.HasPrefix(calls[0], "ContainerList") {
		t.Fatalf("calls = %v, want one ContainerList", calls)
	}
	if resp.GetStats()[0].GetCpu().GetUsageNanoCores().GetValue() == 0 {
		t.Fatal("no CPU rate from two samples")
	}
}

func TestNanoCores(t *testing.T) {
	t0 := time.Unix(100, 0)
	tests := []struct {
		name      string
		prev, cur cgroups.Stats
		want      uint64
	}{
		{name: "first sample", cur: cgroups.Stats{Time: t0, CPUUsageNanos: 5}, want: 0},
		{name: "half a core", prev: cgroups.Stats{Time: t0, CPUUsageNanos: 1e9}, cur: cgroups.Stats{Time: t0.Add(2 * time.Second), CPUUsageNanos: 2e9}, want: 5e8},
		{name: "counter reset", prev: cgroups.Stats{Time: t0, CPUUsageNanos: 9e9}, cur: cgroups.Stats{Time: t0.Add(time.Second), CPUUsageNanos: 1}, want: 0},
		{name: "same instant", prev: cgroups.Stats{Time: t0, CPUUsageNanos: 1}, cur: cgroups.Stats{Time: t0, CPUUsageNanos: 2}, want: 0},
	}
	for _, tt := range tests {
		if got := nanoCores(tt.prev, tt.cur); got != tt.want {
			t.Errorf("%s: nanoCores = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// podOfTwo runs a pod with two started containers, a and b, and returns
// its PodSandboxStats.
func podOfTwo(t *testing.T, c *testClients, sb *runtimeapi.PodSandboxConfig) *runtimeapi.LinuxPodSandboxStats {
	t.Helper()
	sbID := runSandbox(t, c, sb)
	startedContainer(t, c, sbID, sb, "a")
	startedContainer(t, c, sbID, sb, "b")
	resp, err := c.runtime.PodSandboxStats(testContext(t), &runtimeapi.PodSandboxStatsRequest{PodSandboxId: sbID})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetStats().GetLinux()
}

func TestPodSandboxStats(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	roots, _ := fakeCgroups(t)
	c.svc.stats.roots = roots
	ctx := testContext(t)
	lx := podOfTwo(t, c, sandboxConfig("web"))
	if len(lx.GetContainers()) != 2 || lx.GetCpu().GetUsageCoreNanoSeconds().GetValue() != 2_000_000 ||
		lx.GetMemory().GetWorkingSetBytes().GetValue() != 4000 || lx.GetProcess().GetProcessCount().GetValue() != 6 {
		t.Fatalf("pod stats = %v", lx)
	}
	if eth := lx.GetNetwork().GetDefaultInterface(); eth.GetName() != "eth0" || eth.GetRxBytes().GetValue() != 500 || eth.GetTxBytes().GetValue() != 700 ||
		len(lx.GetNetwork().GetInterfaces()) != 1 || lx.GetNetwork().GetInterfaces()[0].GetName() != "eth0" {
		t.Fatalf("network = %v", lx.GetNetwork())
	}
	list, err := c.runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{LabelSelector: map[string]string{"app": "web"}}})
	if err != nil || len(list.GetStats()) != 1 || len(list.GetStats()[0].GetLinux().GetContainers()) != 2 {
		t.Fatalf("ListPodSandboxStats = %v, %v", list, err)
	}
	_, err = c.runtime.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: strings.Repeat("9", 64)})
	wantCode(t, err, codes.NotFound)

	metrics, err := c.runtime.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil || len(metrics.GetPodMetrics()) != 1 || len(metrics.GetPodMetrics()[0].GetContainerMetrics()) != 2 {
		t.Fatalf("ListPodSandboxMetrics = %v, %v", metrics, err)
	}
	descs, _ := c.runtime.ListMetricDescriptors(ctx, &runtimeapi.ListMetricDescriptorsRequest{})
	keys := map[string]int{}
	for _, d := range descs.GetDescriptors() {
		keys[d.GetName()] = len(d.GetLabelKeys())
	}
	for _, pm := range metrics.GetPodMetrics() {
		all := pm.GetMetrics()
		for _, cm := range pm.GetContainerMetrics() {
			all = append(all, cm.GetMetrics()...)
		}
		for _, m := range all {
			if n, ok := keys[m.GetName()]; !ok || n != len(m.GetLabelValues()) {
				t.Fatalf("metric %s: %d label values, descriptor has %d keys (known: %v)", m.GetName(), len(m.GetLabelValues()), n, ok)
			}
		}
	}
}

func TestContainerStatsOfStoppedContainer(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	id := createContainer(t, c, sbID, sb, "app")
	resp, err := c.runtime.ContainerStats(testContext(t), &runtimeapi.ContainerStatsRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStats().GetAttributes().GetId() != id || resp.GetStats().GetCpu() != nil {
		t.Fatalf("stats of a created container = %v", resp.GetStats())
	}
}

func TestLayerSizer(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), make([]byte, 10000), 0o644)
	l := &layerSizer{refresh: time.Minute, sizes: map[string]layerSize{}, pending: map[string]string{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	now := time.Now()
	if got := l.get("c1", dir, now); got.bytes != 0 {
		t.Fatalf("before any walk: %+v", got)
	}
	if !l.step() || l.step() {
		t.Fatal("want exactly one pending walk")
	}
	got := l.get("c1", dir, now)
	if got.bytes < 10000 || got.inodes != 2 {
		t.Fatalf("after the walk: %+v", got)
	}
	if l.step() {
		t.Fatal("a fresh size was walked again")
	}
	l.get("c1", dir, now.Add(2*time.Minute))
	if !l.step() {
		t.Fatal("a stale size was not walked again")
	}
	l.retain(map[string]bool{})
	if len(l.sizes) != 0 {
		t.Fatal("retain kept a gone container")
	}
}

func TestCPUHistoryBase(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(d time.Duration, usage uint64) cgroups.Stats {
		return cgroups.Stats{Time: t0.Add(d), CPUUsageNanos: usage}
	}
	tests := []struct {
		name  string
		reads []cgroups.Stats // in order; the last one is rated
		want  uint64          // its usage_nano_cores
	}{
		{name: "first read", reads: []cgroups.Stats{at(0, 5)}, want: 0},
		{name: "a second apart", reads: []cgroups.Stats{at(0, 0), at(time.Second, 5e8)}, want: 5e8},
		{
			// The pod's read and the container's in the same instant: the
			// second is rated over the window, not over the millisecond.
			name:  "two reads a millisecond apart",
			reads: []cgroups.Stats{at(0, 0), at(2*time.Second, 1e9), at(2*time.Second+time.Millisecond, 1e9)},
			want:  499750124, // 1e9 ns over 2.001 s
		},
		{
			name:  "only young samples: the oldest is the base",
			reads: []cgroups.Stats{at(0, 0), at(100*time.Millisecond, 1e7), at(200*time.Millisecond, 2e7)},
			want:  1e8,
		},
		{
			name:  "the newest sample a window old is the base",
			reads: []cgroups.Stats{at(0, 0), at(5*time.Second, 5e9), at(6*time.Second, 5e9+2.5e8)},
			want:  2.5e8,
		},
	}
	for _, tt := range tests {
		var h cpuHistory
		var got uint64
		for _, r := range tt.reads {
			got = nanoCores(h.base(r.Time), r)
			h = h.add(r)
		}
		if got != tt.want {
			t.Errorf("%s: usage_nano_cores = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCPUHistoryStaysSmall(t *testing.T) {
	var h cpuHistory
	t0 := time.Unix(100, 0)
	for i := range 1000 { // a read every 10 ms: a hundred per window
		h = h.add(cgroups.Stats{Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), CPUUsageNanos: uint64(i)})
	}
	if max := int(rateWindow/cpuSpacing) + 3; len(h) > max { // the base, a window of samples, the newest
		t.Fatalf("history kept %d samples, want at most %d", len(h), max)
	}
	// The base of the next read is still about a window old.
	next := t0.Add(1000 * 10 * time.Millisecond)
	if age := next.Sub(h.base(next).Time); age < rateWindow || age > 2*rateWindow {
		t.Fatalf("base is %v old, want between %v and %v", age, rateWindow, 2*rateWindow)
	}
}

// A pod the kubelet gave a cgroup parent reports that cgroup's own figures
// (pause counted, the pod's limit, its pressure), not its containers' sums;
// its containers report their own pressure.
func TestPodSandboxStatsFromPodCgroup(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	roots, _ := fakeCgroups(t)
	put := func(rel, content string) {
		path := filepath.Join(roots.Cgroup, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Every container of the fake is pid 4242: here, in the pod's cgroup.
	if err := os.WriteFile(filepath.Join(roots.Proc, "4242/cgroup"), []byte("8:pids:/kubepods/podu1/c\n4:memory:/kubepods/podu1/c\n2:cpuacct:/kubepods/podu1/c\n0::/kubepods/podu1/c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	psi := "some avg10=4.00 avg60=2.00 avg300=1.00 total=2000\nfull avg10=1.00 avg60=0.50 avg300=0.25 total=1000\n"
	for _, dir := range []string{"kubepods/podu1", "kubepods/podu1/c"} {
		put("cpuacct/"+dir+"/cpuacct.usage", "5000000\n")
		put("memory/"+dir+"/memory.usage_in_bytes", "8000\n")
		put("memory/"+dir+"/memory.stat", "total_inactive_file 2000\ntotal_rss 5000\ntotal_pgfault 20\ntotal_pgmajfault 2\n")
		put("memory/"+dir+"/memory.limit_in_bytes", "80000\n")
		put("pids/"+dir+"/pids.current", "4\n")
		for _, r := range []string{"cpu", "memory", "io"} {
			put("unified/"+dir+"/"+r+".pressure", psi)
		}
	}
	c.svc.stats.roots = roots
	sb := sandboxConfig("web")
	sb.Linux = &runtimeapi.LinuxPodSandboxConfig{CgroupParent: "/kubepods/podu1"}
	lx := podOfTwo(t, c, sb)
	if lx.GetCpu().GetUsageCoreNanoSeconds().GetValue() != 5_000_000 || lx.GetMemory().GetWorkingSetBytes().GetValue() != 6000 ||
		lx.GetMemory().GetAvailableBytes().GetValue() != 74000 || lx.GetProcess().GetProcessCount().GetValue() != 4 {
		t.Fatalf("pod stats = %v, want the pod cgroup's", lx)
	}
	for name, p := range map[string]*runtimeapi.PsiStats{"cpu": lx.GetCpu().GetPsi(), "memory": lx.GetMemory().GetPsi(), "io": lx.GetIo().GetPsi()} {
		if p.GetSome().GetAvg10() != 4 || p.GetFull().GetTotal() != 1_000_000 {
			t.Errorf("pod %s psi = %v", name, p)
		}
	}
	for _, cs := range lx.GetContainers() {
		if cs.GetCpu().GetPsi().GetSome().GetTotal() != 2_000_000 || cs.GetIo().GetPsi() == nil {
			t.Errorf("container %s: cpu %v, io %v", cs.GetAttributes().GetId(), cs.GetCpu(), cs.GetIo())
		}
	}
}

func TestPodCgroup(t *testing.T) {
	pause := cgroups.Paths{CPU: "/sys/fs/cgroup/cpuacct/kubepods/burstable/podu1/abc", Pressure: "/sys/fs/cgroup/unified/kubepods/burstable/podu1/abc"}
	slice := cgroups.Paths{V2: "/sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice/docker-abc.scope"}
	tests := []struct {
		name   string
		pause  cgroups.Paths
		parent string
		want   cgroups.Paths
	}{
		{name: "no cgroup parent", pause: pause},
		{name: "cgroupfs", pause: pause, parent: "/kubepods/burstable/podu1", want: pause.Parent()},
		{name: "systemd", pause: slice, parent: "kubepods-pod1.slice", want: slice.Parent()},
		{name: "not the parent's cgroup", pause: pause, parent: "/kubepods/burstable/podu2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podCgroup(tt.pause, tt.parent); got != tt.want {
				t.Fatalf("podCgroup = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNetworkUsage(t *testing.T) {
	tests := []struct {
		name        string
		give        []string
		wantDefault string
	}{
		{name: "eth0 among others", give: []string{"net1", "eth0"}, wantDefault: "eth0"},
		{name: "no eth0: the first", give: []string{"net1", "net2"}, wantDefault: "net1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var devs []cgroups.NetDev
			for _, n := range tt.give {
				devs = append(devs, cgroups.NetDev{Name: n})
			}
			got := networkUsage(devs, 1)
			if got.GetDefaultInterface().GetName() != tt.wantDefault || len(got.GetInterfaces()) != len(tt.give) {
				t.Fatalf("networkUsage = %v, want default %q and all %d interfaces", got, tt.wantDefault, len(tt.give))
			}
		})
	}
	// Only loopback (never listed): no network at all, not one without a
	// default interface.
	if got := networkUsage(nil, 1); got != nil {
		t.Fatalf("networkUsage(none) = %v, want nil", got)
	}
}
