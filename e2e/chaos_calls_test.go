package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// The calls of TestChaos. Each picks its target among the test's live pods
// and containers, ones it already removed (which stop and remove must take
// as done), and bogus ids; never anything of another test: a bogus id is
// never a short hex string, which Docker would resolve as someone's ID
// prefix.

const chaosMaxContainers = 8

func (c *chaos) validPod() *runtimeapi.PodSandboxConfig {
	c.seq++
	name := fmt.Sprintf("p%d", c.seq)
	logDir := filepath.Join(c.logRoot, name)
	if err := os.MkdirAll(logDir, 0o755); err != nil { // as the kubelet does
		c.t.Fatal(err)
	}
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Namespace: c.tag, Uid: fmt.Sprintf("%s-%d", c.tag, c.seq), Attempt: uint32(c.rng.IntN(3))},
		Hostname:     name,
		LogDirectory: logDir,
		Labels:       map[string]string{"chaos": c.tag, "io.kubernetes.pod.name": name},
		Annotations:  map[string]string{"chaos/seq": fmt.Sprint(c.seq)},
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER},
		}},
	}
}

func (c *chaos) validContainer() *runtimeapi.ContainerConfig {
	c.seq++
	return &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: fmt.Sprintf("c%d", c.seq)},
		Image:    spec(c.image),
		Command:  []string{"sh", "-c", "echo chaos; sleep 3600"},
		LogPath:  fmt.Sprintf("c%d.log", c.seq),
		Labels:   map[string]string{"chaos": c.tag},
		Linux:    &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{}},
	}
}

// bogusID is an id no container of anyone has: empty, a random full ID,
// traversal, unicode, 64 KiB, white space.
func (c *chaos) bogusID() string {
	switch c.rng.IntN(7) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("%016x%016x%016x%016x", c.rng.Uint64(), c.rng.Uint64(), c.rng.Uint64(), c.rng.Uint64())
	case 2:
		return "../../../../etc/passwd"
	case 3:
		return "chaos-ünïcödé-☃"
	case 4:
		return strings.Repeat("z", 64<<10)
	case 5:
		return "k8s_POD_" + c.tag + "_absent"
	}
	return "id with spaces\nand a newline"
}

func (c *chaos) podID() string {
	switch r := c.rng.IntN(10); {
	case r < 7 && len(c.pods) > 0:
		return c.pods[c.rng.IntN(len(c.pods))].id
	case r < 8 && len(c.gone) > 0:
		return c.gone[c.rng.IntN(len(c.gone))]
	}
	return c.bogusID()
}

func (c *chaos) ctrID() string {
	switch r := c.rng.IntN(10); {
	case r < 7 && len(c.ctrs) > 0:
		return c.ctrs[c.rng.IntN(len(c.ctrs))].id
	case r < 8 && len(c.ctrs) > 0:
		return c.ctrs[c.rng.IntN(len(c.ctrs))].id[:12] // a unique prefix of ours
	case r < 9 && len(c.gone) > 0:
		return c.gone[c.rng.IntN(len(c.gone))]
	}
	return c.bogusID()
}

// runningID is a container the test started (it may have been stopped or
// removed since), else any ctrID.
func (c *chaos) runningID() string {
	if len(c.started) > 0 && c.rng.IntN(4) > 0 {
		return c.started[c.rng.IntN(len(c.started))]
	}
	return c.ctrID()
}

// startedOK notes a started container by its full id (id may be a prefix).
func (c *chaos) startedOK(id string, err error) {
	if err != nil || id == "" {
		return
	}
	for _, ct := range c.ctrs {
		if strings.HasPrefix(ct.id, id) && !slices.Contains(c.started, ct.id) {
			c.started = append(c.started, ct.id)
		}
	}
}

// violation records a call that should have succeeded and did not: a valid
// pod, or stop/remove of something already gone (CRI: idempotent).
func (c *chaos) violation(method, what string, err error) {
	if err != nil && status.Code(err) != codes.DeadlineExceeded { // our own short deadline
		c.violations = append(c.violations, fmt.Sprintf("%s %s: %v", method, what, chaosShort(err.Error())))
	}
}

