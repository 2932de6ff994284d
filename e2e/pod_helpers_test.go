package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// crictl runs crictl and fails the test if it fails.
func crictl(t testing.TB, d *framework.Daemon, args ...string) string {
	t.Helper()
	out, err := framework.Crictl(t, d, args...)
	if err != nil {
		t.Fatalf("crictl %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(out)
}

// writeJSON writes v as a crictl config file in a fresh temporary directory.
func writeJSON(t testing.TB, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// busybox is the test image, pulled through dockercri.
func busybox(t testing.TB, d *framework.Daemon) string {
	t.Helper()
	ref := framework.LoadEnv(t).Registry + "/busybox:1.36"
	if _, err := d.Image.PullImage(framework.Context(t), &runtimeapi.PullImageRequest{Image: spec(ref)}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// podConfig is a minimal sandbox config as the kubelet would send it.
func podConfig(t testing.TB, name string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "e2e", Uid: "uid-" + name, Attempt: 1},
		LogDirectory: filepath.Join(t.TempDir(), "pods", "e2e_"+name),
		Labels:       map[string]string{"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": "e2e"},
	}
}

// removePodsAfter removes, at the end of the test, every Docker container
// of the pods whose uid is given, whatever dockercri did.
func removePodsAfter(t testing.TB, names ...string) {
	t.Cleanup(func() {
		for _, name := range names {
			out := framework.Docker(t, "ps", "-aq", "--filter", "name=_"+name+"_e2e_uid-"+name+"_")
			if ids := strings.Fields(out); len(ids) > 0 {
				framework.Docker(t, append([]string{"rm", "-f", "-v"}, ids...)...)
			}
		}
	})
}

func runPod(t testing.TB, d *framework.Daemon, cfg *runtimeapi.PodSandboxConfig) string {
	t.Helper()
	resp, err := d.Runtime.RunPodSandbox(framework.Context(t), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPodSandboxId()
}

func createAndStart(t testing.TB, d *framework.Daemon, podID string, pod *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) string {
	t.Helper()
	ctx := framework.Context(t)
	resp, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: resp.GetContainerId()}); err != nil {
		t.Fatal(err)
	}
	return resp.GetContainerId()
}

// waitExited polls ContainerStatus until the container has exited.
func waitExited(t testing.TB, d *framework.Daemon, id string, within time.Duration) *runtimeapi.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := d.Runtime.ContainerStatus(framework.Context(t), &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			t.Fatal(err)
		}
		if st.GetStatus().GetState() == runtimeapi.ContainerState_CONTAINER_EXITED {
			return st.GetStatus()
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s did not exit within %v: %v", id, within, st.GetStatus())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
