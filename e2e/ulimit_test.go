package e2e

import (
	"os"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// TestContainerLimitsAreTheRuntimes pins dockercri's rlimit policy, which is
// containerd's CRI's: no ulimit is set on a container, so it has the limits
// of the runtime that starts it (the containerd shim, which has
// containerd's). Docker 29 bundles containerd 2.x, whose service unit no
// longer raises the open-file limit: a node's containers get what its
// containerd has, under dockercri as under containerd's CRI.
func TestContainerLimitsAreTheRuntimes(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "limits")
	pod := podConfig(t, "limits")
	podID := runPod(t, d, pod)
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "limits"}, Image: spec(image),
		Command: []string{"sleep", "3600"},
	})
	if got := strings.TrimSpace(framework.Docker(t, "inspect", "-f", "{{json .HostConfig.Ulimits}}", id)); got != "null" && got != "[]" {
		t.Fatalf("HostConfig.Ulimits = %s, want none set", got)
	}
	pid := strings.TrimSpace(framework.Docker(t, "inspect", "-f", "{{.State.Pid}}", id))
	shim := procField(t, pid, "PPid")
	if comm := readProc(t, shim, "comm"); !strings.HasPrefix(comm, "containerd-shim") {
		t.Fatalf("the container's parent is %q (pid %s), not the containerd shim", comm, shim)
	}
	for _, limit := range []string{"Max open files", "Max processes", "Max locked memory"} {
		got, want := limitLine(t, pid, limit), limitLine(t, shim, limit)
		if got != want {
			t.Errorf("%s: container %q, its runtime %q", limit, got, want)
		}
	}
	t.Logf("open files: %s", limitLine(t, pid, "Max open files"))
}

func readProc(t *testing.T, pid, file string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func procField(t *testing.T, pid, field string) string {
	t.Helper()
	for _, line := range strings.Split(readProc(t, pid, "status"), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%s/status has no %s", pid, field)
	return ""
}

// limitLine is the soft and hard value of one line of /proc/<pid>/limits.
func limitLine(t *testing.T, pid, name string) string {
	t.Helper()
	for _, line := range strings.Split(readProc(t, pid, "limits"), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	t.Fatalf("/proc/%s/limits has no %q", pid, name)
	return ""
}
