// Package containerd asks the containerd that Docker runs on what Docker's
// own API does not tell: where the snapshotter of Docker's containerd image
// store keeps its layers. It speaks containerd's introspection service, the
// one ctr's "plugins ls" uses, over the socket Docker's info names.
package containerd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	introspection "github.com/containerd/containerd/api/services/introspection/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// snapshotterType is the plugin type of containerd's snapshotters; Docker's
// info reports it as the "driver-type" of a containerd image store.
const snapshotterType = "io.containerd.snapshotter.v1"

// ErrNoRoot says the snapshotter exports no root directory (a remote or
// proxy snapshotter): there is no local filesystem to measure.
var ErrNoRoot = errors.New("the snapshotter exports no root directory")

// SnapshotterRoot returns the directory the snapshotter name of the
// containerd at address keeps its snapshots in (its plugin's "root"
// export, e.g. /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs).
func SnapshotterRoot(ctx context.Context, address, name string) (string, error) {
	if address == "" || name == "" {
		return "", fmt.Errorf("containerd address %q, snapshotter %q: %w", address, name, ErrNoRoot)
	}
	conn, err := grpc.NewClient("unix://"+address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", fmt.Errorf("containerd at %s: %w", address, err)
	}
	defer conn.Close()
	res, err := introspection.NewIntrospectionClient(conn).Plugins(ctx, &introspection.PluginsRequest{
		Filters: []string{fmt.Sprintf("type==%s,id==%s", snapshotterType, name)},
	})
	if err != nil {
		return "", fmt.Errorf("containerd at %s: plugins: %w", address, err)
	}
	for _, p := range res.GetPlugins() {
		if p.GetType() != snapshotterType || p.GetID() != name {
			continue // a containerd that ignores the filter
		}
		root := p.GetExports()["root"]
		if root == "" || !filepath.IsAbs(root) {
			return "", fmt.Errorf("snapshotter %s of containerd at %s (root %q): %w", name, address, root, ErrNoRoot)
		}
		return filepath.Clean(root), nil
	}
	return "", fmt.Errorf("containerd at %s has no snapshotter %s: %w", address, name, ErrNoRoot)
}

// IsSnapshotterStore says Docker's info DriverStatus is that of the
// containerd image store ([["driver-type", "io.containerd.snapshotter.v1"]]).
func IsSnapshotterStore(driverStatus [][2]string) bool {
	for _, kv := range driverStatus {
		if kv[0] == "driver-type" && kv[1] == snapshotterType {
			return true
		}
	}
	return false
}
