package shim

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/crilog"
	"dockercri/translate"
)

// StartContainer opens the container's CRI log file, starts it, and starts
// copying its output into that file.
func (s *Service) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	in, found, err := s.inspectContainer(ctx, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("container %q", req.GetContainerId())
	}
	var w *crilog.Writer
	if logPath := translate.ParseLabels(in.Config.Labels).LogPath; logPath != "" {
		if w, err = crilog.OpenWriter(logPath); err != nil {
			return nil, failedPrecondition("container %s: open log file: %v", in.ID, err)
		}
	}
	if _, err := s.docker.ContainerStart(ctx, in.ID, client.ContainerStartOptions{}); err != nil {
		if w != nil {
			w.Close()
		}
		return nil, fmt.Errorf("start container %s: %w", in.ID, err)
	}
	if w != nil {
		s.logs.Start(in.ID, in.Config.Tty, w, time.Time{})
	}
	klog.InfoS("Container started", "container", in.ID)
	return &runtimeapi.StartContainerResponse{}, nil
}
