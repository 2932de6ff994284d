package containerd

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	introspection "github.com/containerd/containerd/api/services/introspection/v1"
	"google.golang.org/grpc"
)

// introspectionServer answers Plugins with a fixed list, as containerd's
// introspection service would, and records the filters it was given.
type introspectionServer struct {
	introspection.UnimplementedIntrospectionServer
	plugins []*introspection.Plugin
	filters []string
}

func (s *introspectionServer) Plugins(_ context.Context, req *introspection.PluginsRequest) (*introspection.PluginsResponse, error) {
	s.filters = req.GetFilters()
	return &introspection.PluginsResponse{Plugins: s.plugins}, nil
}

// serve runs srv on a unix socket and returns its path.
func serve(t *testing.T, srv *introspectionServer) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "containerd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	introspection.RegisterIntrospectionServer(g, srv)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	return sock
}

func TestSnapshotterRoot(t *testing.T) {
	const root = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs"
	tests := []struct {
		name    string
		give    []*introspection.Plugin
		want    string
		wantErr error
	}{
		{
			name: "the overlayfs snapshotter's root export",
			give: []*introspection.Plugin{{Type: snapshotterType, ID: "overlayfs", Exports: map[string]string{"root": root + "/"}}},
			want: root,
		},
		{
			name: "a containerd that ignores the filter",
			give: []*introspection.Plugin{
				{Type: "io.containerd.content.v1", ID: "content", Exports: map[string]string{"root": "/x"}},
				{Type: snapshotterType, ID: "native", Exports: map[string]string{"root": "/y"}},
				{Type: snapshotterType, ID: "overlayfs", Exports: map[string]string{"root": root}},
			},
			want: root,
		},
		{name: "no root export (a proxy snapshotter)", give: []*introspection.Plugin{{Type: snapshotterType, ID: "overlayfs"}}, wantErr: ErrNoRoot},
		{name: "relative root is untrusted", give: []*introspection.Plugin{{Type: snapshotterType, ID: "overlayfs", Exports: map[string]string{"root": "var/lib"}}}, wantErr: ErrNoRoot},
		{name: "no such snapshotter", wantErr: ErrNoRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &introspectionServer{plugins: tt.give}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := SnapshotterRoot(ctx, serve(t, srv), "overlayfs")
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("SnapshotterRoot = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if len(srv.filters) != 1 || srv.filters[0] != "type==io.containerd.snapshotter.v1,id==overlayfs" {
				t.Errorf("filters = %q", srv.filters)
			}
		})
	}
}

func TestSnapshotterRootUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := SnapshotterRoot(ctx, filepath.Join(t.TempDir(), "absent.sock"), "overlayfs")
	if err == nil || errors.Is(err, ErrNoRoot) {
		t.Fatalf("err = %v, want a connection error", err)
	}
	if _, err := SnapshotterRoot(ctx, "", "overlayfs"); !errors.Is(err, ErrNoRoot) {
		t.Errorf("no address: err = %v, want ErrNoRoot", err)
	}
}

func TestIsSnapshotterStore(t *testing.T) {
	tests := []struct {
		name string
		give [][2]string
		want bool
	}{
		{name: "Docker 29 default", give: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}, want: true},
		{name: "overlay2 graph driver", give: [][2]string{{"Backing Filesystem", "extfs"}, {"Supports d_type", "true"}}},
		{name: "nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsSnapshotterStore(tt.give); got != tt.want {
				t.Errorf("IsSnapshotterStore = %v, want %v", got, tt.want)
			}
		})
	}
}
