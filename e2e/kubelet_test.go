package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// A standalone kubelet (Kubernetes 1.36, no API server) runs static pods on
// dockercri. Its read-only port answers /pods and /stats/summary.

const kubeletNamespace = "e2e-kubelet"

type kubelet struct {
	t          *testing.T
	bin        string
	dir        string
	config     string
	manifest   string // the static pod directory
	podLogs    string
	port       int // the kubelet's HTTPS port (the API server's way in)
	roPort     int
	node       string
	kubeconfig string // the API server's, or empty: standalone
	logPath    string
	cmd        *exec.Cmd
	done       chan struct{}
}

// kubeletOptions are what a test changes of newKubelet's defaults.
type kubeletOptions struct {
	// kubeconfig points the kubelet at an API server (standalone without).
	kubeconfig string
	// node is the node name (--hostname-override); dcri-e2e-node by default.
	// An IP address becomes the node's InternalIP, where the API server
	// reaches the kubelet (a loopback address is only accepted this way).
	node string
	// namespaces whose containers the cleanup removes from Docker, besides
	// the static pods' kubeletNamespace.
	namespaces []string
	// logMaxSize is containerLogMaxSize (16Ki by default).
	logMaxSize string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func kubeletBinary(t *testing.T) string {
	bin := os.Getenv("KUBELET_BIN")
	if bin == "" {
		bin = filepath.Join(framework.RepoRoot(), "e2e", "bin", "kubelet")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("kubelet: %v: run e2e/env/kubelet.sh first", err)
	}
	return bin
}

func newKubelet(t *testing.T, d *framework.Daemon) *kubelet {
	return newKubeletWith(t, d, kubeletOptions{})
}

func newKubeletWith(t *testing.T, d *framework.Daemon, o kubeletOptions) *kubelet {
	dir := t.TempDir()
	if o.node == "" {
		o.node = "dcri-e2e-node"
	}
	if o.logMaxSize == "" {
		o.logMaxSize = "16Ki"
	}
	k := &kubelet{
		t: t, bin: kubeletBinary(t), dir: dir,
		config: filepath.Join(dir, "config.yaml"), manifest: filepath.Join(dir, "manifests"),
		podLogs: filepath.Join(dir, "pods"), port: freePort(t), roPort: freePort(t), node: o.node, kubeconfig: o.kubeconfig,
		logPath: filepath.Join(dir, "kubelet.log"),
	}
	for _, p := range []string{k.manifest, k.podLogs} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: %[1]s
imageServiceEndpoint: %[1]s
staticPodPath: %[2]s
podLogsDir: %[3]s
fileCheckFrequency: 1s
syncFrequency: 5s
address: 127.0.0.1
port: %[4]d
readOnlyPort: %[5]d
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
containerLogMaxSize: %[6]s
containerLogMaxFiles: 3
containerLogMonitorInterval: 3s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%"}
featureGates: {PodAndContainerStatsFromCRI: true}
`, d.Endpoint, k.manifest, k.podLogs, k.port, k.roPort, o.logMaxSize)
	if err := os.WriteFile(k.config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		k.stop()
		unmountUnder(t, dir)
		for _, ns := range append([]string{kubeletNamespace}, o.namespaces...) {
			out := framework.Docker(t, "ps", "-aq", "--filter", "label=io.kubernetes.pod.namespace="+ns)
			if ids := strings.Fields(out); len(ids) > 0 {
				framework.Docker(t, append([]string{"rm", "-f", "-v"}, ids...)...)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(k.logPath)
			lines := strings.Split(string(b), "\n")
			t.Logf("kubelet log (last 80 of %d lines):\n%s", len(lines), strings.Join(lines[max(0, len(lines)-80):], "\n"))
		}
	})
	return k
}

// unmountUnder detaches what the kubelet mounted under dir (its pods'
// volumes), deepest first, so the directory can be removed.
func unmountUnder(t *testing.T, dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Logf("mountinfo: %v", err)
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		if err := syscall.Unmount(points[i], syscall.MNT_DETACH); err != nil {
			t.Logf("unmount %s: %v", points[i], err)
		}
	}
}

func (k *kubelet) start() {
	k.t.Helper()
	logf, err := os.OpenFile(k.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		k.t.Fatal(err)
	}
	args := []string{"--config", k.config, "--root-dir", filepath.Join(k.dir, "root"),
		"--cert-dir", filepath.Join(k.dir, "pki"), "--hostname-override", k.node, "--v", "2"}
	if k.kubeconfig != "" {
		args = append(args, "--kubeconfig", k.kubeconfig)
	}
	k.cmd = exec.Command(k.bin, args...)
	k.cmd.Stdout, k.cmd.Stderr = logf, logf
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	if err := k.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	k.done = make(chan struct{})
	go func() { k.cmd.Wait(); logf.Close(); close(k.done) }()
}

func (k *kubelet) stop() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(15 * time.Second):
		k.cmd.Process.Kill()
		<-k.done
	}
	k.cmd = nil
}

func (k *kubelet) get(path string, v any) error {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", k.roPort, path))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

// The parts of the kubelet's /pods answer the tests read.
type podList struct {
	Items []struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			UID       string `json:"uid"`
		} `json:"metadata"`
		Status struct {
			Phase             string `json:"phase"`
			PodIP             string `json:"podIP"`
			ContainerStatuses []struct {
				Name         string `json:"name"`
				Ready        bool   `json:"ready"`
				RestartCount int    `json:"restartCount"`
				ContainerID  string `json:"containerID"`
			} `json:"containerStatuses"`
		} `json:"status"`
	} `json:"items"`
}

type podState struct {
	phase    string
	uid      string
	ready    map[string]bool
	restarts map[string]int
	ids      map[string]string
}

func (k *kubelet) pod(name string) (podState, bool) {
	var pl podList
	if err := k.get("/pods", &pl); err != nil {
		return podState{}, false
	}
	for _, p := range pl.Items {
		if p.Metadata.Namespace != kubeletNamespace || p.Metadata.Name != name+"-"+k.node {
			continue
		}
		st := podState{phase: p.Status.Phase, uid: p.Metadata.UID, ready: map[string]bool{}, restarts: map[string]int{}, ids: map[string]string{}}
		for _, c := range p.Status.ContainerStatuses {
			st.ready[c.Name], st.restarts[c.Name], st.ids[c.Name] = c.Ready, c.RestartCount, c.ContainerID
		}
		return st, true
	}
	return podState{}, false
}

// waitPod polls the kubelet until cond holds for the pod.
func (k *kubelet) waitPod(name, what string, within time.Duration, cond func(podState) bool) podState {
	k.t.Helper()
	deadline := time.Now().Add(within)
	var last podState
	for time.Now().Before(deadline) {
		if st, ok := k.pod(name); ok {
			last = st
			if cond(st) {
				return st
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	k.t.Fatalf("pod %s: %s not reached within %v; last state %+v", name, what, within, last)
	return last
}

const staticPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: ` + kubeletNamespace + `
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: %[1]s
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www && echo ready > /www/index.html && touch /tmp/healthy && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 3
  - name: chatty
    image: %[1]s
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "i=0; while true; do echo chatty-line-$i-0123456789012345678901234567890123456789; i=$((i+1)); sleep 0.005; done"]
  - name: quitter
    image: %[1]s
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo bye; sleep 1; exit 3"]
`

// TestKubeletStaticPod runs a real kubelet against dockercri: a static pod
// with three containers comes up; the one that exits is restarted; an exec
// liveness probe and an HTTP readiness probe pass; the kubelet's log files
// hold the output and are rotated; a dockercri and then kubelet restart keeps
// the pod's containers; /stats/summary reports the pod; removing the
// manifest removes the pod.
func TestKubeletStaticPod(t *testing.T) {
	env := framework.LoadEnv(t)
	n := newCNINet(t, "dcrit5", "10.209.5.0/24")
	d := framework.StartDockercri(t, n.args...)
	busybox(t, d) // pulled through dockercri before the kubelet asks
	k := newKubelet(t, d)
	manifest := filepath.Join(k.manifest, "web.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(staticPod, env.Registry+"/busybox:1.36")), 0o644); err != nil {
		t.Fatal(err)
	}
	k.start()

	st := k.waitPod("web", "running and ready", 3*time.Minute, func(s podState) bool {
		return s.phase == "Running" && s.ready["web"] && s.restarts["quitter"] >= 1
	})
	t.Logf("pod running: ready %v, restarts %v", st.ready, st.restarts)

	// The kubelet's log files: CRI format, rotated at 16 KiB.
	logDir := filepath.Join(k.podLogs, fmt.Sprintf("%s_web-%s_%s", kubeletNamespace, k.node, st.uid))
	deadline := time.Now().Add(time.Minute)
	var rotated []string
	for time.Now().Before(deadline) {
		rotated, _ = filepath.Glob(filepath.Join(logDir, "chatty", "0.log.*"))
		if len(rotated) > 0 {
			break
		}
		time.Sleep(time.Second)
	}
	if len(rotated) == 0 {
		entries, _ := os.ReadDir(filepath.Join(logDir, "chatty"))
		t.Fatalf("chatty's log was never rotated: %v", entries)
	}
	lines := logTexts(t, filepath.Join(logDir, "chatty", "0.log"))
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "chatty-line-") {
		t.Fatalf("chatty's current log: %q", lines)
	}
	if bye, _ := os.ReadFile(filepath.Join(logDir, "quitter", "0.log")); !strings.Contains(string(bye), " stdout F bye") {
		t.Fatalf("quitter's first log: %q", bye)
	}

	// /stats/summary reports the pod's CPU and memory.
	var summary struct {
		Pods []struct {
			PodRef struct {
				Name string `json:"name"`
			} `json:"podRef"`
			CPU struct {
				UsageCoreNanoSeconds uint64 `json:"usageCoreNanoSeconds"`
			} `json:"cpu"`
			Memory struct {
				WorkingSetBytes uint64 `json:"workingSetBytes"`
			} `json:"memory"`
		} `json:"pods"`
	}
	var found bool
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && !found; time.Sleep(2 * time.Second) {
		if err := k.get("/stats/summary", &summary); err != nil {
			t.Logf("stats/summary: %v", err)
			continue
		}
		for _, p := range summary.Pods {
			if p.PodRef.Name == "web-"+k.node && p.CPU.UsageCoreNanoSeconds > 0 && p.Memory.WorkingSetBytes > 0 {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("/stats/summary has no CPU and memory for the pod: %+v", summary.Pods)
	}

	// dockercri restarted, then the kubelet: the long-running containers stay.
	before := st.ids
	d.Restart()
	k.stop()
	k.start()
	time.Sleep(10 * time.Second) // a few of the kubelet's syncs
	after := k.waitPod("web", "running again", 2*time.Minute, func(s podState) bool { return s.phase == "Running" && s.ready["web"] })
	for _, c := range []string{"web", "chatty"} {
		if after.ids[c] != before[c] {
			t.Fatalf("container %s was replaced across the restarts: %s → %s", c, before[c], after.ids[c])
		}
	}

	// Removing the manifest removes the pod and its containers.
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		resp, err := d.Runtime.ListPodSandbox(framework.Context(t), &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
			LabelSelector: map[string]string{"io.kubernetes.pod.namespace": kubeletNamespace},
			State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
		}})
		if err != nil {
			t.Fatal(err)
		}
		running := strings.TrimSpace(framework.Docker(t, "ps", "-q", "--filter", "label=io.kubernetes.pod.namespace="+kubeletNamespace))
		if len(resp.GetItems()) == 0 && running == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod still there after its manifest was removed: %d ready sandboxes, running %q", len(resp.GetItems()), running)
		}
	}
}
