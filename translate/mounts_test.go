package translate

import (
	"reflect"
	"testing"

	"github.com/docker/docker/api/types/mount"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestContainerMounts(t *testing.T) {
	const (
		private = runtimeapi.MountPropagation_PROPAGATION_PRIVATE
		slave   = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
		shared  = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
	)
	bind := func(src, dst string, ro bool, prop mount.Propagation, nonRec, forceRec bool) []mount.Mount {
		return []mount.Mount{{Type: mount.TypeBind, Source: src, Target: dst, ReadOnly: ro, BindOptions: &mount.BindOptions{
			Propagation: prop, CreateMountpoint: true, ReadOnlyNonRecursive: nonRec, ReadOnlyForceRecursive: forceRec,
		}}}
	}
	tests := []struct {
		name        string
		give        *runtimeapi.Mount
		api         string
		wantBinds   []string
		wantMounts  []mount.Mount
		wantIgnored []string
	}{
		{name: "read-write", give: &runtimeapi.Mount{HostPath: "/var/lib/kubelet/pods/u/volumes/x", ContainerPath: "/data"},
			wantBinds: []string{"/var/lib/kubelet/pods/u/volumes/x:/data:rprivate"}},
		{name: "read-only, API 1.41", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true},
			wantBinds: []string{"/h:/c:ro,rprivate"}},
		{name: "host to container", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Propagation: slave},
			wantBinds: []string{"/h:/c:rslave"}},
		{name: "bidirectional", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Propagation: shared},
			wantBinds: []string{"/h:/c:rshared"}},
		{name: "selinux relabel", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", SelinuxRelabel: true},
			wantBinds: []string{"/h:/c:rprivate,Z"}},
		{name: "read-only, API 1.44: not recursive", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, Propagation: slave}, api: "1.44",
			wantMounts: bind("/h", "/c", true, mount.PropagationRSlave, true, false)},
		{name: "recursive read-only, API 1.44", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, RecursiveReadOnly: true}, api: "1.44",
			wantMounts: bind("/h", "/c", true, mount.PropagationRPrivate, false, true)},
		{name: "read-only relabelled, API 1.44", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, SelinuxRelabel: true}, api: "1.44",
			wantBinds:   []string{"/h:/c:ro,rprivate,Z"},
			wantIgnored: []string{"mounts[0].readonly: with selinux_relabel it is a Docker bind, which Docker makes recursively read-only where the kernel can"}},
		{name: "colon in path, API 1.42", give: &runtimeapi.Mount{HostPath: "/h:ro", ContainerPath: "/c", Readonly: true}, api: "1.42",
			wantMounts: bind("/h:ro", "/c", true, mount.PropagationRPrivate, false, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{tt.give} })
			got := cfgTestCreate(t, cfg, nil, ContainerOptions{APIVersion: tt.api})
			if !reflect.DeepEqual(got.HostConfig.Binds, tt.wantBinds) || !reflect.DeepEqual(got.HostConfig.Mounts, tt.wantMounts) || !reflect.DeepEqual(got.Ignored, tt.wantIgnored) {
				t.Fatalf("Binds, Mounts, Ignored = %q, %+v, %q; want %q, %+v, %q", got.HostConfig.Binds, got.HostConfig.Mounts, got.Ignored, tt.wantBinds, tt.wantMounts, tt.wantIgnored)
			}
		})
	}
}

func TestContainerMountsRejects(t *testing.T) {
	tests := []struct {
		name    string
		give    *runtimeapi.Mount
		api     string
		want    error
		mention string
	}{
		{name: "relative container path", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "data"}, want: ErrInvalidConfig, mention: "container_path"},
		{name: "container path with ..", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/data/../../etc"}, want: ErrInvalidConfig, mention: "container_path"},
		{name: "relative host path", give: &runtimeapi.Mount{HostPath: "h", ContainerPath: "/c"}, want: ErrInvalidConfig, mention: "host_path"},
		{name: "empty host path", give: &runtimeapi.Mount{ContainerPath: "/c"}, want: ErrInvalidConfig, mention: "host_path"},
		{name: "host path with ..", give: &runtimeapi.Mount{HostPath: "/var/lib/../../etc", ContainerPath: "/c"}, want: ErrInvalidConfig, mention: "host_path"},
		{name: "bad propagation", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Propagation: 9}, want: ErrInvalidConfig, mention: "propagation"},
		{name: "recursive read-only on API 1.41", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, RecursiveReadOnly: true},
			api: "1.41", want: ErrUnsupported, mention: "recursive_read_only needs Docker API 1.44"},
		{name: "recursive read-only without readonly", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", RecursiveReadOnly: true},
			api: "1.44", want: ErrInvalidConfig, mention: "needs readonly"},
		{name: "recursive read-only with propagation", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, RecursiveReadOnly: true,
			Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}, api: "1.44", want: ErrInvalidConfig, mention: "PRIVATE"},
		{name: "recursive read-only relabelled", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, RecursiveReadOnly: true, SelinuxRelabel: true},
			api: "1.44", want: ErrUnsupported, mention: "selinux_relabel"},
		{name: "colon in path on API 1.41", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c:ro"}, api: "1.41", want: ErrUnsupported, mention: "':'"},
		{name: "image volume", give: &runtimeapi.Mount{ContainerPath: "/c", Image: &runtimeapi.ImageSpec{Image: "sha256:" + hex64}}, want: ErrUnsupported, mention: "image volumes"},
		{name: "image sub path alone", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", ImageSubPath: "x"}, want: ErrInvalidConfig, mention: "image_sub_path"},
		{name: "idmapped", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", UidMappings: []*runtimeapi.IDMapping{{Length: 1}}}, want: ErrUnsupported, mention: "idmapped"},
		{name: "mount options", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", MountOptions: []string{"noexec"}}, want: ErrUnsupported, mention: "mount_options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{tt.give} })
			_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx", APIVersion: tt.api})
			cfgTestWantErr(t, err, tt.want, tt.mention)
			cfgTestWantErr(t, err, tt.want, "mounts[0]")
		})
	}
}
