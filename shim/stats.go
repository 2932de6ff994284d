package shim

import (
	"cmp"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/cgroups"
	"dockercri/translate"
)

// Stats come from the containers' cgroup files, not from Docker's stats
// API: a few small reads per container instead of a daemon round trip each
// (and, without one-shot, a second's wait for two samples). What a read
// needs is learnt once per container, with one inspect, and kept:
//
//   - its cgroup directories and pid (from /proc/<pid>/cgroup);
//   - its writable layer's directory, whose size a background walker
//     measures one container at a time, each at most every layerRefresh:
//     never the storm of size inspects that put dockerd at 200% CPU under
//     cri-dockerd.
//
// usage_nano_cores is the rate since a recent CPU sample of the container at
// least rateWindow old (see cpuHistory).

// layerRefresh is how old a writable layer's size may get.
const layerRefresh = time.Minute

type statsManager struct {
	docker   Docker
	roots    cgroups.Roots
	procRoot string // /proc, where a container's mountinfo tells its writable layer

	mu      sync.Mutex
	entries map[string]*statsEntry

	layers *layerSizer
}

type statsEntry struct {
	sandbox  bool // a pause container (read for its network), not an app container
	pid      int
	paths    cgroups.Paths
	upperDir string
	cpu      cpuHistory // recent samples, for usage_nano_cores
	// pod is a pause container's pod cgroup, the kubelet's cgroup parent
	// of the whole pod (zero without one), and podCPU its samples.
	pod    cgroups.Paths
	podCPU cpuHistory
}

// errNoPodCgroup: the pod runs without a cgroup parent of its own (critest,
// a bare CRI client), so its stats are its containers' sums.
var errNoPodCgroup = errors.New("pod has no cgroup of its own")

// rateWindow is the shortest span a CPU rate is measured over. The kubelet
// reads a pod's stats and its containers' in the same instant
// (ListPodSandboxStats, then ListContainerStats): a rate between two reads a
// millisecond apart is noise, mostly zero (the node suite's Summary API spec
// saw usage_nano_cores 0 for a busy container, every time).
const rateWindow = time.Second

// A history keeps about one sample per cpuSpacing (a read closer to the one
// before replaces the newest), so many reads inside one window keep it small.
const cpuSpacing = rateWindow / 8

// cpuHistory is a container's recent CPU samples, oldest first.
type cpuHistory []cgroups.Stats

// base is the sample a rate at t is measured from: the newest one at least
// rateWindow older, else the oldest (zero when there is none yet).
func (h cpuHistory) base(t time.Time) cgroups.Stats {
	for i := len(h) - 1; i >= 0; i-- {
		if t.Sub(h[i].Time) >= rateWindow {
			return h[i]
		}
	}
	if len(h) == 0 {
		return cgroups.Stats{}
	}
	return h[0]
}

// add records cur and drops the samples no later rate needs: those older
// than the newest one that is already rateWindow old.
func (h cpuHistory) add(cur cgroups.Stats) cpuHistory {
	if n := len(h); n >= 2 && cur.Time.Sub(h[n-2].Time) < cpuSpacing {
		h[n-1] = cur
	} else {
		h = append(h, cur)
	}
	for i := len(h) - 1; i > 0; i-- {
		if cur.Time.Sub(h[i].Time) >= rateWindow {
			return append(h[:0], h[i:]...)
		}
	}
	return h
}

func newStatsManager(d Docker) *statsManager {
	return &statsManager{docker: d, roots: cgroups.HostRoots, procRoot: "/proc", entries: map[string]*statsEntry{}, layers: newLayerSizer(layerRefresh)}
}

