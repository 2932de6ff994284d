package shim

import (
	"context"
	"time"

	"github.com/moby/moby/client"

	"dockercri/shim/listcache"
	"dockercri/translate"
)

// cachedDocker answers container lists from a listcache.Cache (kept current
// by Docker's event stream) and marks the cache stale after each container
// change dockercri makes, failed ones included, so that its next list shows
// the change without waiting for the change's event. Everything else goes
// to Docker.
type cachedDocker struct {
	Docker
	cache *listcache.Cache
}

// withListCache wraps d when maxAge is positive; the cache's event follower
// runs until ctx ends.
func withListCache(ctx context.Context, d Docker, maxAge time.Duration) (Docker, *listcache.Cache) {
	if maxAge <= 0 {
		return d, nil
	}
	c := listcache.New(d, listcache.Options{Label: translate.LabelContainerType, MaxAge: maxAge})
	go c.Run(ctx)
	return cachedDocker{Docker: d, cache: c}, c
}

func (d cachedDocker) ContainerList(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	return d.cache.List(ctx, o)
}

func (d cachedDocker) ContainerCreate(ctx context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	defer d.cache.Invalidate()
	return d.Docker.ContainerCreate(ctx, o)
}

func (d cachedDocker) ContainerStart(ctx context.Context, id string, o client.ContainerStartOptions) (client.ContainerStartResult, error) {
	defer d.cache.Invalidate()
	return d.Docker.ContainerStart(ctx, id, o)
}

func (d cachedDocker) ContainerStop(ctx context.Context, id string, o client.ContainerStopOptions) (client.ContainerStopResult, error) {
	defer d.cache.Invalidate()
	return d.Docker.ContainerStop(ctx, id, o)
}

func (d cachedDocker) ContainerRemove(ctx context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	defer d.cache.Invalidate()
	return d.Docker.ContainerRemove(ctx, id, o)
}

func (d cachedDocker) ContainerUpdate(ctx context.Context, id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	defer d.cache.Invalidate()
	return d.Docker.ContainerUpdate(ctx, id, o)
}
