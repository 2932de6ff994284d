package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// The calls of current kubelets (cri-api 0.36/0.37) that this module's
// cri-api (0.34, pinned with cri-tools) does not know are reached on the
// wire: each StreamX request and response has the same encoding as its ListX
// counterpart (field 1, same message types), and Mount.mount_options (11)
// and RuntimeFeatures.mount_options (3) are written and read as unknown
// fields.

// streamList calls a list-streaming RPC of dockercri with a List request and
// reads every message as a List response, to EOF.
func streamList[Resp any, PResp interface {
	*Resp
	proto.Message
}](t *testing.T, d *framework.Daemon, method string, req proto.Message) []PResp {
	t.Helper()
	conn, err := grpc.NewClient(d.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(framework.Context(t))
	defer cancel()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if err := stream.SendMsg(req); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	var out []PResp
	for {
		resp := PResp(new(Resp))
		err := stream.RecvMsg(resp)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: after %d messages: %v", method, len(out), err)
		}
		if len(resp.ProtoReflect().GetUnknown()) != 0 {
			t.Fatalf("%s: message with fields a List response does not have", method)
		}
		out = append(out, resp)
	}
}

// flatten joins the items of a stream's messages; every message must hold
// at least one.
func flatten[R any, T any](t *testing.T, method string, msgs []R, items func(R) []T) []T {
	t.Helper()
	var all []T
	for i, m := range msgs {
		if len(items(m)) == 0 {
			t.Fatalf("%s: message %d is empty", method, i)
		}
		all = append(all, items(m)...)
	}
	return all
}

