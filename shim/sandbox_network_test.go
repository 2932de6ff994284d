package shim

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/cni"
)

// fakeNetwork records ADD and DEL and hands out addresses.
type fakeNetwork struct {
	mu       sync.Mutex
	notReady error
	warning  string
	addErr   error
	addrErr  error
	inNetNS  map[string][]string // Addresses' answers, by namespace path
	dels     []cni.Pod
	calls    []string
	pods     map[string]cni.Pod // attached, by sandbox ID
}

func newFakeNetwork() *fakeNetwork { return &fakeNetwork{pods: map[string]cni.Pod{}} }

func (n *fakeNetwork) Warning() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.warning
}

func (n *fakeNetwork) Status() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.notReady
}

func (n *fakeNetwork) Setup(_ context.Context, p cni.Pod) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, "ADD "+p.ID+" netns="+p.NetNS)
	n.pods[p.ID] = p
	if n.addErr != nil {
		return nil, n.addErr
	}
	return []string{"10.1.0.5", "fd00::5"}, nil
}

func (n *fakeNetwork) Addresses(_ context.Context, p cni.Pod) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, "ADDRESSES "+p.ID+" netns="+p.NetNS)
	if n.addrErr != nil {
		return nil, n.addrErr
	}
	return n.inNetNS[p.NetNS], nil
}

func (n *fakeNetwork) Teardown(_ context.Context, p cni.Pod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, "DEL "+p.ID+" netns="+p.NetNS)
	n.dels = append(n.dels, p)
	delete(n.pods, p.ID)
	return nil
}

func (n *fakeNetwork) callLog() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

func withNetwork(n PodNetwork) func(*Config) { return func(c *Config) { c.Network = n } }

func TestCNIPodLifecycle(t *testing.T) {
	f, n := fakeWithImages(), newFakeNetwork()
	c := newTestClients(t, f, withNetwork(n))
	ctx := testContext(t)
	cfg := sandboxConfig("web")
	cfg.PortMappings = []*runtimeapi.PortMapping{{Protocol: runtimeapi.Protocol_TCP, ContainerPort: 80, HostPort: 8080}, {ContainerPort: 81}}
	cfg.Annotations = map[string]string{"kubernetes.io/ingress-bandwidth": "10M"}
	id := runSandbox(t, c, cfg)

	if mode := f.findContainer(id).hostConfig.NetworkMode; mode != "none" {
		t.Fatalf("network mode %q, want none: CNI attaches the pod", mode)
	}
	pod := n.pods[id]
	if !strings.HasPrefix(pod.NetNS, "/proc/") || pod.Name != "web" || pod.Namespace != "default" || pod.UID != "uid-web" {
		t.Fatalf("plugin args = %+v", pod)
	}
	if len(pod.Ports) != 1 || pod.Ports[0] != (cni.PortMapping{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}) {
		t.Fatalf("port mappings = %+v (only host ports go to portmap)", pod.Ports)
	}
	if pod.Bandwidth == nil || pod.Bandwidth.IngressRate != 10_000_000 || pod.Bandwidth.EgressRate != 0 {
		t.Fatalf("bandwidth = %+v", pod.Bandwidth)
	}
	st, err := c.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		t.Fatal(err)
	}
	if net := st.GetStatus().GetNetwork(); net.GetIp() != "10.1.0.5" || len(net.GetAdditionalIps()) != 1 || net.GetAdditionalIps()[0].GetIp() != "fd00::5" {
		t.Fatalf("network status = %v", net)
	}

	// Stop runs DEL once, with the namespace; a second stop runs none.
	for i := 0; i < 2; i++ {
		if _, err := c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADD " + id + " netns=" + pod.NetNS, "DEL " + id + " netns=" + pod.NetNS}
	assertCalls(t, n.callLog(), want)
}

// The pause container vanished (say, removed by hand): DEL still runs, from
// the checkpoint, without a namespace.
func TestCNITeardownWhenSandboxContainerIsGone(t *testing.T) {
	f, n := fakeWithImages(), newFakeNetwork()
	c := newTestClients(t, f, withNetwork(n))
	id := runSandbox(t, c, sandboxConfig("web"))
	f.mu.Lock()
	f.containers = slices.DeleteFunc(f.containers, func(fc *fakeContainer) bool { return fc.id == id })
	f.mu.Unlock()
	if _, err := c.runtime.StopPodSandbox(testContext(t), &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		t.Fatal(err)
	}
	if calls := n.callLog(); len(calls) != 2 || calls[1] != "DEL "+id+" netns=" {
		t.Fatalf("network calls = %v", calls)
	}
	if _, ok := n.pods[id]; ok {
		t.Fatal("pod still attached")
	}
}

