package shim

import (
	"context"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	// kubeAPIVersion is the version of the CRI the kubelet negotiates on.
	kubeAPIVersion = "0.1.0"
	// runtimeName is what dockershim and cri-dockerd report, so that tools
	// and dashboards that switch on it keep working.
	runtimeName = "docker"
)

// Version reports Docker's version and API version as the runtime's.
func (s *Service) Version(ctx context.Context, _ *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	v, err := s.docker.ServerVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker version: %w", err)
	}
	return &runtimeapi.VersionResponse{
		Version:           kubeAPIVersion,
		RuntimeName:       runtimeName,
		RuntimeVersion:    v.Version,
		RuntimeApiVersion: v.APIVersion,
	}, nil
}