func (c *chaos) runPodSandbox() {
	if len(c.pods) >= chaosMaxPods {
		if c.rng.IntN(3) == 0 { // else the pods live on, for their containers
			c.retirePod(c.pods[c.rng.IntN(len(c.pods))].id)
		}
		return
	}
	req := &runtimeapi.RunPodSandboxRequest{Config: c.validPod()}
	valid := c.rng.IntN(2) == 0
	if !valid {
		chaosPodMutations[c.rng.IntN(len(chaosPodMutations))](c, req)
	}
	ctx, cancel := c.ctx()
	defer cancel()
	resp, err := c.d.Runtime.RunPodSandbox(ctx, req)
	c.record("RunPodSandbox", err)
	if err == nil {
		c.pods = append(c.pods, chaosPod{id: resp.GetPodSandboxId(), cfg: req.GetConfig()})
		c.created[resp.GetPodSandboxId()] = true
	} else if valid {
		c.violation("RunPodSandbox", "of a valid pod", err)
	}
}

// retirePod stops and removes one of the live pods, as the kubelet would.
func (c *chaos) retirePod(id string) {
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
	c.record("StopPodSandbox", err)
	_, err = c.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
	c.record("RemovePodSandbox", err)
	if err == nil {
		c.forgetPod(id)
	}
}

func (c *chaos) forgetPod(id string) {
	c.pods = slices.DeleteFunc(c.pods, func(p chaosPod) bool { return p.id == id })
	for _, ct := range c.ctrs {
		if ct.pod == id {
			c.gone = append(c.gone, ct.id)
		}
	}
	c.ctrs = slices.DeleteFunc(c.ctrs, func(ct chaosCtr) bool { return ct.pod == id })
	c.started = slices.DeleteFunc(c.started, c.isGone)
	if c.created[id] && !slices.Contains(c.gone, id) {
		c.gone = append(c.gone, id)
	}
}

func (c *chaos) isGone(id string) bool { return slices.Contains(c.gone, id) }

func (c *chaos) stopPodSandbox() {
	id := c.podID()
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
	c.record("StopPodSandbox", err)
	if c.isGone(id) {
		c.violation("StopPodSandbox", "of a removed pod", err)
	}
}

func (c *chaos) removePodSandbox() {
	id := c.podID()
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
	c.record("RemovePodSandbox", err)
	switch {
	case c.isGone(id):
		c.violation("RemovePodSandbox", "of a removed pod", err)
	case err == nil:
		c.forgetPod(id)
	}
}

func (c *chaos) podSandboxStatus() {
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: c.podID(), Verbose: c.rng.IntN(2) == 0})
	c.record("PodSandboxStatus", err)
}

func (c *chaos) listPodSandbox() {
	var f *runtimeapi.PodSandboxFilter
	switch c.rng.IntN(5) {
	case 0:
		f = &runtimeapi.PodSandboxFilter{Id: c.podID()}
	case 1:
		f = &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState(c.rng.IntN(4))}}
	case 2:
		f = &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"chaos": c.tag}}
	case 3:
		f = &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.docker.type": "podsandbox"}}
	}
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: f})
	c.record("ListPodSandbox", err)
}

func (c *chaos) sandboxConfigOf(id string) *runtimeapi.PodSandboxConfig {
	for _, p := range c.pods {
		if p.id == id {
			return p.cfg
		}
	}
	return c.validPod()
}

func (c *chaos) createContainer() {
	if len(c.ctrs) >= chaosMaxContainers {
		c.removeContainerID(c.ctrs[c.rng.IntN(len(c.ctrs))].id)
		return
	}
	podID := c.podID()
	req := &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: c.validContainer(), SandboxConfig: c.sandboxConfigOf(podID)}
	if c.rng.IntN(5) < 2 {
		chaosContainerMutations[c.rng.IntN(len(chaosContainerMutations))](c, req)
	}
	ctx, cancel := c.ctx()
	defer cancel()
	resp, err := c.d.Runtime.CreateContainer(ctx, req)
	c.record("CreateContainer", err)
	if err != nil {
		return
	}
	id := resp.GetContainerId()
	c.ctrs = append(c.ctrs, chaosCtr{id: id, pod: podID})
	c.created[id] = true
	if c.rng.IntN(2) == 0 { // as the kubelet does; else some later call starts it, or none
		_, err = c.d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
		c.record("StartContainer", err)
		c.startedOK(id, err)
	}
}

