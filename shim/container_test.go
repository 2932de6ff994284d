package shim

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func containerConfig(name string) *runtimeapi.ContainerConfig {
	return &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: name, Attempt: 0},
		Image:       &runtimeapi.ImageSpec{Image: busyboxID},
		Command:     []string{"sh", "-c", "echo hi"},
		Labels:      map[string]string{"io.kubernetes.container.name": name},
		Annotations: map[string]string{"a/b": "c"},
	}
}

func createContainer(t *testing.T, c *testClients, sandboxID string, sb *runtimeapi.PodSandboxConfig, name string) string {
	t.Helper()
	resp, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{
		PodSandboxId: sandboxID, Config: containerConfig(name), SandboxConfig: sb,
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetContainerId()
}

func TestCreateContainer(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	f.resetCalls()
	id := createContainer(t, c, sbID, sb, "app")
	want := []string{
		"ContainerInspect " + sbID,
		"ImageInspect " + busyboxID,
		"ContainerCreate k8s_app_web_default_uid-web_0",
	}
	assertCalls(t, f.callLog(), want)
	got := f.findContainer(id)
	if got.hostConfig.NetworkMode.ConnectedContainer() != sbID || got.hostConfig.IpcMode.Container() != sbID {
		t.Fatalf("container does not join the sandbox: network %q ipc %q", got.hostConfig.NetworkMode, got.hostConfig.IpcMode)
	}
}

func TestCreateContainerBadInput(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	escape := containerConfig("app")
	escape.LogPath = "../../etc/cron.d/x"
	noImage := containerConfig("app")
	noImage.Image = nil
	absentImage := containerConfig("app")
	absentImage.Image = &runtimeapi.ImageSpec{Image: "absent:1"}
	tests := []struct {
		name    string
		sandbox string
		give    *runtimeapi.ContainerConfig
		want    codes.Code
	}{
		{name: "unknown sandbox", sandbox: strings.Repeat("f", 64), give: containerConfig("app"), want: codes.NotFound},
		{name: "empty sandbox id", sandbox: "", give: containerConfig("app"), want: codes.InvalidArgument},
		{name: "no config", sandbox: sbID, give: nil, want: codes.InvalidArgument},
		{name: "no image", sandbox: sbID, give: noImage, want: codes.InvalidArgument},
		{name: "absent image", sandbox: sbID, give: absentImage, want: codes.NotFound},
		{name: "log path escapes", sandbox: sbID, give: escape, want: codes.InvalidArgument},
		{name: "no metadata", sandbox: sbID, give: &runtimeapi.ContainerConfig{Image: &runtimeapi.ImageSpec{Image: busyboxID}}, want: codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.containers)
			_, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{
				PodSandboxId: tt.sandbox, Config: tt.give, SandboxConfig: sb,
			})
			wantCode(t, err, tt.want)
			if len(f.containers) != before {
				t.Fatal("a failed CreateContainer left a container")
			}
		})
	}
	// A sandbox ID that names an app container is not a sandbox.
	ctr := createContainer(t, c, sbID, sb, "app")
	_, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: ctr, Config: containerConfig("x"), SandboxConfig: sb})
	wantCode(t, err, codes.NotFound)
}

// frame builds one frame of Docker's multiplexed log stream.
func frame(stream byte, payload string) string {
	h := make([]byte, 8)
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return string(h) + payload
}

