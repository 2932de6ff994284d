package shim

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// Docker is the narrow slice of the Docker Engine API the shim uses. The
// method set mirrors *client.Client exactly, so the real client satisfies it
// without a wrapper and the fake in the tests stands in for it one to one.
// Add a method here only when a handler needs it.
type Docker interface {
	Ping(ctx context.Context, options client.PingOptions) (client.PingResult, error)
	ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	DiskUsage(ctx context.Context, options client.DiskUsageOptions) (client.DiskUsageResult, error)

	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ImageRemove(ctx context.Context, ref string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)

	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStart(ctx context.Context, id string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerStop(ctx context.Context, id string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerRemove(ctx context.Context, id string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerUpdate(ctx context.Context, id string, options client.ContainerUpdateOptions) (client.ContainerUpdateResult, error)
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	// CopyFromContainer reads an image's accounts (image_accounts.go).
	CopyFromContainer(ctx context.Context, id string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)

	// Exec and attach (ExecSync and the streaming sessions).
	ExecCreate(ctx context.Context, containerID string, options client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecAttach(ctx context.Context, execID string, options client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspect(ctx context.Context, execID string, options client.ExecInspectOptions) (client.ExecInspectResult, error)
	ExecResize(ctx context.Context, execID string, options client.ExecResizeOptions) (client.ExecResizeResult, error)
	ContainerAttach(ctx context.Context, id string, options client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	ContainerResize(ctx context.Context, id string, options client.ContainerResizeOptions) (client.ContainerResizeResult, error)

	// Events streams Docker's events (GetContainerEvents); an error on the
	// result's Err channel ends the stream, as when Docker restarts.
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult

	// ClientVersion is the API version negotiated with the daemon (or the
	// client's highest, client.MaxAPIVersion, before the first successful
	// request). Fields newer than it must not be sent.
	ClientVersion() string
}

var _ Docker = (*client.Client)(nil)

// NewDockerClient connects to the Docker endpoint ("unix:///var/run/docker.sock",
// "tcp://host:2375"). The client negotiates the API version on first use (its
// default; no version is pinned), so one binary speaks to Docker 20.10
// (API 1.41) and to current releases. Nothing is dialled here: a Docker that
// is down at start is retried on every call.
func NewDockerClient(endpoint string) (*client.Client, error) {
	c, err := client.New(client.WithHost(endpoint))
	if err != nil {
		return nil, fmt.Errorf("docker endpoint %q: %w", endpoint, err)
	}
	return c, nil
}