func (c *chaos) startContainer() {
	ctx, cancel := c.ctx()
	defer cancel()
	id := c.ctrID()
	_, err := c.d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
	c.record("StartContainer", err)
	c.startedOK(id, err)
}

func (c *chaos) stopContainer() {
	id := c.ctrID()
	ctx, cancel := c.ctx()
	defer cancel()
	timeout := int64(c.rng.IntN(4) - 1)
	_, err := c.d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: timeout})
	c.record("StopContainer", err)
	if c.isGone(id) && timeout >= 0 {
		c.violation("StopContainer", "of a removed container", err)
	}
}

func (c *chaos) removeContainer() { c.removeContainerID(c.ctrID()) }

func (c *chaos) removeContainerID(id string) {
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
	c.record("RemoveContainer", err)
	switch {
	case c.isGone(id):
		c.violation("RemoveContainer", "of a removed container", err)
	case err == nil:
		n := len(c.ctrs)
		c.ctrs = slices.DeleteFunc(c.ctrs, func(ct chaosCtr) bool { return ct.id == id || (len(id) >= 12 && strings.HasPrefix(ct.id, id)) })
		if len(c.ctrs) < n && len(id) == 64 {
			c.gone = append(c.gone, id)
		}
		c.started = slices.DeleteFunc(c.started, func(full string) bool { return strings.HasPrefix(full, id) })
	}
}

func (c *chaos) containerStatus() {
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.ctrID(), Verbose: c.rng.IntN(2) == 0})
	c.record("ContainerStatus", err)
}

func (c *chaos) listContainers() {
	var f *runtimeapi.ContainerFilter
	switch c.rng.IntN(6) {
	case 0:
		f = &runtimeapi.ContainerFilter{Id: c.ctrID()}
	case 1:
		f = &runtimeapi.ContainerFilter{PodSandboxId: c.podID()}
	case 2:
		f = &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState(c.rng.IntN(6))}}
	case 3:
		f = &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"chaos": c.tag}}
	case 4:
		f = &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"io.kubernetes.sandbox.id": c.podID()}}
	}
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: f})
	c.record("ListContainers", err)
}

// execSync: tiny timeouts, commands that do not exist, empty commands, a
// megabyte of output.
func (c *chaos) execSync() {
	req := &runtimeapi.ExecSyncRequest{ContainerId: c.runningID(), Timeout: 2}
	switch c.rng.IntN(7) {
	case 0:
		req.Cmd = []string{"echo", "hi"}
	case 1:
		req.Cmd, req.Timeout = []string{"sleep", "5"}, 1
	case 2:
		req.Cmd = []string{"/chaos/absent"}
	case 3:
		req.Cmd = nil
	case 4:
		req.Cmd = []string{""}
	case 5:
		req.Cmd, req.Timeout = []string{"echo", "negative"}, -1
	default:
		req.Cmd = []string{"head", "-c", "1000000", "/dev/zero"}
	}
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.ExecSync(ctx, req)
	c.record("ExecSync", err)
}

// streamingURL asks for exec, attach and port-forward URLs (not used:
// dockercri must not keep anything for them beyond their expiry).
func (c *chaos) streamingURL() {
	ctx, cancel := c.ctx()
	defer cancel()
	switch c.rng.IntN(3) {
	case 0:
		_, err := c.d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: c.runningID(), Cmd: []string{"sh"}, Stdout: c.rng.IntN(3) > 0, Tty: c.rng.IntN(2) == 0, Stderr: true})
		c.record("Exec", err)
	case 1:
		_, err := c.d.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: c.runningID(), Stdout: true})
		c.record("Attach", err)
	default:
		ports := [][]int32{{80}, {-1}, {70000}, nil}[c.rng.IntN(4)]
		_, err := c.d.Runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: c.podID(), Port: ports})
		c.record("PortForward", err)
	}
}

