package shim

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Attach validates the request and hands out the URL of a session attached
// to the running container's stdio.
func (s *Service) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalidArgument("empty container id")
	}
	srv, err := s.sessionServer(ctx, req.GetContainerId(), req.GetTty(), req.GetStdin(), req.GetStdout(), req.GetStderr())
	if err != nil {
		return nil, err
	}
	return srv.GetAttach(req)
}
