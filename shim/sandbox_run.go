package shim

import (
	"context"
	"fmt"
	"os"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
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
	labels, err := translate.SandboxLabels(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.ensureImage(ctx, s.pauseRef); err != nil {
		return nil, fmt.Errorf("pod infra image: %w", err)
	}
	hostNetwork := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
	cniPod := s.usesCNI(hostNetwork)
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
	driver, err := s.cgroupDriver(ctx)
	if err != nil {
		return nil, err
	}
	created, err := translate.SandboxCreateConfig(cfg, req.GetRuntimeHandler(), translate.SandboxOptions{
		Image:        s.pauseRef,
		Labels:       labels,
		NetworkMode:  networkMode,
		CgroupDriver: driver,
		OOMScoreAdj:  s.cfg.Host.clampOOMScoreAdj(dockershimSandboxOOMScore),
		APIVersion:   s.docker.ClientVersion(),
	})
	if err != nil {
		return nil, fmt.Errorf("pod %q: %w", name, err)
	}
	logIgnored("pod sandbox", name, created.Ignored)

	id, err := s.createContainer(ctx, name, created)
	if err != nil {
		return nil, fmt.Errorf("create pod sandbox %q: %w", name, err)
	}
	defer func() {
		if retErr != nil {
			s.rollback("pod sandbox", id, func(ctx context.Context) error {
				if err := s.checkpoints.remove(id); err != nil {
					return err
				}
				return s.removeContainer(ctx, id)
			})
		}
	}()

	meta := cfg.GetMetadata()
	cp := &sandboxCheckpoint{
		Name: meta.GetName(), Namespace: meta.GetNamespace(), UID: meta.GetUid(), Attempt: meta.GetAttempt(),
		RuntimeHandler: req.GetRuntimeHandler(),
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
	if err := s.checkpoints.put(id, cp); err != nil {
		return nil, err
	}
	if cniPod {
		// Registered after the removal above, so it runs before it: DEL
		// while the namespace still exists.
		defer func() {
			if retErr != nil {
				s.rollback("pod network", id, func(ctx context.Context) error {
					return s.teardownNetwork(ctx, id, s.pidOf(ctx, id))
				})
			}
		}()
	}
	if err := s.docker.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("start pod sandbox %q: %w", name, err)
	}
	in, err := s.docker.ContainerInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspect pod sandbox %q: %w", name, err)
	}
	if cniPod {
		pid := 0
		if in.ContainerJSONBase != nil && in.State != nil {
			pid = in.State.Pid
		}
		if err := s.setupNetwork(ctx, id, cp, pid, cfg.GetAnnotations()); err != nil {
			return nil, fmt.Errorf("pod sandbox %q: %w", name, err)
		}
	}
	if err := s.writeResolvConf(in, cfg.GetDnsConfig()); err != nil {
		return nil, fmt.Errorf("pod sandbox %q: %w", name, err)
	}
	klog.InfoS("Pod sandbox running", "pod", klog.KRef(meta.GetNamespace(), meta.GetName()), "sandbox", id)
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
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
	if in.ContainerJSONBase == nil || in.ResolvConfPath == "" {
		return fmt.Errorf("docker reports no resolv.conf path for the sandbox")
	}
	if err := os.WriteFile(in.ResolvConfPath, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write resolv.conf: %w", err)
	}
	return nil
}

// ensureImage pulls ref unless Docker already has it.
func (s *Service) ensureImage(ctx context.Context, ref string) error {
	_, err := s.docker.ImageInspect(ctx, ref)
	if mref, ok := s.mirrorName(ref); ok && cerrdefs.IsNotFound(err) {
		_, err = s.docker.ImageInspect(ctx, mref)
	}
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %q: %w", ref, err)
	}
	_, err = s.pullMirrored(ctx, ref, "")
	return err
}

// cgroupDriver asks Docker once; the driver cannot change without a Docker
// restart, which we would not see anyway between two pods.
func (s *Service) cgroupDriver(ctx context.Context) (string, error) {
	if d := s.driver.Load(); d != nil {
		return *d, nil
	}
	info, err := s.docker.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("docker info: %w", err)
	}
	d := info.CgroupDriver
	s.driver.Store(&d)
	return d, nil
}

// createContainer creates a named container. A name conflict with a
// leftover (a container that is not running, e.g. from a crashed create) is
// resolved by removing it; a conflict with a running one gets a suffixed
// name, which the naming scheme parses back.
func (s *Service) createContainer(ctx context.Context, name string, c *translate.Created) (string, error) {
	resp, err := s.docker.ContainerCreate(ctx, c.Config, c.HostConfig, nil, nil, name)
	if err == nil {
		return resp.ID, nil
	}
	if !cerrdefs.IsConflict(err) {
		return "", err
	}
	existing, ierr := s.docker.ContainerInspect(ctx, name)
	if ierr != nil {
		return "", fmt.Errorf("%w (and inspecting the conflicting container failed: %v)", err, ierr)
	}
	retryName := name
	if existing.State != nil && existing.State.Running {
		retryName = translate.WithConflictSuffix(name, existing.ID[:8])
	} else {
		klog.InfoS("Removing leftover container in the way of a new one", "name", name, "container", existing.ID)
		if rerr := s.docker.ContainerRemove(ctx, existing.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !cerrdefs.IsNotFound(rerr) {
			return "", fmt.Errorf("%w (and removing the leftover failed: %v)", err, rerr)
		}
	}
	resp, err = s.docker.ContainerCreate(ctx, c.Config, c.HostConfig, nil, nil, retryName)
	if err != nil {
		return "", err
	}
	return resp.ID, nil
}

// removeContainer force-removes a container; an absent one is fine.
func (s *Service) removeContainer(ctx context.Context, id string) error {
	err := s.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// rollback runs a cleanup step under a fresh bounded context. Its failure
// is logged, not returned: the caller returns the error that caused it.
func (s *Service) rollback(what, id string, step func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := step(ctx); err != nil {
		klog.ErrorS(err, "Rollback failed; the next relist shows what is left", "object", what, "id", id)
	}
}

func logIgnored(kind, name string, ignored []string) {
	for _, msg := range ignored {
		klog.V(2).InfoS("Field not applied on Docker", "object", kind, "name", name, "field", msg)
	}
}
