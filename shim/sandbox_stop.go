package shim

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// sandboxStopTimeout is the grace the pause container gets; it exits on
// SIGTERM at once.
const sandboxStopTimeout = 10

// StopPodSandbox stops every container of the pod, then the pause
// container. Stopping a pod that is already stopped, or gone, succeeds: the
// kubelet retries stops and the CRI requires them to be idempotent.
func (s *Service) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	id := req.GetPodSandboxId()
	in, found, err := s.inspectSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		// Gone already (or never a sandbox): nothing to stop, but its
		// network may still hold an address, known from the checkpoint.
		if dockerID.MatchString(id) {
			if err := s.teardownNetwork(ctx, id, 0); err != nil {
				return nil, err
			}
		}
		return &runtimeapi.StopPodSandboxResponse{}, nil
	}
	id = in.ID
	// A pod adopted from another runtime gets its checkpoint now if it
	// has none yet, so that its DEL below is not skipped.
	if _, err := s.ensureAdopted(ctx, in, false); err != nil {
		return nil, err
	}
	members, err := s.podContainers(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, c := range members {
		if c.State != container.StateRunning {
			continue
		}
		if err := s.stopContainer(ctx, c.ID, podStopTimeout); err != nil {
			return nil, fmt.Errorf("stop container %s of pod sandbox %s: %w", c.ID, id, err)
		}
	}
	// DEL while the pause container still holds the namespace, as
	// dockershim did, so plugins find the interfaces they made.
	pid := 0
	if in.State != nil && in.State.Running {
		pid = in.State.Pid
	}
	if err := s.teardownNetwork(ctx, id, pid); err != nil {
		return nil, err
	}
	if err := s.stopContainer(ctx, id, sandboxStopTimeout); err != nil {
		return nil, fmt.Errorf("stop pod sandbox %s: %w", id, err)
	}
	klog.InfoS("Pod sandbox stopped", "sandbox", id)
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

// podStopTimeout is the grace of app containers still running when their
// pod is stopped: none, as in containerd. The kubelet stops each container
// with its own grace period first; what still runs at StopPodSandbox (or
// under `crictl stopp`) is killed.
const podStopTimeout = 0

// stopContainer stops a container with a grace period; absent is fine.
func (s *Service) stopContainer(ctx context.Context, id string, timeout int) error {
	_, err := s.docker.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return err
	}
	return nil
}

// podContainers lists the app containers of a sandbox, running or not.
// Only containers whose sandbox label is their own (see translate labels)
// count: an image cannot enrol a container into a pod.
func (s *Service) podContainers(ctx context.Context, sandboxID string) ([]containerRef, error) {
	list, err := listOurs(ctx, s.docker, translate.ContainerTypeContainer, true,
		filterArg("label", translate.LabelSandboxID+"="+sandboxID))
	if err != nil {
		return nil, fmt.Errorf("list containers of pod sandbox %s: %w", sandboxID, err)
	}
	var out []containerRef
	for _, c := range list {
		l := translate.ParseLabels(c.Labels)
		if l.Type == translate.ContainerTypeContainer && l.SandboxID == sandboxID {
			out = append(out, containerRef{ID: c.ID, State: c.State})
		}
	}
	return out, nil
}

type containerRef struct {
	ID    string
	State container.ContainerState
}
