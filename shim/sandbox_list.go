package shim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// ListPodSandbox answers the kubelet's relist from one Docker list call:
// no per-container inspect and no sizes, since it runs every second.
// Checkpoint-only pods (pause container gone) are listed NOTREADY.
func (s *Service) ListPodSandbox(ctx context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f := req.GetFilter()
	// A checkpoint written after this instant belongs to a sandbox being
	// created now, which the list below may not show yet: it must not be
	// reported as a dead checkpoint-only pod (the kubelet would kill it).
	listStart := time.Now().UnixNano()
	list, err := listOurs(ctx, s.docker, translate.ContainerTypeSandbox, true, narrowTo(f.GetId(), "")...)
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	resp := &runtimeapi.ListPodSandboxResponse{Items: make([]*runtimeapi.PodSandbox, 0, len(list))}
	seen := make(map[string]bool, len(list))
	for _, c := range list {
		sb, err := translate.SandboxFromSummary(c)
		if err != nil {
			klog.V(5).InfoS("Skipping container that is not a pod sandbox of ours", "container", c.ID, "err", err)
			continue
		}
		seen[c.ID] = true
		if cp := s.checkpoints.get(c.ID); cp != nil {
			sb.RuntimeHandler = cp.RuntimeHandler
		}
		if translate.MatchSandbox(f, sb) {
			resp.Items = append(resp.Items, sb)
		}
	}
	for _, id := range s.checkpoints.ids() {
		if seen[id] || (f.GetId() != "" && !strings.HasPrefix(id, f.GetId())) {
			continue
		}
		cp := s.checkpoints.get(id)
		if cp == nil || cp.CreatedAt >= listStart {
			continue
		}
		st := statusFromCheckpoint(id, cp)
		sb := &runtimeapi.PodSandbox{Id: id, Metadata: st.Metadata, State: st.State, CreatedAt: st.CreatedAt, RuntimeHandler: st.RuntimeHandler}
		if translate.MatchSandbox(f, sb) {
			resp.Items = append(resp.Items, sb)
		}
	}
	return resp, nil
}
