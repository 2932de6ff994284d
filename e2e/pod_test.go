package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

type crictlStatus struct {
	Status struct {
		ID       string            `json:"id"`
		State    string            `json:"state"`
		ExitCode int               `json:"exitCode"`
		Reason   string            `json:"reason"`
		LogPath  string            `json:"logPath"`
		Labels   map[string]string `json:"labels"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Annotations map[string]string `json:"annotations"`
	} `json:"status"`
}

func inspect(t *testing.T, d *framework.Daemon, verb, id string) crictlStatus {
	t.Helper()
	var st crictlStatus
	if err := json.Unmarshal([]byte(crictl(t, d, verb, "-o", "json", id)), &st); err != nil {
		t.Fatalf("crictl %s: %v", verb, err)
	}
	return st
}

// TestPodLifecycleThroughCrictl drives a pod with two containers sharing
// the pod's PID namespace through every crictl verb, restarting dockercri
// between every step: what it reports must come from Docker and its
// checkpoints, not from memory.
func TestPodLifecycleThroughCrictl(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "lifecycle")
	logDir := filepath.Join(t.TempDir(), "pods", "e2e_lifecycle")
	pod := writeJSON(t, "pod.json", map[string]any{
		"metadata":      map[string]any{"name": "lifecycle", "namespace": "e2e", "uid": "uid-lifecycle", "attempt": 1},
		"log_directory": logDir,
		"labels":        map[string]string{"app": "lifecycle", "io.kubernetes.pod.name": "lifecycle"},
		"annotations":   map[string]string{"note": "a = b, \"c\""},
		// PID namespace POD (0, the default): the containers share it.
	})
	sleeper := writeJSON(t, "sleeper.json", map[string]any{
		"metadata": map[string]any{"name": "sleeper"}, "image": map[string]any{"image": image},
		"command": []string{"sleep", "3600"}, "log_path": "sleeper/0.log",
	})
	worker := writeJSON(t, "worker.json", map[string]any{
		"metadata": map[string]any{"name": "worker"}, "image": map[string]any{"image": image},
		"command":  []string{"sh", "-c", "sleep 1; echo to-stdout; echo to-stderr >&2; ps -o comm; exit 3"},
		"log_path": "worker/0.log", "labels": map[string]string{"role": "worker"},
	})

	podID := crictl(t, d, "runp", pod)
	d.Restart()
	if got := crictl(t, d, "pods", "-q", "--name", "lifecycle", "--state", "ready"); got != podID {
		t.Fatalf("crictl pods = %q, want %s", got, podID)
	}
	p := inspect(t, d, "inspectp", podID)
	if p.Status.State != "SANDBOX_READY" || p.Status.Labels["app"] != "lifecycle" || p.Status.Annotations["note"] != "a = b, \"c\"" {
		t.Fatalf("inspectp = %+v", p.Status)
	}

	sleeperID := crictl(t, d, "create", podID, sleeper, pod)
	workerID := crictl(t, d, "create", podID, worker, pod)
	d.Restart()
	if got := crictl(t, d, "ps", "-a", "-q", "--pod", podID, "--state", "created"); len(strings.Fields(got)) != 2 {
		t.Fatalf("created containers = %q, want 2", got)
	}
	crictl(t, d, "start", sleeperID)
	d.Restart()
	crictl(t, d, "start", workerID)
	d.Restart()

	w := waitExited(t, d, workerID, 30*time.Second)
	if w.GetExitCode() != 3 || w.GetReason() != "Error" {
		t.Fatalf("worker exit code %d reason %q, want 3 Error", w.GetExitCode(), w.GetReason())
	}
	d.Restart()
	ws := inspect(t, d, "inspect", workerID)
	if ws.Status.State != "CONTAINER_EXITED" || ws.Status.ExitCode != 3 || ws.Status.Labels["role"] != "worker" ||
		ws.Status.LogPath != filepath.Join(logDir, "worker/0.log") {
		t.Fatalf("inspect worker = %+v", ws.Status)
	}
	logs := crictl(t, d, "logs", workerID)
	// Shared PID namespace: the worker sees the pause process and the sleeper.
	for _, want := range []string{"to-stdout", "pause", "sleep", "ps"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("crictl logs = %q, missing %q", logs, want)
		}
	}
	file, err := os.ReadFile(ws.Status.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	criLine := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (stdout|stderr) [FP] `)
	for _, line := range strings.Split(strings.TrimSpace(string(file)), "\n") {
		if !criLine.MatchString(line) {
			t.Fatalf("log line %q is not in the CRI format", line)
		}
	}
	if !strings.Contains(string(file), " stderr F to-stderr\n") || !strings.Contains(string(file), " stdout F to-stdout\n") {
		t.Fatalf("log file lacks stdout or stderr:\n%s", file)
	}

	if s := inspect(t, d, "inspect", sleeperID); s.Status.State != "CONTAINER_RUNNING" {
		t.Fatalf("sleeper state %s, want running", s.Status.State)
	}
	crictl(t, d, "stop", "--timeout", "2", sleeperID)
	d.Restart()
	if s := inspect(t, d, "inspect", sleeperID); s.Status.State != "CONTAINER_EXITED" {
		t.Fatalf("sleeper state %s after stop", s.Status.State)
	}

	crictl(t, d, "stopp", podID)
	d.Restart()
	if p := inspect(t, d, "inspectp", podID); p.Status.State != "SANDBOX_NOTREADY" {
		t.Fatalf("pod state %s after stopp", p.Status.State)
	}
	crictl(t, d, "rm", sleeperID, workerID)
	d.Restart()
	if got := crictl(t, d, "ps", "-a", "-q", "--pod", podID); got != "" {
		t.Fatalf("containers left after rm: %q", got)
	}
	crictl(t, d, "rmp", podID)
	d.Restart()
	if got := crictl(t, d, "pods", "-q", "--name", "lifecycle"); got != "" {
		t.Fatalf("pods left after rmp: %q", got)
	}
	if got := framework.Docker(t, "ps", "-aq", "--filter", "label=io.kubernetes.sandbox.id="+podID); strings.TrimSpace(got) != "" {
		t.Fatalf("docker still has containers of the pod: %q", got)
	}
	if entries, err := os.ReadDir(filepath.Join(d.RootDir, "sandbox")); err != nil || len(entries) != 0 {
		t.Fatalf("checkpoints left after rmp: %v, %v", entries, err)
	}
}

