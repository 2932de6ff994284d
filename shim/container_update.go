package shim

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// UpdateContainerResources applies new CPU and memory limits to a
// container (the kubelet's in-place pod resize).
func (s *Service) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	in, found, err := s.inspectContainer(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("container %q", req.GetContainerId())
	}
	update, ignored, err := translate.UpdateResources(req.GetLinux(), translate.ContainerOptions{
		APIVersion: s.docker.ClientVersion(), MinOOMScoreAdj: s.cfg.Host.MinOOMScoreAdj,
	})
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", in.ID, err)
	}
	logIgnored("container", in.ID, ignored)
	opts := client.ContainerUpdateOptions{Resources: &update.Resources, RestartPolicy: &update.RestartPolicy}
	if _, err := s.docker.ContainerUpdate(ctx, in.ID, opts); err != nil {
		return nil, fmt.Errorf("update container %s: %w", in.ID, err)
	}
	klog.InfoS("Container resources updated", "container", in.ID)
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// ReopenContainerLog closes the container's CRI log file and opens it again
// at the same path: the kubelet has renamed the old one to rotate it.
func (s *Service) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	in, found, err := s.inspectContainer(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("container %q", req.GetContainerId())
	}
	if in.State == nil || !in.State.Running {
		return nil, failedPrecondition("container %s is not running", in.ID)
	}
	if err := s.logs.Reopen(in.ID); err != nil {
		return nil, err
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
