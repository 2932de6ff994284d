package shim

import (
	"context"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RemoveContainer removes a container, running or not; removing an absent
// one succeeds. The CRI log file is the kubelet's to delete.
func (s *Service) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalidArgument("empty container id")
	}
	in, found, err := s.inspectContainer(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if !found {
		return &runtimeapi.RemoveContainerResponse{}, nil
	}
	s.logs.Stop(in.ID)
	if err := forceRemove(ctx, s.docker, in.ID); err != nil {
		return nil, err
	}
	klog.InfoS("Container removed", "container", in.ID)
	return &runtimeapi.RemoveContainerResponse{}, nil
}
