package shim

import (
	"context"
	"fmt"
	"maps"

	"github.com/moby/moby/api/types/container"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// UpdatePodSandboxResources records the pod-level resources of an in-place
// pod resize. The kubelet resizes the pod cgroup itself (it calls this just
// before) and Docker has no pod cgroup, so nothing reaches Docker: the pod's
// checkpoint keeps them, PodSandboxStatus reports them in its verbose info,
// and they survive a dockercri restart. A field left out of the request
// keeps its last value. The kubelet rejects the resize if this fails, so only
// values no kernel would take are refused.
func (s *Service) UpdatePodSandboxResources(ctx context.Context, req *runtimeapi.UpdatePodSandboxResourcesRequest) (*runtimeapi.UpdatePodSandboxResourcesResponse, error) {
	id := req.GetPodSandboxId()
	if err := translate.PodResources("overhead", req.GetOverhead()); err != nil {
		return nil, fmt.Errorf("pod sandbox %q: %w", id, err)
	}
	if err := translate.PodResources("resources", req.GetResources()); err != nil {
		return nil, fmt.Errorf("pod sandbox %q: %w", id, err)
	}
	in, found, err := s.inspectSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	// base is the checkpoint a pod without one gets (one adopted from
	// dockershim or cri-dockerd); a pod known only by its checkpoint (its
	// pause container gone) is updated as PodSandboxStatus still shows it.
	var base *sandboxCheckpoint
	switch {
	case found:
		id = in.ID
		if base, err = checkpointOfSandbox(in); err != nil {
			return nil, err
		}
	case !dockerID.MatchString(id) || s.checkpoints.get(id) == nil:
		return nil, notFound("pod sandbox %q", id)
	}
	created := false
	err = s.checkpoints.update(id, func(cp *sandboxCheckpoint) (*sandboxCheckpoint, error) {
		if cp == nil {
			if base == nil {
				return nil, notFound("pod sandbox %q", id)
			}
			cp, created = base, true
		}
		if r := req.GetOverhead(); r != nil {
			cp.Overhead = podResourcesFrom(r)
		}
		if r := req.GetResources(); r != nil {
			cp.Resources = podResourcesFrom(r)
		}
		return cp, nil
	})
	if err != nil {
		return nil, fmt.Errorf("record resources of pod sandbox %s: %w", id, err)
	}
	if created {
		s.dropCheckpointIfGone(ctx, id)
	}
	klog.InfoS("Pod sandbox resources recorded", "sandbox", id)
	return &runtimeapi.UpdatePodSandboxResourcesResponse{}, nil
}

// checkpointOfSandbox is the checkpoint of a running pod that has none, as
// RunPodSandbox would have written it for Docker's own networking.
func checkpointOfSandbox(in container.InspectResponse) (*sandboxCheckpoint, error) {
	meta, err := translate.ParseSandboxName(in.Name)
	if err != nil {
		return nil, err
	}
	created, _ := translate.ParseDockerTime(in.Created)
	cp := &sandboxCheckpoint{
		Name: meta.GetName(), Namespace: meta.GetNamespace(), UID: meta.GetUid(), Attempt: meta.GetAttempt(),
		CreatedAt: created,
	}
	if in.HostConfig != nil {
		cp.HostNetwork = in.HostConfig.NetworkMode.IsHost()
	}
	return cp, nil
}

// dropCheckpointIfGone removes a checkpoint just made for a pod that
// RemovePodSandbox took away meanwhile (between the inspect and the write),
// which would otherwise linger as a NOTREADY pod.
func (s *Service) dropCheckpointIfGone(ctx context.Context, id string) {
	if _, found, err := s.inspectSandbox(ctx, id); err != nil || found {
		return
	}
	if err := s.checkpoints.remove(id); err != nil {
		klog.ErrorS(err, "Checkpoint of a removed pod sandbox not removed", "sandbox", id)
	}
}

// podResourcesFrom copies CRI resources into their checkpoint form; nil
// stays nil.
func podResourcesFrom(r *runtimeapi.LinuxContainerResources) *podResources {
	if r == nil {
		return nil
	}
	p := &podResources{
		CPUPeriod: r.GetCpuPeriod(), CPUQuota: r.GetCpuQuota(), CPUShares: r.GetCpuShares(),
		MemoryLimitInBytes: r.GetMemoryLimitInBytes(), MemorySwapLimitInBytes: r.GetMemorySwapLimitInBytes(),
		OOMScoreAdj: r.GetOomScoreAdj(), CpusetCpus: r.GetCpusetCpus(), CpusetMems: r.GetCpusetMems(),
		Unified: maps.Clone(r.GetUnified()),
	}
	for _, h := range r.GetHugepageLimits() {
		p.HugepageLimits = append(p.HugepageLimits, hugepageLimit{PageSize: h.GetPageSize(), Limit: h.GetLimit()})
	}
	return p
}
