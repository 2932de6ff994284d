package translate

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// These run for every container on every kubelet relist (each second), so
// they work from Docker's list output alone: no inspect, no sizes. Docker
// reports list creation times in whole seconds.

func summaryName(c container.Summary) string {
	if len(c.Names) == 0 {
		return ""
	}
	return c.Names[0]
}

// SandboxFromSummary reads a pod from its pause container's list entry; an
// error means the container is not a pod sandbox under the naming scheme.
func SandboxFromSummary(c container.Summary) (*runtimeapi.PodSandbox, error) {
	l := ParseLabels(c.Labels)
	if l.Type != ContainerTypeSandbox {
		return nil, fmt.Errorf("%w: container %s is not a pod sandbox", ErrInvalidConfig, c.ID)
	}
	meta, err := ParseSandboxName(summaryName(c))
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PodSandbox{
		Id:          c.ID,
		Metadata:    meta,
		State:       SandboxState(c.State),
		CreatedAt:   c.Created * 1e9,
		Labels:      l.Labels,
		Annotations: l.Annotations,
	}, nil
}

// ContainerFromSummary reads an app container from its list entry; an error
// means it is not an app container under the naming scheme.
func ContainerFromSummary(c container.Summary) (*runtimeapi.Container, error) {
	l := ParseLabels(c.Labels)
	if l.Type != ContainerTypeContainer || l.SandboxID == "" {
		return nil, fmt.Errorf("%w: container %s is not an app container", ErrInvalidConfig, c.ID)
	}
	_, meta, err := ParseContainerName(summaryName(c))
	if err != nil {
		return nil, err
	}
	// image_id is what the kubelet (1.36+) matches a container to its image
	// by: it must equal PullImageResponse.image_ref and Image.id, Docker's
	// image ID, which the list entry carries as it is.
	return &runtimeapi.Container{
		Id:           c.ID,
		PodSandboxId: l.SandboxID,
		Metadata:     meta,
		Image:        &runtimeapi.ImageSpec{Image: c.Image},
		ImageRef:     c.ImageID,
		ImageId:      c.ImageID,
		State:        ContainerState(c.State),
		CreatedAt:    c.Created * 1e9,
		Labels:       l.Labels,
		Annotations:  l.Annotations,
	}, nil
}

// MatchSandbox applies a CRI sandbox filter: id prefix, state, labels.
func MatchSandbox(f *runtimeapi.PodSandboxFilter, sb *runtimeapi.PodSandbox) bool {
	if f == nil {
		return true
	}
	if !strings.HasPrefix(sb.GetId(), f.GetId()) {
		return false
	}
	if f.GetState() != nil && f.GetState().GetState() != sb.GetState() {
		return false
	}
	return matchLabels(f.GetLabelSelector(), sb.GetLabels())
}

// MatchContainer applies a CRI container filter: id prefix, state, sandbox
// id prefix, labels.
func MatchContainer(f *runtimeapi.ContainerFilter, c *runtimeapi.Container) bool {
	if f == nil {
		return true
	}
	if !strings.HasPrefix(c.GetId(), f.GetId()) || !strings.HasPrefix(c.GetPodSandboxId(), f.GetPodSandboxId()) {
		return false
	}
	if f.GetState() != nil && f.GetState().GetState() != c.GetState() {
		return false
	}
	return matchLabels(f.GetLabelSelector(), c.GetLabels())
}

func matchLabels(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