// entry returns what reading a running container's stats needs, inspecting
// it only the first time.
func (m *statsManager) entry(ctx context.Context, id string, sandbox bool) (*statsEntry, error) {
	m.mu.Lock()
	e := m.entries[id]
	m.mu.Unlock()
	if e != nil {
		return e, nil
	}
	res, err := m.docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	in := res.Container
	if in.State == nil || !in.State.Running || in.State.Pid <= 0 {
		return nil, cgroups.ErrNotFound
	}
	paths, err := m.roots.PathsOf(in.State.Pid)
	if err != nil {
		return nil, err
	}
	e = &statsEntry{sandbox: sandbox, pid: in.State.Pid, paths: paths}
	if sandbox && in.HostConfig != nil {
		e.pod = podCgroup(paths, in.HostConfig.CgroupParent)
	}
	if in.GraphDriver != nil {
		e.upperDir = in.GraphDriver.Data["UpperDir"]
	}
	if e.upperDir == "" { // the containerd image store: see overlay.go
		if e.upperDir, err = rootUpperDir(m.procRoot, in.State.Pid); err != nil {
			klog.V(5).InfoS("No writable layer found", "container", id, "err", err)
		}
	}
	m.mu.Lock()
	m.entries[id] = e
	m.mu.Unlock()
	return e, nil
}

// sample reads one container's cgroup and returns it with the sample its
// CPU rate is measured from (zero the first time).
func (m *statsManager) sample(ctx context.Context, id string, now time.Time) (cur, prev cgroups.Stats, e *statsEntry, err error) {
	e, err = m.entry(ctx, id, false)
	if err != nil {
		return cur, prev, nil, err
	}
	cur, prev, err = m.read(id, e.paths, &e.cpu, now)
	return cur, prev, e, err
}

// podSample reads a running pod's own cgroup, as sample does a container's.
func (m *statsManager) podSample(ctx context.Context, sandboxID string, now time.Time) (cur, prev cgroups.Stats, err error) {
	e, err := m.entry(ctx, sandboxID, true)
	if err != nil {
		return cur, prev, err
	}
	if e.pod == (cgroups.Paths{}) {
		return cur, prev, errNoPodCgroup
	}
	return m.read(sandboxID, e.pod, &e.podCPU, now)
}

func (m *statsManager) read(id string, paths cgroups.Paths, h *cpuHistory, now time.Time) (cur, prev cgroups.Stats, err error) {
	cur, err = cgroups.Read(paths, now)
	if err != nil {
		m.forget(id) // gone or restarted: learn it again next time
		return cur, prev, err
	}
	m.mu.Lock()
	prev = h.base(cur.Time)
	*h = h.add(cur)
	m.mu.Unlock()
	return cur, prev, nil
}

// podCgroup is the pod's cgroup: the parent of its pause container's, when
// that is the cgroup parent the kubelet asked for ("/kubepods/burstable/
// pod<uid>" with cgroupfs, "kubepods-burstable-pod<uid>.slice" with
// systemd, under which Docker makes "docker-<id>.scope").
func podCgroup(pause cgroups.Paths, cgroupParent string) cgroups.Paths {
	if cgroupParent == "" {
		return cgroups.Paths{}
	}
	up := pause.Parent()
	dir := cmp.Or(up.V2, up.CPU, up.Memory)
	if filepath.Base(dir) != filepath.Base(cgroupParent) {
		return cgroups.Paths{}
	}
	return up
}

func (m *statsManager) forget(id string) {
	m.mu.Lock()
	delete(m.entries, id)
	m.mu.Unlock()
	m.layers.forget(id)
}

// prune drops what is kept for app containers (or, with sandbox, pause
// containers) no longer running.
func (m *statsManager) prune(running map[string]bool, sandbox bool) {
	m.mu.Lock()
	var gone []string
	for id, e := range m.entries {
		if e.sandbox == sandbox && !running[id] {
			gone = append(gone, id)
		}
	}
	m.mu.Unlock()
	for _, id := range gone {
		m.forget(id)
	}
	if !sandbox {
		m.layers.retain(running)
	}
}

func (m *statsManager) close() { m.layers.close() }

// containerStats builds the CRI stats of one running container.
func (m *statsManager) containerStats(ctx context.Context, attrs *runtimeapi.ContainerAttributes, now time.Time) (*runtimeapi.ContainerStats, cgroups.Stats, error) {
	cur, prev, e, err := m.sample(ctx, attrs.GetId(), now)
	if err != nil {
		return nil, cur, err
	}
	sample := statsSample(prev, cur, now)
	var layer *translate.LayerUsage
	if e.upperDir != "" {
		size := m.layers.get(attrs.GetId(), e.upperDir, now)
		layer = &translate.LayerUsage{Mountpoint: e.upperDir, Bytes: size.bytes, Inodes: size.inodes, At: size.at}
	}
	st := translate.ContainerStats(attrs, sample, layer)
	return st, cur, nil
}

