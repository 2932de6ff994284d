package shim

import (
	"fmt"
	"time"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/events"
)

// Container events: the hub in shim/events holds the one Docker event
// subscription every GetContainerEvents client shares, the clients' bounded
// buffers and the resubscription after a Docker restart. This file is the
// RPC on top of it; the responses are built by containerEvent
// (container_events_status.go), the handler the hub is given in New.

// The hub talks to Docker through a subset of the Docker interface.
var _ events.Docker = Docker(nil)

// GetContainerEvents streams container created, started, stopped and
// deleted events, each with the pod's status and its containers' statuses,
// until the client leaves, falls too far behind or dockercri stops.
func (s *Service) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	ctx := stream.Context()
	sub, ready, err := s.events.Subscribe()
	if err != nil {
		return err
	}
	defer s.events.Unsubscribe(sub)
	klog.InfoS("Container events client subscribed")
	defer klog.InfoS("Container events client left")

	// Headers go out once Docker's stream is open (or has failed and is
	// being retried), so a client that waits for them sees every event of
	// what it does next.
	wait := time.NewTimer(events.SubscribeWait)
	select {
	case <-ready:
	case <-wait.C:
	case <-ctx.Done():
	}
	wait.Stop()
	if err := stream.SendHeader(nil); err != nil {
		return fmt.Errorf("container events: send header: %w", err)
	}
	for {
		select {
		case ev := <-sub.Events():
			if err := stream.Send(ev); err != nil {
				return fmt.Errorf("container events: send: %w", err)
			}
		case <-sub.Done():
			return sub.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// EndEventStreams ends every GetContainerEvents stream (Unavailable) and
// refuses new ones. Call it before a graceful gRPC stop, which would
// otherwise wait for streams that never end on their own.
func (s *Service) EndEventStreams() { s.events.Close() }
