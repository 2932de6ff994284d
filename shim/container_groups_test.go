package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// busybox with the accounts of critest's test-image-predefined-group.
func fakeWithAccounts() *fakeDocker {
	f := fakeWithImages()
	img, _ := f.find(busyboxID)
	img.files = map[string]string{
		"/etc/passwd": "root:x:0:0::/root:/bin/sh\ndefault-user:x:1000:1000::/home:/bin/sh\n",
		"/etc/group":  "root:x:0:\ndefault-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n",
	}
	return f
}

// groupsPod serves f and runs a pod on it.
func groupsPod(t *testing.T, f *fakeDocker) (*testClients, *runtimeapi.PodSandboxConfig, string) {
	t.Helper()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	return c, sb, runSandbox(t, c, sb)
}

func groupsConfig(name string, sc *runtimeapi.LinuxContainerSecurityContext) *runtimeapi.ContainerConfig {
	cfg := containerConfig(name)
	cfg.Linux = &runtimeapi.LinuxContainerConfig{SecurityContext: sc}
	return cfg
}

func createWith(t *testing.T, c *testClients, sbID string, sb *runtimeapi.PodSandboxConfig, cfg *runtimeapi.ContainerConfig) (string, error) {
	t.Helper()
	resp, err := c.runtime.CreateContainer(testContext(t), &runtimeapi.CreateContainerRequest{PodSandboxId: sbID, Config: cfg, SandboxConfig: sb})
	return resp.GetContainerId(), err
}

// scratchCalls keeps the calls about the scratch container, its name
// replaced by "scratch" (it is random).
func scratchCalls(calls []string) []string {
	var out []string
	for _, c := range calls {
		if strings.Contains(c, accountsScratchPrefix) || strings.HasPrefix(c, "CopyFromContainer") || strings.HasPrefix(c, "ContainerRemove") {
			f := strings.Fields(c)
			out = append(out, f[0]+" "+strings.Join(f[2:], " "))
		}
	}
	return out
}

func TestCreateContainerStrictGroups(t *testing.T) {
	f := fakeWithAccounts()
	c, sb, sbID := groupsPod(t, f)
	strict := &runtimeapi.LinuxContainerSecurityContext{RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroups: []int64{1234},
		SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict}
	f.resetCalls()
	id, err := createWith(t, c, sbID, sb, groupsConfig("app", strict))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ContainerCreate ", "CopyFromContainer /etc/passwd", "CopyFromContainer /etc/group", "ContainerRemove "}
	assertCalls(t, scratchCalls(f.callLog()), want)
	got := f.findContainer(id)
	if got.config.User != "1000:1000" || !equalCalls(got.hostConfig.GroupAdd, []string{"1234"}) {
		t.Fatalf("User %q, GroupAdd %q; want 1000:1000, [1234]", got.config.User, got.hostConfig.GroupAdd)
	}
	if len(f.containers) != 2 {
		t.Fatalf("%d containers, want the sandbox and the app: the scratch container is left", len(f.containers))
	}

	// The image's accounts are read once.
	f.resetCalls()
	if _, err := createWith(t, c, sbID, sb, groupsConfig("second", strict)); err != nil {
		t.Fatal(err)
	}
	if got := scratchCalls(f.callLog()); len(got) != 0 {
		t.Fatalf("second container of the image read its accounts again: %v", got)
	}
}

func TestCreateContainerMergeGroupsKeepsMemberships(t *testing.T) {
	f := fakeWithAccounts()
	c, sb, sbID := groupsPod(t, f)
	id, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, RunAsGroup: &runtimeapi.Int64Value{Value: 3000}, SupplementalGroups: []int64{1234}}))
	if err != nil {
		t.Fatal(err)
	}
	got := f.findContainer(id)
	if got.config.User != "1000:3000" || !equalCalls(got.hostConfig.GroupAdd, []string{"1234", "50000"}) {
		t.Fatalf("User %q, GroupAdd %q; want 1000:3000, [1234 50000]", got.config.User, got.hostConfig.GroupAdd)
	}
}

// Docker's own resolution is the Merge policy: no accounts are read.
func TestCreateContainerMergeGroupsReadsNothing(t *testing.T) {
	f := fakeWithAccounts()
	c, sb, sbID := groupsPod(t, f)
	f.resetCalls()
	if _, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroups: []int64{1234}})); err != nil {
		t.Fatal(err)
	}
	if got := scratchCalls(f.callLog()); len(got) != 0 {
		t.Fatalf("calls %v, want no scratch container", got)
	}
}

func TestCreateContainerAccountsFailureLeavesNothing(t *testing.T) {
	f := fakeWithAccounts()
	c, sb, sbID := groupsPod(t, f)
	f.errs["CopyFromContainer"] = fmt.Errorf("daemon said no: %w", cerrdefs.ErrUnavailable)
	_, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict}))
	st := wantCode(t, err, codes.Unavailable)
	if !strings.Contains(st.Message(), "/etc/passwd") || !strings.Contains(st.Message(), `"k8s_app_web_default_uid-web_0"`) {
		t.Fatalf("message %q should name the container and the file", st.Message())
	}
	if len(f.containers) != 1 {
		t.Fatalf("%d containers, want only the sandbox", len(f.containers))
	}
	// Not cached: the next create reads again, and succeeds.
	delete(f.errs, "CopyFromContainer")
	if _, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict})); err != nil {
		t.Fatal(err)
	}
}

