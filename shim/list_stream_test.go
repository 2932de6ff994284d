package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// withChunks sets the chunk bounds for one test.
func withChunks(t *testing.T, items, bytes int) {
	t.Helper()
	t.Cleanup(func() { streamChunkItems, streamChunkBytes = defaultStreamChunkItems, defaultStreamChunkBytes })
	streamChunkItems, streamChunkBytes = items, bytes
}

// recvAll reads a list stream to EOF: the items in order and the size of
// each message (items and encoded bytes).
func recvAll[R any, PR interface {
	*R
	proto.Message
}, T any](t *testing.T, stream grpc.ServerStreamingClient[R], err error, items func(PR) []T) (all []T, counts, sizes []int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return all, counts, sizes
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(counts), err)
		}
		all = append(all, items(PR(resp))...)
		counts = append(counts, len(items(PR(resp))))
		sizes = append(sizes, proto.Size(PR(resp)))
	}
}

// wantChunked checks that a stream sent n items in messages of at least
// one and at most max items.
func wantChunked(t *testing.T, what string, counts []int, n, max int) {
	t.Helper()
	total := 0
	for _, c := range counts {
		if c < 1 || c > max {
			t.Fatalf("%s: message sizes %v, want 1 to %d items each", what, counts, max)
		}
		total += c
	}
	if total != n || len(counts) != (n+max-1)/max {
		t.Fatalf("%s: message sizes %v, want %d items in %d messages", what, counts, n, (n+max-1)/max)
	}
}

func wantSameProtos[T proto.Message](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: streamed %d items, listed %d", what, len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: item %d streamed as\n%v\nlisted as\n%v", what, i, got[i], want[i])
		}
	}
}

// fivePods runs five pods, each with a running container; pods 0, 2 and 4
// are labelled tier=even.
func fivePods(t *testing.T) (*fakeDocker, *testClients) {
	t.Helper()
	f := fakeWithImages()
	c := newTestClients(t, f)
	roots, _ := fakeCgroups(t)
	c.svc.stats.roots = roots
	for i := 0; i < 5; i++ {
		sb := sandboxConfig(fmt.Sprintf("pod%d", i))
		if i%2 == 0 {
			sb.Labels["tier"] = "even"
		}
		startedContainer(t, c, runSandbox(t, c, sb), sb, "app")
	}
	return f, c
}

func TestStreamPodsAndContainersAsListedInChunks(t *testing.T) {
	_, c := fivePods(t)
	withChunks(t, 2, defaultStreamChunkBytes)
	ctx := testContext(t)
	even := &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"tier": "even"}}
	for _, f := range []*runtimeapi.PodSandboxFilter{nil, even} {
		list, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		stream, err := c.runtime.StreamPodSandboxes(ctx, &runtimeapi.StreamPodSandboxesRequest{Filter: f})
		got, counts, _ := recvAll(t, stream, err, (*runtimeapi.StreamPodSandboxesResponse).GetPodSandboxes)
		wantSameProtos(t, "pods", got, list.GetItems())
		wantChunked(t, fmt.Sprintf("pods, filter %v", f), counts, len(list.GetItems()), 2)
	}
	if list, _ := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: even}); len(list.GetItems()) != 3 {
		t.Fatalf("the filter lists %d pods, want 3: the test proves nothing", len(list.GetItems()))
	}

	running := &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}
	for _, f := range []*runtimeapi.ContainerFilter{nil, running, {LabelSelector: map[string]string{"no": "such"}}} {
		list, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		stream, err := c.runtime.StreamContainers(ctx, &runtimeapi.StreamContainersRequest{Filter: f})
		got, counts, _ := recvAll(t, stream, err, (*runtimeapi.StreamContainersResponse).GetContainers)
		wantSameProtos(t, "containers", got, list.GetContainers())
		wantChunked(t, fmt.Sprintf("containers, filter %v", f), counts, len(list.GetContainers()), 2)
	}
}

