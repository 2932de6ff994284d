package shim

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RemovePodSandbox removes the pod's containers (forcibly, as the CRI
// says), its pause container and its checkpoint. Removing what is gone
// succeeds.
func (s *Service) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	id := req.GetPodSandboxId()
	in, found, err := s.inspectSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		// The pause container is gone; its containers and checkpoint may not be.
		if !dockerID.MatchString(id) {
			return &runtimeapi.RemovePodSandboxResponse{}, nil
		}
	} else {
		id = in.ID
	}
	// A pod removed without a stop first must not keep its address.
	pid := 0
	if found && in.State != nil && in.State.Running {
		pid = in.State.Pid
	}
	if err := s.teardownNetwork(ctx, id, pid); err != nil {
		return nil, err
	}
	members, err := s.podContainers(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, c := range members {
		s.logs.Stop(c.ID)
		if err := forceRemove(ctx, s.docker, c.ID); err != nil {
			return nil, fmt.Errorf("remove pod sandbox %s: %w", id, err)
		}
	}
	if found {
		if err := forceRemove(ctx, s.docker, id); err != nil {
			return nil, fmt.Errorf("remove pod sandbox %s: %w", id, err)
		}
	}
	if err := s.checkpoints.remove(id); err != nil {
		return nil, err
	}
	klog.InfoS("Pod sandbox removed", "sandbox", id)
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}