// TestContainerOOMKilled runs a container past its memory limit.
func TestContainerOOMKilled(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "oom")
	pod := podConfig(t, "oom")
	podID := runPod(t, d, pod)
	const limit = 24 << 20
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "hog"},
		Image:    spec(image),
		// tail keeps the "line" it reads, and /dev/zero has no newline.
		Command: []string{"tail", "/dev/zero"},
		Linux: &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{
			MemoryLimitInBytes: limit, MemorySwapLimitInBytes: limit,
		}},
	})
	st := waitExited(t, d, id, time.Minute)
	if st.GetReason() != "OOMKilled" || st.GetExitCode() != 137 {
		t.Fatalf("reason %q exit code %d, want OOMKilled 137", st.GetReason(), st.GetExitCode())
	}
	if got := st.GetResources().GetLinux().GetMemoryLimitInBytes(); got != limit {
		t.Fatalf("reported memory limit %d, want %d", got, limit)
	}
}

// TestLabelsRoundTripThroughDocker stores odd labels and annotations in
// real Docker labels and reads them back through every read path; an
// image's LABELs (io.kubernetes.pod.name, annotation.evil) change nothing.
func TestLabelsRoundTripThroughDocker(t *testing.T) {
	d := framework.StartDockercri(t)
	env := framework.LoadEnv(t)
	ctx := framework.Context(t)
	labelImage := env.Registry + "/busybox-label:1.36"
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(labelImage)}); err != nil {
		t.Fatal(err)
	}
	removePodsAfter(t, "labels")
	labels := map[string]string{
		"io.kubernetes.pod.name":    "labels",
		"io.kubernetes.docker.type": "container",
		"annotation.fake":           "label",
		"io.dockercri.keys":         "[]",
		"ünï/cödé":                  "värde ✓",
		"empty":                     "",
	}
	annotations := map[string]string{
		"kubernetes.io/config.seen": "2026-11-22T10:00:00Z",
		"annotation.twice":          "x",
		"json":                      `{"a":[1,{"b":"c"}]}`,
		"multi":                     "line one\nline two",
	}
	pod := podConfig(t, "labels")
	pod.Labels, pod.Annotations = labels, annotations
	podID := runPod(t, d, pod)
	ctrID := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(labelImage),
		Command: []string{"sleep", "3600"}, Labels: labels, Annotations: annotations,
	})
	d.Restart()
	ctx = framework.Context(t)

	sameMaps := func(what string, got, want map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s = %q, want %q", what, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s[%q] = %q, want %q (all: %q)", what, k, got[k], v, got)
			}
		}
	}
	ps, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID})
	if err != nil {
		t.Fatal(err)
	}
	sameMaps("sandbox status labels", ps.GetStatus().GetLabels(), labels)
	sameMaps("sandbox status annotations", ps.GetStatus().GetAnnotations(), annotations)
	pl, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{Id: podID}})
	if err != nil || len(pl.GetItems()) != 1 {
		t.Fatalf("ListPodSandbox = %v, %v", pl, err)
	}
	sameMaps("sandbox list labels", pl.GetItems()[0].GetLabels(), labels)
	sameMaps("sandbox list annotations", pl.GetItems()[0].GetAnnotations(), annotations)

	cs, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctrID})
	if err != nil {
		t.Fatal(err)
	}
	sameMaps("container status labels", cs.GetStatus().GetLabels(), labels)
	sameMaps("container status annotations", cs.GetStatus().GetAnnotations(), annotations)
	cl, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		PodSandboxId: podID, LabelSelector: map[string]string{"ünï/cödé": "värde ✓"},
	}})
	if err != nil || len(cl.GetContainers()) != 1 {
		t.Fatalf("ListContainers by label = %v, %v", cl, err)
	}
	sameMaps("container list labels", cl.GetContainers()[0].GetLabels(), labels)
	sameMaps("container list annotations", cl.GetContainers()[0].GetAnnotations(), annotations)

	// The image's labels are on the Docker container, but not ours.
	raw := framework.Docker(t, "inspect", "--format", "{{json .Config.Labels}}", ctrID)
	if !strings.Contains(raw, `"annotation.evil":"1"`) {
		t.Fatalf("test premise: the image's labels are not on the container: %s", raw)
	}
}

