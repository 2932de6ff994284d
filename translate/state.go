package translate

import (
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Reasons the kubelet shows for an exited container, as dockershim and
// containerd give them.
const (
	ReasonOOMKilled = "OOMKilled"
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
)

// SandboxState maps a pause container's Docker status: only a running
// pause container is a ready pod.
func SandboxState(status container.ContainerState) runtimeapi.PodSandboxState {
	if status == container.StateRunning {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

// ContainerState maps an app container's Docker status. A paused or
// restarting container still has its processes, so it is running.
func ContainerState(status container.ContainerState) runtimeapi.ContainerState {
	switch status {
	case container.StateCreated:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case container.StateExited, container.StateDead, container.StateRemoving:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	default:
		return runtimeapi.ContainerState_CONTAINER_UNKNOWN
	}
}

// ParseDockerTime reads a time from Docker's inspect output as Unix
// nanoseconds. Docker's zero time ("0001-01-01T00:00:00Z", never started or
// never finished) and "" read as 0.
func ParseDockerTime(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%w: docker time %q: %v", ErrInvalidConfig, s, err)
	}
	if t.IsZero() || t.Year() < 1970 {
		return 0, nil
	}
	return t.UnixNano(), nil
}

// ContainerStatusFromInspect builds an app container's CRI status from
// Docker's inspect output, as dockershim did: a container that is not
// running but has finished (or failed to start: exit code set, never
// finished) is exited, with OOMKilled, Completed or Error as the reason.
// The shim adds resources, user and the image's names.
func ContainerStatusFromInspect(in container.InspectResponse) (*runtimeapi.ContainerStatus, error) {
	if in.Config == nil || in.State == nil {
		return nil, fmt.Errorf("%w: incomplete container inspect", ErrInvalidConfig)
	}
	_, meta, err := ParseContainerName(in.Name)
	if err != nil {
		return nil, err
	}
	created, err := ParseDockerTime(in.Created)
	if err != nil {
		return nil, err
	}
	started, _ := ParseDockerTime(in.State.StartedAt)
	finished, _ := ParseDockerTime(in.State.FinishedAt)
	labels := ParseLabels(in.Config.Labels)
	st := &runtimeapi.ContainerStatus{
		Id:          in.ID,
		Metadata:    meta,
		CreatedAt:   created,
		Image:       &runtimeapi.ImageSpec{Image: in.Config.Image},
		ImageRef:    in.Image,
		ImageId:     in.Image,
		Labels:      labels.Labels,
		Annotations: labels.Annotations,
		LogPath:     labels.LogPath,
		Mounts:      mountsFromDocker(in.Mounts),
		Resources:   ContainerResources(in.HostConfig),
		User:        ConfigUser(in.Config.User),
	}
	switch {
	case in.State.Running:
		st.State = runtimeapi.ContainerState_CONTAINER_RUNNING
		st.StartedAt = started
	case finished != 0 || in.State.ExitCode != 0:
		st.State = runtimeapi.ContainerState_CONTAINER_EXITED
		st.StartedAt, st.FinishedAt = started, finished
		if st.FinishedAt == 0 {
			// Failed to start: report it finished when it was made, so
			// the kubelet's back-off has a time to count from.
			st.FinishedAt = created
		}
		st.ExitCode = int32(in.State.ExitCode)
		switch {
		case in.State.OOMKilled:
			st.Reason = ReasonOOMKilled
		case in.State.ExitCode == 0:
			st.Reason = ReasonCompleted
		default:
			st.Reason = ReasonError
		}
		st.Message = in.State.Error
	default:
		st.State = runtimeapi.ContainerState_CONTAINER_CREATED
	}
	return st, nil
}

// mountsFromDocker reports the bind mounts: the ones a CRI config asks for.
// Anonymous volumes from an image's VOLUME are Docker's business.
func mountsFromDocker(points []container.MountPoint) []*runtimeapi.Mount {
	var out []*runtimeapi.Mount
	for _, p := range points {
		if p.Type != mount.TypeBind {
			continue
		}
		m := &runtimeapi.Mount{ContainerPath: p.Destination, HostPath: p.Source, Readonly: !p.RW}
		switch p.Propagation {
		case mount.PropagationRSlave, mount.PropagationSlave:
			m.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
		case mount.PropagationRShared, mount.PropagationShared:
			m.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
		default:
			m.Propagation = runtimeapi.MountPropagation_PROPAGATION_PRIVATE
		}
		out = append(out, m)
	}
	return out
}