// statsSample is what the CRI reports of a cgroup sample taken at now.
func statsSample(prev, cur cgroups.Stats, now time.Time) translate.StatsSample {
	return translate.StatsSample{
		Time: now, CPUUsageNanos: cur.CPUUsageNanos, NanoCores: nanoCores(prev, cur),
		MemoryUsage: cur.MemoryUsage, WorkingSet: cur.WorkingSet, MemoryLimit: cur.MemoryLimit,
		RSS: cur.RSS, PageFaults: cur.PageFaults, MajorPageFaults: cur.MajorPageFaults,
		CPUPressure: pressure(cur.CPUPressure), MemoryPressure: pressure(cur.MemoryPressure), IOPressure: pressure(cur.IOPressure),
	}
}

func pressure(p *cgroups.Pressure) *translate.Pressure {
	if p == nil {
		return nil
	}
	return &translate.Pressure{Some: translate.PressureLine(p.Some), Full: translate.PressureLine(p.Full)}
}

// nanoCores is the CPU rate between two samples of the same cgroup.
func nanoCores(prev, cur cgroups.Stats) uint64 {
	if prev.Time.IsZero() || !cur.Time.After(prev.Time) || cur.CPUUsageNanos < prev.CPUUsageNanos {
		return 0
	}
	return uint64(float64(cur.CPUUsageNanos-prev.CPUUsageNanos) / float64(cur.Time.Sub(prev.Time).Nanoseconds()) * 1e9)
}

// layerSizer measures writable layers in the background, one at a time.
type layerSizer struct {
	refresh time.Duration

	mu      sync.Mutex
	sizes   map[string]layerSize
	pending map[string]string // id → dir, waiting to be measured
	wake    chan struct{}
	done    chan struct{}
	closed  bool
}

type layerSize struct {
	bytes, inodes uint64
	at            time.Time
}

func newLayerSizer(refresh time.Duration) *layerSizer {
	l := &layerSizer{refresh: refresh, sizes: map[string]layerSize{}, pending: map[string]string{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.run()
	return l
}

// get returns the last measured size (zero until the first walk) and asks
// for a new walk when it is older than the refresh period.
func (l *layerSizer) get(id, dir string, now time.Time) layerSize {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.sizes[id]
	if (!ok || now.Sub(cur.at) >= l.refresh) && !l.closed {
		l.pending[id] = dir
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	if !ok {
		return layerSize{at: now}
	}
	return cur
}

func (l *layerSizer) forget(id string) {
	l.mu.Lock()
	delete(l.sizes, id)
	delete(l.pending, id)
	l.mu.Unlock()
}

// retain drops the sizes of containers not in keep (a walk that finished
// after its container was forgotten leaves one).
func (l *layerSizer) retain(keep map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.sizes {
		if !keep[id] {
			delete(l.sizes, id)
		}
	}
}

func (l *layerSizer) run() {
	for {
		select {
		case <-l.done:
			return
		case <-l.wake:
		}
		for l.step() {
		}
	}
}

// step measures one pending layer; false when none is pending.
func (l *layerSizer) step() bool {
	l.mu.Lock()
	var id, dir string
	for id, dir = range l.pending {
		break
	}
	delete(l.pending, id)
	closed := l.closed
	l.mu.Unlock()
	if id == "" || closed {
		return false
	}
	bytes, inodes, err := diskUsage(dir)
	if err != nil {
		klog.V(5).InfoS("Measuring a writable layer failed", "container", id, "err", err)
		return true
	}
	l.mu.Lock()
	l.sizes[id] = layerSize{bytes: bytes, inodes: inodes, at: time.Now()}
	l.mu.Unlock()
	return true
}

func (l *layerSizer) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
}