func TestStreamStatsAndMetricsAsListedInChunks(t *testing.T) {
	_, c := fivePods(t)
	withChunks(t, 2, defaultStreamChunkBytes)
	ctx := testContext(t)

	cstats, err := c.runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := c.runtime.StreamContainerStats(ctx, &runtimeapi.StreamContainerStatsRequest{})
	gotC, counts, _ := recvAll(t, cs, err, (*runtimeapi.StreamContainerStatsResponse).GetContainerStats)
	wantChunked(t, "container stats", counts, 5, 2)
	for i := range gotC { // the samples differ; the containers must not
		if gotC[i].GetAttributes().GetId() != cstats.GetStats()[i].GetAttributes().GetId() || gotC[i].GetMemory() == nil {
			t.Fatalf("container stats %d: streamed %v, listed %v", i, gotC[i], cstats.GetStats()[i])
		}
	}

	even := &runtimeapi.PodSandboxStatsFilter{LabelSelector: map[string]string{"tier": "even"}}
	pstats, err := c.runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: even})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.runtime.StreamPodSandboxStats(ctx, &runtimeapi.StreamPodSandboxStatsRequest{Filter: even})
	gotP, counts, _ := recvAll(t, ps, err, (*runtimeapi.StreamPodSandboxStatsResponse).GetPodSandboxStats)
	wantChunked(t, "pod stats", counts, 3, 2)
	for i := range gotP {
		if gotP[i].GetAttributes().GetId() != pstats.GetStats()[i].GetAttributes().GetId() || len(gotP[i].GetLinux().GetContainers()) != 1 {
			t.Fatalf("pod stats %d: streamed %v, listed %v", i, gotP[i], pstats.GetStats()[i])
		}
	}

	metrics, err := c.runtime.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.runtime.StreamPodSandboxMetrics(ctx, &runtimeapi.StreamPodSandboxMetricsRequest{})
	gotM, counts, _ := recvAll(t, ms, err, (*runtimeapi.StreamPodSandboxMetricsResponse).GetPodSandboxMetrics)
	wantChunked(t, "pod metrics", counts, 5, 2)
	for i := range gotM {
		if gotM[i].GetPodSandboxId() != metrics.GetPodMetrics()[i].GetPodSandboxId() || len(gotM[i].GetContainerMetrics()) != 1 {
			t.Fatalf("pod metrics %d: streamed %v, listed %v", i, gotM[i], metrics.GetPodMetrics()[i])
		}
	}
}

func TestStreamImagesAsListedInChunks(t *testing.T) {
	f := fakeWithImages()
	for i := 0; i < 5; i++ {
		f.images = append(f.images, &fakeImage{id: fmt.Sprintf("sha256:%064d", i), tags: []string{fmt.Sprintf("app:%d", i)}, size: 10})
	}
	c := newTestClients(t, f)
	withChunks(t, 3, defaultStreamChunkBytes)
	ctx := testContext(t)
	for _, filter := range []*runtimeapi.ImageFilter{nil, {Image: spec("busybox")}} {
		list, err := c.image.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		stream, err := c.image.StreamImages(ctx, &runtimeapi.StreamImagesRequest{Filter: filter})
		got, counts, _ := recvAll(t, stream, err, (*runtimeapi.StreamImagesResponse).GetImages)
		wantSameProtos(t, "images", got, list.GetImages())
		wantChunked(t, fmt.Sprintf("images, filter %v", filter), counts, len(list.GetImages()), 3)
	}
}

