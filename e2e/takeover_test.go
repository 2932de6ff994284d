package e2e

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
	"dockercri/e2e/internal/legacyfixture"
	"dockercri/e2e/internal/legacyfixture/core"
	"dockercri/e2e/internal/legacyfixture/dockershim"
)

// takeoverNamespace holds the takeover test's pods, so that its cleanup and
// its checks see nothing of other tests'.
const takeoverNamespace = "e2e-takeover"

// takeoverWindow is how long the kubelet must leave the adopted pods alone.
const takeoverWindow = 90 * time.Second

// takeoverLayout is a runtime whose node dockercri takes over.
type takeoverLayout struct {
	name       string // the runtime, also the pods' "layout" label
	pod        string // the static pod's manifest name
	hostPort   int32
	checkpoint func(namespace, name string, ports []legacyfixture.Port, hostNetwork bool) ([]byte, error)
	root       string // its root directory (<root>/sandbox/<id>), set by the test
}

// TestTakeover hands a node that cri-dockerd ran, and one that dockershim
// ran (and a cri-dockerd pod whose checkpoint was lost), to dockercri and a
// kubelet without restarting a pod. The test builds
// through Docker and CNI what each runtime leaves on a node (names, labels,
// the CNI attachment, its checkpoint, the log symlink: takeover_helpers_test.go),
// starts dockercri with --adopt-checkpoints-from for both runtimes' roots,
// then a kubelet whose static pods are those pods. Both layouts share one
// kubelet window (a node that moved from dockershim to cri-dockerd holds
// both directories; one window keeps the test under 5 minutes).
//
// The kubelet must kill and create nothing for the window, across a
// dockercri restart in it; the pods run with the IPs of the test's CNI ADD;
// logs (crictl and the kubelet's /containerLogs), exec and the host port
// work on the adopted containers. Removing the manifests makes the kubelet delete
// the pods, and then dockercri has released their addresses and host ports
// through CNI DEL, kept no checkpoint, and left the other runtimes'
// checkpoints as they were.
func TestTakeover(t *testing.T) {
	env := framework.LoadEnv(t)
	layouts := []*takeoverLayout{
		{name: "cri-dockerd", pod: "crid", hostPort: 12471, checkpoint: core.Checkpoint},
		{name: "dockershim", pod: "shim", hostPort: 12472, checkpoint: dockershim.Checkpoint},
		// A cri-dockerd pod whose checkpoint is gone: its host port is
		// known from Docker's port bindings alone.
		{name: "cri-dockerd-lost", pod: "lost", hostPort: 12473},
	}
	n := newCNINet(t, "dcrit7", "10.209.7.0/24")
	roots := t.TempDir()
	args := slices.Clone(n.args)
	for _, l := range layouts {
		l.root = filepath.Join(roots, l.name)
		if err := os.MkdirAll(filepath.Join(l.root, "sandbox"), 0o755); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--adopt-checkpoints-from", l.root)
	}

	// Images through dockercri, as the kubelet pulled them through the old
	// runtime; then dockercri stops until the node is built.
	d := framework.StartDockercri(t, args...)
	image := busybox(t, d)
	if _, err := d.Image.PullImage(framework.Context(t), &runtimeapi.PullImageRequest{Image: spec(env.PauseImage)}); err != nil {
		t.Fatal(err)
	}
	k := newKubeletWith(t, d, kubeletOptions{namespaces: []string{takeoverNamespace}})
	d.Stop()

	api := newDockerAPI(t)
	c := newTakeoverCNI(t, n)
	imageID := api.imageID(image)
	var pods []*legacyPod
	for _, l := range layouts {
		p := &legacyPod{
			layout: *l, name: l.pod, podName: l.pod + "-" + k.node, uid: randomUID(t), hostPort: l.hostPort,
			image: image, imageID: imageID, pauseImage: env.PauseImage, marker: "takeover-marker-" + l.name,
		}
		t.Cleanup(func() {
			if p.sandboxID != "" {
				c.del(t, p)
			}
		})
		p.build(t, api, c, k.podLogs)
		t.Logf("%s: sandbox %.12s container %.12s, IP %s, checkpoint %s", l.name, p.sandboxID, p.containerID, p.ip, p.checkpointBytes)
		pods = append(pods, p)
	}

	d.Restart() // dockercri takes the node over
	checkAdopted(t, d, pods)

	for _, p := range pods {
		if err := os.WriteFile(filepath.Join(k.manifest, p.name+".yaml"), []byte(p.manifest()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k.start()
	kubeletStart := time.Now()
	for _, p := range pods {
		st := waitTakeoverPod(t, k, p, 2*time.Minute, func(s takeoverPodState) bool { return s.phase == "Running" && s.ready })
		if st.podIP != p.ip || st.containerID != p.containerID || st.uid != p.uid || st.restarts != 0 {
			t.Fatalf("%s: the kubelet reports %v, want IP %s, container %s, uid %s, no restart\nkubelet: %q",
				p.layout.name, st, p.ip, p.containerID, p.uid, kubeletLogLines(k, kubeletRestartLines))
		}
	}
	t.Logf("all pods running and ready %v after the kubelet started", time.Since(kubeletStart).Round(time.Second))

	// For the window: logs, exec and the network on the adopted containers
	// first, then the node watched until the window ends.
	windowEnd := time.Now().Add(takeoverWindow)
	for _, p := range pods {
		checkAdoptedStreams(t, d, k, p)
	}
	// A restart of dockercri after the takeover: the pods now stand on
	// dockercri's own checkpoints, and the kubelet still sees them unchanged.
	d.Restart()
	checkAdopted(t, d, pods)
	for {
		checkUntouched(t, api, k, pods)
		if time.Now().After(windowEnd) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	t.Logf("nothing killed or created for %v", takeoverWindow)
	logAdoption(t, d)

	// The kubelet deletes the pods: dockercri's StopPodSandbox tears their
	// network down with the adopted port mappings.
	for _, p := range pods {
		if err := os.Remove(filepath.Join(k.manifest, p.name+".yaml")); err != nil {
			t.Fatal(err)
		}
	}
	removeStart := time.Now()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(2 * time.Second) {
		left := strings.Fields(framework.Docker(t, "ps", "-aq", "--filter", "label=io.kubernetes.pod.namespace="+takeoverNamespace))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containers left 3 minutes after the manifests were removed: %v", left)
		}
	}
	t.Logf("the kubelet removed the pods in %v", time.Since(removeStart).Round(time.Second))
	checkReleased(t, d, n, pods)
}

// checkAdopted checks what dockercri says of the adopted pods, right after
// the takeover and after a restart: ready sandboxes with the CNI IPs,
// running containers with their CRI log paths, and a checkpoint of
// dockercri's own for each.
func checkAdopted(t *testing.T, d *framework.Daemon, pods []*legacyPod) {
	t.Helper()
	ctx := framework.Context(t)
	for _, p := range pods {
		sb, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: p.sandboxID})
		if err != nil {
			t.Fatalf("%s: PodSandboxStatus: %v", p.layout.name, err)
		}
		st := sb.GetStatus()
		if st.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY || st.GetNetwork().GetIp() != p.ip ||
			st.GetLinux().GetNamespaces().GetOptions().GetNetwork() != runtimeapi.NamespaceMode_POD ||
			st.GetMetadata().GetUid() != p.uid || st.GetMetadata().GetAttempt() != 0 {
			t.Fatalf("%s: adopted sandbox: state %v, network %v, namespaces %v, metadata %v; want READY, IP %s, network POD, uid %s attempt 0",
				p.layout.name, st.GetState(), st.GetNetwork(), st.GetLinux().GetNamespaces(), st.GetMetadata(), p.ip, p.uid)
		}
		cs, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: p.containerID})
		if err != nil {
			t.Fatalf("%s: ContainerStatus: %v", p.layout.name, err)
		}
		if cs.GetStatus().GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING || cs.GetStatus().GetLogPath() != p.logPath {
			t.Fatalf("%s: adopted container: state %v, log path %q; want RUNNING, %q", p.layout.name, cs.GetStatus().GetState(), cs.GetStatus().GetLogPath(), p.logPath)
		}
		if _, err := os.Stat(filepath.Join(d.RootDir, "sandbox", p.sandboxID)); err != nil {
			t.Fatalf("%s: dockercri wrote no checkpoint of its own for the adopted sandbox: %v", p.layout.name, err)
		}
	}
}

