package shim

import (
	"context"
	"fmt"
	"time"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// ContainerStats reports one container. A container that is not running has
// no cgroup to read: it gets its attributes and no usage.
func (s *Service) ContainerStats(ctx context.Context, req *runtimeapi.ContainerStatsRequest) (*runtimeapi.ContainerStatsResponse, error) {
	in, found, err := s.inspectContainer(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("container %q", req.GetContainerId())
	}
	_, meta, err := translate.ParseContainerName(in.Name)
	if err != nil {
		return nil, err
	}
	labels := translate.ParseLabels(in.Config.Labels)
	attrs := &runtimeapi.ContainerAttributes{Id: in.ID, Metadata: meta, Labels: labels.Labels, Annotations: labels.Annotations}
	if in.State == nil || !in.State.Running {
		return &runtimeapi.ContainerStatsResponse{Stats: &runtimeapi.ContainerStats{Attributes: attrs}}, nil
	}
	st, _, err := s.stats.containerStats(ctx, attrs, time.Now())
	if err != nil {
		return nil, fmt.Errorf("stats of container %s: %w", in.ID, err)
	}
	return &runtimeapi.ContainerStatsResponse{Stats: st}, nil
}

// ListContainerStats reports the running containers that match the filter
// from one Docker list and their cgroup files.
func (s *Service) ListContainerStats(ctx context.Context, req *runtimeapi.ListContainerStatsRequest) (*runtimeapi.ListContainerStatsResponse, error) {
	f := req.GetFilter()
	list, err := listOurs(ctx, s.docker, translate.ContainerTypeContainer, false, narrowTo(f.GetId(), f.GetPodSandboxId())...)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	match := &runtimeapi.ContainerFilter{Id: f.GetId(), PodSandboxId: f.GetPodSandboxId(), LabelSelector: f.GetLabelSelector()}
	now := time.Now()
	resp := &runtimeapi.ListContainerStatsResponse{Stats: make([]*runtimeapi.ContainerStats, 0, len(list))}
	running := make(map[string]bool, len(list))
	for _, c := range list {
		running[c.ID] = true
		ctr, err := translate.ContainerFromSummary(c)
		if err != nil || !translate.MatchContainer(match, ctr) {
			continue
		}
		attrs := &runtimeapi.ContainerAttributes{Id: ctr.Id, Metadata: ctr.Metadata, Labels: ctr.Labels, Annotations: ctr.Annotations}
		st, _, err := s.stats.containerStats(ctx, attrs, now)
		if err != nil {
			klog.V(5).InfoS("No stats for a container that stopped meanwhile", "container", c.ID, "err", err)
			continue
		}
		resp.Stats = append(resp.Stats, st)
	}
	if f == nil {
		s.stats.prune(running, false)
	}
	return resp, nil
}
