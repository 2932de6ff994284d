package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

func containerStats(t *testing.T, d *framework.Daemon, id string) *runtimeapi.ContainerStats {
	t.Helper()
	resp, err := d.Runtime.ListContainerStats(framework.Context(t), &runtimeapi.ListContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{Id: id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetStats()) != 1 {
		t.Fatalf("stats of %d containers for %s", len(resp.GetStats()), id)
	}
	return resp.GetStats()[0]
}

// TestStatsCPUAndMemory: a container burning CPU shows growing usage and a
// rate near one core; one holding 50 MiB (in tmpfs, so it stays resident)
// shows a working set within 10% of it; the pod reports both, its network
// interface and its processes.
func TestStatsCPUAndMemory(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "stats")
	pod := podConfig(t, "stats")
	podID := runPod(t, d, pod)
	burner := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "burner"}, Image: spec(image),
		Command: []string{"sh", "-c", "while :; do :; done"},
	})
	const fill = 50 << 20
	holder := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "holder"}, Image: spec(image),
		Command: []string{"sh", "-c", "head -c 52428800 /dev/zero > /dev/shm/fill && touch /dev/shm/done && sleep 3600"},
	})

	first := containerStats(t, d, burner)
	time.Sleep(time.Second)
	second := containerStats(t, d, burner)
	used := second.GetCpu().GetUsageCoreNanoSeconds().GetValue() - first.GetCpu().GetUsageCoreNanoSeconds().GetValue()
	if used < 2e8 {
		t.Fatalf("the burner used %d ns of CPU in a second", used)
	}
	if rate := second.GetCpu().GetUsageNanoCores().GetValue(); rate < 2e8 {
		t.Fatalf("usage_nano_cores = %d, want most of a core", rate)
	}

	var ws uint64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ws = containerStats(t, d, holder).GetMemory().GetWorkingSetBytes().GetValue()
		if ws >= fill {
			break
		}
	}
	if ws < fill*9/10 || ws > fill*11/10 {
		t.Fatalf("working set %d, want within 10%% of %d", ws, fill)
	}

	ps, err := d.Runtime.PodSandboxStats(framework.Context(t), &runtimeapi.PodSandboxStatsRequest{PodSandboxId: podID})
	if err != nil {
		t.Fatal(err)
	}
	lx := ps.GetStats().GetLinux()
	if len(lx.GetContainers()) != 2 || lx.GetMemory().GetWorkingSetBytes().GetValue() < ws ||
		lx.GetProcess().GetProcessCount().GetValue() < 2 || lx.GetNetwork().GetDefaultInterface().GetName() != "eth0" {
		t.Fatalf("pod stats = %v", lx)
	}
	if w := second.GetWritableLayer(); w == nil || w.GetFsId().GetMountpoint() == "" {
		t.Fatalf("writable layer = %v", w)
	}
}

// TestWritableLayerUsage: a container that writes 20 MiB into its root
// filesystem reports a writable layer of at least that, in a directory that
// holds the file. Under Docker 29's containerd image store Docker reports
// no UpperDir; the layer is found from the container's root mount.
func TestWritableLayerUsage(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "layer")
	pod := podConfig(t, "layer")
	podID := runPod(t, d, pod)
	const size = 20 << 20
	writer := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "writer"}, Image: spec(image),
		Command: []string{"sh", "-c", "head -c 20971520 /dev/zero > /big && touch /done && sleep 3600"},
	})
	ctx := framework.Context(t)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: writer, Cmd: []string{"test", "-e", "/done"}, Timeout: 5})
		if err == nil && r.GetExitCode() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer did not finish: %v", err)
		}
	}
	var w *runtimeapi.FilesystemUsage
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		w = containerStats(t, d, writer).GetWritableLayer()
		if w.GetUsedBytes().GetValue() >= size {
			break
		}
	}
	if w.GetUsedBytes().GetValue() < size || w.GetInodesUsed().GetValue() < 1 {
		t.Fatalf("writable layer = %v, want at least %d bytes and an inode", w, size)
	}
	if fi, err := os.Stat(filepath.Join(w.GetFsId().GetMountpoint(), "big")); err != nil || fi.Size() != size {
		t.Fatalf("the layer directory %q does not hold the file: %v", w.GetFsId().GetMountpoint(), err)
	}
}

