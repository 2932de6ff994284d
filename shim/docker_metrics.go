package shim

import (
	"context"
	"time"

	"github.com/moby/moby/client"

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

func (t timedDocker) Ping(ctx context.Context, o client.PingOptions) (client.PingResult, error) {
	defer t.m.ObserveDocker("Ping", time.Now())
	return t.Docker.Ping(ctx, o)
}

func (t timedDocker) ServerVersion(ctx context.Context, o client.ServerVersionOptions) (client.ServerVersionResult, error) {
	defer t.m.ObserveDocker("ServerVersion", time.Now())
	return t.Docker.ServerVersion(ctx, o)
}

func (t timedDocker) Info(ctx context.Context, o client.InfoOptions) (client.SystemInfoResult, error) {
	defer t.m.ObserveDocker("Info", time.Now())
	return t.Docker.Info(ctx, o)
}

func (t timedDocker) DiskUsage(ctx context.Context, o client.DiskUsageOptions) (client.DiskUsageResult, error) {
	defer t.m.ObserveDocker("DiskUsage", time.Now())
	return t.Docker.DiskUsage(ctx, o)
}

func (t timedDocker) ImageList(ctx context.Context, o client.ImageListOptions) (client.ImageListResult, error) {
	defer t.m.ObserveDocker("ImageList", time.Now())
	return t.Docker.ImageList(ctx, o)
}

func (t timedDocker) ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	defer t.m.ObserveDocker("ImageInspect", time.Now())
	return t.Docker.ImageInspect(ctx, ref, opts...)
}

func (t timedDocker) ImagePull(ctx context.Context, ref string, o client.ImagePullOptions) (client.ImagePullResponse, error) {
	defer t.m.ObserveDocker("ImagePull", time.Now())
	return t.Docker.ImagePull(ctx, ref, o)
}

func (t timedDocker) ImageRemove(ctx context.Context, ref string, o client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	defer t.m.ObserveDocker("ImageRemove", time.Now())
	return t.Docker.ImageRemove(ctx, ref, o)
}

func (t timedDocker) ImageTag(ctx context.Context, o client.ImageTagOptions) (client.ImageTagResult, error) {
	defer t.m.ObserveDocker("ImageTag", time.Now())
	return t.Docker.ImageTag(ctx, o)
}

func (t timedDocker) ContainerList(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	defer t.m.ObserveDocker("ContainerList", time.Now())
	return t.Docker.ContainerList(ctx, o)
}

func (t timedDocker) ContainerCreate(ctx context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	defer t.m.ObserveDocker("ContainerCreate", time.Now())
	return t.Docker.ContainerCreate(ctx, o)
}

func (t timedDocker) ContainerStart(ctx context.Context, id string, o client.ContainerStartOptions) (client.ContainerStartResult, error) {
	defer t.m.ObserveDocker("ContainerStart", time.Now())
	return t.Docker.ContainerStart(ctx, id, o)
}

func (t timedDocker) ContainerStop(ctx context.Context, id string, o client.ContainerStopOptions) (client.ContainerStopResult, error) {
	defer t.m.ObserveDocker("ContainerStop", time.Now())
	return t.Docker.ContainerStop(ctx, id, o)
}

func (t timedDocker) ContainerRemove(ctx context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	defer t.m.ObserveDocker("ContainerRemove", time.Now())
	return t.Docker.ContainerRemove(ctx, id, o)
}

func (t timedDocker) ContainerInspect(ctx context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	defer t.m.ObserveDocker("ContainerInspect", time.Now())
	return t.Docker.ContainerInspect(ctx, id, o)
}

func (t timedDocker) ContainerUpdate(ctx context.Context, id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	defer t.m.ObserveDocker("ContainerUpdate", time.Now())
	return t.Docker.ContainerUpdate(ctx, id, o)
}

func (t timedDocker) ContainerLogs(ctx context.Context, id string, o client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	defer t.m.ObserveDocker("ContainerLogs", time.Now())
	return t.Docker.ContainerLogs(ctx, id, o)
}

func (t timedDocker) ExecCreate(ctx context.Context, id string, o client.ExecCreateOptions) (client.ExecCreateResult, error) {
	defer t.m.ObserveDocker("ExecCreate", time.Now())
	return t.Docker.ExecCreate(ctx, id, o)
}

func (t timedDocker) ExecAttach(ctx context.Context, execID string, o client.ExecAttachOptions) (client.ExecAttachResult, error) {
	defer t.m.ObserveDocker("ExecAttach", time.Now())
	return t.Docker.ExecAttach(ctx, execID, o)
}

func (t timedDocker) ExecInspect(ctx context.Context, execID string, o client.ExecInspectOptions) (client.ExecInspectResult, error) {
	defer t.m.ObserveDocker("ExecInspect", time.Now())
	return t.Docker.ExecInspect(ctx, execID, o)
}

func (t timedDocker) ExecResize(ctx context.Context, execID string, o client.ExecResizeOptions) (client.ExecResizeResult, error) {
	defer t.m.ObserveDocker("ExecResize", time.Now())
	return t.Docker.ExecResize(ctx, execID, o)
}

func (t timedDocker) ContainerAttach(ctx context.Context, id string, o client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	defer t.m.ObserveDocker("ContainerAttach", time.Now())
	return t.Docker.ContainerAttach(ctx, id, o)
}

func (t timedDocker) ContainerResize(ctx context.Context, id string, o client.ContainerResizeOptions) (client.ContainerResizeResult, error) {
	defer t.m.ObserveDocker("ContainerResize", time.Now())
	return t.Docker.ContainerResize(ctx, id, o)
}

func (t timedDocker) Events(ctx context.Context, o client.EventsListOptions) client.EventsResult {
	defer t.m.ObserveDocker("Events", time.Now())
	return t.Docker.Events(ctx, o)
}
