package shim

import (
	"context"
	"fmt"
	"time"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StopContainer sends the container's stop signal (SIGTERM unless the image
// or config says otherwise) and SIGKILL after the timeout. Stopping a
// stopped or absent container succeeds.
func (s *Service) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	if req.GetTimeout() < 0 {
		return nil, invalidArgument("container %s: negative stop timeout %d", req.GetContainerId(), req.GetTimeout())
	}
	in, found, err := s.inspectContainer(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if !found {
		return &runtimeapi.StopContainerResponse{}, nil
	}
	// Docker waits the whole grace period before it answers, so the call
	// gets the grace period on top of the usual request timeout.
	timeout := int(min(req.GetTimeout(), 1<<31-1))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(timeout)*time.Second+s.cfg.RuntimeRequestTimeout)
	defer cancel()
	if err := s.stopContainer(ctx, in.ID, timeout); err != nil {
		return nil, fmt.Errorf("stop container %s: %w", in.ID, err)
	}
	klog.InfoS("Container stopped", "container", in.ID)
	return &runtimeapi.StopContainerResponse{}, nil
}
