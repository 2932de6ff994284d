package shim

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	"dockercri/translate"
)

// An image's /etc/passwd and /etc/group decide the groups of a container
// under the supplemental groups policy (translate.NeedsAccounts). Docker
// reads files only out of containers, so they are copied out of a scratch
// container of the image, created (never started) and removed at once. An
// image ID fixes its files, so each image is read once and the result is
// cached; the cache is bounded.
//
// Scratch containers are named accountsScratchPrefix + random. One that a
// crash left behind is removed by the first read after a restart.
const (
	accountsScratchPrefix = "dockercri-accounts-"
	// maxAccountsFile bounds what is read of an untrusted image's file.
	maxAccountsFile = 1 << 20
	// maxAccountsCached bounds the cache (two small files per image).
	maxAccountsCached = 256
)

type accountsCache struct {
	mu      sync.Mutex
	byImage map[string]*translate.Accounts
	order   []string // insertion order, to evict the oldest
	swept   sync.Once
}

// imageAccounts returns the accounts of the image with this ID.
func (s *Service) imageAccounts(ctx context.Context, imageID string) (*translate.Accounts, error) {
	c := &s.accounts
	c.mu.Lock()
	acc, ok := c.byImage[imageID]
	c.mu.Unlock()
	if ok {
		return acc, nil
	}
	c.swept.Do(func() { s.sweepAccountsScratch(ctx) })
	acc, err := s.readAccounts(ctx, imageID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byImage == nil {
		c.byImage = map[string]*translate.Accounts{}
	}
	if _, ok := c.byImage[imageID]; !ok {
		if len(c.order) >= maxAccountsCached {
			delete(c.byImage, c.order[0])
			c.order = c.order[1:]
		}
		c.byImage[imageID] = acc
		c.order = append(c.order, imageID)
	}
	return acc, nil
}

func (s *Service) readAccounts(ctx context.Context, imageID string) (acc *translate.Accounts, retErr error) {
	suffix := make([]byte, 8)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	name := accountsScratchPrefix + hex.EncodeToString(suffix)
	id, err := createDetached(ctx, s.docker, name, &translate.Created{
		Config: &container.Config{
			Image:           imageID,
			Entrypoint:      []string{"/never-started"}, // an image may have no command
			NetworkDisabled: true,
		},
		HostConfig: &container.HostConfig{NetworkMode: "none", LogConfig: container.LogConfig{Type: "none"}},
	})
	if err != nil {
		return nil, fmt.Errorf("read the accounts of image %s: create %s: %w", imageID, name, err)
	}
	defer rollback("scratch container", id, func(ctx context.Context) error { return forceRemove(ctx, s.docker, id) })
	acc = &translate.Accounts{}
	if acc.Passwd, err = s.copyFile(ctx, id, "/etc/passwd"); err != nil {
		return nil, fmt.Errorf("read /etc/passwd of image %s: %w", imageID, err)
	}
	if acc.Group, err = s.copyFile(ctx, id, "/etc/group"); err != nil {
		return nil, fmt.Errorf("read /etc/group of image %s: %w", imageID, err)
	}
	return acc, nil
}

// copyFile copies a regular file out of a container, at most
// maxAccountsFile bytes of it; nil when there is no such file. A symbolic
// link is followed as runc follows it inside the image: Docker resolves its
// target in the container (PathStat.LinkTarget, what `docker cp -L` uses).
func (s *Service) copyFile(ctx context.Context, id, path string) ([]byte, error) {
	res, err := s.docker.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: path})
	if stat := res.Stat; err == nil && stat.Mode&os.ModeSymlink != 0 && stat.LinkTarget != "" {
		res.Content.Close()
		res, err = s.docker.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: stat.LinkTarget})
	}
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(tr, maxAccountsFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxAccountsFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxAccountsFile)
	}
	return b, nil
}

// sweepAccountsScratch removes the scratch containers a crashed dockercri
// left. Failing to is logged: the read goes on.
func (s *Service) sweepAccountsScratch(ctx context.Context) {
	list, err := s.docker.ContainerList(ctx, client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("name", "^/"+accountsScratchPrefix),
	})
	if err != nil {
		klog.ErrorS(err, "Listing leftover scratch containers failed")
		return
	}
	for _, c := range list.Items {
		// The filter is a regular expression Docker matches; only what
		// really bears the name goes.
		if !slices.ContainsFunc(c.Names, func(n string) bool { return strings.HasPrefix(n, "/"+accountsScratchPrefix) }) {
			continue
		}
		if err := forceRemove(ctx, s.docker, c.ID); err != nil {
			klog.ErrorS(err, "Removing a leftover scratch container failed", "container", c.ID)
		}
	}
}
