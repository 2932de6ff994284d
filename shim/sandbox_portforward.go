package shim

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PortForward validates the request and hands out the URL of a session
// that forwards to ports in the pod's network namespace.
func (s *Service) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if req.GetPodSandboxId() == "" {
		return nil, invalidArgument("empty pod sandbox id")
	}
	for _, p := range req.GetPort() {
		if p <= 0 || p > 65535 {
			return nil, invalidArgument("port %d out of range", p)
		}
	}
	sb, found, err := s.inspectSandbox(ctx, req.GetPodSandboxId())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("pod sandbox %q", req.GetPodSandboxId())
	}
	if sb.State == nil || !sb.State.Running {
		return nil, failedPrecondition("pod sandbox %s is not running", req.GetPodSandboxId())
	}
	srv, err := s.streamServer()
	if err != nil {
		return nil, err
	}
	return srv.GetPortForward(req)
}
