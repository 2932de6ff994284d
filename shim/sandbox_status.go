package shim

import (
	"context"
	"encoding/json"

	"github.com/docker/docker/api/types/container"

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

func (s *Service) sandboxStatus(in container.InspectResponse) (*runtimeapi.PodSandboxStatus, error) {
	meta, err := translate.ParseSandboxName(in.Name)
	if err != nil {
		return nil, err
	}
	created, _ := translate.ParseDockerTime(in.Created)
	labels := translate.ParseLabels(in.Config.Labels)
	st := &runtimeapi.PodSandboxStatus{
		Id:          in.ID,
		Metadata:    meta,
		State:       translate.SandboxState(string(in.State.Status)),
		CreatedAt:   created,
		Labels:      labels.Labels,
		Annotations: labels.Annotations,
	}
	hc := in.HostConfig
	if hc == nil {
		hc = &container.HostConfig{}
	}
	mode := func(host bool) runtimeapi.NamespaceMode {
		if host {
			return runtimeapi.NamespaceMode_NODE
		}
		return runtimeapi.NamespaceMode_POD
	}
	st.Linux = &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
		Network: mode(hc.NetworkMode.IsHost()),
		Pid:     mode(hc.PidMode.IsHost()),
		Ipc:     mode(hc.IpcMode.IsHost()),
	}}}
	if cp := s.checkpoints.get(in.ID); cp != nil {
		st.RuntimeHandler = cp.RuntimeHandler
	}
	if cp := s.checkpoints.get(in.ID); cp != nil && cp.Network != "" {
		// A CNI pod: its addresses are the plugin's, not Docker's.
		if cp.Network == netUp && len(cp.IPs) > 0 && st.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			net := &runtimeapi.PodSandboxNetworkStatus{Ip: cp.IPs[0]}
			for _, ip := range cp.IPs[1:] {
				net.AdditionalIps = append(net.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
			}
			st.Network = net
		}
	} else if !hc.NetworkMode.IsHost() && in.NetworkSettings != nil && st.State == runtimeapi.PodSandboxState_SANDBOX_READY {
		net := &runtimeapi.PodSandboxNetworkStatus{Ip: in.NetworkSettings.IPAddress}
		if v6 := in.NetworkSettings.GlobalIPv6Address; v6 != "" {
			if net.Ip == "" {
				net.Ip = v6
			} else {
				net.AdditionalIps = []*runtimeapi.PodIP{{Ip: v6}}
			}
		}
		st.Network = net
	}
	return st, nil
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
