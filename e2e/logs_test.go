package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// TestLogRotationAndRestart does what the kubelet's log rotation does (rename
// the file, ReopenContainerLog) while a container writes, and restarts
// dockercri right after: every line must land exactly once, in order, across
// the rotated and the current file.
func TestLogRotationAndRestart(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "rotate")
	pod := podConfig(t, "rotate")
	podID := runPod(t, d, pod)
	const lines = 80
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "writer"},
		Image:    spec(image),
		Command:  []string{"sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do echo line-$i; i=$((i+1)); sleep 0.05; done", lines)},
		LogPath:  "writer/0.log",
	})
	path := filepath.Join(pod.LogDirectory, "writer/0.log")

	time.Sleep(time.Second)
	rotated := path + "." + time.Now().UTC().Format("20060102-150405")
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.ReopenContainerLog(framework.Context(t), &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	d.Restart() // the new file may still be empty: resume from the rotated one
	time.Sleep(500 * time.Millisecond)
	d.Restart()

	st := waitExited(t, d, id, time.Minute)
	if st.GetExitCode() != 0 {
		t.Fatalf("writer exited %d", st.GetExitCode())
	}
	old, cur := logTexts(t, rotated), logTexts(t, path)
	if len(old) == 0 || len(cur) == 0 {
		t.Fatalf("rotation did not split the output: %d lines before, %d after", len(old), len(cur))
	}
	got := append(old, cur...)
	if len(got) != lines {
		t.Fatalf("%d lines across both files, want %d:\n%s", len(got), lines, strings.Join(got, "\n"))
	}
	for i, text := range got {
		if want := fmt.Sprintf("line-%d", i); text != want {
			t.Fatalf("line %d = %q, want %q (lost, duplicated or reordered)", i, text, want)
		}
	}
	if _, err := d.Runtime.ReopenContainerLog(framework.Context(t), &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err == nil {
		t.Fatal("ReopenContainerLog of an exited container succeeded")
	}
}

// logTexts reads a CRI log file and returns the text of its full lines,
// joining partial entries as the kubelet does.
func logTexts(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var partial strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 4)
		if len(f) < 3 || (f[1] != "stdout" && f[1] != "stderr") {
			t.Fatalf("%s: line %q is not in the CRI format", path, line)
		}
		text := ""
		if len(f) == 4 {
			text = f[3]
		}
		partial.WriteString(text)
		if f[2] == "F" {
			out = append(out, partial.String())
			partial.Reset()
		}
	}
	return out
}

// TestPrivilegedContainer: this host's bounding set lacks CAP_SYS_RESOURCE,
// so Docker's own privileged mode cannot start a container here; dockercri
// builds it from what the host has.
func TestPrivilegedContainer(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "priv")
	pod := podConfig(t, "priv")
	pod.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{Privileged: true}}
	podID := runPod(t, d, pod)
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "priv"},
		Image:    spec(image),
		// Mounting needs CAP_SYS_ADMIN, no seccomp filter and no masked /proc.
		Command: []string{"sh", "-c", "mkdir -p /m && mount -t tmpfs t /m && ls /dev/null /dev/loop-control >/dev/null && echo privileged-ok"},
		LogPath: "priv/0.log",
		Linux:   &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}},
	})
	st := waitExited(t, d, id, time.Minute)
	texts := logTexts(t, filepath.Join(pod.LogDirectory, "priv/0.log"))
	if st.GetExitCode() != 0 || len(texts) == 0 || texts[len(texts)-1] != "privileged-ok" {
		t.Fatalf("privileged container exited %d (%s), output %q", st.GetExitCode(), st.GetMessage(), texts)
	}
}

// TestListMatchesDocker: the lists, built from Docker's list output alone
// (the unit tests pin that no inspect is made), hold every pod and running
// container. BenchmarkList110Pods measures their cost on a full node.
func TestListMatchesDocker(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	names := []string{"list-a", "list-b", "list-c"}
	removePodsAfter(t, names...)
	var want []string
	for _, n := range names {
		pod := podConfig(t, n)
		id := runPod(t, d, pod)
		createAndStart(t, d, id, pod, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(image), Command: []string{"sleep", "3600"},
		})
		want = append(want, id)
	}
	ctx := framework.Context(t)
	pl, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pl.GetItems() {
		if strings.HasPrefix(p.GetMetadata().GetName(), "list-") {
			got = append(got, p.GetId())
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ListPodSandbox = %v, want %v", got, want)
	}
	cl, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range cl.GetContainers() {
		seen[c.GetPodSandboxId()] = true
	}
	for _, id := range want {
		if !seen[id] {
			t.Fatalf("ListContainers lacks the running container of pod %s", id)
		}
	}
}