// TestDockershimPodAdopted creates a pod and a container by hand with the
// names and labels dockershim gave them: dockercri lists, reports, stops
// and removes them.
func TestDockershimPodAdopted(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "legacy")
	ctx := framework.Context(t)
	sbID := strings.TrimSpace(framework.Docker(t, "run", "-d", "--name", "k8s_POD_legacy_e2e_uid-legacy_0",
		"--label", "io.kubernetes.docker.type=podsandbox", "--label", "io.kubernetes.pod.name=legacy",
		"--label", "annotation.kubernetes.io/config.source=api", "--network", "none", env.PauseImage))
	ctrID := strings.TrimSpace(framework.Docker(t, "run", "-d", "--name", "k8s_app_legacy_e2e_uid-legacy_2",
		"--label", "io.kubernetes.docker.type=container", "--label", "io.kubernetes.sandbox.id="+sbID,
		"--label", "io.kubernetes.container.name=app", "--label", "annotation.io.kubernetes.container.hash=abc",
		"--network", "container:"+sbID, image, "sleep", "3600"))

	if got := crictl(t, d, "pods", "-q", "--name", "legacy"); got != sbID {
		t.Fatalf("crictl pods = %q, want the hand-made pod %s", got, sbID)
	}
	ps, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sbID})
	if err != nil {
		t.Fatal(err)
	}
	st := ps.GetStatus()
	if st.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY || st.GetMetadata().GetName() != "legacy" ||
		st.GetMetadata().GetNamespace() != "e2e" || st.GetMetadata().GetUid() != "uid-legacy" ||
		st.GetLabels()["io.kubernetes.pod.name"] != "legacy" || st.GetAnnotations()["kubernetes.io/config.source"] != "api" {
		t.Fatalf("PodSandboxStatus = %v", st)
	}
	cl, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: sbID}})
	if err != nil || len(cl.GetContainers()) != 1 {
		t.Fatalf("ListContainers = %v, %v", cl, err)
	}
	c := cl.GetContainers()[0]
	if c.GetId() != ctrID || c.GetMetadata().GetName() != "app" || c.GetMetadata().GetAttempt() != 2 ||
		c.GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING || c.GetAnnotations()["io.kubernetes.container.hash"] != "abc" {
		t.Fatalf("legacy container = %v", c)
	}
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sbID}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sbID}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(framework.Docker(t, "ps", "-aq", "--filter", "name=_legacy_e2e_")); got != "" {
		t.Fatalf("containers of the legacy pod left: %q", got)
	}
}