func (c *chaos) updateContainerResources() {
	r := []*runtimeapi.LinuxContainerResources{
		{CpuShares: 512, MemoryLimitInBytes: 64 << 20},
		{CpuShares: -1}, {MemoryLimitInBytes: -1}, {MemoryLimitInBytes: 1}, {CpuQuota: 5},
		{CpusetCpus: "999"}, {CpusetCpus: "x"}, {OomScoreAdj: 2000}, nil,
	}[c.rng.IntN(9)]
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.UpdateContainerResources(ctx, &runtimeapi.UpdateContainerResourcesRequest{ContainerId: c.ctrID(), Linux: r})
	c.record("UpdateContainerResources", err)
}

func (c *chaos) reopenContainerLog() {
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: c.ctrID()})
	c.record("ReopenContainerLog", err)
}

func (c *chaos) stats() {
	ctx, cancel := c.ctx()
	defer cancel()
	var err error
	switch c.rng.IntN(4) {
	case 0:
		_, err = c.d.Runtime.ContainerStats(ctx, &runtimeapi.ContainerStatsRequest{ContainerId: c.ctrID()})
		c.record("ContainerStats", err)
	case 1:
		_, err = c.d.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: &runtimeapi.ContainerStatsFilter{PodSandboxId: c.podID()}})
		c.record("ListContainerStats", err)
	case 2:
		_, err = c.d.Runtime.PodSandboxStats(ctx, &runtimeapi.PodSandboxStatsRequest{PodSandboxId: c.podID()})
		c.record("PodSandboxStats", err)
	default:
		_, err = c.d.Runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: &runtimeapi.PodSandboxStatsFilter{LabelSelector: map[string]string{"chaos": c.tag}}})
		c.record("ListPodSandboxStats", err)
	}
}

// imageRef is an image that is not there, or no image reference at all;
// never a real image's name (other tests use them) and never a short hex
// string (an image ID prefix).
func (c *chaos) imageRef() string {
	n := c.rng.IntN(1000)
	return []string{
		fmt.Sprintf("%s/chaos-absent-%d:v%d", c.env.Registry, n, n),
		fmt.Sprintf("%s/chaos-absent-%d:v1", c.env.AuthRegistry, n),
		fmt.Sprintf("%s/busybox@sha256:%016x%016x%016x%016x", c.env.Registry, c.rng.Uint64(), c.rng.Uint64(), c.rng.Uint64(), c.rng.Uint64()),
		fmt.Sprintf("sha256:%016x%016x%016x%016x", c.rng.Uint64(), c.rng.Uint64(), c.rng.Uint64(), c.rng.Uint64()),
		"127.0.0.1:1/chaos-closed-port:1", "", "UPPER/Case:x", "chaos absent", "../../etc/passwd", "chaos:ünïcödé",
		strings.Repeat("a/", 2000) + "b",
	}[c.rng.IntN(11)]
}

func (c *chaos) pullImage() {
	req := &runtimeapi.PullImageRequest{Image: spec(c.imageRef())}
	switch c.rng.IntN(4) {
	case 0:
		req.Auth = &runtimeapi.AuthConfig{Username: "chaos", Password: "wrong"}
	case 1:
		req.Auth = &runtimeapi.AuthConfig{Auth: "!!not base64!!"}
	case 2:
		req.Auth = &runtimeapi.AuthConfig{Username: c.env.AuthUser, Password: c.env.AuthPass}
	}
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Image.PullImage(ctx, req)
	c.record("PullImage", err)
	if err == nil {
		c.t.Errorf("pull of %q succeeded", req.GetImage().GetImage())
	}
}

func (c *chaos) removeImage() {
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(c.imageRef())})
	c.record("RemoveImage", err)
}