func TestContainerLifecycleWritesCRILog(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	ctx := testContext(t)
	logDir := t.TempDir()
	sb := sandboxConfig("web")
	sb.LogDirectory = logDir
	sbID := runSandbox(t, c, sb)
	cfg := containerConfig("app")
	cfg.LogPath = "app/0.log"
	if err := os.MkdirAll(filepath.Join(logDir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	resp, err := c.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cfg, SandboxConfig: sb})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetContainerId()
	f.findContainer(id).logs = frame(1, "2026-11-22T18:00:00.000000001Z hello\n") + frame(2, "2026-11-22T18:00:00.000000002Z oops\n")
	if _, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	f.findContainer(id).state, f.findContainer(id).exitCode = "exited", 3
	st, err := c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetStatus().GetExitCode() != 3 || st.GetStatus().GetState() != runtimeapi.ContainerState_CONTAINER_EXITED ||
		st.GetStatus().GetLogPath() != filepath.Join(logDir, "app/0.log") {
		t.Fatalf("status = %v", st.GetStatus())
	}
	b, err := os.ReadFile(filepath.Join(logDir, "app/0.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-11-22T18:00:00.000000001Z stdout F hello\n2026-11-22T18:00:00.000000002Z stderr F oops\n"
	if string(b) != want {
		t.Fatalf("CRI log =\n%q\nwant\n%q", b, want)
	}
	// An exited container's log file cannot be reopened.
	_, err = c.runtime.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id})
	wantCode(t, err, codes.FailedPrecondition)

	for i := 0; i < 2; i++ {
		if _, err := c.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	wantCode(t, err, codes.NotFound)
}

func TestListContainers(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	ctx := testContext(t)
	sb1, sb2 := sandboxConfig("web"), sandboxConfig("db")
	id1, id2 := runSandbox(t, c, sb1), runSandbox(t, c, sb2)
	a := createContainer(t, c, id1, sb1, "a")
	createContainer(t, c, id2, sb2, "b")
	all, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(all.GetContainers()) != 2 {
		t.Fatalf("all = %v, %v", all, err)
	}
	one, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{PodSandboxId: id1}})
	if err != nil || len(one.GetContainers()) != 1 || one.GetContainers()[0].GetId() != a {
		t.Fatalf("by sandbox = %v, %v", one, err)
	}
	got := one.GetContainers()[0]
	if got.GetMetadata().GetName() != "a" || got.GetPodSandboxId() != id1 || got.GetAnnotations()["a/b"] != "c" ||
		got.GetState() != runtimeapi.ContainerState_CONTAINER_CREATED {
		t.Fatalf("container = %v", got)
	}
	// The relist path: one Docker list, no inspects, no sizes.
	f.resetCalls()
	if _, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil {
		t.Fatal(err)
	}
	if calls := f.callLog(); len(calls) != 2 || !strings.HasPrefix(calls[0], "ContainerList") || !strings.HasPrefix(calls[1], "ContainerList") {
		t.Fatalf("relist calls = %v, want exactly two ContainerList", calls)
	}
}

// ContainerConfig has no runtime handler: app containers take the pod's
// from its pause container.
func TestCreateContainerTakesSandboxRuntime(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	resp, err := c.runtime.RunPodSandbox(testContext(t), &runtimeapi.RunPodSandboxRequest{Config: sb, RuntimeHandler: "kata"})
	if err != nil {
		t.Fatal(err)
	}
	id := createContainer(t, c, resp.GetPodSandboxId(), sb, "app")
	if got := f.findContainer(id).hostConfig.Runtime; got != "kata" {
		t.Fatalf("container runtime = %q, want the pod's %q", got, "kata")
	}
}

// oldDocker is a Docker that predates some of the kernel's capabilities.
type oldDocker struct {
	*fakeDocker
	unknown string
}

func (d oldDocker) ContainerCreate(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	if hc := opts.HostConfig; hc != nil && slices.Contains(hc.CapAdd, d.unknown) {
		d.record("ContainerCreate", opts.Name)
		return client.ContainerCreateResult{}, fmt.Errorf("invalid CapAdd: unknown capability: %q: %w", d.unknown, cerrdefs.ErrInvalidArgument)
	}
	return d.fakeDocker.ContainerCreate(ctx, opts)
}