// TestPodStatsFromPodCgroup: a pod given a cgroup parent, as the kubelet
// gives every pod, reports that cgroup's own figures: CPU at least its busy
// container's, its processes with the pause one counted and, where the host
// keeps pressure (cgroup v2, or v1 with v2 mounted beside it as here),
// pressure for the pod and its container.
func TestPodStatsFromPodCgroup(t *testing.T) {
	d := framework.StartDockercri(t)
	if drv := strings.TrimSpace(framework.Docker(t, "info", "--format", "{{.CgroupDriver}}")); drv != "cgroupfs" {
		t.Skipf("Docker's cgroup driver is %s: these machines run no systemd; the systemd slice form is unit-tested (TestPodCgroup)", drv)
	}
	image := busybox(t, d)
	parent := fmt.Sprintf("/dcri-e2e/podcg-%d", os.Getpid())
	t.Cleanup(func() { removeCgroup(t, parent) }) // after the pod's containers are gone
	removePodsAfter(t, "podcg")
	pod := podConfig(t, "podcg")
	pod.Linux = &runtimeapi.LinuxPodSandboxConfig{CgroupParent: parent}
	podID := runPod(t, d, pod)
	burner := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "burner"}, Image: spec(image),
		Command: []string{"sh", "-c", "while :; do :; done"},
	})
	time.Sleep(time.Second)
	ctr := containerStats(t, d, burner)
	ps, err := d.Runtime.PodSandboxStats(framework.Context(t), &runtimeapi.PodSandboxStatsRequest{PodSandboxId: podID})
	if err != nil {
		t.Fatal(err)
	}
	lx := ps.GetStats().GetLinux()
	if lx.GetCpu().GetUsageCoreNanoSeconds().GetValue() < ctr.GetCpu().GetUsageCoreNanoSeconds().GetValue() ||
		lx.GetProcess().GetProcessCount().GetValue() < 2 {
		t.Fatalf("pod stats = %v, container's CPU %d ns", lx, ctr.GetCpu().GetUsageCoreNanoSeconds().GetValue())
	}
	if !hostKeepsPressure() {
		t.Logf("this host keeps no pressure information: pressure not checked")
		return
	}
	if lx.GetCpu().GetPsi() == nil || lx.GetMemory().GetPsi() == nil || lx.GetIo().GetPsi() == nil || ctr.GetCpu().GetPsi() == nil || ctr.GetIo().GetPsi() == nil {
		t.Fatalf("pressure missing: pod %v, container cpu %v io %v", lx, ctr.GetCpu(), ctr.GetIo())
	}
}

func hostKeepsPressure() bool {
	for _, f := range []string{"/sys/fs/cgroup/cpu.pressure", "/sys/fs/cgroup/unified/cpu.pressure"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// removeCgroup removes a cgroup Docker made for a cgroup parent, and its
// parent, from every hierarchy (they outlive the containers). The kernel
// lets go of a cgroup whose last process just exited a little later: rmdir
// is retried for a few seconds.
func removeCgroup(t *testing.T, path string) {
	hs, _ := filepath.Glob("/sys/fs/cgroup/*") // the v1 hierarchies (and v2's own files: not directories)
	hs = append(hs, "/sys/fs/cgroup")          // cgroup v2
	for _, p := range []string{path, filepath.Dir(path)} {
		for _, h := range hs {
			dir := filepath.Join(h, p)
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				err := os.Remove(dir)
				if err == nil || os.IsNotExist(err) || errors.Is(err, syscall.ENOTDIR) {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("cgroup %s left behind: %v", dir, err)
					break
				}
			}
		}
	}
}
