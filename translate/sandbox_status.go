package translate

import (
	"fmt"
	"net/netip"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// SandboxStatusOptions is what the shim knows of a pod beyond Docker's
// inspect: its checkpoint's runtime handler and CNI addresses.
type SandboxStatusOptions struct {
	RuntimeHandler string
	// CNI is true for a pod attached through CNI: Docker's own address
	// fields are empty then, and IPs (the plugin's result, first the
	// primary) are its addresses once attached.
	CNI bool
	IPs []string
}

// SandboxStatus builds the CRI status of an inspected pause container:
// metadata from its name, state, creation time, labels and annotations, the
// namespace modes, and its addresses (none unless it is ready, and none for
// host networking).
func SandboxStatus(in container.InspectResponse, opts SandboxStatusOptions) (*runtimeapi.PodSandboxStatus, error) {
	if in.Config == nil || in.State == nil {
		return nil, fmt.Errorf("%w: incomplete pod sandbox inspect", ErrInvalidConfig)
	}
	meta, err := ParseSandboxName(in.Name)
	if err != nil {
		return nil, err
	}
	created, _ := ParseDockerTime(in.Created)
	labels := ParseLabels(in.Config.Labels)
	st := &runtimeapi.PodSandboxStatus{
		Id:          in.ID,
		Metadata:    meta,
		State:       SandboxState(in.State.Status),
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
	st.RuntimeHandler = opts.RuntimeHandler
	if opts.CNI {
		// A CNI pod: its addresses are the plugin's, not Docker's.
		if len(opts.IPs) > 0 && st.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			net := &runtimeapi.PodSandboxNetworkStatus{Ip: opts.IPs[0]}
			for _, ip := range opts.IPs[1:] {
				net.AdditionalIps = append(net.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
			}
			st.Network = net
		}
	} else if !hc.NetworkMode.IsHost() && in.NetworkSettings != nil && st.State == runtimeapi.PodSandboxState_SANDBOX_READY {
		v4, v6 := bridgeAddrs(in.NetworkSettings)
		net := &runtimeapi.PodSandboxNetworkStatus{Ip: v4}
		if v6 != "" {
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

// bridgeAddrs reads a pod's addresses on Docker's default bridge network,
// "" for none. They are what inspect's top-level IPAddress and
// GlobalIPv6Address held (filled from that network's endpoint) until API
// 1.52 removed them; a pod off CNI is on the bridge or on no network.
func bridgeAddrs(ns *container.NetworkSettings) (v4, v6 string) {
	ep := ns.Networks[network.NetworkBridge]
	if ep == nil {
		return "", ""
	}
	return addrString(ep.IPAddress), addrString(ep.GlobalIPv6Address)
}

// addrString formats an address; the zero Addr, Docker's "none", is "".
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
