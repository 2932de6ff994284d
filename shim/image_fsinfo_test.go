package shim

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	introspection "github.com/containerd/containerd/api/services/introspection/v1"
	"github.com/moby/moby/api/types/system"
	"google.golang.org/grpc"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// snapshotterIntrospection answers containerd's Plugins call with one
// overlayfs snapshotter whose root is root.
type snapshotterIntrospection struct {
	introspection.UnimplementedIntrospectionServer
	root  string
	calls atomic.Int32
}

func (s *snapshotterIntrospection) Plugins(context.Context, *introspection.PluginsRequest) (*introspection.PluginsResponse, error) {
	s.calls.Add(1)
	return &introspection.PluginsResponse{Plugins: []*introspection.Plugin{{
		Type: "io.containerd.snapshotter.v1", ID: "overlayfs", Exports: map[string]string{"root": s.root},
	}}}, nil
}

// TestImageFsInfoContainerdStore: with Docker 29's containerd image store,
// ImageFsInfo measures the snapshotter's root that Docker's containerd
// names (asked once), not <data-root>/<driver>.
func TestImageFsInfoContainerdStore(t *testing.T) {
	snapshots := filepath.Join(t.TempDir(), "io.containerd.snapshotter.v1.overlayfs")
	if err := os.MkdirAll(filepath.Join(snapshots, "snapshots", "1", "fs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snapshots, "snapshots", "1", "fs", "f"), make([]byte, 32*1024), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &snapshotterIntrospection{root: snapshots}
	g := grpc.NewServer()
	introspection.RegisterIntrospectionServer(g, srv)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)

	f := newFakeDocker()
	f.info = system.Info{
		DockerRootDir: t.TempDir(), Driver: "overlayfs",
		DriverStatus: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}},
		Containerd:   &system.ContainerdInfo{Address: sock},
	}
	c := newTestClients(t, f)
	for range 2 {
		got, err := c.image.ImageFsInfo(testContext(t), &runtimeapi.ImageFsInfoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		fs := got.GetImageFilesystems()[0]
		if fs.GetFsId().GetMountpoint() != snapshots || fs.GetInodesUsed().GetValue() != 5 || fs.GetUsedBytes().GetValue() < 32*1024 {
			t.Fatalf("image filesystem = %v, want %s with its 5 inodes", fs, snapshots)
		}
	}
	if n := srv.calls.Load(); n != 1 {
		t.Errorf("containerd asked %d times, want once", n)
	}
}