func sameIDs[T any](t *testing.T, what string, streamed, listed []T, id func(T) string) {
	t.Helper()
	got, want := make([]string, 0, len(streamed)), make([]string, 0, len(listed))
	for _, x := range streamed {
		got = append(got, id(x))
	}
	for _, x := range listed {
		want = append(want, id(x))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || len(got) == 0 {
		t.Fatalf("%s: streamed %v, listed %v", what, got, want)
	}
}

// TestCRIListStreaming: each Stream RPC answers what its List answers, same
// filter, in messages of at least one item.
func TestCRIListStreaming(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	names := []string{"cristream1", "cristream2", "cristream3"}
	removePodsAfter(t, names...)
	// Other tests share this dockerd: filter on a label of this test's own.
	sel := map[string]string{"e2e-test": "cri-list-streaming"}
	var podIDs []string
	for _, name := range names {
		pod := podConfig(t, name)
		pod.Labels["e2e-test"] = sel["e2e-test"]
		podID := runPod(t, d, pod)
		podIDs = append(podIDs, podID)
		createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: spec(image),
			Command: []string{"sleep", "3600"}, LogPath: "app.log", Labels: sel,
		})
	}
	ctx := framework.Context(t)
	const rs = "/runtime.v1.RuntimeService/"

	podFilter := &runtimeapi.PodSandboxFilter{LabelSelector: sel}
	pods, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: podFilter})
	if err != nil {
		t.Fatal(err)
	}
	msgs := streamList[runtimeapi.ListPodSandboxResponse](t, d, rs+"StreamPodSandboxes", &runtimeapi.ListPodSandboxRequest{Filter: podFilter})
	streamed := flatten(t, "StreamPodSandboxes", msgs, (*runtimeapi.ListPodSandboxResponse).GetItems)
	sameIDs(t, "StreamPodSandboxes", streamed, pods.GetItems(), (*runtimeapi.PodSandbox).GetId)
	if len(streamed) != 3 || !proto.Equal(streamed[0], pods.GetItems()[0]) {
		t.Fatalf("StreamPodSandboxes = %v, want %v", streamed, pods.GetItems())
	}

	ctrFilter := &runtimeapi.ContainerFilter{LabelSelector: sel}
	ctrs, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: ctrFilter})
	if err != nil {
		t.Fatal(err)
	}
	cmsgs := streamList[runtimeapi.ListContainersResponse](t, d, rs+"StreamContainers", &runtimeapi.ListContainersRequest{Filter: ctrFilter})
	sameIDs(t, "StreamContainers", flatten(t, "StreamContainers", cmsgs, (*runtimeapi.ListContainersResponse).GetContainers),
		ctrs.GetContainers(), (*runtimeapi.Container).GetId)

	statsFilter := &runtimeapi.ContainerStatsFilter{LabelSelector: sel}
	cstats, err := d.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: statsFilter})
	if err != nil {
		t.Fatal(err)
	}
	smsgs := streamList[runtimeapi.ListContainerStatsResponse](t, d, rs+"StreamContainerStats", &runtimeapi.ListContainerStatsRequest{Filter: statsFilter})
	sameIDs(t, "StreamContainerStats", flatten(t, "StreamContainerStats", smsgs, (*runtimeapi.ListContainerStatsResponse).GetStats),
		cstats.GetStats(), func(s *runtimeapi.ContainerStats) string { return s.GetAttributes().GetId() })

	podStatsFilter := &runtimeapi.PodSandboxStatsFilter{LabelSelector: sel}
	pstats, err := d.Runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: podStatsFilter})
	if err != nil {
		t.Fatal(err)
	}
	pmsgs := streamList[runtimeapi.ListPodSandboxStatsResponse](t, d, rs+"StreamPodSandboxStats", &runtimeapi.ListPodSandboxStatsRequest{Filter: podStatsFilter})
	sameIDs(t, "StreamPodSandboxStats", flatten(t, "StreamPodSandboxStats", pmsgs, (*runtimeapi.ListPodSandboxStatsResponse).GetStats),
		pstats.GetStats(), func(s *runtimeapi.PodSandboxStats) string { return s.GetAttributes().GetId() })

	// No filter here: this test's pods are among the answer, each once.
	mmsgs := streamList[runtimeapi.ListPodSandboxMetricsResponse](t, d, rs+"StreamPodSandboxMetrics", &runtimeapi.ListPodSandboxMetricsRequest{})
	seen := map[string]int{}
	for _, m := range flatten(t, "StreamPodSandboxMetrics", mmsgs, (*runtimeapi.ListPodSandboxMetricsResponse).GetPodMetrics) {
		seen[m.GetPodSandboxId()]++
	}
	for _, id := range podIDs {
		if seen[id] != 1 {
			t.Fatalf("StreamPodSandboxMetrics: pod %s streamed %d times", id, seen[id])
		}
	}

	imgFilter := &runtimeapi.ImageFilter{Image: spec(image)}
	imgs, err := d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: imgFilter})
	if err != nil {
		t.Fatal(err)
	}
	imsgs := streamList[runtimeapi.ListImagesResponse](t, d, "/runtime.v1.ImageService/StreamImages", &runtimeapi.ListImagesRequest{Filter: imgFilter})
	streamedImgs := flatten(t, "StreamImages", imsgs, (*runtimeapi.ListImagesResponse).GetImages)
	sameIDs(t, "StreamImages", streamedImgs, imgs.GetImages(), (*runtimeapi.Image).GetId)
	if !proto.Equal(streamedImgs[0], imgs.GetImages()[0]) {
		t.Fatalf("StreamImages = %v, ListImages %v", streamedImgs, imgs.GetImages())
	}
}

