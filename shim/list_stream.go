package shim

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The list-streaming RPCs (KEP-5825, the kubelet's CRIListStreaming gate)
// answer exactly what the List calls answer, same filters, cut into
// messages of at least one item each, every item once, then EOF. They let a
// node whose list would pass the 16 MiB message cap (MaxMsgSize) still be
// listed. An empty list is no message at all: the kubelet reads to EOF.

// A message holds at most streamChunkItems items and, unless one item alone
// is larger, at most streamChunkBytes of them. The count keeps messages
// small on an ordinary node (a pod or container is about a kilobyte); the
// byte bound keeps them far under the cap whatever the items carry, e.g.
// pods with the 256 KiB of annotations Kubernetes allows each. Variables so
// that tests can make chunks small.
const (
	defaultStreamChunkItems = 100
	defaultStreamChunkBytes = MaxMsgSize / 4
)

var (
	streamChunkItems = defaultStreamChunkItems
	streamChunkBytes = defaultStreamChunkBytes
)

// StreamPodSandboxes streams ListPodSandbox.
func (s *Service) StreamPodSandboxes(req *runtimeapi.StreamPodSandboxesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxesResponse]) error {
	ctx, cancel := s.streamContext(stream)
	defer cancel()
	resp, err := s.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: req.GetFilter()})
	if err != nil {
		return err
	}
	return sendChunks(ctx, resp.GetItems(), func(chunk []*runtimeapi.PodSandbox) error {
		return stream.Send(&runtimeapi.StreamPodSandboxesResponse{PodSandboxes: chunk})
	})
}

// StreamContainers streams ListContainers.
func (s *Service) StreamContainers(req *runtimeapi.StreamContainersRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamContainersResponse]) error {
	ctx, cancel := s.streamContext(stream)
	defer cancel()
	resp, err := s.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: req.GetFilter()})
	if err != nil {
		return err
	}
	return sendChunks(ctx, resp.GetContainers(), func(chunk []*runtimeapi.Container) error {
		return stream.Send(&runtimeapi.StreamContainersResponse{Containers: chunk})
	})
}

// StreamContainerStats streams ListContainerStats.
func (s *Service) StreamContainerStats(req *runtimeapi.StreamContainerStatsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamContainerStatsResponse]) error {
	ctx, cancel := s.streamContext(stream)
	defer cancel()
	resp, err := s.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: req.GetFilter()})
	if err != nil {
		return err
	}
	return sendChunks(ctx, resp.GetStats(), func(chunk []*runtimeapi.ContainerStats) error {
		return stream.Send(&runtimeapi.StreamContainerStatsResponse{ContainerStats: chunk})
	})
}

// StreamPodSandboxStats streams ListPodSandboxStats.
func (s *Service) StreamPodSandboxStats(req *runtimeapi.StreamPodSandboxStatsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxStatsResponse]) error {
	ctx, cancel := s.streamContext(stream)
	defer cancel()
	resp, err := s.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: req.GetFilter()})
	if err != nil {
		return err
	}
	return sendChunks(ctx, resp.GetStats(), func(chunk []*runtimeapi.PodSandboxStats) error {
		return stream.Send(&runtimeapi.StreamPodSandboxStatsResponse{PodSandboxStats: chunk})
	})
}

// StreamPodSandboxMetrics streams ListPodSandboxMetrics.
func (s *Service) StreamPodSandboxMetrics(_ *runtimeapi.StreamPodSandboxMetricsRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamPodSandboxMetricsResponse]) error {
	ctx, cancel := s.streamContext(stream)
	defer cancel()
	resp, err := s.ListPodSandboxMetrics(ctx, &runtimeapi.ListPodSandboxMetricsRequest{})
	if err != nil {
		return err
	}
	return sendChunks(ctx, resp.GetPodMetrics(), func(chunk []*runtimeapi.PodSandboxMetrics) error {
		return stream.Send(&runtimeapi.StreamPodSandboxMetricsResponse{PodSandboxMetrics: chunk})
	})
}

// StreamImages streams ListImages.
func (s *Service) StreamImages(req *runtimeapi.StreamImagesRequest, stream grpc.ServerStreamingServer[runtimeapi.StreamImagesResponse]) error {
	ctx, cancel := s.streamContext(stream)
	defer cancel()
	resp, err := s.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: req.GetFilter()})
	if err != nil {
		return err
	}
	return sendChunks(ctx, resp.GetImages(), func(chunk []*runtimeapi.Image) error {
		return stream.Send(&runtimeapi.StreamImagesResponse{Images: chunk})
	})
}

// streamContext bounds a list stream like a unary list: the boundary
// wrapper gives streams no request timeout, since GetContainerEvents runs
// for as long as its client wants. It ends early with the client's
// cancellation.
func (s *Service) streamContext(stream grpc.ServerStream) (context.Context, context.CancelFunc) {
	return context.WithTimeout(stream.Context(), s.cfg.RuntimeRequestTimeout)
}

// sendChunks sends items in order, in chunks bounded by streamChunkItems
// and streamChunkBytes, and stops at the first failed send or when ctx
// ends. Each chunk is a fresh slice: a sent message is never changed.
func sendChunks[T proto.Message](ctx context.Context, items []T, send func([]T) error) error {
	var chunk []T
	size := 0
	for _, item := range items {
		// An item's cost in the message: its bytes, their length, the tag.
		n := proto.Size(item)
		n += protowire.SizeVarint(uint64(n)) + 1
		if len(chunk) > 0 && (len(chunk) >= streamChunkItems || size+n > streamChunkBytes) {
			if err := sendChunk(ctx, chunk, send); err != nil {
				return err
			}
			chunk, size = nil, 0
		}
		chunk = append(chunk, item)
		size += n
	}
	if len(chunk) == 0 {
		return nil
	}
	return sendChunk(ctx, chunk, send)
}

func sendChunk[T any](ctx context.Context, chunk []T, send func([]T) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return send(chunk)
}
