package migrate

import (
	"context"
	"fmt"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/platforms"
)

// Containerd is containerd's image store in one namespace (k8s.io: the
// one its CRI plugin serves). It talks only to services containerd 1.6
// has too (content, images, leases, snapshots, diff), never the transfer
// service 2.x added, so one binary serves nodes on either.
type Containerd struct {
	client      *containerd.Client
	namespace   string
	snapshotter string
}

// NewContainerd connects to containerd's socket; it fails when nothing
// answers within timeout.
func NewContainerd(address, namespace, snapshotter string, timeout time.Duration) (*Containerd, error) {
	c, err := containerd.New(address, containerd.WithTimeout(timeout), containerd.WithDefaultNamespace(namespace))
	if err != nil {
		return nil, fmt.Errorf("containerd %s: %w", address, err)
	}
	return &Containerd{client: c, namespace: namespace, snapshotter: snapshotter}, nil
}

// Close closes the connection.
func (c *Containerd) Close() error { return c.client.Close() }

// Version is containerd's version, as the server reports it.
func (c *Containerd) Version(ctx context.Context) (string, error) {
	v, err := c.client.Version(c.ctx(ctx))
	if err != nil {
		return "", fmt.Errorf("containerd version: %w", err)
	}
	return v.Version, nil
}

func (c *Containerd) ctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, c.namespace)
}

// Digests implements ImageStore.
func (c *Containerd) Digests(ctx context.Context) (map[string]bool, error) {
	ctx = c.ctx(ctx)
	list, err := c.client.ImageService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images in namespace %s: %w", c.namespace, err)
	}
	out := map[string]bool{}
	for _, img := range list {
		out[img.Target.Digest.String()] = true
		// Content of other platforms may be missing: such an image then
		// counts by its target digest alone.
		if cfg, err := images.Config(ctx, c.client.ContentStore(), img.Target, platforms.Default()); err == nil {
			out[cfg.Digest.String()] = true
		}
	}
	return out, nil
}

// present checks that the image called name is the Docker image id and
// that containerd's CRI can list it. The CRI lists an image by the config
// digest of its manifest for this platform, so that config must resolve.
// Docker's image ID is that config digest in its classic store, and the
// digest of the manifest or index (the record's target) in its containerd
// store.
func (c *Containerd) present(ctx context.Context, name, id string) error {
	ctx = c.ctx(ctx)
	img, err := c.client.ImageService().Get(ctx, name)
	if err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	cfg, err := images.Config(ctx, c.client.ContentStore(), img.Target, platforms.Default())
	if err != nil {
		return fmt.Errorf("image %s: config for %s: %w", name, platforms.DefaultString(), err)
	}
	if img.Target.Digest.String() != id && cfg.Digest.String() != id {
		return fmt.Errorf("image %s: target %s, config %s, Docker's image ID is %s", name, img.Target.Digest, cfg.Digest, id)
	}
	return nil
}
