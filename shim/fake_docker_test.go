package shim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeDocker is the one stateful stand-in for Docker in unit tests: it keeps
// images and containers, records every call as "Method arg", and returns an
// injected error for a method until it is cleared.
type fakeDocker struct {
	mu         sync.Mutex
	calls      []string
	errs       map[string]error
	down       error // returned by every call while set, like a stopped daemon
	apiVersion string
	version    types.Version
	info       system.Info
	diskUsage  types.DiskUsage

	images     []*fakeImage
	containers []container.Summary
	// registry maps a normalised reference to the image a pull of it yields.
	registry map[string]*fakeImage
	// pullStream, when set, produces the progress stream of a pull.
	pullStream func(ctx context.Context, ref string) io.ReadCloser
	lastAuth   string
}

type fakeImage struct {
	id      string
	tags    []string // Docker's familiar form, as Docker reports them
	digests []string
	size    int64
	user    string
}

var _ Docker = (*fakeDocker)(nil)

func newFakeDocker() *fakeDocker {
	return &fakeDocker{
		errs:       map[string]error{},
		apiVersion: "1.41",
		version:    types.Version{Version: "20.10.24+dfsg1", APIVersion: "1.41"},
		info:       system.Info{CgroupDriver: "cgroupfs", Driver: "overlay2", DockerRootDir: "/nonexistent"},
		registry:   map[string]*fakeImage{},
	}
}

// record notes a call and returns the error to fail it with, if any.
func (f *fakeDocker) record(method string, arg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.TrimSpace(method+" "+arg))
	if f.down != nil {
		return f.down
	}
	return f.errs[method]
}

func (f *fakeDocker) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDocker) resetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *fakeDocker) Ping(context.Context) (types.Ping, error) {
	if err := f.record("Ping", ""); err != nil {
		return types.Ping{}, err
	}
	return types.Ping{APIVersion: f.apiVersion}, nil
}

func (f *fakeDocker) ServerVersion(context.Context) (types.Version, error) {
	if err := f.record("ServerVersion", ""); err != nil {
		return types.Version{}, err
	}
	return f.version, nil
}

func (f *fakeDocker) Info(context.Context) (system.Info, error) {
	if err := f.record("Info", ""); err != nil {
		return system.Info{}, err
	}
	return f.info, nil
}

func (f *fakeDocker) DiskUsage(context.Context, types.DiskUsageOptions) (types.DiskUsage, error) {
	if err := f.record("DiskUsage", ""); err != nil {
		return types.DiskUsage{}, err
	}
	return f.diskUsage, nil
}

func (f *fakeDocker) ClientVersion() string { return f.apiVersion }

func (f *fakeDocker) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	if err := f.record("ImageList", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []image.Summary
	for _, img := range f.images {
		out = append(out, image.Summary{ID: img.id, RepoTags: img.tags, RepoDigests: img.digests, Size: img.size})
	}
	return out, nil
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if err := f.record("ImageInspect", ref); err != nil {
		return image.InspectResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, _ := f.find(ref)
	if img == nil {
		return image.InspectResponse{}, fmt.Errorf("No such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	return image.InspectResponse{
		ID: img.id, RepoTags: img.tags, RepoDigests: img.digests, Size: img.size,
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{User: img.user}},
	}, nil
}

// find resolves a reference the way Docker does: full ID, short ID, tag or
// digest, in familiar or fully qualified form. It returns the matching name
// ("" when matched by ID).
func (f *fakeDocker) find(ref string) (*fakeImage, string) {
	for _, img := range f.images {
		if ref == img.id || (len(ref) >= 4 && strings.HasPrefix(strings.TrimPrefix(img.id, "sha256:"), strings.TrimPrefix(ref, "sha256:"))) {
			return img, ""
		}
	}
	want := canonical(ref)
	for _, img := range f.images {
		for _, name := range append(append([]string{}, img.tags...), img.digests...) {
			if canonical(name) == want {
				return img, name
			}
		}
	}
	return nil, ""
}

func canonical(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

func (f *fakeDocker) ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error) {
	if err := f.record("ImagePull", ref); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastAuth = opts.RegistryAuth
	if f.pullStream != nil {
		return f.pullStream(ctx, ref), nil
	}
	img, ok := f.registry[ref]
	if !ok {
		return nil, fmt.Errorf("manifest for %s not found: manifest unknown: %w", ref, cerrdefs.ErrNotFound)
	}
	if existing, _ := f.find(img.id); existing == nil {
		copied := *img
		f.images = append(f.images, &copied)
	}
	return io.NopCloser(strings.NewReader(`{"status":"Pulling from x"}` + "\n" + `{"status":"Download complete","id":"abc"}` + "\n")), nil
}

func (f *fakeDocker) ImageRemove(_ context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error) {
	if err := f.record("ImageRemove", ref); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, name := f.find(ref)
	if img == nil {
		return nil, fmt.Errorf("No such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	if name == "" { // by ID, like Docker without force
		if len(img.tags)+len(img.digests) > 1 && !opts.Force {
			return nil, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories: %w", ref, cerrdefs.ErrConflict)
		}
		f.deleteImage(img)
		return []image.DeleteResponse{{Deleted: img.id}}, nil
	}
	img.tags = without(img.tags, name)
	img.digests = without(img.digests, name)
	if len(img.tags)+len(img.digests) == 0 {
		f.deleteImage(img)
	}
	return []image.DeleteResponse{{Untagged: name}}, nil
}

func (f *fakeDocker) deleteImage(img *fakeImage) {
	for i, x := range f.images {
		if x == img {
			f.images = append(f.images[:i], f.images[i+1:]...)
			return
		}
	}
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func (f *fakeDocker) ContainerList(_ context.Context, opts container.ListOptions) ([]container.Summary, error) {
	if err := f.record("ContainerList", strings.Join(opts.Filters.Get("ancestor"), ",")); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]container.Summary(nil), f.containers...), nil
}