// checkAdoptedStreams reads an adopted container's log through crictl and
// the kubelet, runs a command in it, and reaches it by pod IP and host port.
func checkAdoptedStreams(t *testing.T, d *framework.Daemon, k *kubelet, p *legacyPod) {
	t.Helper()
	if out := crictl(t, d, "logs", p.containerID); !strings.Contains(out, p.marker) {
		t.Fatalf("%s: crictl logs: %q, want %q", p.layout.name, out, p.marker)
	}
	if out := crictl(t, d, "exec", p.containerID, "cat", "/www/index.html"); out != p.layout.name {
		t.Fatalf("%s: crictl exec: %q, want %q", p.layout.name, out, p.layout.name)
	}
	// The kubelet's own log endpoint (its HTTPS port: anonymous,
	// AlwaysAllow, a self-signed certificate).
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Proxy: nil}}
	body, err := httpBody(client, fmt.Sprintf("https://127.0.0.1:%d/containerLogs/%s/%s/web", k.port, takeoverNamespace, p.podName))
	if err != nil || !strings.Contains(body, p.marker) {
		t.Fatalf("%s: the kubelet's /containerLogs: %q, %v; want %q", p.layout.name, body, err, p.marker)
	}
	// The pod's address and its host port (portmap's rules from the test's
	// ADD, which the kubelet's deletion must remove through dockercri).
	for _, u := range []string{fmt.Sprintf("http://%s:80/", p.ip), fmt.Sprintf("http://127.0.0.1:%d/", p.hostPort)} {
		var body string
		var err error
		for i := 0; i < 20; i++ {
			if body, err = httpBody(&http.Client{Timeout: 2 * time.Second}, u); err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if strings.TrimSpace(body) != p.layout.name {
			t.Fatalf("%s: %s answered %q, %v; want %q", p.layout.name, u, body, err, p.layout.name)
		}
	}
	if rules := natRules(t, p.sandboxID); len(rules) == 0 {
		t.Fatalf("%s: no iptables nat rule names sandbox %s: the host port check proves nothing", p.layout.name, p.sandboxID)
	}
	// Recorded, not asserted: the kubelet rotates a log by renaming it and
	// asking for a reopen, and the adopted log is the old runtime's symlink
	// to Docker's JSON log (cri-dockerd's reopen always failed; on failure
	// the kubelet renames the file back).
	_, err = d.Runtime.ReopenContainerLog(framework.Context(t), &runtimeapi.ReopenContainerLogRequest{ContainerId: p.containerID})
	t.Logf("%s: ReopenContainerLog of the adopted container: %v", p.layout.name, err)
}

