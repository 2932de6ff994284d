package shim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandboxConfig is a pod config as the kubelet sends it.
func sandboxConfig(name string) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: "default", Uid: "uid-" + name, Attempt: 1},
		Labels:       map[string]string{"app": name, "io.kubernetes.pod.name": name},
		Annotations:  map[string]string{"note": "odd = value, with \"quotes\""},
		LogDirectory: "/var/log/pods/default_" + name,
	}
}

func runSandbox(t *testing.T, c *testClients, cfg *runtimeapi.PodSandboxConfig) string {
	t.Helper()
	resp, err := c.runtime.RunPodSandbox(testContext(t), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPodSandboxId()
}

func TestRunPodSandboxCallSequence(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	id := runSandbox(t, c, sandboxConfig("web"))
	want := []string{
		"ImageInspect " + testPause,
		"Info",
		"ContainerCreate k8s_POD_web_default_uid-web_1",
		"ContainerStart " + id,
		"ContainerInspect " + id,
	}
	assertCalls(t, f.callLog(), want)
	if c.svc.checkpoints.get(id) == nil {
		t.Fatal("no checkpoint written")
	}
	if got := f.containerByName("k8s_POD_web_default_uid-web_1"); got == nil || got.state != "running" {
		t.Fatalf("sandbox container = %+v", got)
	}
}

func TestRunPodSandboxPullsAbsentPauseImage(t *testing.T) {
	f := newFakeDocker()
	f.registry[testPause] = &fakeImage{id: pauseID, tags: []string{testPause}}
	c := newTestClients(t, f)
	runSandbox(t, c, sandboxConfig("web"))
	calls := f.callLog()
	if len(calls) < 2 || calls[0] != "ImageInspect "+testPause || calls[1] != "ImagePull "+testPause {
		t.Fatalf("calls = %v, want an inspect then a pull of the pause image", calls)
	}
}

func TestRunPodSandboxRollsBackWhenStartFails(t *testing.T) {
	f := fakeWithImages()
	f.errs["ContainerStart"] = errors.New("runc: can't get final child's PID from pipe")
	c := newTestClients(t, f)
	_, err := c.runtime.RunPodSandbox(testContext(t), &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web")})
	st := wantCode(t, err, codes.Internal)
	if !strings.Contains(st.Message(), "k8s_POD_web_default_uid-web_1") || !strings.Contains(st.Message(), "runc") {
		t.Fatalf("message %q should name the pod and keep Docker's error", st.Message())
	}
	if len(f.containers) != 0 {
		t.Fatalf("a failed RunPodSandbox left %d containers", len(f.containers))
	}
	if ids := c.svc.checkpoints.ids(); len(ids) != 0 {
		t.Fatalf("a failed RunPodSandbox left checkpoints %v", ids)
	}
	last := f.callLog()[len(f.callLog())-1]
	if !strings.HasPrefix(last, "ContainerRemove ") {
		t.Fatalf("last call %q, want the rollback's ContainerRemove", last)
	}
}

func TestRunPodSandboxResolvesNameConflicts(t *testing.T) {
	t.Run("leftover that is not running is removed", func(t *testing.T) {
		f := fakeWithImages()
		c := newTestClients(t, f)
		id := runSandbox(t, c, sandboxConfig("web"))
		f.containerByName("k8s_POD_web_default_uid-web_1").state = "exited"
		c.svc.checkpoints.remove(id) // a crash between create and checkpoint
		newID := runSandbox(t, c, sandboxConfig("web"))
		if newID == id || len(f.containers) != 1 {
			t.Fatalf("leftover not replaced: %d containers", len(f.containers))
		}
	})
	t.Run("running namesake gets a suffixed name", func(t *testing.T) {
		f := fakeWithImages()
		c := newTestClients(t, f)
		runSandbox(t, c, sandboxConfig("web"))
		id2 := runSandbox(t, c, sandboxConfig("web"))
		if len(f.containers) != 2 {
			t.Fatalf("%d containers, want both", len(f.containers))
		}
		st, err := c.runtime.PodSandboxStatus(testContext(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id2})
		if err != nil || st.GetStatus().GetMetadata().GetName() != "web" {
			t.Fatalf("suffixed sandbox status = %v, %v", st, err)
		}
	})
}

func TestRunPodSandboxBadInput(t *testing.T) {
	tests := []struct {
		name string
		give *runtimeapi.PodSandboxConfig
	}{
		{name: "no config", give: nil},
		{name: "no metadata", give: &runtimeapi.PodSandboxConfig{}},
		{name: "empty name", give: &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Namespace: "ns", Uid: "u"}}},
		{name: "underscore", give: &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "a_b", Namespace: "ns", Uid: "u"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeWithImages()
			c := newTestClients(t, f)
			_, err := c.runtime.RunPodSandbox(testContext(t), &runtimeapi.RunPodSandboxRequest{Config: tt.give})
			wantCode(t, err, codes.InvalidArgument)
			if len(f.containers) != 0 || len(f.callLog()) != 0 {
				t.Fatalf("bad input reached Docker: %v", f.callLog())
			}
		})
	}
}

