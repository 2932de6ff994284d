package shim

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// Attach validates the request and hands out the URL of a session attached
// to the running container's stdio.
func (s *Service) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalidArgument("empty container id")
	}
	if req.GetTty() && req.GetStderr() {
		return nil, invalidArgument("tty and stderr cannot both be set: a terminal has one output")
	}
	if !req.GetStdin() && !req.GetStdout() && !req.GetStderr() {
		return nil, invalidArgument("one of stdin, stdout and stderr must be set")
	}
	if _, err := runningOurs(ctx, s.docker, translate.ContainerTypeContainer, req.GetContainerId()); err != nil {
		return nil, err
	}
	srv, err := s.streamServer()
	if err != nil {
		return nil, err
	}
	return srv.GetAttach(req)
}
