package shim

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podInfoResources reads the pod's resources from PodSandboxStatus's
// verbose info, where they are reported.
func podInfoResources(t *testing.T, c *testClients, id string) (overhead, resources *podResources) {
	t.Helper()
	st, err := c.runtime.PodSandboxStatus(testContext(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Overhead  *podResources `json:"overhead"`
		Resources *podResources `json:"resources"`
	}
	if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil {
		t.Fatalf("verbose info %q: %v", st.GetInfo()["info"], err)
	}
	return info.Overhead, info.Resources
}

func TestUpdatePodSandboxResourcesRecordsAndSurvivesRestart(t *testing.T) {
	f := fakeWithImages()
	root := t.TempDir()
	c := newTestClients(t, f, func(cfg *Config) { cfg.RootDirectory = root })
	cfg := sandboxConfig("web")
	cfg.Linux = &runtimeapi.LinuxPodSandboxConfig{Resources: &runtimeapi.LinuxContainerResources{CpuShares: 102, MemoryLimitInBytes: 64 << 20}}
	id := runSandbox(t, c, cfg)
	if _, res := podInfoResources(t, c, id); res == nil || res.CPUShares != 102 || res.MemoryLimitInBytes != 64<<20 {
		t.Fatalf("resources after RunPodSandbox = %+v, want the config's", res)
	}

	f.resetCalls()
	req := &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: id[:12], // a prefix, as crictl takes
		Overhead:     &runtimeapi.LinuxContainerResources{CpuShares: 25, CpuQuota: 2500, CpuPeriod: 100000, MemoryLimitInBytes: 8 << 20},
		Resources: &runtimeapi.LinuxContainerResources{CpuShares: 1024, CpuQuota: 100000, CpuPeriod: 100000, MemoryLimitInBytes: 256 << 20,
			HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 0}}, Unified: map[string]string{"memory.oom.group": "1"}},
	}
	if _, err := c.runtime.UpdatePodSandboxResources(testContext(t), req); err != nil {
		t.Fatal(err)
	}
	// The kubelet has sized the pod cgroup itself: Docker is only asked
	// which pod this is.
	assertCalls(t, f.callLog(), []string{"ContainerInspect " + id[:12]})
	wantOverhead := &podResources{CPUShares: 25, CPUQuota: 2500, CPUPeriod: 100000, MemoryLimitInBytes: 8 << 20}
	wantResources := &podResources{CPUShares: 1024, CPUQuota: 100000, CPUPeriod: 100000, MemoryLimitInBytes: 256 << 20,
		HugepageLimits: []hugepageLimit{{PageSize: "2MB"}}, Unified: map[string]string{"memory.oom.group": "1"}}
	check := func(c *testClients, when string) {
		t.Helper()
		o, r := podInfoResources(t, c, id)
		if !reflect.DeepEqual(o, wantOverhead) || !reflect.DeepEqual(r, wantResources) {
			t.Fatalf("%s: overhead %+v resources %+v; want %+v, %+v", when, o, r, wantOverhead, wantResources)
		}
	}
	check(c, "after the update")

	// A field left out keeps its value.
	if _, err := c.runtime.UpdatePodSandboxResources(testContext(t), &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: id, Resources: &runtimeapi.LinuxContainerResources{CpuShares: 512},
	}); err != nil {
		t.Fatal(err)
	}
	wantResources = &podResources{CPUShares: 512}
	check(c, "after a second update")

	restarted := newTestClients(t, f, func(cfg *Config) { cfg.RootDirectory = root })
	check(restarted, "after a dockercri restart")
}

func TestUpdatePodSandboxResourcesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		id      string // "" is the empty id; "sandbox" the pod's
		req     *runtimeapi.UpdatePodSandboxResourcesRequest
		want    codes.Code
		mention string
	}{
		{name: "empty id", id: "", want: codes.InvalidArgument, mention: "empty pod sandbox id"},
		{name: "unknown id", id: strings.Repeat("f", 64), want: codes.NotFound, mention: strings.Repeat("f", 64)},
		{name: "unknown short id", id: "nosuchpod", want: codes.NotFound, mention: "nosuchpod"},
		{name: "an app container's id", id: "container", want: codes.NotFound},
		{name: "negative memory", id: "sandbox", req: &runtimeapi.UpdatePodSandboxResourcesRequest{
			Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}}, want: codes.InvalidArgument, mention: "resources"},
		{name: "negative shares in the overhead", id: "sandbox", req: &runtimeapi.UpdatePodSandboxResourcesRequest{
			Overhead: &runtimeapi.LinuxContainerResources{CpuShares: -2}}, want: codes.InvalidArgument, mention: "overhead"},
		{name: "negative period", id: "sandbox", req: &runtimeapi.UpdatePodSandboxResourcesRequest{
			Resources: &runtimeapi.LinuxContainerResources{CpuPeriod: -1}}, want: codes.InvalidArgument, mention: "cpu_period"},
		{name: "bad cpuset", id: "sandbox", req: &runtimeapi.UpdatePodSandboxResourcesRequest{
			Resources: &runtimeapi.LinuxContainerResources{CpusetCpus: "0-1;rm"}}, want: codes.InvalidArgument, mention: "cpuset_cpus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeWithImages()
			c := newTestClients(t, f)
			cfg := sandboxConfig("web")
			sbID := runSandbox(t, c, cfg)
			ctrID := createContainer(t, c, sbID, cfg, "app")
			req := tt.req
			if req == nil {
				req = &runtimeapi.UpdatePodSandboxResourcesRequest{Resources: &runtimeapi.LinuxContainerResources{CpuShares: 2}}
			}
			req.PodSandboxId = map[string]string{"sandbox": sbID, "container": ctrID}[tt.id]
			if req.PodSandboxId == "" {
				req.PodSandboxId = tt.id
			}
			before := c.svc.checkpoints.get(sbID)
			f.resetCalls()
			_, err := c.runtime.UpdatePodSandboxResources(testContext(t), req)
			st := wantCode(t, err, tt.want)
			if !strings.Contains(st.Message(), tt.mention) {
				t.Fatalf("message %q does not name %q", st.Message(), tt.mention)
			}
			if after := c.svc.checkpoints.get(sbID); !reflect.DeepEqual(before, after) {
				t.Fatalf("a refused update changed the checkpoint: %+v", after)
			}
			if tt.want == codes.InvalidArgument && len(f.callLog()) != 0 {
				t.Fatalf("bad input reached Docker: %v", f.callLog())
			}
			if tt.id == "container" && c.svc.checkpoints.get(ctrID) != nil {
				t.Fatal("an app container got a sandbox checkpoint")
			}
		})
	}
}

// TestUpdatePodSandboxResourcesWithoutCheckpoint: a pod adopted from
// dockershim has no checkpoint of ours; it gets one, which changes nothing
// else about the pod. A pod known only by its checkpoint is updated too.
func TestUpdatePodSandboxResourcesWithoutCheckpoint(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	ctx := testContext(t)
	id := runSandbox(t, c, sandboxConfig("adopted"))
	before, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatal(err)
	}
	c.svc.checkpoints.remove(id)
	if _, err := c.runtime.UpdatePodSandboxResources(ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: id, Resources: &runtimeapi.LinuxContainerResources{CpuShares: 300},
	}); err != nil {
		t.Fatal(err)
	}
	cp := c.svc.checkpoints.get(id)
	if cp == nil || cp.Name != "adopted" || cp.UID != "uid-adopted" || cp.Attempt != 1 || cp.Network != "" || cp.CreatedAt == 0 ||
		cp.Resources == nil || cp.Resources.CPUShares != 300 || cp.Overhead != nil {
		t.Fatalf("checkpoint = %+v", cp)
	}
	after, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil || after.GetStatus().GetNetwork().GetIp() != before.GetStatus().GetNetwork().GetIp() ||
		after.GetStatus().GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("status changed: %v, was %v (%v)", after, before, err)
	}

	f.mu.Lock()
	f.containers = nil // the pause container vanishes; the checkpoint remains
	f.mu.Unlock()
	if _, err := c.runtime.UpdatePodSandboxResources(ctx, &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: id, Resources: &runtimeapi.LinuxContainerResources{CpuShares: 400},
	}); err != nil {
		t.Fatal(err)
	}
	if cp := c.svc.checkpoints.get(id); cp == nil || cp.Resources.CPUShares != 400 {
		t.Fatalf("checkpoint-only pod: %+v", cp)
	}
}

