package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpperDirOfRoot(t *testing.T) {
	const snap = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"
	tests := []struct {
		name    string
		give    string
		want    string
		wantErr bool
	}{
		{
			name: "containerd store: the root overlay's upperdir",
			give: "1200 1100 0:120 / / rw,relatime master:500 - overlay overlay rw,lowerdir=" + snap + "/3/fs:" + snap + "/2/fs,upperdir=" + snap + "/14/fs,workdir=" + snap + "/14/work\n" +
				"1201 1200 0:121 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n" +
				"1202 1200 0:122 / /etc/hosts rw - overlay overlay rw,upperdir=/elsewhere/fs,workdir=/elsewhere/work\n",
			want: snap + "/14/fs",
		},
		{
			name: "an escaped space in the path",
			give: `10 1 0:1 / / rw - overlay overlay rw,lowerdir=/l,upperdir=/var/lib/my\040docker/diff,workdir=/w` + "\n",
			want: "/var/lib/my docker/diff",
		},
		{
			name: "root is not an overlay (native snapshotter, vfs)",
			give: "10 1 8:1 /var/lib/docker/vfs/dir/abc / rw - ext4 /dev/vda1 rw\n",
			want: "",
		},
		{
			name: "the last mount at / wins",
			give: "10 1 0:1 / / rw - overlay overlay rw,upperdir=/first\n11 10 8:1 / / rw - ext4 /dev/vda1 rw\n",
			want: "",
		},
		{
			name: "optional fields before the separator",
			give: "10 1 0:1 / / rw shared:1 master:2 - overlay overlay rw,upperdir=/u,workdir=/w\n",
			want: "/u",
		},
		{name: "garbage", give: "not a mountinfo line\n- - -\n", want: ""},
		{name: "relative upperdir is refused", give: "10 1 0:1 / / rw - overlay overlay upperdir=rel/dir\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := upperDirOfRoot(strings.NewReader(tt.give))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("upper = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRootUpperDirReadsTheProcessMountinfo(t *testing.T) {
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "42"), 0o755); err != nil {
		t.Fatal(err)
	}
	line := "10 1 0:1 / / rw - overlay overlay rw,upperdir=/snap/7/fs,workdir=/snap/7/work\n"
	if err := os.WriteFile(filepath.Join(proc, "42", "mountinfo"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := rootUpperDir(proc, 42); err != nil || got != "/snap/7/fs" {
		t.Errorf("rootUpperDir = %q, %v; want /snap/7/fs", got, err)
	}
	if _, err := rootUpperDir(proc, 43); err == nil {
		t.Error("a process that is gone must be an error")
	}
}
