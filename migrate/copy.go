package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// CopyOptions are the settings of `dockercri-migrate images`.
type CopyOptions struct {
	// Progress makes a progress bar per image for w; nil prints a plain
	// line per image instead (stdout is no terminal).
	Progress func(w io.Writer, name string, size int64) io.WriteCloser
	Out      io.Writer
	// Unpack also unpacks each image into the snapshotter, so that the
	// first container does not wait for it.
	Unpack bool
}

// CopyResult sums up a copy.
type CopyResult struct {
	Images   int           `json:"images"`
	Bytes    int64         `json:"bytes"` // read from Docker's save stream
	Duration time.Duration `json:"duration"`
	// Names are the image records created or updated in containerd.
	Names []string `json:"names"`
}

// criManagedLabel makes containerd 2.x's CRI treat an image like one it
// pulled itself; containerd 1.6 ignores it.
var criManagedLabel = map[string]string{"io.cri-containerd.image": "managed"}

// Copy streams each image from Docker (`docker save`) into containerd
// (Import) with no temporary file, keeps every tag and repo digest as an
// image record, and then checks each record is the Docker image.
func (c *Containerd) Copy(ctx context.Context, d Docker, imgs []Image, opts CopyOptions) (CopyResult, error) {
	start := time.Now()
	var res CopyResult
	for _, img := range imgs {
		if len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
			fmt.Fprintf(opts.Out, "skip %s: no tag and no digest, so no pod can name it\n", img.ID)
			continue
		}
		n, names, err := c.copyOne(ctx, d, img, opts)
		res.Bytes += n
		if err != nil {
			return res, fmt.Errorf("copy %s: %w", img.Name(), err)
		}
		for _, name := range names {
			if err := c.present(ctx, name, img.ID); err != nil {
				return res, fmt.Errorf("verify %s: %w", img.Name(), err)
			}
		}
		res.Images++
		res.Names = append(res.Names, names...)
	}
	res.Duration = time.Since(start)
	return res, nil
}

func (c *Containerd) copyOne(ctx context.Context, d Docker, img Image, opts CopyOptions) (int64, []string, error) {
	// Saving by tags makes Docker write them into the archive, and Import
	// names the image after them. An image with digests only is saved by
	// ID and named through a temporary record.
	refs := img.RepoTags
	if len(refs) == 0 {
		refs = []string{img.ID}
	}
	rc, err := d.ImageSave(ctx, refs)
	if err != nil {
		return 0, nil, fmt.Errorf("docker save: %w", err)
	}
	defer rc.Close()
	counter := &countingReader{r: rc}
	var r io.Reader = counter
	if opts.Progress != nil {
		bar := opts.Progress(opts.Out, img.Name(), img.Size)
		defer bar.Close()
		r = io.TeeReader(counter, bar)
	}
	imported, err := c.importStream(ctx, r, len(img.RepoTags) == 0)
	if err != nil {
		return counter.n, nil, err
	}
	if len(imported) == 0 {
		return counter.n, nil, errors.New("the archive held no image")
	}
	target := imported[0].Target
	var names []string
	for _, i := range imported {
		if i.Name != tempName {
			names = append(names, i.Name)
		}
	}
	digestNames, err := c.nameDigests(ctx, img.RepoDigests, target)
	if err != nil {
		return counter.n, nil, err
	}
	names = append(names, digestNames...)
	if len(img.RepoTags) == 0 {
		if err := c.dropTemp(ctx); err != nil {
			return counter.n, nil, err
		}
	}
	if opts.Unpack {
		if err := c.unpack(ctx, names[0]); err != nil {
			return counter.n, nil, err
		}
	}
	if opts.Progress == nil {
		fmt.Fprintf(opts.Out, "copied %s (%s, %d bytes)\n", img.Name(), shortID(img.ID), counter.n)
	}
	return counter.n, names, nil
}
