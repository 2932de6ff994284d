package migrate

import (
	"context"
	"fmt"
	"io"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// tempName names an image saved by ID (it has repo digests only) between
// its import and the records named after its digests.
const tempName = "import.dockercri-migrate.invalid/untagged:latest"

func (c *Containerd) importStream(ctx context.Context, r io.Reader, untagged bool) ([]images.Image, error) {
	opts := []containerd.ImportOpt{containerd.WithImageLabels(criManagedLabel)}
	if untagged {
		opts = append(opts, containerd.WithDigestRef(func(digest.Digest) string { return tempName }))
	}
	imported, err := c.client.Import(c.ctx(ctx), r, opts...)
	if err != nil {
		return nil, fmt.Errorf("containerd import: %w", err)
	}
	return imported, nil
}

// dropTemp deletes the temporary record once the digest records hold the
// image (before, containerd's garbage collector could take its content).
func (c *Containerd) dropTemp(ctx context.Context) error {
	err := c.client.ImageService().Delete(c.ctx(ctx), tempName)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", tempName, err)
	}
	return nil
}

// nameDigests creates a record "repo@sha256:..." for each of Docker's repo
// digests, pointing at the imported image, so that pods naming the image
// by digest find it.
//
// In Docker's classic store the record's name cannot match its target: the
// digest in the name is the registry's manifest's, but `docker save` keeps
// no manifest there (it writes uncompressed layers), so the manifest
// containerd stores is a new one with a new digest. What stays the same is
// the config digest, Docker's image ID, which is what the kubelet and CRI
// compare as the image ID. Docker's containerd store saves its manifests
// or index as they are (an OCI layout), so there name and target agree.
func (c *Containerd) nameDigests(ctx context.Context, repoDigests []string, target ocispec.Descriptor) ([]string, error) {
	ctx = c.ctx(ctx)
	is := c.client.ImageService()
	var names []string
	for _, rd := range repoDigests {
		named, err := reference.ParseNormalizedNamed(rd)
		if err != nil {
			return nil, fmt.Errorf("repo digest %q: %w", rd, err)
		}
		rec := images.Image{Name: named.String(), Target: target, Labels: criManagedLabel}
		if _, err := is.Update(ctx, rec, "target", "labels"); err != nil {
			if !errdefs.IsNotFound(err) {
				return nil, fmt.Errorf("image record %s: %w", rec.Name, err)
			}
			if _, err := is.Create(ctx, rec); err != nil {
				return nil, fmt.Errorf("image record %s: %w", rec.Name, err)
			}
		}
		names = append(names, rec.Name)
	}
	return names, nil
}

// unpack makes the image's snapshots now rather than at the first
// container (containerd 1.6's CRI would otherwise do it then).
func (c *Containerd) unpack(ctx context.Context, name string) error {
	ctx = c.ctx(ctx)
	rec, err := c.client.ImageService().Get(ctx, name)
	if err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	if err := containerd.NewImage(c.client, rec).Unpack(ctx, c.snapshotter); err != nil {
		return fmt.Errorf("unpack %s into %s: %w", name, c.snapshotter, err)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