// TestUpdatePodSandboxResourcesRacingRemove: a pod removed while its
// resources are recorded is not brought back as a checkpoint (it would be
// listed as a NOTREADY pod until removed again).
func TestUpdatePodSandboxResourcesRacingRemove(t *testing.T) {
	update := func(c *testClients, id string) error {
		_, err := c.runtime.UpdatePodSandboxResources(testContext(t), &runtimeapi.UpdatePodSandboxResourcesRequest{
			PodSandboxId: id, Resources: &runtimeapi.LinuxContainerResources{CpuShares: 2},
		})
		return err
	}
	// removeOnInspect removes the pod as the nth inspect is asked for (the
	// fake runs hooks before it answers).
	removeOnInspect := func(f *fakeDocker, c *testClients, id string, n int) {
		calls := 0
		f.hooks = map[string]func(){"ContainerInspect": func() {
			if calls++; calls == n {
				if _, err := c.svc.RemovePodSandbox(testContext(t), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
					t.Error(err)
				}
			}
		}}
	}
	t.Run("removed before the update's inspect", func(t *testing.T) {
		f := fakeWithImages()
		c := newTestClients(t, f)
		id := runSandbox(t, c, sandboxConfig("web"))
		removeOnInspect(f, c, id, 1)
		wantCode(t, update(c, id), codes.NotFound)
		if ids := c.svc.checkpoints.ids(); len(ids) != 0 {
			t.Fatalf("checkpoints %v after the pod was removed", ids)
		}
	})
	t.Run("adopted pod removed between the inspect and the write", func(t *testing.T) {
		f := fakeWithImages()
		c := newTestClients(t, f)
		id := runSandbox(t, c, sandboxConfig("web"))
		c.svc.checkpoints.remove(id)
		// The removal found no checkpoint to remove; the update then wrote
		// one. What it sees next is the pause container gone.
		calls := 0
		f.hooks = map[string]func(){"ContainerInspect": func() {
			if calls++; calls == 2 {
				f.mu.Lock()
				f.containers = nil
				f.mu.Unlock()
			}
		}}
		if err := update(c, id); err != nil {
			t.Fatal(err)
		}
		if ids := c.svc.checkpoints.ids(); len(ids) != 0 {
			t.Fatalf("checkpoints %v after the pod was removed", ids)
		}
	})
}

// TestCheckpointUpdateDoesNotResurrect: update of a checkpoint removed
// meanwhile writes nothing unless the change makes one.
func TestCheckpointUpdateDoesNotResurrect(t *testing.T) {
	s, err := openCheckpointStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.put(sbID1, &sandboxCheckpoint{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := s.remove(sbID1); err != nil {
		t.Fatal(err)
	}
	err = s.update(sbID1, func(cp *sandboxCheckpoint) (*sandboxCheckpoint, error) {
		if cp != nil {
			t.Errorf("update saw a removed checkpoint: %+v", cp)
		}
		return nil, nil
	})
	if err != nil || s.get(sbID1) != nil {
		t.Fatalf("update = %v, checkpoint %+v", err, s.get(sbID1))
	}
}

func TestPodResourcesFromCopies(t *testing.T) {
	if podResourcesFrom(nil) != nil {
		t.Fatal("nil resources recorded as some")
	}
	unified := map[string]string{"memory.high": "100"}
	p := podResourcesFrom(&runtimeapi.LinuxContainerResources{Unified: unified, OomScoreAdj: -997, MemorySwapLimitInBytes: 5, CpusetMems: "0"})
	unified["memory.high"] = "changed"
	if p.Unified["memory.high"] != "100" || p.OOMScoreAdj != -997 || p.MemorySwapLimitInBytes != 5 || p.CpusetMems != "0" {
		t.Fatalf("podResources = %+v", p)
	}
	// Every field of LinuxContainerResources has a place in the checkpoint.
	got, want := reflect.TypeOf(podResources{}).NumField(), (&runtimeapi.LinuxContainerResources{}).ProtoReflect().Descriptor().Fields().Len()
	if got != want {
		t.Fatalf("podResources has %d fields, LinuxContainerResources %d", got, want)
	}
}
