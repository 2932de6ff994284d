package shim

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// pauseNetNS is the namespace path of a running pause container in the fake
// (its pid is always 4242).
const pauseNetNS = "/proc/4242/ns/net"

// adoptionEnv is a node that dockershim or cri-dockerd ran: pods whose
// containers carry the dockershim names and labels but no dockercri
// manifest, no checkpoint of dockercri's, and the other runtime's
// checkpoints under oldRoot.
type adoptionEnv struct {
	f       *fakeDocker
	c       *testClients
	net     *fakeNetwork
	oldRoot string
	ports   []*runtimeapi.PortMapping // of the pods legacyPod makes
}

func newAdoptionEnv(t *testing.T) *adoptionEnv {
	e := &adoptionEnv{f: fakeWithImages(), net: newFakeNetwork(), oldRoot: t.TempDir()}
	e.net.inNetNS = map[string][]string{pauseNetNS: {"10.244.1.7"}}
	e.c = newTestClients(t, e.f, withNetwork(e.net), func(c *Config) { c.AdoptCheckpointsFrom = []string{e.oldRoot} })
	return e
}

// legacyPod makes a running pod as the other runtime left it: dockercri
// runs it, then forgets it (checkpoint and manifest gone, ADD forgotten by
// the fake network), and the other runtime's checkpoint is put in place
// from fixture ("" for none). hostNetwork puts it on the node's network.
func (e *adoptionEnv) legacyPod(t *testing.T, name, fixture string, hostNetwork bool) string {
	t.Helper()
	cfg := sandboxConfig(name)
	cfg.PortMappings = e.ports
	if hostNetwork {
		cfg.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}}
	}
	id := runSandbox(t, e.c, cfg)
	if err := e.c.svc.checkpoints.remove(id); err != nil {
		t.Fatal(err)
	}
	e.f.mu.Lock()
	delete(e.f.findContainer(id).config.Labels, translate.LabelManifest)
	e.f.mu.Unlock()
	e.net.mu.Lock()
	e.net.calls = nil
	e.net.mu.Unlock()
	if fixture != "" {
		b, err := os.ReadFile(filepath.Join("legacy", "testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(e.oldRoot, "sandbox")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, id), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func (e *adoptionEnv) calls() []string {
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	return slices.Clone(e.net.calls)
}

func (e *adoptionEnv) podIP(t *testing.T, id string) string {
	t.Helper()
	resp, err := e.c.runtime.PodSandboxStatus(testContext(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus().GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Fatalf("adopted pod is %v", resp.GetStatus().GetState())
	}
	return resp.GetStatus().GetNetwork().GetIp()
}

// TestAdoptCRIDockerdPodAtResume: the whole life of an adopted CNI pod.
// At start it gets a checkpoint with the address read from its namespace
// and cri-dockerd's port mappings; its status shows that address; its stop
// runs DEL with those mappings; its removal leaves cri-dockerd's file as it
// was.
func TestAdoptCRIDockerdPodAtResume(t *testing.T) {
	e := newAdoptionEnv(t)
	ctx := testContext(t)
	id := e.legacyPod(t, "frontend-0", "cri-dockerd-ports.json", false)
	theirs := filepath.Join(e.oldRoot, "sandbox", id)
	before, _ := os.ReadFile(theirs)

	if err := e.c.svc.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	cp := e.c.svc.checkpoints.get(id)
	if cp == nil || cp.Network != netUp || !slices.Equal(cp.IPs, []string{"10.244.1.7"}) || cp.UID != "uid-frontend-0" || len(cp.PortMappings) != 2 {
		t.Fatalf("checkpoint after adoption = %+v", cp)
	}
	if ip := e.podIP(t, id); ip != "10.244.1.7" {
		t.Fatalf("pod IP = %q, want the namespace's 10.244.1.7", ip)
	}
	assertCalls(t, e.calls(), []string{"ADDRESSES " + id + " netns=" + pauseNetNS})

	if _, err := e.c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	e.net.mu.Lock()
	dels := slices.Clone(e.net.dels)
	e.net.mu.Unlock()
	if len(dels) != 1 || dels[0].NetNS != pauseNetNS || len(dels[0].Ports) != 2 ||
		dels[0].Ports[0].HostPort != 8080 || dels[0].Ports[0].HostIP != "127.0.0.1" || dels[0].Ports[1].Protocol != "udp" {
		t.Fatalf("DEL = %+v, want one with cri-dockerd's two port mappings in the pod's namespace", dels)
	}
	if _, err := e.c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if e.c.svc.checkpoints.get(id) != nil {
		t.Fatal("dockercri's checkpoint outlived the pod")
	}
	if after, err := os.ReadFile(theirs); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("cri-dockerd's checkpoint changed or went: %v", err)
	}
}

// TestAdoptPodLazily: pods adopted at their first status (dockercri started
// while Docker was away), with and without the other runtime's checkpoint.
func TestAdoptPodLazily(t *testing.T) {
	tests := []struct {
		name        string
		fixture     string
		hostNetwork bool
		wantIP      string
		wantCalls   int // calls to the network: the address read only
		wantNetwork string
	}{
		{name: "dockershim CNI pod", fixture: "dockershim-ports.json", wantIP: "10.244.1.7", wantCalls: 1, wantNetwork: netUp},
		{name: "no checkpoint of the old runtime", wantIP: "10.244.1.7", wantCalls: 1, wantNetwork: netUp},
		{name: "host network", fixture: "cri-dockerd-hostnetwork.json", hostNetwork: true, wantNetwork: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAdoptionEnv(t)
			id := e.legacyPod(t, "web", tt.fixture, tt.hostNetwork)
			ip := e.podIP(t, id)
			if tt.wantIP != "" && ip != tt.wantIP {
				t.Fatalf("pod IP = %q, want %q", ip, tt.wantIP)
			}
			if got := len(e.calls()); got != tt.wantCalls {
				t.Fatalf("network calls = %v", e.calls())
			}
			cp := e.c.svc.checkpoints.get(id)
			if cp == nil || cp.Network != tt.wantNetwork {
				t.Fatalf("checkpoint = %+v", cp)
			}
			e.podIP(t, id) // adopted once: no second read
			if got := len(e.calls()); got != tt.wantCalls {
				t.Fatalf("network calls after a second status = %v", e.calls())
			}
		})
	}
}

// TestAdoptionUnreadableAddress: a pod whose address cannot be read is
// reported without one (the kubelet replaces it, as under dockershim) and
// is not adopted yet; its stop still adopts it and runs DEL.
func TestAdoptionUnreadableAddress(t *testing.T) {
	e := newAdoptionEnv(t)
	ctx := testContext(t)
	e.net.addrErr = os.ErrNotExist
	id := e.legacyPod(t, "web", "cri-dockerd-noports.json", false)
	if ip := e.podIP(t, id); ip != "" {
		t.Fatalf("pod IP = %q, want none", ip)
	}
	if cp := e.c.svc.checkpoints.get(id); cp != nil {
		t.Fatalf("checkpoint written without the address: %+v", cp)
	}
	if _, err := e.c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if calls := e.calls(); len(calls) == 0 || !strings.HasPrefix(calls[len(calls)-1], "DEL "+id) {
		t.Fatalf("network calls = %v, want a DEL last", calls)
	}
}

// TestCheckpointStoreRefusesAnotherRuntimesDirectory: a --root-directory
// that is cri-dockerd's makes dockercri refuse to start, and touches none
// of its files.
func TestCheckpointStoreRefusesAnotherRuntimesDirectory(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("legacy", "testdata", "cri-dockerd-ports.json"))
	if err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, strings.Repeat("c", 64))
	stray := filepath.Join(dir, "not-an-id")
	os.WriteFile(theirs, b, 0o600)
	os.WriteFile(stray, []byte("x"), 0o600)
	_, err = openCheckpointStore(dir)
	if err == nil || !strings.Contains(err.Error(), "--adopt-checkpoints-from") {
		t.Fatalf("err = %v, want a refusal naming --adopt-checkpoints-from", err)
	}
	for _, f := range []string{theirs, stray} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

// TestAdoptionPortsFromDocker: without the other runtime's checkpoint, the
// host ports come from the pause container's port bindings (both runtimes
// set them), so DEL still removes portmap's rules.
func TestAdoptionPortsFromDocker(t *testing.T) {
	e := newAdoptionEnv(t)
	e.ports = []*runtimeapi.PortMapping{
		{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 5353, HostIp: "127.0.0.1"},
		{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080},
		{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 81}, // exposed only: no host port
	}
	id := e.legacyPod(t, "web", "", false)
	if _, err := e.c.runtime.StopPodSandbox(testContext(t), &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	e.net.mu.Lock()
	defer e.net.mu.Unlock()
	if len(e.net.dels) != 1 {
		t.Fatalf("DELs = %+v", e.net.dels)
	}
	got := fmt.Sprint(e.net.dels[0].Ports)
	want := "[{5353 53 udp 127.0.0.1} {8080 80 tcp }]" // by host port
	if got != want {
		t.Fatalf("DEL ports = %s, want %s", got, want)
	}
}