// checkUntouched fails the test if the kubelet killed or created a
// container, or is about to.
func checkUntouched(t *testing.T, api dockerAPI, k *kubelet, pods []*legacyPod) {
	t.Helper()
	var want []string
	for _, p := range pods {
		want = append(want, p.sandboxID, p.containerID)
	}
	slices.Sort(want)
	got := strings.Fields(framework.Docker(t, "ps", "-aq", "--no-trunc", "--filter", "label=io.kubernetes.pod.namespace="+takeoverNamespace))
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("the pods' containers changed: %v, want %v\nkubelet: %q", got, want, kubeletLogLines(k, kubeletRestartLines))
	}
	for _, p := range pods {
		for id, started := range map[string]string{p.sandboxID: p.sandboxStarted, p.containerID: p.containerStarted} {
			if c := api.inspect(id); !c.State.Running || c.State.StartedAt != started {
				t.Fatalf("%s: container %.12s: running %v, started %s; want running since %s\nkubelet: %q",
					p.layout.name, id, c.State.Running, c.State.StartedAt, started, kubeletLogLines(k, kubeletRestartLines))
			}
		}
		if st := takeoverPod(k, p.podName); !st.found || st.phase != "Running" || st.restarts != 0 || st.containerID != p.containerID || st.podIP != p.ip {
			t.Fatalf("%s: the kubelet reports %v, want Running, IP %s, container %s, no restart\nkubelet: %q",
				p.layout.name, st, p.ip, p.containerID, kubeletLogLines(k, kubeletRestartLines))
		}
	}
	if lines := kubeletLogLines(k, kubeletRestartLines); len(lines) > 0 {
		t.Fatalf("the kubelet means to replace or kill something:\n%s", strings.Join(lines, "\n"))
	}
}

// checkReleased checks the node after the kubelet deleted the pods.
func checkReleased(t *testing.T, d *framework.Daemon, n *cniNet, pods []*legacyPod) {
	t.Helper()
	allocated := n.allocated(t)
	for _, p := range pods {
		if slices.Contains(allocated, p.ip) {
			t.Errorf("%s: host-local still holds %s (allocated: %v): no CNI DEL for sandbox %s", p.layout.name, p.ip, allocated, p.sandboxID)
		}
		if rules := natRules(t, p.sandboxID); len(rules) > 0 {
			t.Errorf("%s: portmap's rules are still there (a DEL without the port mappings):\n%s", p.layout.name, strings.Join(rules, "\n"))
		}
		if p.checkpoint == "" {
			continue // none was written
		}
		got, err := os.ReadFile(p.checkpoint)
		if err != nil || !bytes.Equal(got, p.checkpointBytes) {
			t.Errorf("%s: its checkpoint %s was changed: %q, %v; want %q", p.layout.name, p.checkpoint, got, err, p.checkpointBytes)
		}
	}
	if left, err := os.ReadDir(filepath.Join(d.RootDir, "sandbox")); err != nil || len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("dockercri's checkpoints left: %v, %v", names, err)
	}
}

// waitTakeoverPod polls the kubelet until cond holds for the pod.
func waitTakeoverPod(t *testing.T, k *kubelet, p *legacyPod, within time.Duration, cond func(takeoverPodState) bool) takeoverPodState {
	t.Helper()
	var last takeoverPodState
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if last = takeoverPod(k, p.podName); cond(last) {
			return last
		}
	}
	t.Fatalf("%s: pod not running and ready within %v: %v\nkubelet: %q", p.layout.name, within, last, kubeletLogLines(k, kubeletRestartLines))
	return last
}

// natRules are the lines of the host's iptables nat table that name id
// (portmap comments its rules with the container ID).
func natRules(t *testing.T, id string) []string {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, id) {
			lines = append(lines, l)
		}
	}
	return lines
}

func httpBody(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", u, resp.Status)
	}
	return string(b), err
}

// logAdoption shows dockercri's log lines about the takeover, for the
// record.
func logAdoption(t *testing.T, d *framework.Daemon) {
	var lines []string
	for _, l := range strings.Split(d.LogContents(), "\n") {
		if strings.Contains(strings.ToLower(l), "adopt") {
			lines = append(lines, l)
		}
	}
	t.Logf("dockercri on the takeover:\n%s", strings.Join(lines, "\n"))
}