func TestCNIAddFailureRollsBack(t *testing.T) {
	f, n := fakeWithImages(), newFakeNetwork()
	n.addErr = errors.New("no more addresses")
	c := newTestClients(t, f, withNetwork(n))
	_, err := c.runtime.RunPodSandbox(testContext(t), &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web")})
	if err == nil || !strings.Contains(err.Error(), "no more addresses") {
		t.Fatalf("err = %v", err)
	}
	calls := n.callLog()
	if len(calls) != 2 || !strings.HasPrefix(calls[0], "ADD ") || !strings.HasPrefix(calls[1], "DEL ") {
		t.Fatalf("network calls = %v, want ADD then DEL", calls)
	}
	if len(f.containers) != 0 || len(c.svc.checkpoints.ids()) != 0 {
		t.Fatalf("left behind: %d containers, %d checkpoints", len(f.containers), len(c.svc.checkpoints.ids()))
	}
}

// A network that will drop pod traffic is still ready (pods get their
// addresses), and the condition says what to fix.
func TestCNIWarningInStatus(t *testing.T) {
	f, n := fakeWithImages(), newFakeNetwork()
	n.warning = "pod traffic between pods will be dropped: add the firewall plugin"
	c := newTestClients(t, f, withNetwork(n))
	st, err := c.runtime.Status(testContext(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cond := st.GetStatus().GetConditions()[1]
	if cond.GetType() != runtimeapi.NetworkReady || !cond.GetStatus() || cond.GetReason() != reasonPodTrafficDropped || cond.GetMessage() != n.warning {
		t.Fatalf("network condition = %v", cond)
	}
}

func TestCNINotReady(t *testing.T) {
	f, n := fakeWithImages(), newFakeNetwork()
	n.notReady = errors.New("cni: network not ready: no network config in /etc/cni/net.d")
	c := newTestClients(t, f, withNetwork(n))
	ctx := testContext(t)
	st, err := c.runtime.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cond := range st.GetStatus().GetConditions() {
		if cond.GetType() == runtimeapi.NetworkReady && (cond.GetStatus() || cond.GetReason() != reasonNetworkNotReady || !strings.Contains(cond.GetMessage(), "no network config")) {
			t.Fatalf("network condition = %v", cond)
		}
	}
	_, err = c.runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web")})
	wantCode(t, err, codes.FailedPrecondition)
	if len(f.containers) != 0 {
		t.Fatal("a pod was created without a network")
	}
	// Host-network pods need no CNI.
	host := sandboxConfig("host")
	host.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
		NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
	}}
	runSandbox(t, c, host)
	if len(n.callLog()) != 0 {
		t.Fatalf("network calls for a host-network pod: %v", n.callLog())
	}
	n.mu.Lock()
	n.notReady = nil
	n.mu.Unlock()
	st, _ = c.runtime.Status(ctx, &runtimeapi.StatusRequest{})
	for _, cond := range st.GetStatus().GetConditions() {
		if !cond.GetStatus() {
			t.Fatalf("condition %v after the config appeared", cond)
		}
	}
}

func TestCNIBadBandwidthAnnotation(t *testing.T) {
	f, n := fakeWithImages(), newFakeNetwork()
	c := newTestClients(t, f, withNetwork(n))
	cfg := sandboxConfig("web")
	cfg.Annotations = map[string]string{"kubernetes.io/egress-bandwidth": "lots"}
	_, err := c.runtime.RunPodSandbox(testContext(t), &runtimeapi.RunPodSandboxRequest{Config: cfg})
	wantCode(t, err, codes.InvalidArgument)
}

// A restart after a crash in the middle of ADD removes the half-made pod.
func TestCNIInterruptedSetupCleanedAtResume(t *testing.T) {
	f, n := fakeWithImages(), newFakeNetwork()
	c := newTestClients(t, f, withNetwork(n))
	id := runSandbox(t, c, sandboxConfig("web"))
	cp := c.svc.checkpoints.get(id)
	cp.Network, cp.IPs = netPending, nil // as if killed before the result was recorded
	if err := c.svc.checkpoints.put(id, cp); err != nil {
		t.Fatal(err)
	}
	if err := c.svc.Resume(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if f.findContainer(id) != nil || c.svc.checkpoints.get(id) != nil {
		t.Fatal("interrupted pod not removed")
	}
	if calls := n.callLog(); calls[len(calls)-1] != "DEL "+id+" netns="+n.callLog()[0][len("ADD "+id+" netns="):] {
		t.Fatalf("network calls = %v", calls)
	}
}
