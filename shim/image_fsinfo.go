package shim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/containerd"
)

// imageFSCacheTTL bounds how often the layer store is walked. The kubelet
// asks for ImageFsInfo every few seconds; walking a large layer store that
// often is what made dockerd spin at 200% CPU under cri-dockerd (its issue
// 135), so a result younger than this is served from memory.
const imageFSCacheTTL = 30 * time.Second

// ImageFsInfo reports the usage of Docker's layer store, bytes and inodes,
// from a bounded cached walk: <DockerRootDir>/<storage driver> for a graph
// driver, or for the containerd image store (Docker 29's default) the
// snapshotter's own root, which Docker's containerd tells (layerStore).
// Where that directory is not reachable from the shim (a remote Docker),
// it falls back to Docker's own accounting of image layers, which has no
// inode count.
func (s *Service) ImageFsInfo(ctx context.Context, _ *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	res, err := s.docker.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker info: %w", err)
	}
	dir := s.layerStore(ctx, res.Info)
	u, err := s.imageFS.get(dir, time.Now())
	var usage *runtimeapi.FilesystemUsage
	switch {
	case err == nil:
		usage = &runtimeapi.FilesystemUsage{
			Timestamp:  u.at.UnixNano(),
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: dir},
			UsedBytes:  &runtimeapi.UInt64Value{Value: u.bytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: u.inodes},
		}
	case errors.Is(err, fs.ErrNotExist):
		// Verbose: the images are listed (API 1.52+ lists them only
		// then) for when Docker reports no total of its own.
		du, derr := s.docker.DiskUsage(ctx, client.DiskUsageOptions{Images: true, Verbose: true})
		if derr != nil {
			return nil, fmt.Errorf("docker disk usage: %w", derr)
		}
		usage = &runtimeapi.FilesystemUsage{
			Timestamp: time.Now().UnixNano(),
			FsId:      &runtimeapi.FilesystemIdentifier{Mountpoint: dir},
			UsedBytes: &runtimeapi.UInt64Value{Value: uint64(max(layersSize(du.Images), 0))},
		}
	default:
		return nil, err
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{usage}}, nil
}

// layerStore is the directory that holds Docker's image layers. Under the
// containerd image store Docker's data root holds none: the snapshotter
// named as Docker's driver keeps them under containerd's root, which
// containerd's introspection service tells. The answer is kept per
// containerd and snapshotter; a failure is logged and the graph driver's
// path returned, which does not exist, so the caller falls back.
func (s *Service) layerStore(ctx context.Context, info system.Info) string {
	graph := filepath.Join(info.DockerRootDir, info.Driver)
	if info.Containerd == nil || !containerd.IsSnapshotterStore(info.DriverStatus) {
		return graph
	}
	key := info.Containerd.Address + "\x00" + info.Driver
	if root, ok := s.snapshotRoots.Load(key); ok {
		return root.(string)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	root, err := containerd.SnapshotterRoot(ctx, info.Containerd.Address, info.Driver)
	if err != nil {
		klog.V(2).InfoS("The containerd image store's layers cannot be measured; using Docker's accounting", "err", err)
		return graph
	}
	s.snapshotRoots.Store(key, root)
	return root
}

// layersSize is the size of Docker's image layers: its total (the layer
// store's size, LayersSize before API 1.52) or, where that is 0, the sum of
// the images' own sizes.
func layersSize(du client.ImagesDiskUsage) int64 {
	if du.TotalSize != 0 {
		return du.TotalSize
	}
	var n int64
	for _, img := range du.Items {
		n += img.Size - max(img.SharedSize, 0)
	}
	return n
}

type fsUsage struct {
	bytes, inodes uint64
	at            time.Time
}

// fsUsageCache holds the last walk of one directory. The mutex also makes
// concurrent callers share one walk instead of starting several.
type fsUsageCache struct {
	ttl time.Duration

	mu   sync.Mutex
	dir  string
	last fsUsage
}

func (c *fsUsageCache) get(dir string, now time.Time) (fsUsage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == dir && !c.last.at.IsZero() && now.Sub(c.last.at) < c.ttl {
		return c.last, nil
	}
	bytes, inodes, err := diskUsage(dir)
	if err != nil {
		return fsUsage{}, err
	}
	c.dir, c.last = dir, fsUsage{bytes: bytes, inodes: inodes, at: now}
	return c.last, nil
}

// diskUsage walks dir on its own filesystem and sums allocated bytes and
// inodes, counting hard links once. Mount points below it (the merged views
// of running containers' overlays) are skipped: they would count the image
// layers a second time. Files that vanish during the walk, as containers
// come and go, are not errors.
func diskUsage(dir string) (bytes, inodes uint64, err error) {
	var root syscall.Stat_t
	if err := syscall.Lstat(dir, &root); err != nil {
		return 0, 0, &os.PathError{Op: "lstat", Path: dir, Err: err}
	}
	type fileID struct{ dev, ino uint64 }
	seen := make(map[fileID]bool)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		if uint64(st.Dev) != uint64(root.Dev) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if st.Nlink > 1 {
			id := fileID{uint64(st.Dev), st.Ino}
			if seen[id] {
				return nil
			}
			seen[id] = true
		}
		inodes++
		bytes += uint64(st.Blocks) * 512
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("walk %s: %w", dir, err)
	}
	return bytes, inodes, nil
}