// TestStreamKeepsMessagesUnderTheCap: pods carrying the 256 KiB of
// annotations Kubernetes allows each are too many for one ListPodSandbox
// answer; with the real defaults the stream still delivers them all, each
// message far under the cap.
func TestStreamKeepsMessagesUnderTheCap(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	const pods = 70 // 70 × 256 KiB > 16 MiB
	annotation := strings.Repeat("x", 256<<10-64)
	for i := 0; i < pods; i++ {
		sb := sandboxConfig(fmt.Sprintf("big%d", i))
		sb.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": annotation}
		runSandbox(t, c, sb)
	}
	ctx := testContext(t)
	_, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	wantCode(t, err, codes.ResourceExhausted)

	stream, err := c.runtime.StreamPodSandboxes(ctx, &runtimeapi.StreamPodSandboxesRequest{})
	got, counts, sizes := recvAll(t, stream, err, (*runtimeapi.StreamPodSandboxesResponse).GetPodSandboxes)
	if len(got) != pods {
		t.Fatalf("streamed %d pods, want %d", len(got), pods)
	}
	seen := map[string]bool{}
	for _, sb := range got {
		if seen[sb.GetId()] {
			t.Fatalf("pod %s streamed twice", sb.GetId())
		}
		seen[sb.GetId()] = true
	}
	for i, n := range sizes {
		if n > defaultStreamChunkBytes || n >= MaxMsgSize {
			t.Fatalf("message %d (%d pods) is %d bytes: over the %d-byte chunk bound or the %d-byte cap", i, counts[i], n, defaultStreamChunkBytes, MaxMsgSize)
		}
	}
	t.Logf("%d pods in %d messages of %v pods, largest %d bytes", pods, len(counts), counts, maxOf(sizes))
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func TestSendChunks(t *testing.T) {
	item := func(n int) *runtimeapi.Image { return &runtimeapi.Image{Id: strings.Repeat("i", n)} }
	tests := []struct {
		name       string
		items      []*runtimeapi.Image
		maxItems   int
		maxBytes   int
		wantCounts []int
	}{
		{name: "none: no message", items: nil, maxItems: 2, maxBytes: 1 << 20, wantCounts: nil},
		{name: "by count", items: []*runtimeapi.Image{item(1), item(1), item(1), item(1), item(1)}, maxItems: 2, maxBytes: 1 << 20, wantCounts: []int{2, 2, 1}},
		{name: "by bytes", items: []*runtimeapi.Image{item(100), item(100), item(100)}, maxItems: 10, maxBytes: 250, wantCounts: []int{2, 1}},
		{name: "an item over the bound goes alone", items: []*runtimeapi.Image{item(10), item(1000), item(10)}, maxItems: 10, maxBytes: 250, wantCounts: []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withChunks(t, tt.maxItems, tt.maxBytes)
			var counts []int
			var sent []*runtimeapi.Image
			err := sendChunks(context.Background(), tt.items, func(chunk []*runtimeapi.Image) error {
				counts = append(counts, len(chunk))
				sent = append(sent, chunk...)
				if n := proto.Size(&runtimeapi.StreamImagesResponse{Images: chunk}); len(chunk) > 1 && n > tt.maxBytes {
					t.Errorf("a message of %d items is %d bytes, over %d", len(chunk), n, tt.maxBytes)
				}
				return nil
			})
			if err != nil || fmt.Sprint(counts) != fmt.Sprint(tt.wantCounts) || len(sent) != len(tt.items) {
				t.Fatalf("sendChunks = %v, messages %v (%d items); want %v", err, counts, len(sent), tt.wantCounts)
			}
			for i := range sent {
				if sent[i] != tt.items[i] {
					t.Fatalf("item %d out of order", i)
				}
			}
		})
	}
}

func TestSendChunksStopsWhenCancelledOrSendFails(t *testing.T) {
	withChunks(t, 1, defaultStreamChunkBytes)
	items := []*runtimeapi.Image{{Id: "a"}, {Id: "b"}, {Id: "c"}}
	ctx, cancel := context.WithCancel(context.Background())
	sends := 0
	err := sendChunks(ctx, items, func([]*runtimeapi.Image) error {
		sends++
		cancel() // the client goes away after the first message
		return nil
	})
	if !errors.Is(err, context.Canceled) || sends != 1 {
		t.Fatalf("sendChunks = %v after %d sends, want Canceled after 1", err, sends)
	}
	boom := errors.New("transport closed")
	sends = 0
	err = sendChunks(context.Background(), items, func([]*runtimeapi.Image) error { sends++; return boom })
	if !errors.Is(err, boom) || sends != 1 {
		t.Fatalf("sendChunks = %v after %d sends, want the send's error after 1", err, sends)
	}
}

func TestStreamErrors(t *testing.T) {
	t.Run("client cancelled", func(t *testing.T) {
		c := newTestClients(t, fakeWithImages())
		ctx, cancel := context.WithCancel(testContext(t))
		cancel()
		stream, err := c.runtime.StreamPodSandboxes(ctx, &runtimeapi.StreamPodSandboxesRequest{})
		if err == nil {
			_, err = stream.Recv()
		}
		wantCode(t, err, codes.Canceled)
	})
	t.Run("docker down", func(t *testing.T) {
		f := fakeWithImages()
		f.down = realConnectionError(t)
		c := newTestClients(t, f)
		stream, err := c.runtime.StreamContainers(testContext(t), &runtimeapi.StreamContainersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
		wantCode(t, err, codes.Unavailable)
	})
	t.Run("nothing to list", func(t *testing.T) {
		c := newTestClients(t, fakeWithImages())
		stream, err := c.runtime.StreamPodSandboxes(testContext(t), &runtimeapi.StreamPodSandboxesRequest{})
		got, counts, _ := recvAll(t, stream, err, (*runtimeapi.StreamPodSandboxesResponse).GetPodSandboxes)
		if len(got) != 0 || len(counts) != 0 {
			t.Fatalf("empty list streamed as %v", counts)
		}
	})
}
