package shim

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	// kubeAPIVersion is the version of the CRI the kubelet negotiates on.
	kubeAPIVersion = "0.1.0"
	// runtimeName is what dockershim and cri-dockerd report, so that tools
	// and dashboards that switch on it keep working.
	runtimeName = "docker"
	// versionFresh is how long Version answers from the version Docker last
	// reported without asking again. The kubelet asks about once a second
	// (its runtime-up check, node status, each image pull); Docker's version
	// changes only when Docker restarts, which Status and the event stream
	// notice at once.
	versionFresh = 10 * time.Second
)

// Version reports Docker's version and API version as the runtime's. crictl
// and the kubelet call Version before anything else, so while Docker is down
// it answers with the version Docker last reported: `crictl info` must still
// be able to show why the runtime is not ready. Before Docker has ever
// answered it fails Unavailable.
func (s *Service) Version(ctx context.Context, _ *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	if last := s.lastVersion.Load(); last != nil && time.Since(last.at) < s.versionFresh {
		return last.resp(), nil
	}
	v, err := s.docker.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		if last := s.lastVersion.Load(); last != nil {
			return last.resp(), nil
		}
		return nil, fmt.Errorf("docker version: %w", err)
	}
	known := &dockerVersion{version: v.Version, api: v.APIVersion, at: time.Now()}
	s.lastVersion.Store(known)
	return known.resp(), nil
}

type dockerVersion struct {
	version, api string
	at           time.Time // when Docker reported it
}

func (d *dockerVersion) resp() *runtimeapi.VersionResponse {
	return &runtimeapi.VersionResponse{
		Version:           kubeAPIVersion,
		RuntimeName:       runtimeName,
		RuntimeVersion:    d.version,
		RuntimeApiVersion: d.api,
	}
}
