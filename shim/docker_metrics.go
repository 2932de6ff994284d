package shim

import (
	"context"
	"io"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"dockercri/shim/metrics"
)

// timedDocker times every Docker call it wraps, by client method. It embeds
// the Docker it decorates, so a method added to the interface later works
// through it at once, untimed until a wrapper is written here. A streaming
// call (pull, logs, attach, events) is timed until Docker answered, not for
// the life of its stream.
type timedDocker struct {
	Docker
	m *metrics.Metrics
}

// WithDockerMetrics returns d timed into m; a nil m returns d itself.
func WithDockerMetrics(d Docker, m *metrics.Metrics) Docker {
	if m == nil {
		return d
	}
	return timedDocker{Docker: d, m: m}
}

func (t timedDocker) Ping(ctx context.Context) (types.Ping, error) {
	defer t.m.ObserveDocker("Ping", time.Now())
	return t.Docker.Ping(ctx)
}

func (t timedDocker) ServerVersion(ctx context.Context) (types.Version, error) {
	defer t.m.ObserveDocker("ServerVersion", time.Now())
	return t.Docker.ServerVersion(ctx)
}

func (t timedDocker) Info(ctx context.Context) (system.Info, error) {
	defer t.m.ObserveDocker("Info", time.Now())
	return t.Docker.Info(ctx)
}

func (t timedDocker) DiskUsage(ctx context.Context, o types.DiskUsageOptions) (types.DiskUsage, error) {
	defer t.m.ObserveDocker("DiskUsage", time.Now())
	return t.Docker.DiskUsage(ctx, o)
}

func (t timedDocker) ImageList(ctx context.Context, o image.ListOptions) ([]image.Summary, error) {
	defer t.m.ObserveDocker("ImageList", time.Now())
	return t.Docker.ImageList(ctx, o)
}

func (t timedDocker) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error) {
	defer t.m.ObserveDocker("ImageInspect", time.Now())
	return t.Docker.ImageInspect(ctx, ref, opts...)
}

func (t timedDocker) ImagePull(ctx context.Context, ref string, o image.PullOptions) (io.ReadCloser, error) {
	defer t.m.ObserveDocker("ImagePull", time.Now())
	return t.Docker.ImagePull(ctx, ref, o)
}

func (t timedDocker) ImageRemove(ctx context.Context, ref string, o image.RemoveOptions) ([]image.DeleteResponse, error) {
	defer t.m.ObserveDocker("ImageRemove", time.Now())
	return t.Docker.ImageRemove(ctx, ref, o)
}

func (t timedDocker) ImageTag(ctx context.Context, source, target string) error {
	defer t.m.ObserveDocker("ImageTag", time.Now())
	return t.Docker.ImageTag(ctx, source, target)
}

func (t timedDocker) ContainerList(ctx context.Context, o container.ListOptions) ([]container.Summary, error) {
	defer t.m.ObserveDocker("ContainerList", time.Now())
	return t.Docker.ContainerList(ctx, o)
}

func (t timedDocker) ContainerCreate(ctx context.Context, cfg *container.Config, hc *container.HostConfig,
	nc *network.NetworkingConfig, p *ocispec.Platform, name string) (container.CreateResponse, error) {
	defer t.m.ObserveDocker("ContainerCreate", time.Now())
	return t.Docker.ContainerCreate(ctx, cfg, hc, nc, p, name)
}

func (t timedDocker) ContainerStart(ctx context.Context, id string, o container.StartOptions) error {
	defer t.m.ObserveDocker("ContainerStart", time.Now())
	return t.Docker.ContainerStart(ctx, id, o)
}

func (t timedDocker) ContainerStop(ctx context.Context, id string, o container.StopOptions) error {
	defer t.m.ObserveDocker("ContainerStop", time.Now())
	return t.Docker.ContainerStop(ctx, id, o)
}

func (t timedDocker) ContainerRemove(ctx context.Context, id string, o container.RemoveOptions) error {
	defer t.m.ObserveDocker("ContainerRemove", time.Now())
	return t.Docker.ContainerRemove(ctx, id, o)
}

func (t timedDocker) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	defer t.m.ObserveDocker("ContainerInspect", time.Now())
	return t.Docker.ContainerInspect(ctx, id)
}

func (t timedDocker) ContainerUpdate(ctx context.Context, id string, u container.UpdateConfig) (container.UpdateResponse, error) {
	defer t.m.ObserveDocker("ContainerUpdate", time.Now())
	return t.Docker.ContainerUpdate(ctx, id, u)
}

func (t timedDocker) ContainerLogs(ctx context.Context, id string, o container.LogsOptions) (io.ReadCloser, error) {
	defer t.m.ObserveDocker("ContainerLogs", time.Now())
	return t.Docker.ContainerLogs(ctx, id, o)
}

func (t timedDocker) ContainerExecCreate(ctx context.Context, id string, o container.ExecOptions) (container.ExecCreateResponse, error) {
	defer t.m.ObserveDocker("ContainerExecCreate", time.Now())
	return t.Docker.ContainerExecCreate(ctx, id, o)
}

func (t timedDocker) ContainerExecAttach(ctx context.Context, execID string, o container.ExecAttachOptions) (types.HijackedResponse, error) {
	defer t.m.ObserveDocker("ContainerExecAttach", time.Now())
	return t.Docker.ContainerExecAttach(ctx, execID, o)
}

func (t timedDocker) ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error) {
	defer t.m.ObserveDocker("ContainerExecInspect", time.Now())
	return t.Docker.ContainerExecInspect(ctx, execID)
}

func (t timedDocker) ContainerExecResize(ctx context.Context, execID string, o container.ResizeOptions) error {
	defer t.m.ObserveDocker("ContainerExecResize", time.Now())
	return t.Docker.ContainerExecResize(ctx, execID, o)
}

func (t timedDocker) ContainerAttach(ctx context.Context, id string, o container.AttachOptions) (types.HijackedResponse, error) {
	defer t.m.ObserveDocker("ContainerAttach", time.Now())
	return t.Docker.ContainerAttach(ctx, id, o)
}

func (t timedDocker) ContainerResize(ctx context.Context, id string, o container.ResizeOptions) error {
	defer t.m.ObserveDocker("ContainerResize", time.Now())
	return t.Docker.ContainerResize(ctx, id, o)
}

func (t timedDocker) Events(ctx context.Context, o events.ListOptions) (<-chan events.Message, <-chan error) {
	defer t.m.ObserveDocker("Events", time.Now())
	return t.Docker.Events(ctx, o)
}
