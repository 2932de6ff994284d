package shim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"k8s.io/klog/v2"

	"dockercri/shim/legacy"
	"dockercri/translate"
)

// Adoption: a pod that dockershim or cri-dockerd started carries the same
// names and labels as dockercri's (translate/naming.go), so the kubelet
// finds it again, but dockercri has no checkpoint of it. Without one the
// pod would show no IP under CNI (Docker's own address fields are empty),
// the kubelet would recreate it, and its stop would skip CNI DEL, leaking
// its address and port rules. Adopting a pod writes dockercri's checkpoint
// from what is left: the name and labels of the pause container, the other
// runtime's checkpoint (port mappings, host network; read, never changed),
// and the addresses the pod's namespace holds (how dockershim itself read
// them). The pod is adopted at start (Resume) and, failing that, at its
// first PodSandboxStatus or StopPodSandbox.

// ensureAdopted returns the pod's checkpoint, first adopting a pod that
// another runtime started if it has none. A pod of dockercri's own without
// a checkpoint (Docker's networking) gets none and nil is returned.
// withIPs reads a running CNI pod's addresses (failing if they cannot be
// read); a pod being stopped needs none, only its DEL.
func (s *Service) ensureAdopted(ctx context.Context, in container.InspectResponse, withIPs bool) (*sandboxCheckpoint, error) {
	if cp := s.checkpoints.get(in.ID); cp != nil {
		return cp, nil
	}
	if in.Config == nil || !translate.ParseLabels(in.Config.Labels).Legacy {
		return nil, nil
	}
	cp, err := s.adoptionCheckpoint(ctx, in, withIPs)
	if err != nil {
		return nil, fmt.Errorf("adopt pod sandbox %s: %w", in.ID, err)
	}
	err = s.checkpoints.update(in.ID, func(cur *sandboxCheckpoint) (*sandboxCheckpoint, error) {
		if cur != nil {
			return nil, nil // adopted meanwhile by another call
		}
		return cp, nil
	})
	if err != nil {
		return nil, fmt.Errorf("adopt pod sandbox %s: %w", in.ID, err)
	}
	s.dropCheckpointIfGone(ctx, in.ID)
	klog.InfoS("Adopted pod sandbox", "sandbox", in.ID, "pod", klog.KRef(cp.Namespace, cp.Name), "ips", cp.IPs)
	return s.checkpoints.get(in.ID), nil
}

// adoptionCheckpoint builds the checkpoint of an adopted pod.
func (s *Service) adoptionCheckpoint(ctx context.Context, in container.InspectResponse, withIPs bool) (*sandboxCheckpoint, error) {
	cp, err := checkpointOfSandbox(in)
	if err != nil {
		return nil, err
	}
	if old := s.legacyCheckpoint(in.ID); old != nil {
		cp.HostNetwork = cp.HostNetwork || old.HostNetwork
		for _, pm := range old.PortMappings {
			cp.PortMappings = append(cp.PortMappings, portMapping{
				Protocol: pm.Protocol, ContainerPort: pm.ContainerPort, HostPort: pm.HostPort, HostIP: pm.HostIP,
			})
		}
	} else if in.HostConfig != nil {
		// Without their checkpoint (not named, absent, corrupt) the host
		// ports are still known: both runtimes also gave them to Docker as
		// the pause container's port bindings, which Docker keeps on the
		// "none" network too. Without them, DEL would leave portmap's rules
		// forwarding to an address host-local hands out again.
		cp.PortMappings = portMappingsOf(in.HostConfig.PortBindings)
	}
	// dockershim and cri-dockerd put a CNI pod on Docker's "none" network
	// and attached it with the node's plugin, the one dockercri is given.
	if s.cfg.Network == nil || cp.HostNetwork || in.HostConfig == nil || !in.HostConfig.NetworkMode.IsNone() {
		return cp, nil
	}
	cp.Network = netUp // an ADD happened: DEL must follow, running or not
	if !withIPs || in.State == nil || !in.State.Running || in.State.Pid <= 0 {
		return cp, nil
	}
	pod := s.cniPod(in.ID, cp, in.State.Pid, nil)
	ips, err := s.cfg.Network.Addresses(ctx, pod)
	if err != nil {
		return nil, fmt.Errorf("read addresses from %s: %w", pod.NetNS, err)
	}
	cp.IPs = ips
	return cp, nil
}

// legacyCheckpoint finds the checkpoint another runtime kept of a sandbox
// in the directories named by --adopt-checkpoints-from; nil when none.
func (s *Service) legacyCheckpoint(id string) *legacy.Checkpoint {
	for _, root := range s.cfg.AdoptCheckpointsFrom {
		cp, err := legacy.Read(root, id)
		switch {
		case err == nil:
			return cp
		case errors.Is(err, fs.ErrNotExist):
			continue
		default:
			// A corrupt checkpoint adds nothing that can be trusted; the
			// pod is adopted from its container alone.
			klog.ErrorS(err, "Ignoring another runtime's sandbox checkpoint", "sandbox", id, "root", root)
		}
	}
	return nil
}

// adoptAll adopts, at start, every pod another runtime started, so that
// their addresses are known before the kubelet's first relist.
func (s *Service) adoptAll(ctx context.Context) error {
	list, err := listOurs(ctx, s.docker, translate.ContainerTypeSandbox, true)
	if err != nil {
		return err
	}
	adopted := 0
	for _, c := range list {
		if s.checkpoints.get(c.ID) != nil || !translate.ParseLabels(c.Labels).Legacy {
			continue
		}
		in, found, err := s.inspectSandbox(ctx, c.ID)
		if err != nil || !found {
			continue // gone meanwhile, or retried at its first status
		}
		if _, err := s.ensureAdopted(ctx, in, true); err != nil {
			klog.ErrorS(err, "Pod sandbox not adopted at start; its status will retry", "sandbox", c.ID)
			continue
		}
		adopted++
	}
	if adopted > 0 {
		klog.InfoS("Adopted the pod sandboxes of another runtime", "count", strconv.Itoa(adopted))
	}
	return nil
}

// portMappingsOf reads host ports back from a container's port bindings,
// in a stable order.
func portMappingsOf(bindings network.PortMap) []portMapping {
	var out []portMapping
	for port, list := range bindings {
		for _, b := range list {
			hostPort, err := strconv.ParseUint(b.HostPort, 10, 16)
			if err != nil || hostPort == 0 || !port.IsValid() {
				continue
			}
			pm := portMapping{Protocol: string(port.Proto()), ContainerPort: int32(port.Num()), HostPort: int32(hostPort)}
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				pm.HostIP = b.HostIP.String()
			}
			out = append(out, pm)
		}
	}
	slices.SortFunc(out, func(a, b portMapping) int {
		return cmp.Or(cmp.Compare(a.HostPort, b.HostPort), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.HostIP, b.HostIP))
	})
	return out
}