// TestUpdatePodSandboxResources records a pod-level resize, reports it in
// PodSandboxStatus's verbose info across a dockercri restart, and leaves the
// pause container as Docker made it.
func TestUpdatePodSandboxResources(t *testing.T) {
	d := framework.StartDockercri(t)
	removePodsAfter(t, "criresize")
	podID := runPod(t, d, podConfig(t, "criresize"))
	ctx := framework.Context(t)
	dockerResources := func() string {
		return strings.TrimSpace(framework.Docker(t, "inspect", "-f", "{{json .HostConfig.Resources}}", podID))
	}
	created := dockerResources()
	req := &runtimeapi.UpdatePodSandboxResourcesRequest{
		PodSandboxId: podID,
		Overhead:     &runtimeapi.LinuxContainerResources{CpuShares: 25, CpuPeriod: 100000, CpuQuota: 2500, MemoryLimitInBytes: 32 << 20},
		Resources:    &runtimeapi.LinuxContainerResources{CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 256 << 20},
	}
	if _, err := d.Runtime.UpdatePodSandboxResources(ctx, req); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		st, err := d.Runtime.PodSandboxStatus(framework.Context(t), &runtimeapi.PodSandboxStatusRequest{PodSandboxId: podID, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Overhead, Resources struct {
				CPUShares, CPUPeriod, CPUQuota, MemoryLimitInBytes int64
			}
		}
		if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil {
			t.Fatalf("%s: verbose info %q: %v", when, st.GetInfo()["info"], err)
		}
		o, r := info.Overhead, info.Resources
		if o.CPUShares != 25 || o.CPUQuota != 2500 || o.MemoryLimitInBytes != 32<<20 ||
			r.CPUShares != 512 || r.CPUPeriod != 100000 || r.CPUQuota != 50000 || r.MemoryLimitInBytes != 256<<20 {
			t.Fatalf("%s: overhead %+v, resources %+v", when, o, r)
		}
	}
	check("after the update")
	d.Restart()
	check("after a dockercri restart")
	// The kubelet sizes the pod cgroup: Docker's pause container is untouched.
	if got := dockerResources(); got != created {
		t.Fatalf("pause container resources changed from %s to %s", created, got)
	}

	bad := []struct {
		name string
		req  *runtimeapi.UpdatePodSandboxResourcesRequest
		want codes.Code
		says string
	}{
		{name: "empty id", req: &runtimeapi.UpdatePodSandboxResourcesRequest{}, want: codes.InvalidArgument, says: "empty pod sandbox id"},
		{name: "unknown id", req: &runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: strings.Repeat("0", 64)},
			want: codes.NotFound, says: strings.Repeat("0", 64)},
		{name: "negative memory", req: &runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: podID,
			Resources: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}}, want: codes.InvalidArgument, says: "memory_limit_in_bytes"},
		{name: "negative shares", req: &runtimeapi.UpdatePodSandboxResourcesRequest{PodSandboxId: podID,
			Overhead: &runtimeapi.LinuxContainerResources{CpuShares: -1}}, want: codes.InvalidArgument, says: "overhead"},
	}
	for _, tt := range bad {
		_, err := d.Runtime.UpdatePodSandboxResources(ctx, tt.req)
		if st, _ := status.FromError(err); st.Code() != tt.want || !strings.Contains(st.Message(), tt.says) {
			t.Fatalf("%s: error %v, want %s saying %q", tt.name, err, tt.want, tt.says)
		}
	}
	check("after the refused updates")
}

// TestContainerImageID: Container.image_id, ContainerStatus.image_id,
// Image.id and PullImageResponse.image_ref are one value, as kubelet 1.36
// requires.
func TestContainerImageID(t *testing.T) {
	d := framework.StartDockercri(t)
	removePodsAfter(t, "criimageid")
	ctx := framework.Context(t)
	ref := framework.LoadEnv(t).Registry + "/busybox:1.36"
	pulled, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)})
	if err != nil {
		t.Fatal(err)
	}
	pod := podConfig(t, "criimageid")
	podID := runPod(t, d, pod)
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: spec(ref), Command: []string{"sleep", "3600"}, LogPath: "app.log",
	})
	list, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{Id: id}})
	if err != nil || len(list.GetContainers()) != 1 {
		t.Fatalf("ListContainers = %v, %v", list, err)
	}
	st, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	img, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref)})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(framework.Docker(t, "inspect", "-f", "{{.Image}}", id))
	got := []string{pulled.GetImageRef(), list.GetContainers()[0].GetImageId(), st.GetStatus().GetImageId(), img.GetImage().GetId()}
	for _, g := range got {
		if g != want {
			t.Fatalf("image_ref, Container.image_id, ContainerStatus.image_id, Image.id = %q; want Docker's image ID %q", got, want)
		}
	}
}

