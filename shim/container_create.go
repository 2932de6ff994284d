package shim

import (
	"context"
	"fmt"
	"os"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// dockerLogConfig keeps Docker's own copy of a container's output small:
// dockercri copies it into the CRI log file the kubelet rotates, so Docker's
// json-file is only a buffer that survives a dockercri restart.
var dockerLogConfig = container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "2"}}

// CreateContainer creates an app container in a pod. Nothing is left behind
// when it fails: the only thing it makes is the container itself, last.
func (s *Service) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	cfg, sbCfg := req.GetConfig(), req.GetSandboxConfig()
	if cfg == nil || cfg.GetImage().GetImage() == "" {
		return nil, invalidArgument("container config without image for pod sandbox %s", req.GetPodSandboxId())
	}
	sb, found, err := s.inspectSandbox(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("pod sandbox %q", req.GetPodSandboxId())
	}
	sbMeta, err := translate.ParseSandboxName(sb.Name)
	if err != nil {
		return nil, err
	}
	name, err := translate.ContainerName(sbMeta, cfg.GetMetadata())
	if err != nil {
		return nil, err
	}
	logPath := ""
	if cfg.GetLogPath() != "" {
		if logPath, err = translate.LogPath(sbCfg.GetLogDirectory(), cfg.GetLogPath()); err != nil {
			return nil, fmt.Errorf("container %q: %w", name, err)
		}
	}
	img, err := s.docker.ImageInspect(ctx, cfg.GetImage().GetImage())
	if cerrdefs.IsNotFound(err) {
		return nil, notFound("image %q of container %q", cfg.GetImage().GetImage(), name)
	}
	if err != nil {
		return nil, fmt.Errorf("inspect image of container %q: %w", name, err)
	}
	imageUser := ""
	if img.Config != nil {
		imageUser = img.Config.User
	}
	var accounts *translate.Accounts
	if translate.NeedsAccounts(cfg.GetLinux().GetSecurityContext(), imageUser) {
		if accounts, err = s.imageAccounts(ctx, img.ID); err != nil {
			return nil, fmt.Errorf("container %q: %w", name, err)
		}
	}
	labels, err := translate.ContainerLabels(cfg, sb.ID, logPath)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", name, err)
	}
	daemon, err := s.daemon(ctx)
	if err != nil {
		return nil, err
	}
	opts := translate.ContainerOptions{
		SandboxID:          sb.ID,
		Labels:             labels,
		CgroupDriver:       daemon.cgroupDriver,
		SELinux:            daemon.selinux,
		APIVersion:         s.docker.ClientVersion(),
		ImageUser:          imageUser,
		Accounts:           accounts,
		MinOOMScoreAdj:     s.cfg.Host.MinOOMScoreAdj,
		LoadSeccompProfile: os.ReadFile,
		HostDevices:        hostDevices,
	}
	if sb.HostConfig != nil {
		// The pod's runtime handler is on its pause container only.
		opts.RuntimeHandler = sb.HostConfig.Runtime
	}
	if logPath != "" {
		opts.LogConfig = dockerLogConfig
	}
	id, err := s.createWithHostCapabilities(ctx, name, cfg, sbCfg, opts)
	if err != nil {
		return nil, err
	}
	klog.InfoS("Container created", "container", id, "name", name, "sandbox", sb.ID)
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}

// createWithHostCapabilities builds the container from its config and
// creates it. A privileged container gets the host's capabilities; a
// capability of the host's set that this Docker predates ("unknown
// capability") is forgotten, now and from now on, and the container built
// again without it.
func (s *Service) createWithHostCapabilities(ctx context.Context, name string, cfg *runtimeapi.ContainerConfig,
	sbCfg *runtimeapi.PodSandboxConfig, opts translate.ContainerOptions) (string, error) {
	for tries := 0; ; tries++ {
		opts.HostCapabilities = s.cfg.Host.capabilities()
		created, err := translate.ContainerCreateConfig(cfg, sbCfg, opts)
		if err != nil {
			return "", fmt.Errorf("container %q: %w", name, err)
		}
		if tries == 0 {
			logIgnored("container", name, created.Ignored)
		}
		id, err := createNamed(ctx, s.docker, name, created)
		if err == nil {
			return id, nil
		}
		c, ok := unknownCapability(err)
		if !ok || tries >= maxCapRetries || !slices.Contains(created.HostConfig.CapAdd, c) || !slices.Contains(s.cfg.Host.Capabilities, c) {
			return "", fmt.Errorf("create container %q: %w", name, err)
		}
		klog.InfoS("Docker does not know a capability of the host; privileged containers go without it", "capability", c)
		s.cfg.Host.forgetCapability(c)
	}
}

// maxCapRetries bounds the capabilities a create drops one refusal at a
// time (Docker names one per error); the kernel has a handful Docker may not.
const maxCapRetries = 8
