package e2e

import (
	"context"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// TestListCacheFollowsDocker: dockercri answers relists and container
// statuses from memory kept current by Docker's events (its default
// --list-cache-max-age). A container stopped behind its back, through
// Docker's own API, is listed and reported exited within moments; after
// Docker restarts (the event stream broken, the containers killed), the pod
// is listed not ready.
func TestListCacheFollowsDocker(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "listcache")
	pod := podConfig(t, "listcache")
	podID := runPod(t, d, pod)
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(image), Command: []string{"sleep", "3600"}})

	state := func() (runtimeapi.ContainerState, runtimeapi.ContainerState, runtimeapi.PodSandboxState) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var listed runtimeapi.ContainerState = -1
		var pod runtimeapi.PodSandboxState = -1
		if l, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err == nil {
			for _, c := range l.GetContainers() {
				if c.GetId() == id {
					listed = c.GetState()
				}
			}
		}
		if l, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
			for _, p := range l.GetItems() {
				if p.GetId() == podID {
					pod = p.GetState()
				}
			}
		}
		var status runtimeapi.ContainerState = -1
		if st, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id}); err == nil {
			status = st.GetStatus().GetState()
		}
		return listed, status, pod
	}
	within := func(what string, limit time.Duration, ok func(l, s runtimeapi.ContainerState, p runtimeapi.PodSandboxState) bool) {
		t.Helper()
		start := time.Now()
		for {
			l, s, p := state()
			if ok(l, s, p) {
				t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %v (listed %v, status %v, pod %v)", what, limit, l, s, p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	running := runtimeapi.ContainerState_CONTAINER_RUNNING
	exited := runtimeapi.ContainerState_CONTAINER_EXITED
	within("running, listed and reported", 5*time.Second, func(l, s runtimeapi.ContainerState, _ runtimeapi.PodSandboxState) bool {
		return l == running && s == running
	})
	// Cached by now: the same answers for a while, nothing changing.
	for i := 0; i < 20; i++ {
		if l, s, p := state(); l != running || s != running || p != runtimeapi.PodSandboxState_SANDBOX_READY {
			t.Fatalf("relist %d with nothing changed: listed %v, status %v, pod %v", i, l, s, p)
		}
	}

	framework.Docker(t, "stop", "-t", "0", id)
	within("stopped through Docker: listed and reported exited", 3*time.Second, func(l, s runtimeapi.ContainerState, _ runtimeapi.PodSandboxState) bool {
		return l == exited && s == exited
	})

	restartDockerd(t)
	within("after Docker's restart the pod is not ready", 15*time.Second, func(_, _ runtimeapi.ContainerState, p runtimeapi.PodSandboxState) bool {
		return p == runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	})
}
