package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"k8s.io/apimachinery/pkg/util/dump"

	"dockercri/e2e/framework"
	"dockercri/e2e/internal/legacyfixture"
)

// This file builds, through the Docker API and CNI, the state a node that
// cri-dockerd or dockershim ran is left with: what their RunPodSandbox,
// CreateContainer and StartContainer did for the kubelet's requests, without
// either runtime. takeover_test.go then hands that node to dockercri and a
// kubelet.

// dockerAPI is the private dockerd's HTTP API, for what the CLI cannot say
// exactly (a container's labels and host config as the runtimes sent them).
type dockerAPI struct {
	t *testing.T
	c *http.Client
}

func newDockerAPI(t *testing.T) dockerAPI { return dockerAPI{t: t, c: dockerHTTP(t)} }

func (d dockerAPI) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("docker %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// createAndStart creates a container named name from body (a Docker create
// request) and starts it; it returns the container's inspect.
func (d dockerAPI) createAndStart(name string, body map[string]any) dockerContainer {
	d.t.Helper()
	var created struct{ ID string }
	if err := d.call(http.MethodPost, "/containers/create?name="+url.QueryEscape(name), body, &created); err != nil {
		d.t.Fatal(err)
	}
	if err := d.call(http.MethodPost, "/containers/"+created.ID+"/start", nil, nil); err != nil {
		d.t.Fatal(err)
	}
	return d.inspect(created.ID)
}

// dockerContainer is the part of a container's inspect the test reads.
type dockerContainer struct {
	ID      string `json:"Id"`
	Name    string
	LogPath string
	State   struct {
		Running   bool
		Pid       int
		StartedAt string
	}
}

func (d dockerAPI) inspect(id string) dockerContainer {
	d.t.Helper()
	var c dockerContainer
	if err := d.call(http.MethodGet, "/containers/"+id+"/json", nil, &c); err != nil {
		d.t.Fatal(err)
	}
	return c
}

func (d dockerAPI) imageID(ref string) string {
	d.t.Helper()
	var img struct {
		ID string `json:"Id"`
	}
	if err := d.call(http.MethodGet, "/images/"+ref+"/json", nil, &img); err != nil {
		d.t.Fatal(err)
	}
	return img.ID
}

// containerHash is the kubelet's annotation io.kubernetes.container.hash
// for a container with this name and image (Kubernetes 1.36
// pkg/kubelet/container/helpers.go HashContainer: fnv32a over
// dump.ForHash of the JSON of {name, image}, printed in hex). A container
// whose annotation differs is "definition changed" and restarted.
func containerHash(name, image string) string {
	j, err := json.Marshal(map[string]string{"name": name, "image": image})
	if err != nil {
		panic(err)
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(j))
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// randomUID is a pod UID, fresh per run so that a leftover of an earlier
// run never matches.
func randomUID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// legacyPod is one pod of the static manifests, as the legacy runtime ran
// it: one container, web, serving HTTP on port 80 behind a host port.
type legacyPod struct {
	layout     takeoverLayout
	name       string // the manifest's; the kubelet's pod is <name>-<node>
	podName    string
	uid        string
	hostPort   int32
	image      string // as the manifest says it
	imageID    string // what the kubelet passed to CreateContainer
	pauseImage string
	marker     string // what web prints to stdout at start

	// Filled in by build.
	sandboxID, containerID string
	sandboxStarted         string
	containerStarted       string
	ip                     string
	logPath                string // the CRI log path (a symlink)
	checkpoint             string // the legacy runtime's checkpoint file
	checkpointBytes        []byte
}

const takeoverGracePeriod = 2

func (p *legacyPod) command() []string {
	return []string{"sh", "-c", fmt.Sprintf("mkdir -p /www && echo %s > /www/index.html && echo %s && exec httpd -f -p 80 -h /www", p.layout.name, p.marker)}
}

// manifest is the static pod the kubelet is given. Its uid is explicit: the
// kubelet keeps a manifest's uid (pkg/kubelet/config/common.go
// applyDefaults), and the names and labels built below carry it.
func (p *legacyPod) manifest() string {
	cmd, _ := json.Marshal(p.command())
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  uid: %s
  labels: {app: takeover, layout: %s}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: %d
  containers:
  - name: web
    image: %s
    imagePullPolicy: IfNotPresent
    command: %s
    ports:
    - {containerPort: 80, hostPort: %d, protocol: TCP}
    readinessProbe:
      exec: {command: ["cat", "/www/index.html"]}
      periodSeconds: 2
`, p.name, takeoverNamespace, p.uid, p.layout.name, takeoverGracePeriod, p.image, cmd, p.hostPort)
}

// takeoverCNI runs the CNI ADD the legacy runtime ran for a pod, on the
// network config dockercri is given, with the plugin and cache directories
// dockercri uses (both runtimes and dockercri default to
// /var/lib/cni/cache, so on a real node they share it too).
type takeoverCNI struct {
	cni  *libcni.CNIConfig
	list *libcni.NetworkConfigList
	lo   *libcni.NetworkConfigList
}

// cri-dockerd's and dockershim's loopback network (getLoNetwork).
const legacyLoopback = `{"cniVersion": "0.2.0", "name": "cni-loopback", "plugins": [{"type": "loopback"}]}`

func newTakeoverCNI(t *testing.T, n *cniNet) *takeoverCNI {
	t.Helper()
	env := framework.LoadEnv(t)
	cache := ""
	for i, a := range n.args {
		if a == "--cni-cache-dir" && i+1 < len(n.args) {
			cache = n.args[i+1]
		}
	}
	if cache == "" {
		t.Fatalf("no --cni-cache-dir in the network's dockercri flags %q", n.args)
	}
	list, err := libcni.ConfListFromFile(filepath.Join(n.confDir, "10-dcri.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	lo, err := libcni.ConfListFromBytes([]byte(legacyLoopback))
	if err != nil {
		t.Fatal(err)
	}
	return &takeoverCNI{cni: libcni.NewCNIConfigWithCacheDir([]string{n.binDir, env.CNIBinDir}, cache, nil), list: list, lo: lo}
}

// runtimeConf is cri-dockerd's buildCNIRuntimeConf for the pod (dockershim's
// is the same): its CNI_ARGS (no K8S_POD_UID) and its port mappings.
func (c *takeoverCNI) runtimeConf(p *legacyPod, netns string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: p.sandboxID,
		NetNS:       netns,
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", takeoverNamespace},
			{"K8S_POD_NAME", p.podName},
			{"K8S_POD_INFRA_CONTAINER_ID", p.sandboxID},
		},
		CapabilityArgs: map[string]any{"portMappings": []map[string]any{
			{"hostPort": p.hostPort, "containerPort": 80, "protocol": "tcp", "hostIP": ""},
		}},
	}
}

// add attaches the pod (loopback first, as both runtimes did) and returns
// its IPv4 address.
func (c *takeoverCNI) add(t *testing.T, p *legacyPod, pid int) string {
	t.Helper()
	netns := fmt.Sprintf("/proc/%d/ns/net", pid)
	ctx := framework.Context(t)
	if _, err := c.cni.AddNetworkList(ctx, c.lo, c.runtimeConf(p, netns)); err != nil {
		t.Fatalf("loopback ADD: %v", err)
	}
	res, err := c.cni.AddNetworkList(ctx, c.list, c.runtimeConf(p, netns))
	if err != nil {
		t.Fatalf("CNI ADD: %v", err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range r.IPs {
		if v4 := ip.Address.IP.To4(); v4 != nil {
			return v4.String()
		}
	}
	t.Fatalf("CNI ADD gave no IPv4 address: %v", r)
	return ""
}

// del is a best-effort DEL for the cleanup of a failed run (a DEL of what is
// gone succeeds).
func (c *takeoverCNI) del(t *testing.T, p *legacyPod) {
	if err := c.cni.DelNetworkList(context.Background(), c.list, c.runtimeConf(p, "")); err != nil {
		t.Logf("cleanup: CNI DEL of %s: %v", p.sandboxID, err)
	}
}

// build creates the pod as cri-dockerd or dockershim left it: the pause
// container (core/sandbox_helpers.go makeSandboxDockerConfig), the CNI
// ADD, the checkpoint, the app container (core/container_create.go
// CreateContainer, updateCreateConfig) and its log symlink
// (StartContainer). Things they set that neither the kubelet nor the
// takeover reads are left out: the sandbox's OomScoreAdj -998 (runc fails
// with it on these machines, CRI-DOCKER-FACTS), its CPU shares, the
// kubelet's /etc/hosts and termination-log bind mounts, and the resolv.conf
// rewrite.
func (p *legacyPod) build(t *testing.T, api dockerAPI, c *takeoverCNI, podLogs string) {
	t.Helper()
	// The kubelet's sandbox config: pod labels plus its own three, pod
	// annotations (a static pod's config.*), hostname the pod name.
	podLabels := map[string]string{
		"app": "takeover", "layout": p.layout.name,
		"io.kubernetes.pod.name": p.podName, "io.kubernetes.pod.namespace": takeoverNamespace, "io.kubernetes.pod.uid": p.uid,
	}
	podAnnotations := map[string]string{
		"kubernetes.io/config.hash":   p.uid, // the uid, when the manifest has one
		"kubernetes.io/config.seen":   time.Now().Format(time.RFC3339Nano),
		"kubernetes.io/config.source": "file",
	}
	sbLabels := legacyLabels(podLabels, podAnnotations)
	sbLabels["io.kubernetes.docker.type"] = "podsandbox"
	sbLabels["io.kubernetes.container.name"] = "POD"
	port := "80/tcp"
	sandbox := api.createAndStart(fmt.Sprintf("k8s_POD_%s_%s_%s_0", p.podName, takeoverNamespace, p.uid), map[string]any{
		"Hostname":     p.podName,
		"Image":        p.pauseImage,
		"Labels":       sbLabels,
		"ExposedPorts": map[string]any{port: map[string]any{}},
		"HostConfig": map[string]any{
			"NetworkMode":  "none", // CNI
			"IpcMode":      "shareable",
			"PortBindings": map[string]any{port: []map[string]string{{"HostPort": strconv.Itoa(int(p.hostPort))}}},
		},
	})
	p.sandboxID, p.sandboxStarted = sandbox.ID, sandbox.State.StartedAt
	p.ip = c.add(t, p, sandbox.State.Pid)

	if p.layout.checkpoint != nil { // nil: the runtime's checkpoint is lost
		data, err := p.layout.checkpoint(takeoverNamespace, p.podName, []legacyfixture.Port{{Protocol: "tcp", ContainerPort: 80, HostPort: p.hostPort}}, false)
		if err != nil {
			t.Fatal(err)
		}
		p.checkpoint, p.checkpointBytes = filepath.Join(p.layout.root, "sandbox", p.sandboxID), data
		if err := os.WriteFile(p.checkpoint, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The kubelet's container config: its four labels, its annotations
	// (pkg/kubelet/kuberuntime/labels.go newContainerAnnotations), log
	// path <podLogsDir>/<ns>_<pod>_<uid>/<container>/<restartCount>.log.
	ctrLabels := map[string]string{
		"io.kubernetes.pod.name": p.podName, "io.kubernetes.pod.namespace": takeoverNamespace, "io.kubernetes.pod.uid": p.uid,
		"io.kubernetes.container.name": "web",
	}
	ports, _ := json.Marshal([]map[string]any{{"hostPort": p.hostPort, "containerPort": 80, "protocol": "TCP"}})
	ctrAnnotations := map[string]string{
		"io.kubernetes.container.hash":                     containerHash("web", p.image),
		"io.kubernetes.container.restartCount":             "0",
		"io.kubernetes.container.terminationMessagePath":   "/dev/termination-log",
		"io.kubernetes.container.terminationMessagePolicy": "File",
		"io.kubernetes.pod.terminationGracePeriod":         strconv.Itoa(takeoverGracePeriod),
		"io.kubernetes.container.ports":                    string(ports),
	}
	p.logPath = filepath.Join(podLogs, fmt.Sprintf("%s_%s_%s", takeoverNamespace, p.podName, p.uid), "web", "0.log")
	labels := legacyLabels(ctrLabels, ctrAnnotations)
	labels["io.kubernetes.docker.type"] = "container"
	labels["io.kubernetes.container.logpath"] = p.logPath
	labels["io.kubernetes.sandbox.id"] = p.sandboxID
	ns := "container:" + p.sandboxID
	ctr := api.createAndStart(fmt.Sprintf("k8s_web_%s_%s_%s_0", p.podName, takeoverNamespace, p.uid), map[string]any{
		"Entrypoint":  p.command(),
		"Image":       p.imageID, // the kubelet passes the image ID it pulled
		"Labels":      labels,
		"Healthcheck": map[string]any{"Test": []string{"NONE"}},
		"HostConfig": map[string]any{
			"NetworkMode":   ns,
			"IpcMode":       ns,
			"RestartPolicy": map[string]string{"Name": "no"},
			"SecurityOpt":   []string{"seccomp=unconfined"}, // the kubelet's default profile
		},
	})
	p.containerID, p.containerStarted = ctr.ID, ctr.State.StartedAt
	// The symlink both runtimes make at StartContainer, from the CRI log
	// path to Docker's JSON log.
	if err := os.MkdirAll(filepath.Dir(p.logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ctr.LogPath, p.logPath); err != nil {
		t.Fatal(err)
	}
}

// legacyLabels is both runtimes' makeLabels: labels as they are, annotations
// as annotation.<key>.
func legacyLabels(labels, annotations map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		out[k] = v
	}
	for k, v := range annotations {
		out["annotation."+k] = v
	}
	return out
}

// takeoverPodState is what the kubelet reports of one takeover pod.
type takeoverPodState struct {
	found        bool
	phase, podIP string
	uid          string
	ready        bool
	restarts     int
	containerID  string
}

func (s takeoverPodState) String() string {
	return fmt.Sprintf("found=%v phase=%s ip=%s uid=%s ready=%v restarts=%d id=%s", s.found, s.phase, s.podIP, s.uid, s.ready, s.restarts, s.containerID)
}

func takeoverPod(k *kubelet, podName string) takeoverPodState {
	var pl podList
	if err := k.get("/pods", &pl); err != nil {
		return takeoverPodState{}
	}
	for _, it := range pl.Items {
		if it.Metadata.Namespace != takeoverNamespace || it.Metadata.Name != podName {
			continue
		}
		st := takeoverPodState{found: true, phase: it.Status.Phase, podIP: it.Status.PodIP, uid: it.Metadata.UID}
		for _, c := range it.Status.ContainerStatuses {
			if c.Name == "web" {
				st.ready, st.restarts, st.containerID = c.Ready, c.RestartCount, strings.TrimPrefix(c.ContainerID, "docker://")
			}
		}
		return st
	}
	return takeoverPodState{}
}

// kubeletRestartLines are the kubelet's log lines (at --v 2; Kubernetes
// 1.36 pkg/kubelet/kuberuntime) that announce a sandbox or container it is
// about to replace or kill.
var kubeletRestartLines = []string{
	"Need to start a new one",      // PodSandboxChanged
	"Need to reconcile them",       // PodSandboxChanged, several ready
	"Pod sandbox changed",          // its event
	"definition changed",           // a container's hash differs
	"Message for Container of pod", // any reason to restart a container
	"Killing container with a grace period",
}

// kubeletLogLines returns the kubelet's log lines that hold one of pats.
func kubeletLogLines(k *kubelet, pats []string) []string {
	b, _ := os.ReadFile(k.logPath)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, p := range pats {
			if strings.Contains(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}
