package shim

import (
	"context"
	"fmt"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// ListContainers answers the kubelet's relist from one Docker list call:
// no per-container inspect and no sizes.
func (s *Service) ListContainers(ctx context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f := req.GetFilter()
	list, err := listOurs(ctx, s.docker, translate.ContainerTypeContainer, true, narrowTo(f.GetId(), f.GetPodSandboxId())...)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	resp := &runtimeapi.ListContainersResponse{Containers: make([]*runtimeapi.Container, 0, len(list))}
	for _, c := range list {
		ctr, err := translate.ContainerFromSummary(c)
		if err != nil {
			klog.V(5).InfoS("Skipping container that is not one of ours", "container", c.ID, "err", err)
			continue
		}
		if translate.MatchContainer(f, ctr) {
			resp.Containers = append(resp.Containers, ctr)
		}
	}
	return resp, nil
}
