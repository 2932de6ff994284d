package migrate

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// fakeContainer is one container of fakeDocker.
type fakeContainer struct {
	inspect container.InspectResponse
	running bool
	files   []string // paths that exist in its filesystem
}

// fakeDocker answers the calls of Docker from memory.
type fakeDocker struct {
	containers []fakeContainer
	images     []image.Summary
	info       system.Info
	// statErr, when set, is what ContainerStatPath returns.
	statErr error
	// registry is what DistributionInspect answers per repo digest: nil
	// when the registry has it; a digest not listed is not found.
	registry map[string]error
	// inspectDigests are repo digests only the inspection of an image
	// (by ID) names, as Docker 29's containerd store lists one per image.
	inspectDigests map[string][]string
}

var _ Docker = (*fakeDocker)(nil)

func (f *fakeDocker) ContainerList(_ context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	var res client.ContainerListResult
	for _, c := range f.containers {
		if !c.running && !o.All {
			continue
		}
		res.Items = append(res.Items, container.Summary{
			ID: c.inspect.ID, Names: []string{c.inspect.Name}, ImageID: c.inspect.Image,
			Labels: c.inspect.Config.Labels,
		})
	}
	return res, nil
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	for _, c := range f.containers {
		if c.inspect.ID == id {
			return client.ContainerInspectResult{Container: c.inspect}, nil
		}
	}
	return client.ContainerInspectResult{}, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
}

func (f *fakeDocker) ContainerStatPath(_ context.Context, id string, o client.ContainerStatPathOptions) (client.ContainerStatPathResult, error) {
	if f.statErr != nil {
		return client.ContainerStatPathResult{}, f.statErr
	}
	for _, c := range f.containers {
		if c.inspect.ID != id {
			continue
		}
		for _, p := range c.files {
			if p == o.Path {
				return client.ContainerStatPathResult{Stat: container.PathStat{Name: p}}, nil
			}
		}
	}
	return client.ContainerStatPathResult{}, fmt.Errorf("stat %s: %w", o.Path, errdefs.ErrNotFound)
}

func (f *fakeDocker) ImageList(context.Context, client.ImageListOptions) (client.ImageListResult, error) {
	return client.ImageListResult{Items: f.images}, nil
}

// ImageInspect finds an image by ID or by tag; a ref without a tag means
// :latest, as in Docker.
func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if !strings.Contains(ref, ":") {
		ref += ":latest"
	}
	for _, img := range f.images {
		if img.ID == ref || slices.Contains(img.RepoTags, ref) {
			return client.ImageInspectResult{InspectResponse: image.InspectResponse{
				ID: img.ID, RepoTags: img.RepoTags,
				RepoDigests: append(append([]string(nil), img.RepoDigests...), f.inspectDigests[img.ID]...),
			}}, nil
		}
	}
	return client.ImageInspectResult{}, fmt.Errorf("image %s: %w", ref, errdefs.ErrNotFound)
}

func (f *fakeDocker) ImageSave(context.Context, []string, ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	return io.NopCloser(strings.NewReader("")), nil
}

func (f *fakeDocker) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return client.SystemInfoResult{Info: f.info}, nil
}

func (f *fakeDocker) DistributionInspect(_ context.Context, ref string, _ client.DistributionInspectOptions) (client.DistributionInspectResult, error) {
	err, ok := f.registry[ref]
	if !ok {
		return client.DistributionInspectResult{}, fmt.Errorf("manifest %s: %w", ref, errdefs.ErrNotFound)
	}
	return client.DistributionInspectResult{}, err
}

// fakeStore is containerd's image store: the digests it has.
type fakeStore map[string]bool

func (s fakeStore) Digests(context.Context) (map[string]bool, error) { return s, nil }

// podLabels are the labels of a pod's app container.
func podLabels(ns, pod, name string) map[string]string {
	return map[string]string{
		labelPodNamespace: ns, labelPodName: pod, labelPodUID: "uid-" + pod,
		labelContainer: name, labelDockerType: "container",
	}
}

// kubeContainer is a running pod container of image with the given mounts,
// environment and privilege.
func kubeContainer(id, name, img string, mounts []container.MountPoint, env []string, privileged bool) fakeContainer {
	return fakeContainer{
		running: true,
		inspect: container.InspectResponse{
			ID: id, Name: "/k8s_" + name, Image: img, Mounts: mounts,
			Config:     &container.Config{Labels: podLabels("default", "web", name), Env: env},
			HostConfig: &container.HostConfig{Privileged: privileged},
		},
	}
}
