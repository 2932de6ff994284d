package shim

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	"dockercri/shim/cni"
	"dockercri/translate"
)

// A pod's CNI state, kept in its checkpoint so that DEL runs exactly once
// for every ADD, also after a crash or a restart:
//
//	pending  ADD may have run (or be running); its result is not recorded
//	up       ADD succeeded; IPs recorded
//	down     DEL succeeded
const (
	netPending = "cni-pending"
	netUp      = "cni-up"
	netDown    = "cni-down"
)

// usesCNI says whether a new pod is attached through CNI.
func (s *Service) usesCNI(hostNetwork bool) bool {
	return s.cfg.Network != nil && !hostNetwork
}

// needsTeardown says whether the pod's checkpoint holds an ADD without DEL.
func needsTeardown(cp *sandboxCheckpoint) bool {
	return cp != nil && (cp.Network == netPending || cp.Network == netUp)
}

// cniPod is what the plugins are told about a pod. pid is the pause
// container's (0 when it is not running: DEL without a namespace).
func (s *Service) cniPod(id string, cp *sandboxCheckpoint, pid int, annotations map[string]string) cni.Pod {
	p := cni.Pod{ID: id, Name: cp.Name, Namespace: cp.Namespace, UID: cp.UID}
	if pid > 0 {
		p.NetNS = "/proc/" + strconv.Itoa(pid) + "/ns/net"
	}
	for _, pm := range cp.PortMappings {
		if pm.HostPort <= 0 {
			continue
		}
		p.Ports = append(p.Ports, cni.PortMapping{
			HostPort: pm.HostPort, ContainerPort: pm.ContainerPort, Protocol: strings.ToLower(pm.Protocol), HostIP: pm.HostIP,
		})
	}
	if in, out, err := translate.Bandwidth(annotations); err == nil && (in > 0 || out > 0) {
		p.Bandwidth = &cni.Bandwidth{IngressRate: in, IngressBurst: translate.BandwidthBurst(in), EgressRate: out, EgressBurst: translate.BandwidthBurst(out)}
	}
	if cidr := s.PodCIDR(); cidr != "" {
		p.PodCIDRs = strings.Split(cidr, ",")
	}
	return p
}

// setupNetwork runs CNI ADD for a started pause container and records the
// result in the checkpoint (which says "pending" from before the start).
func (s *Service) setupNetwork(ctx context.Context, id string, cp *sandboxCheckpoint, pid int, annotations map[string]string) error {
	if pid <= 0 {
		return fmt.Errorf("pod sandbox %s has no process to attach the network to", id)
	}
	ips, err := s.cfg.Network.Setup(ctx, s.cniPod(id, cp, pid, annotations))
	if err != nil {
		return err
	}
	cp.Network, cp.IPs = netUp, ips
	return s.checkpoints.put(id, cp)
}

// teardownNetwork runs CNI DEL once for a pod whose checkpoint holds an ADD
// (from the checkpoint alone when the pause container is gone) and records
// it. pid is the pause container's, or 0.
func (s *Service) teardownNetwork(ctx context.Context, id string, pid int) error {
	cp := s.checkpoints.get(id)
	if !needsTeardown(cp) || s.cfg.Network == nil {
		return nil
	}
	if err := s.cfg.Network.Teardown(ctx, s.cniPod(id, cp, pid, nil)); err != nil {
		return fmt.Errorf("pod sandbox %s: %w", id, err)
	}
	cp.Network, cp.IPs = netDown, nil
	return s.checkpoints.put(id, cp)
}

// pidOf is a container's pid when it runs, else 0.
func (s *Service) pidOf(ctx context.Context, id string) int {
	res, err := s.docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if st := res.Container.State; err == nil && st != nil && st.Running {
		return st.Pid
	}
	return 0
}

// resumeNetworks, at start, cleans up pods whose ADD was in flight when
// dockercri stopped: the kubelet never learnt of them, and their result is
// unknown, so they are torn down and removed whole rather than half kept.
func (s *Service) resumeNetworks(ctx context.Context) {
	for _, id := range s.checkpoints.ids() {
		cp := s.checkpoints.get(id)
		if cp == nil || cp.Network != netPending {
			continue
		}
		klog.InfoS("Removing pod sandbox whose network setup was interrupted", "sandbox", id, "pod", klog.KRef(cp.Namespace, cp.Name))
		if err := s.teardownNetwork(ctx, id, s.pidOf(ctx, id)); err != nil {
			klog.ErrorS(err, "Interrupted pod network not torn down; StopPodSandbox will retry", "sandbox", id)
			continue
		}
		if err := forceRemove(ctx, s.docker, id); err != nil {
			klog.ErrorS(err, "Interrupted pod sandbox not removed", "sandbox", id)
			continue
		}
		if err := s.checkpoints.remove(id); err != nil {
			klog.ErrorS(err, "Checkpoint of interrupted pod sandbox not removed", "sandbox", id)
		}
	}
}