func TestCreateContainerAccountsSweepsLeftovers(t *testing.T) {
	f := fakeWithAccounts()
	c, sb, sbID := groupsPod(t, f)
	f.containers = append(f.containers,
		&fakeContainer{id: "left", name: accountsScratchPrefix + "0011223344556677", imageID: busyboxID, config: f.containers[0].config, state: "created"},
		&fakeContainer{id: "other", name: "someone-elses", imageID: busyboxID, config: f.containers[0].config, state: "created"})
	if _, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict})); err != nil {
		t.Fatal(err)
	}
	if f.findContainer("left") != nil || f.findContainer("other") == nil {
		t.Fatal("the leftover scratch container should go, and only it")
	}
}

func TestRuntimeStatusReportsSupplementalGroupsPolicy(t *testing.T) {
	c := newTestClients(t, newFakeDocker())
	resp, err := c.runtime.Status(testContext(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetFeatures().GetSupplementalGroupsPolicy() {
		t.Fatal("features do not report the supplemental groups policy")
	}
}

// A running container's user is its process's, as /proc holds it; a
// stopped one's is what its config says.
func TestContainerStatusUserFromProcess(t *testing.T) {
	f := fakeWithAccounts()
	c := newTestClients(t, f)
	proc := t.TempDir()
	c.svc.stats.roots.Proc = proc
	if err := os.MkdirAll(filepath.Join(proc, "4242"), 0o755); err != nil { // the fake's pid of running containers
		t.Fatal(err)
	}
	status := "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t1000 1234 50000 \n"
	if err := os.WriteFile(filepath.Join(proc, "4242", "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	sb := sandboxConfig("web")
	sbID := runSandbox(t, c, sb)
	id, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroups: []int64{1234}}))
	if err != nil {
		t.Fatal(err)
	}
	user := func() *runtimeapi.LinuxContainerUser {
		t.Helper()
		resp, err := c.runtime.ContainerStatus(testContext(t), &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus().GetUser().GetLinux()
	}
	if got, want := user(), (&runtimeapi.LinuxContainerUser{Uid: 1000}); !proto.Equal(got, want) {
		t.Fatalf("created: user %v, want %v", got, want)
	}
	if _, err := c.runtime.StartContainer(testContext(t), &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if got, want := user(), (&runtimeapi.LinuxContainerUser{Uid: 1000, Gid: 1000, SupplementalGroups: []int64{1000, 1234, 50000}}); !proto.Equal(got, want) {
		t.Fatalf("running: user %v, want %v", got, want)
	}
}

// Docker merges an image's labels into the scratch container's: even with
// labels that imitate a pod's container it is not listed (its name is no
// pod container's name).
func TestAccountsScratchIsNeverListed(t *testing.T) {
	f := fakeWithAccounts()
	c, sb, sbID := groupsPod(t, f)
	img, _ := f.find(busyboxID)
	img.labels = map[string]string{"io.kubernetes.docker.type": "container", "io.kubernetes.sandbox.id": sbID}
	var listed []*runtimeapi.Container
	f.hooks = map[string]func(){"CopyFromContainer": func() {
		resp, err := c.runtime.ListContainers(testContext(t), &runtimeapi.ListContainersRequest{})
		if err != nil {
			t.Error(err)
			return
		}
		listed = append(listed, resp.GetContainers()...)
	}}
	if _, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict})); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 {
		t.Fatalf("ListContainers during the accounts read = %v, want nothing", listed)
	}
}

// An image whose /etc/passwd is a symbolic link is read through it, as runc
// reads it.
func TestCreateContainerAccountsThroughSymlink(t *testing.T) {
	f := fakeWithImages()
	img, _ := f.find(busyboxID)
	img.files = map[string]string{
		"/etc/passwd":  fakeSymlink + "/data/passwd",
		"/data/passwd": "root:x:0:0::/root:/bin/sh\napp:x:1000:777::/:/bin/sh\n",
	}
	c, sb, sbID := groupsPod(t, f)
	id, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict}))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.findContainer(id).config.User; got != "1000:777" {
		t.Fatalf("User %q, want 1000:777 from the linked /etc/passwd", got)
	}
}

// A user the image does not have, under a policy that needs its accounts,
// is InvalidArgument naming it, and leaves no container behind.
func TestCreateContainerUnknownUserWithPolicy(t *testing.T) {
	f := fakeWithAccounts()
	c, sb, sbID := groupsPod(t, f)
	_, err := createWith(t, c, sbID, sb, groupsConfig("app", &runtimeapi.LinuxContainerSecurityContext{
		RunAsUsername: "nobody-here", SupplementalGroupsPolicy: runtimeapi.SupplementalGroupsPolicy_Strict}))
	st := wantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(st.Message(), "nobody-here") {
		t.Fatalf("message %q does not name the user", st.Message())
	}
	if len(f.containers) != 1 {
		t.Fatalf("%d containers, want only the sandbox", len(f.containers))
	}
}