// On a host whose bounding set makes Docker's privileged mode fail,
// privileged containers get the host's set; a capability of it that Docker
// does not know is dropped at the first refusal, and not asked for again.
func TestPrivilegedContainerDropsCapabilityDockerLacks(t *testing.T) {
	f := fakeWithImages()
	d := oldDocker{fakeDocker: f, unknown: "CAP_BPF"}
	host, err := hostInfoFrom("CapBnd:\t000001fffeffffff\nCapEff:\t000001fffeffffff\n", 40, 0, OOMRestrictOff)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClients(t, d, func(cfg *Config) { cfg.Host = host })
	sb := sandboxConfig("priv")
	sb.Linux = &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{Privileged: true}}
	sbID := runSandbox(t, c, sb)
	privileged := func(name string) *runtimeapi.ContainerConfig {
		cfg := containerConfig(name)
		cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{Privileged: true}}
		return cfg
	}
	for i, name := range []string{"first", "second"} {
		f.resetCalls()
		resp, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: privileged(name), SandboxConfig: sb})
		if err != nil {
			t.Fatal(err)
		}
		caps := f.findContainer(resp.GetContainerId()).hostConfig.CapAdd
		if slices.Contains(caps, "CAP_BPF") || !slices.Contains(caps, "CAP_SYS_ADMIN") || slices.Contains(caps, "CAP_SYS_RESOURCE") {
			t.Fatalf("%s: CapAdd = %v", name, caps)
		}
		creates := 0
		for _, call := range f.callLog() {
			if strings.HasPrefix(call, "ContainerCreate") {
				creates++
			}
		}
		if want := 2 - i; creates != want {
			t.Fatalf("%s: %d ContainerCreate calls, want %d", name, creates, want)
		}
	}
	// Asked for by name, it is the user's error to see.
	explicit := containerConfig("explicit")
	explicit.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
		Capabilities: &runtimeapi.Capability{AddCapabilities: []string{"CAP_BPF"}},
	}}
	_, err = c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: explicit, SandboxConfig: sb})
	if err == nil {
		t.Fatal("an explicitly added capability Docker does not know was dropped silently")
	}
}

// withoutLogCalls drops the log copier's calls, which run concurrently.
func withoutLogCalls(calls []string) []string {
	return slices.DeleteFunc(calls, func(c string) bool { return strings.HasPrefix(c, "ContainerLogs") })
}

func TestContainerCallSequences(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	ctx := testContext(t)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	id := createContainer(t, c, sbID, sb, "app")
	steps := []struct {
		name string
		call func() error
		want []string
	}{
		{name: "start", call: func() error {
			_, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
			return err
		}, want: []string{"ContainerInspect " + id, "ContainerStart " + id}},
		{name: "stop", call: func() error {
			_, err := c.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 5})
			return err
		}, want: []string{"ContainerInspect " + id, "ContainerStop " + id}},
		{name: "remove", call: func() error {
			_, err := c.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
			return err
		}, want: []string{"ContainerInspect " + id, "ContainerRemove " + id}},
		{name: "remove again: gone is fine", call: func() error {
			_, err := c.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
			return err
		}, want: []string{"ContainerInspect " + id}},
	}
	for _, tt := range steps {
		f.resetCalls()
		if err := tt.call(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Run(tt.name, func(t *testing.T) { assertCalls(t, withoutLogCalls(f.callLog()), tt.want) })
	}
}

// A stopped container left under the name (a crash between Docker's create
// and the kubelet learning the ID) is removed and the create retried.
func TestCreateContainerResolvesNameConflict(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	old := createContainer(t, c, sbID, sb, "app")
	f.resetCalls()
	id := createContainer(t, c, sbID, sb, "app")
	const name = "k8s_app_web_default_uid-web_0"
	want := []string{
		"ContainerInspect " + sbID,
		"ImageInspect " + busyboxID,
		"ContainerCreate " + name,
		"ContainerInspect " + name,
		"ContainerRemove " + old,
		"ContainerCreate " + name,
	}
	assertCalls(t, f.callLog(), want)
	if id == old || f.findContainer(old) != nil {
		t.Fatalf("leftover %s not replaced by %s", old, id)
	}
}

// A create Docker refuses leaves nothing behind.
func TestCreateContainerFailureLeavesNothing(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	f.errs["ContainerCreate"] = fmt.Errorf("daemon said no: %w", cerrdefs.ErrUnavailable)
	_, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: containerConfig("app"), SandboxConfig: sb})
	wantCode(t, err, codes.Unavailable)
	if len(f.containers) != 1 {
		t.Fatalf("%d containers, want only the sandbox", len(f.containers))
	}
}