// TestPodBadInput: clear codes, nothing left behind.
func TestPodBadInput(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "bad")
	ctx := framework.Context(t)
	// Only this test's pod: the dockerd may run other tests' containers.
	mine := func() string { return framework.Docker(t, "ps", "-aq", "--filter", "name=_bad_e2e_uid-bad_") }
	before := mine()

	_, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{}})
	wantStatus(t, "RunPodSandbox without metadata", err, codes.InvalidArgument)
	bad := podConfig(t, "bad")
	bad.Linux = &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{"kernel.panic": "1"}}
	_, err = d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: bad})
	wantStatus(t, "host sysctl", err, codes.InvalidArgument)

	pod := podConfig(t, "bad")
	podID := runPod(t, d, pod)
	ctr := func(mod func(*runtimeapi.ContainerConfig)) *runtimeapi.ContainerConfig {
		c := &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(image), Command: []string{"true"}}
		mod(c)
		return c
	}
	tests := []struct {
		name  string
		podID string
		give  *runtimeapi.ContainerConfig
		want  codes.Code
	}{
		{name: "unknown sandbox", podID: strings.Repeat("0", 64), give: ctr(func(*runtimeapi.ContainerConfig) {}), want: codes.NotFound},
		{name: "no metadata", podID: podID, give: ctr(func(c *runtimeapi.ContainerConfig) { c.Metadata = nil }), want: codes.InvalidArgument},
		{name: "empty name", podID: podID, give: ctr(func(c *runtimeapi.ContainerConfig) { c.Metadata.Name = "" }), want: codes.InvalidArgument},
		{name: "log path escapes", podID: podID, give: ctr(func(c *runtimeapi.ContainerConfig) { c.LogPath = "../../../etc/x" }), want: codes.InvalidArgument},
		{name: "negative uid", podID: podID, give: ctr(func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: -1}}}
		}), want: codes.InvalidArgument},
		{name: "overflowing uid", podID: podID, give: ctr(func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: 1 << 40}}}
		}), want: codes.InvalidArgument},
		{name: "absurd memory", podID: podID, give: ctr(func(c *runtimeapi.ContainerConfig) {
			c.Linux = &runtimeapi.LinuxContainerConfig{Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -5}}
		}), want: codes.InvalidArgument},
		{name: "absent image", podID: podID, give: ctr(func(c *runtimeapi.ContainerConfig) { c.Image = spec("127.0.0.1:5000/absent:1") }), want: codes.NotFound},
	}
	for _, tt := range tests {
		_, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: tt.podID, Config: tt.give, SandboxConfig: pod})
		wantStatus(t, tt.name, err, tt.want)
	}
	for _, call := range []struct {
		name string
		err  error
	}{
		{"ContainerStatus of an unknown id", func() error {
			_, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "nope"})
			return err
		}()},
		{"PodSandboxStatus of an unknown id", func() error {
			_, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: "nope"})
			return err
		}()},
	} {
		wantStatus(t, call.name, call.err, codes.NotFound)
	}
	// Stop and remove of what is gone succeed.
	if _, err := d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: strings.Repeat("a", 64)}); err != nil {
		t.Errorf("StopContainer of an absent container: %v", err)
	}
	if _, err := d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: strings.Repeat("a", 64)}); err != nil {
		t.Errorf("RemoveContainer of an absent container: %v", err)
	}
	if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
			t.Fatalf("RemovePodSandbox #%d: %v", i+1, err)
		}
	}
	if after := mine(); after != before {
		t.Fatalf("containers left behind:\nbefore %q\nafter  %q", before, after)
	}
}

func wantStatus(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Errorf("%s: error = %v, want code %v", what, err, want)
	}
}

// lostSuccesses are the pods of names that are ready though their calls
// failed: a call that succeeded just as its client's deadline passed, whose
// answer the client never read. The kubelet sees such a pod in its relist
// and removes it. A leak is the other kind: a pause container created for a
// call that had ended, never started, so never ready.
func lostSuccesses(t *testing.T, d *framework.Daemon, names, made []string) []string {
	t.Helper()
	resp, err := d.Runtime.ListPodSandbox(framework.Context(t), &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}}})
	if err != nil {
		t.Fatal(err)
	}
	var lost []string
	for _, p := range resp.GetItems() {
		if slices.Contains(names, p.GetMetadata().GetName()) && !slices.Contains(made, p.GetId()) {
			t.Logf("pod %s succeeded as its call's deadline passed", p.GetMetadata().GetName())
			lost = append(lost, p.GetId())
		}
	}
	return lost
}

// RunPodSandbox calls whose clients give up at every point of the call
// (deadlines from 5 to 395 ms) leave nothing: what Docker finished creating
// for a request that had ended is removed, and what succeeded is the
// caller's.
func TestRunPodSandboxGivenUpLeavesNothing(t *testing.T) {
	d := framework.StartDockercri(t)
	const n = 40
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("late%d", i))
	}
	removePodsAfter(t, names...)
	var made []string
	for i, name := range names {
		ctx, cancel := context.WithTimeout(framework.Context(t), time.Duration(5+i*10)*time.Millisecond)
		resp, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: podConfig(t, name)})
		cancel()
		if err == nil {
			made = append(made, resp.GetPodSandboxId())
		}
	}
	ctx := framework.Context(t)
	made = append(made, lostSuccesses(t, d, names, made)...)
	for _, id := range made {
		if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatal(err)
		}
	}
	// A create Docker was still finishing when its call ended is removed
	// within the call's own cleanup: give it a moment.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left []string
		for _, name := range names {
			if out := strings.TrimSpace(framework.Docker(t, "ps", "-aq", "--filter", "name=_"+name+"_e2e_uid-"+name+"_")); out != "" {
				left = append(left, name)
			}
		}
		if len(left) == 0 {
			t.Logf("%d of %d calls succeeded; nothing left", len(made), n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pause containers left by calls that gave up: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
