package shim

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/events"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// containerEvent builds the response for one Docker event, or nil when it
// is not reported. The kubelet's evented PLEG replaces its cached status of
// the pod with what the event carries (GeneratePodStatus), so the response
// holds the pod's status and the statuses of all the pod's containers as
// they are now, not only the event's container: a deleted container is
// simply absent. An event whose pod cannot be read is dropped rather than
// sent with a partial list, which the kubelet would take as containers gone.
func (s *Service) containerEvent(ctx context.Context, m events.Message, typ runtimeapi.ContainerEventType) *runtimeapi.ContainerEventResponse {
	labels := translate.ParseLabels(m.Actor.Attributes)
	sandboxID := labels.SandboxID
	switch labels.Type {
	case translate.ContainerTypeSandbox:
		sandboxID = m.Actor.ID
	case translate.ContainerTypeContainer:
	default:
		return nil
	}
	if sandboxID == "" || m.Actor.ID == "" {
		return nil
	}
	pod, err := s.eventSandboxStatus(ctx, sandboxID, labels.Type, m.Actor.Attributes["name"])
	if err == nil && pod == nil {
		err = fmt.Errorf("pod sandbox %s is gone and its name is not of the scheme", sandboxID)
	}
	var statuses []*runtimeapi.ContainerStatus
	if err == nil {
		statuses, err = s.podContainerStatuses(ctx, sandboxID)
	}
	if err != nil {
		klog.ErrorS(err, "Dropping a container event", "container", m.Actor.ID, "action", m.Action)
		return nil
	}
	created := m.TimeNano
	if created == 0 {
		created = m.Time * 1e9
	}
	return &runtimeapi.ContainerEventResponse{
		ContainerId:        m.Actor.ID,
		ContainerEventType: typ,
		CreatedAt:          created,
		PodSandboxStatus:   pod,
		ContainersStatuses: statuses,
	}
}

// eventSandboxStatus is the pod's status as PodSandboxStatus reports it. A
// pod whose pause container is already gone (its containers' destroy events
// arrive while RemovePodSandbox goes on) is NOTREADY, with its metadata read
// from the checkpoint or, failing that, from the Docker name in the event.
func (s *Service) eventSandboxStatus(ctx context.Context, id, kind, name string) (*runtimeapi.PodSandboxStatus, error) {
	in, found, err := s.inspectSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	if found {
		return s.sandboxStatus(in)
	}
	if cp := s.checkpoints.get(id); cp != nil {
		return statusFromCheckpoint(id, cp), nil
	}
	var meta *runtimeapi.PodSandboxMetadata
	if kind == translate.ContainerTypeSandbox {
		meta, err = translate.ParseSandboxName(name)
	} else {
		meta, _, err = translate.ParseContainerName(name)
	}
	if err != nil {
		return nil, nil
	}
	return &runtimeapi.PodSandboxStatus{Id: id, Metadata: meta, State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY}, nil
}

// podContainerStatuses reports every app container of the pod.
func (s *Service) podContainerStatuses(ctx context.Context, sandboxID string) ([]*runtimeapi.ContainerStatus, error) {
	list, err := listOurs(ctx, s.direct, translate.ContainerTypeContainer, true,
		filterArg("label", translate.LabelSandboxID+"="+sandboxID))
	if err != nil {
		return nil, fmt.Errorf("list containers of pod %s: %w", sandboxID, err)
	}
	out := make([]*runtimeapi.ContainerStatus, 0, len(list))
	for _, c := range list {
		in, found, err := s.inspectContainer(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		// Docker's label filter also sees labels an image set; the
		// manifest-aware reading is the one that counts.
		if !found || translate.ParseLabels(in.Config.Labels).SandboxID != sandboxID {
			continue
		}
		st, err := s.statusOf(ctx, in)
		if err != nil {
			klog.V(5).InfoS("Skipping container in an event", "container", c.ID, "err", err)
			continue
		}
		out = append(out, st)
	}
	return out, nil
}