// A cgroup parent Docker's driver cannot use is refused before any container
// is created, and nothing is left.
func TestRunPodSandboxRefusesBadCgroupParent(t *testing.T) {
	tests := []struct {
		driver, give string
	}{
		{driver: "cgroupfs", give: "../.."},
		{driver: "cgroupfs", give: "kubepods/pod1"},
		{driver: "cgroupfs", give: "kubepods-burstable-pod1.slice"},
		{driver: "systemd", give: "/kubepods/burstable/pod1"},
	}
	for _, tt := range tests {
		t.Run(tt.driver+" "+tt.give, func(t *testing.T) {
			f := fakeWithImages()
			f.info.CgroupDriver = tt.driver
			c := newTestClients(t, f)
			sb := sandboxConfig("cg")
			sb.Linux = &runtimeapi.LinuxPodSandboxConfig{CgroupParent: tt.give}
			_, err := c.runtime.RunPodSandbox(testContext(t), &runtimeapi.RunPodSandboxRequest{Config: sb})
			st := wantCode(t, err, codes.InvalidArgument)
			if !strings.Contains(st.Message(), tt.give) {
				t.Fatalf("message %q does not name the cgroup parent", st.Message())
			}
			for _, call := range f.callLog() {
				if strings.HasPrefix(call, "ContainerCreate") {
					t.Fatalf("a bad cgroup parent reached Docker: %v", f.callLog())
				}
			}
			if left, _ := os.ReadDir(filepath.Join(c.svc.cfg.RootDirectory, "sandbox")); len(left) != 0 {
				t.Fatalf("checkpoints left: %v", left)
			}
		})
	}
}

func TestRunPodSandboxOOMScore(t *testing.T) {
	zero := 0
	tests := []struct {
		name string
		min  *int
		want int
	}{
		{name: "unrestricted host gets dockershim's score", want: -998},
		{name: "restricted host is clamped", min: &zero, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeWithImages()
			c := newTestClients(t, f, func(cfg *Config) { cfg.Host.MinOOMScoreAdj = tt.min })
			runSandbox(t, c, sandboxConfig("web"))
			if got := f.containerByName("k8s_POD_web_default_uid-web_1").hostConfig.OomScoreAdj; got != tt.want {
				t.Fatalf("OomScoreAdj = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestRunPodSandboxWritesResolvConf(t *testing.T) {
	f := fakeWithImages()
	f.resolvDir = t.TempDir()
	c := newTestClients(t, f)
	cfg := sandboxConfig("web")
	cfg.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: []string{"default.svc.cluster.local"}, Options: []string{"ndots:5"}}
	id := runSandbox(t, c, cfg)
	b, err := os.ReadFile(f.resolvPath(id))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nameserver 10.96.0.10", "search default.svc.cluster.local", "options ndots:5"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("resolv.conf lacks %q:\n%s", want, b)
		}
	}
}

func TestSandboxStatusAndList(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	ctx := testContext(t)
	cfg := sandboxConfig("web")
	id := runSandbox(t, c, cfg)

	st, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatal(err)
	}
	s := st.GetStatus()
	if s.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY || s.GetMetadata().GetUid() != "uid-web" ||
		s.GetLabels()["app"] != "web" || s.GetAnnotations()["note"] != cfg.GetAnnotations()["note"] {
		t.Fatalf("status = %v", s)
	}
	list, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.GetItems()) != 1 || list.GetItems()[0].GetId() != id {
		t.Fatalf("list = %v, %v", list, err)
	}
	notReady, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
	}})
	if err != nil || len(notReady.GetItems()) != 0 {
		t.Fatalf("NOTREADY filter = %v, %v", notReady, err)
	}

	// The pause container vanishes behind our back: the checkpoint keeps the
	// pod visible as NOTREADY so the kubelet cleans it up.
	f.mu.Lock()
	f.containers = nil
	f.mu.Unlock()
	st, err = c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil || st.GetStatus().GetState() != runtimeapi.PodSandboxState_SANDBOX_NOTREADY || st.GetStatus().GetMetadata().GetName() != "web" {
		t.Fatalf("checkpoint-only status = %v, %v", st, err)
	}
	list, err = c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.GetItems()) != 1 || list.GetItems()[0].GetState() != runtimeapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("checkpoint-only list = %v, %v", list, err)
	}
	// Stop and remove of what is gone succeed and drop the checkpoint.
	if _, err := c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id}); err == nil {
		t.Fatal("status of a removed sandbox succeeded")
	} else {
		wantCode(t, err, codes.NotFound)
	}
}

