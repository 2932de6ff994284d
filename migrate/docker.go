// Package migrate plans and carries out the move of a Docker node to
// containerd: it finds what would break (check) and copies the images pods
// use from Docker's store into containerd's (images).
package migrate

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// Docker is the part of the Docker Engine API the migration reads. It is
// narrow so that the check logic can be tested against a small fake.
type Docker interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	// ContainerStatPath is a HEAD on the container's archive endpoint: it
	// says whether a path exists in the container's filesystem without
	// copying anything out or running a process in it.
	ContainerStatPath(ctx context.Context, id string, options client.ContainerStatPathOptions) (client.ContainerStatPathResult, error)
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageSave(ctx context.Context, refs []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	// DistributionInspect asks an image's registry, through Docker, for a
	// manifest. Docker has no registry credentials of its own (the CLI
	// sends them), so a private registry answers as to a stranger.
	DistributionInspect(ctx context.Context, ref string, options client.DistributionInspectOptions) (client.DistributionInspectResult, error)
}

var _ Docker = (*client.Client)(nil)

// NewDocker connects to a Docker endpoint ("unix:///var/run/docker.sock").
// The API version is negotiated, so Docker 20.10 (API 1.41) works as well
// as current releases. Nothing is dialled until the first call.
func NewDocker(endpoint string) (*client.Client, error) {
	c, err := client.New(client.WithHost(endpoint))
	if err != nil {
		return nil, fmt.Errorf("docker endpoint %q: %w", endpoint, err)
	}
	return c, nil
}
