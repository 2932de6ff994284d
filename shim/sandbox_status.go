package shim

import (
	"context"
	"encoding/json"

	"github.com/moby/moby/api/types/container"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// PodSandboxStatus reports one pod. A pod whose pause container is gone but
// whose checkpoint remains is NOTREADY, so the kubelet stops and removes it.
func (s *Service) PodSandboxStatus(ctx context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	id := req.GetPodSandboxId()
	in, found, err := s.inspectSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		if cp := s.checkpoints.get(id); cp != nil {
			return &runtimeapi.PodSandboxStatusResponse{Status: statusFromCheckpoint(id, cp)}, nil
		}
		return nil, notFound("pod sandbox %q", id)
	}
	if _, err := s.ensureAdopted(ctx, in, true); err != nil {
		// As dockershim did for a pod whose address it could not read:
		// reported without one, so the kubelet replaces it.
		klog.ErrorS(err, "Pod sandbox reported without its addresses", "sandbox", in.ID)
	}
	st, err := s.sandboxStatus(in)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: st}
	if req.GetVerbose() {
		cp := s.checkpoints.get(in.ID)
		info := map[string]any{
			"id": in.ID, "name": in.Name, "state": in.State, "hostConfig": in.HostConfig,
			"networkSettings": in.NetworkSettings, "checkpoint": cp,
		}
		// PodSandboxStatus has no field for the pod's resources: they are
		// reported here, as UpdatePodSandboxResources last recorded them.
		if cp != nil && cp.Overhead != nil {
			info["overhead"] = cp.Overhead
		}
		if cp != nil && cp.Resources != nil {
			info["resources"] = cp.Resources
		}
		b, err := json.Marshal(info)
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// sandboxStatus builds the CRI status of an inspected pod sandbox; its
// checkpoint says the runtime handler and, for a CNI pod, its addresses.
func (s *Service) sandboxStatus(in container.InspectResponse) (*runtimeapi.PodSandboxStatus, error) {
	var opts translate.SandboxStatusOptions
	if cp := s.checkpoints.get(in.ID); cp != nil {
		opts.RuntimeHandler = cp.RuntimeHandler
		opts.CNI = cp.Network != ""
		if cp.Network == netUp {
			opts.IPs = cp.IPs
		}
	}
	return translate.SandboxStatus(in, opts)
}

func statusFromCheckpoint(id string, cp *sandboxCheckpoint) *runtimeapi.PodSandboxStatus {
	return &runtimeapi.PodSandboxStatus{
		Id:             id,
		Metadata:       &runtimeapi.PodSandboxMetadata{Name: cp.Name, Namespace: cp.Namespace, Uid: cp.UID, Attempt: cp.Attempt},
		State:          runtimeapi.PodSandboxState_SANDBOX_NOTREADY,
		CreatedAt:      cp.CreatedAt,
		RuntimeHandler: cp.RuntimeHandler,
	}
}