func (c *chaos) imageStatus() {
	ref := c.imageRef()
	if c.rng.IntN(3) == 0 {
		ref = c.image
	}
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref), Verbose: c.rng.IntN(2) == 0})
	c.record("ImageStatus", err)
}

func (c *chaos) listImages() {
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: spec(c.imageRef())}})
	c.record("ListImages", err)
}

func (c *chaos) runtimeInfo() {
	ctx, cancel := c.ctx()
	defer cancel()
	var err error
	switch c.rng.IntN(4) {
	case 0:
		_, err = c.d.Runtime.Version(ctx, &runtimeapi.VersionRequest{Version: "chaos"})
		c.record("Version", err)
	case 1:
		_, err = c.d.Runtime.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
		c.record("Status", err)
	case 2:
		_, err = c.d.Runtime.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
		c.record("RuntimeConfig", err)
	default:
		_, err = c.d.Image.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
		c.record("ImageFsInfo", err)
	}
}

func (c *chaos) updateRuntimeConfig() {
	cidr := []string{"10.244.0.0/16", "10.244.0.0/16,fd00::/64", "garbage", "", "10.0.0.0/33"}[c.rng.IntN(5)]
	ctx, cancel := c.ctx()
	defer cancel()
	_, err := c.d.Runtime.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{
		RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: cidr}},
	})
	c.record("UpdateRuntimeConfig", err)
}

// cleanup stops and removes every pod of the test, as the kubelet would: the
// ones it knows, and the ones a call cancelled by its short deadline made
// without telling (ListPodSandbox by the test's label finds them). It waits
// first for dockercri to finish the calls it is still serving.
func (c *chaos) cleanup() {
	c.t.Helper()
	c.waitIdle()
	ctx := framework.Context(c.t)
	list, err := c.d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"chaos": c.tag}}})
	if err != nil {
		c.t.Fatal(err)
	}
	ids := []string{}
	for _, p := range c.pods {
		ids = append(ids, p.id)
	}
	var unknown []string // made by calls whose short deadline ran out: a kubelet would find them so
	for _, p := range list.GetItems() {
		if !slices.Contains(ids, p.GetId()) {
			ids = append(ids, p.GetId())
			unknown = append(unknown, p.GetMetadata().GetName()+" "+p.GetState().String())
		}
	}
	for _, id := range ids {
		c.created[id] = true
		if _, err := c.d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			c.t.Errorf("cleanup: stop pod %s: %v", id, err)
		}
		if _, err := c.d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			c.t.Errorf("cleanup: remove pod %s: %v", id, err)
		}
	}
	c.t.Logf("cleanup: %d pods stopped and removed, %d of them found only by listing: %v", len(ids), len(unknown), unknown)
	c.pods, c.ctrs, c.started = nil, nil, nil
}

// waitIdle waits until dockercri serves no call (its in-flight gauge).
func (c *chaos) waitIdle() {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(c.metricsText(), "\ndockercri_cri_requests_in_flight 0\n") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Errorf("dockercri still serves calls a minute after the last one")
}

// leftInDocker lists Kubernetes containers of this test still in Docker:
// by id, or by the tag in their name (for a create a cancelled call made).
func (c *chaos) leftInDocker() []string {
	out := framework.Docker(c.t, "ps", "-a", "--no-trunc", "--filter", "label=io.kubernetes.docker.type", "--format", "{{.ID}} {{.Names}} {{.Status}}")
	var left []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		id, _, _ := strings.Cut(line, " ")
		if line != "" && (c.created[id] || strings.Contains(line, c.tag)) {
			left = append(left, line)
		}
	}
	return left
}

// forceRemoveLeftovers runs at the end whatever happened, so that a failed
// run leaves nothing for the next test.
func (c *chaos) forceRemoveLeftovers() {
	var ids []string
	for _, line := range c.leftInDocker() {
		id, _, _ := strings.Cut(line, " ")
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		framework.Docker(c.t, append([]string{"rm", "-f", "-v"}, ids...)...)
	}
}