// TestContainerImageIDMatchesPull: the kubelet (1.36+) matches
// Container.image_id and ContainerStatus.image_id against the image_ref
// PullImage returned and Image.id; all four are Docker's image ID.
func TestContainerImageIDMatchesPull(t *testing.T) {
	f := fakeWithImages()
	f.registry["127.0.0.1:5000/busybox:1.36"] = f.images[0]
	c := newTestClients(t, f)
	ctx := testContext(t)
	pulled, err := c.image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec("127.0.0.1:5000/busybox:1.36")})
	if err != nil {
		t.Fatal(err)
	}
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	cfg := containerConfig("app")
	cfg.Image = spec("127.0.0.1:5000/busybox:1.36")
	resp, err := c.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cfg, SandboxConfig: sb})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil || len(list.GetContainers()) != 1 {
		t.Fatalf("ListContainers = %v, %v", list, err)
	}
	st, err := c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: resp.GetContainerId()})
	if err != nil {
		t.Fatal(err)
	}
	img, err := c.image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: cfg.Image})
	if err != nil {
		t.Fatal(err)
	}
	ref := pulled.GetImageRef()
	if ref != busyboxID || list.GetContainers()[0].GetImageId() != ref || st.GetStatus().GetImageId() != ref || img.GetImage().GetId() != ref {
		t.Fatalf("pull image_ref %q, Container.image_id %q, ContainerStatus.image_id %q, Image.id %q: want one image ID",
			ref, list.GetContainers()[0].GetImageId(), st.GetStatus().GetImageId(), img.GetImage().GetId())
	}
}

func TestCreateContainerMountOptions(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	mounts := func(opts ...string) *runtimeapi.ContainerConfig {
		cfg := containerConfig("app")
		cfg.Mounts = []*runtimeapi.Mount{{HostPath: "/var/lib/kubelet/pods/u/volumes/scratch", ContainerPath: "/scratch", MountOptions: opts}}
		return cfg
	}
	for _, opt := range []string{"noexec", "nosuid", "nodev"} {
		_, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: mounts(opt), SandboxConfig: sb})
		st := wantCode(t, err, codes.InvalidArgument)
		if !strings.Contains(st.Message(), `"`+opt+`"`) || !strings.Contains(st.Message(), `"/scratch"`) {
			t.Fatalf("message %q does not name the option and the mount", st.Message())
		}
		if len(filterCalls(f.callLog(), "ContainerCreate")) != 1 { // the sandbox's
			t.Fatalf("%s reached Docker: %v", opt, f.callLog())
		}
	}
	resp, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: mounts("ro", "rbind"), SandboxConfig: sb})
	if err != nil {
		t.Fatal(err)
	}
	if binds := f.findContainer(resp.GetContainerId()).hostConfig.Binds; len(binds) != 1 || binds[0] != "/var/lib/kubelet/pods/u/volumes/scratch:/scratch:ro,rprivate" {
		t.Fatalf("binds = %q, want the mount read-only", binds)
	}
}

// TestCreateContainerRelabelFollowsDockerSELinux: a mount's selinux_relabel
// reaches Docker ("Z") only when dockerd runs with SELinux, which its info
// says among the security options.
func TestCreateContainerRelabelFollowsDockerSELinux(t *testing.T) {
	tests := []struct {
		name      string
		giveOpts  []string
		wantBinds string
	}{
		{name: "dockerd with SELinux", giveOpts: []string{"name=seccomp,profile=builtin", "name=selinux"}, wantBinds: "/data:/data:rprivate,Z"},
		{name: "dockerd without SELinux", giveOpts: []string{"name=seccomp,profile=builtin"}, wantBinds: "/data:/data:rprivate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeWithImages()
			f.info.SecurityOptions = tt.giveOpts
			c := newTestClients(t, f)
			sb := sandboxConfig("web")
			sbID := runSandbox(t, c, sb)
			cfg := containerConfig("app")
			cfg.Mounts = []*runtimeapi.Mount{{HostPath: "/data", ContainerPath: "/data", SelinuxRelabel: true}}
			resp, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cfg, SandboxConfig: sb})
			if err != nil {
				t.Fatal(err)
			}
			if binds := f.findContainer(resp.GetContainerId()).hostConfig.Binds; strings.Join(binds, " ") != tt.wantBinds {
				t.Fatalf("binds = %q, want %q", binds, tt.wantBinds)
			}
		})
	}
}
