package shim

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// dockershimSandboxOOMScore is the score dockershim gave pause containers so
// the OOM killer takes them last; clamped where the host forbids it.
const dockershimSandboxOOMScore = -998

// cleanupTimeout bounds rollback and teardown steps, which run under a fresh
// context: the request's may be the very thing that was cancelled.
const cleanupTimeout = 30 * time.Second

// RunPodSandbox creates and starts the pod's pause container. A failure at
// any step removes what the earlier steps made.
func (s *Service) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (_ *runtimeapi.RunPodSandboxResponse, retErr error) {
	cfg := req.GetConfig()
	name, err := translate.SandboxName(cfg.GetMetadata())
	if err != nil {
		return nil, err
	}
	hostNetwork := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
	cniPod := s.usesCNI(hostNetwork)
	created, err := s.sandboxConfig(ctx, name, cfg, req.GetRuntimeHandler(), cniPod)
	if err != nil {
		return nil, err
	}
	id, err := createNamed(ctx, s.docker, name, created)
	if err != nil {
		return nil, fmt.Errorf("create pod sandbox %q: %w", name, err)
	}
	defer func() {
		if retErr != nil {
			rollback("pod sandbox", id, func(ctx context.Context) error {
				if err := s.checkpoints.remove(id); err != nil {
					return err
				}
				return forceRemove(ctx, s.docker, id)
			})
		}
	}()
	cp := newSandboxCheckpoint(cfg, req.GetRuntimeHandler(), hostNetwork, cniPod)
	if err := s.checkpoints.put(id, cp); err != nil {
		return nil, err
	}
	if cniPod {
		// Registered after the removal above, so it runs before it: DEL
		// while the namespace still exists.
		defer func() {
			if retErr != nil {
				rollback("pod network", id, func(ctx context.Context) error {
					return s.teardownNetwork(ctx, id, s.pidOf(ctx, id))
				})
			}
		}()
	}
	if _, err := s.docker.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return nil, fmt.Errorf("start pod sandbox %q: %w", name, err)
	}
	res, err := s.docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("inspect pod sandbox %q: %w", name, err)
	}
	in := res.Container
	if cniPod {
		pid := 0
		if in.State != nil {
			pid = in.State.Pid
		}
		if err := s.setupNetwork(ctx, id, cp, pid, cfg.GetAnnotations()); err != nil {
			return nil, fmt.Errorf("pod sandbox %q: %w", name, err)
		}
	}
	if err := s.writeResolvConf(in, cfg.GetDnsConfig()); err != nil {
		return nil, fmt.Errorf("pod sandbox %q: %w", name, err)
	}
	klog.InfoS("Pod sandbox running", "pod", klog.KRef(cp.Namespace, cp.Name), "sandbox", id)
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
}

// sandboxConfig checks what a new pod needs (its labels, the pause image,
// for a CNI pod its bandwidth annotations and a ready network) and builds
// its pause container.
func (s *Service) sandboxConfig(ctx context.Context, name string, cfg *runtimeapi.PodSandboxConfig, handler string, cniPod bool) (*translate.Created, error) {
	labels, err := translate.SandboxLabels(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.ensureImage(ctx, s.pauseRef); err != nil {
		return nil, fmt.Errorf("pod infra image: %w", err)
	}
	networkMode := s.cfg.NetworkMode
	if cniPod {
		// CNI attaches the pod to the network: Docker only makes the namespace.
		networkMode = "none"
		if _, _, err := translate.Bandwidth(cfg.GetAnnotations()); err != nil {
			return nil, fmt.Errorf("pod %q: %w", name, err)
		}
		if err := s.cfg.Network.Status(); err != nil {
			return nil, failedPrecondition("pod %q: %v", name, err)
		}
	}
	daemon, err := s.daemon(ctx)
	if err != nil {
		return nil, err
	}
	created, err := translate.SandboxCreateConfig(cfg, handler, translate.SandboxOptions{
		Image:        s.pauseRef,
		Labels:       labels,
		NetworkMode:  networkMode,
		CgroupDriver: daemon.cgroupDriver,
		OOMScoreAdj:  s.cfg.Host.clampOOMScoreAdj(dockershimSandboxOOMScore),
		APIVersion:   s.docker.ClientVersion(),
	})
	if err != nil {
		return nil, fmt.Errorf("pod %q: %w", name, err)
	}
	logIgnored("pod sandbox", name, created.Ignored)
	return created, nil
}

// newSandboxCheckpoint is what a new pod's checkpoint records.
func newSandboxCheckpoint(cfg *runtimeapi.PodSandboxConfig, handler string, hostNetwork, cniPod bool) *sandboxCheckpoint {
	meta := cfg.GetMetadata()
	cp := &sandboxCheckpoint{
		Name: meta.GetName(), Namespace: meta.GetNamespace(), UID: meta.GetUid(), Attempt: meta.GetAttempt(),
		RuntimeHandler: handler,
		HostNetwork:    hostNetwork,
		// Recorded as given, never applied (see translate's
		// SandboxCreateConfig); UpdatePodSandboxResources replaces them.
		Overhead:  podResourcesFrom(cfg.GetLinux().GetOverhead()),
		Resources: podResourcesFrom(cfg.GetLinux().GetResources()),
		CreatedAt: time.Now().UnixNano(),
	}
	if cniPod {
		cp.Network = netPending
	}
	for _, pm := range cfg.GetPortMappings() {
		cp.PortMappings = append(cp.PortMappings, portMapping{
			Protocol: pm.GetProtocol().String(), ContainerPort: pm.GetContainerPort(), HostPort: pm.GetHostPort(), HostIP: pm.GetHostIp(),
		})
	}
	return cp
}

// writeResolvConf puts the pod's DNS config into the resolv.conf Docker
// made for the sandbox, which every container of the pod shares. Docker's
// own DNS options are not used: it refuses them with host networking, and
// the kubelet sends a DNS config for such pods too.
func (s *Service) writeResolvConf(in container.InspectResponse, dns *runtimeapi.DNSConfig) error {
	content := translate.ResolvConf(dns)
	if content == "" {
		return nil
	}
	if in.ResolvConfPath == "" {
		return fmt.Errorf("docker reports no resolv.conf path for the sandbox")
	}
	if err := os.WriteFile(in.ResolvConfPath, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write resolv.conf: %w", err)
	}
	return nil
}