// withMountOptions sets Mount.mount_options (field 11) on the wire.
func withMountOptions(m *runtimeapi.Mount, opts ...string) *runtimeapi.Mount {
	var b []byte
	for _, o := range opts {
		b = protowire.AppendTag(b, 11, protowire.BytesType)
		b = protowire.AppendString(b, o)
	}
	m.ProtoReflect().SetUnknown(b)
	return m
}

// unknownVarint reads a varint field this module's cri-api does not know
// (0 when absent, as proto3 sends no false).
func unknownVarint(t *testing.T, m proto.Message, field protowire.Number) uint64 {
	t.Helper()
	var v uint64
	for b := m.ProtoReflect().GetUnknown(); len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("%T: unreadable unknown fields", m)
		}
		if num == field && typ == protowire.VarintType {
			v, _ = protowire.ConsumeVarint(b[n:])
		}
		l := protowire.ConsumeFieldValue(num, typ, b[n:])
		if l < 0 {
			t.Fatalf("%T: unreadable unknown fields", m)
		}
		b = b[n+l:]
	}
	return v
}

// TestMountOptions: Docker cannot set noexec, nosuid or nodev on a bind,
// so dockercri does not announce the runtime feature and refuses them by
// name; the options Docker can express take effect.
func TestMountOptions(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "crimount")
	ctx := framework.Context(t)

	resp, err := d.Runtime.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if unknownVarint(t, resp.GetFeatures(), 3) != 0 {
		t.Fatal("RuntimeFeatures.mount_options announced, but Docker cannot set noexec, nosuid or nodev")
	}

	pod := podConfig(t, "crimount")
	podID := runPod(t, d, pod)
	ro, rw := t.TempDir(), t.TempDir()
	for _, opt := range []string{"noexec", "nosuid", "nodev"} {
		_, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: pod,
			Config: &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: "refused"}, Image: spec(image), Command: []string{"true"}, LogPath: "refused.log",
				Mounts: []*runtimeapi.Mount{withMountOptions(&runtimeapi.Mount{HostPath: rw, ContainerPath: "/scratch"}, opt)},
			}})
		if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), fmt.Sprintf("%q", opt)) ||
			!strings.Contains(st.Message(), `"/scratch"`) {
			t.Fatalf("mount option %s: error %v, want InvalidArgument naming it and the mount", opt, err)
		}
	}
	if out := framework.Docker(t, "ps", "-aq", "--filter", "name=k8s_refused_crimount_"); strings.TrimSpace(out) != "" {
		t.Fatalf("a refused container was left: %s", out)
	}

	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, Image: spec(image), Command: []string{"sleep", "3600"}, LogPath: "app.log",
		Mounts: []*runtimeapi.Mount{
			withMountOptions(&runtimeapi.Mount{HostPath: ro, ContainerPath: "/ro"}, "ro", "rbind"),
			withMountOptions(&runtimeapi.Mount{HostPath: rw, ContainerPath: "/rw"}, "rw", "rprivate"),
		},
	})
	for _, dir := range []string{"/ro", "/rw"} {
		out, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"touch", dir + "/written"}, Timeout: 30})
		if err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(filepath.Join(map[string]string{"/ro": ro, "/rw": rw}[dir], "written"))
		if dir == "/ro" && (out.GetExitCode() == 0 || statErr == nil || !strings.Contains(string(out.GetStderr()), "Read-only")) {
			t.Fatalf("touch in the \"ro\" mount: exit %d, %q; file written: %v", out.GetExitCode(), out.GetStderr(), statErr == nil)
		}
		if dir == "/rw" && (out.GetExitCode() != 0 || statErr != nil) {
			t.Fatalf("touch in the \"rw\" mount: exit %d, %q, %v", out.GetExitCode(), out.GetStderr(), statErr)
		}
	}
}