func TestListIgnoresImageForgedSandboxes(t *testing.T) {
	f := fakeWithImages()
	// An image whose labels claim to be a pod sandbox, run by hand.
	f.images = append(f.images, &fakeImage{id: "sha256:" + strings.Repeat("e", 64), tags: []string{"evil:1"},
		labels: map[string]string{"io.kubernetes.docker.type": "podsandbox", "io.kubernetes.pod.name": "evil"}})
	c := newTestClients(t, f)
	ctx := testContext(t)
	runSandbox(t, c, sandboxConfig("web"))
	if _, err := f.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: "evil:1"}, Name: "hand-made"}); err != nil {
		t.Fatal(err)
	}
	list, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.GetItems()) != 1 || list.GetItems()[0].GetMetadata().GetName() != "web" {
		t.Fatalf("list = %v, %v; want only the real pod", list, err)
	}
}

func TestStopAndRemovePodSandbox(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	ctx := testContext(t)
	cfg := sandboxConfig("web")
	id := runSandbox(t, c, cfg)
	ctrID := createContainer(t, c, id, cfg, "app")
	if _, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: ctrID}); err != nil {
		t.Fatal(err)
	}
	f.resetCalls()
	if _, err := c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	// The app container first, then the sandbox.
	assertCalls(t, filterCalls(f.callLog(), "ContainerStop"), []string{"ContainerStop " + ctrID, "ContainerStop " + id})
	for i := 0; i < 2; i++ { // idempotent
		if _, err := c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.containers) != 0 || len(c.svc.checkpoints.ids()) != 0 {
		t.Fatalf("left %d containers, checkpoints %v", len(f.containers), c.svc.checkpoints.ids())
	}
	// Stopping an app container's ID as if it were a pod does nothing.
	id2 := runSandbox(t, c, sandboxConfig("db"))
	ctr2 := createContainer(t, c, id2, sandboxConfig("db"), "app")
	if _, err := c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: ctr2}); err != nil {
		t.Fatal(err)
	}
	if f.findContainer(ctr2) == nil {
		t.Fatal("RemovePodSandbox with a container's ID removed the container")
	}
}

func filterCalls(calls []string, prefix string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c, prefix+" ") {
			out = append(out, c)
		}
	}
	return out
}

// TestStateSurvivesShimRestart builds a second Service over the same Docker
// and root directory, as after a dockercri restart.
func TestStateSurvivesShimRestart(t *testing.T) {
	f := fakeWithImages()
	root := t.TempDir()
	c := newTestClients(t, f, func(cfg *Config) { cfg.RootDirectory = root })
	id := runSandbox(t, c, sandboxConfig("web"))
	f.mu.Lock()
	f.containers = nil // and the pause container disappears meanwhile
	f.mu.Unlock()

	restarted := newTestClients(t, f, func(cfg *Config) { cfg.RootDirectory = root })
	list, err := restarted.runtime.ListPodSandbox(testContext(t), &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(list.GetItems()) != 1 || list.GetItems()[0].GetId() != id {
		t.Fatalf("after restart: %v, %v; want the checkpoint-only pod", list, err)
	}
}
