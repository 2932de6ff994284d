package translate

import (
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/mount"
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
		selinux     bool // dockerd --selinux-enabled
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
		{name: "selinux relabel", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", SelinuxRelabel: true}, selinux: true,
			wantBinds: []string{"/h:/c:rprivate,Z"}},
		{name: "selinux relabel, Docker without SELinux", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", SelinuxRelabel: true},
			wantBinds: []string{"/h:/c:rprivate"}, wantIgnored: []string{"mounts[0].selinux_relabel: Docker runs without SELinux"}},
		{name: "recursive read-only relabelled, Docker without SELinux", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, RecursiveReadOnly: true, SelinuxRelabel: true}, api: "1.44",
			wantMounts: bind("/h", "/c", true, mount.PropagationRPrivate, false, true), wantIgnored: []string{"mounts[0].selinux_relabel: Docker runs without SELinux"}},
		{name: "read-only relabelled, API 1.44, Docker without SELinux: not recursive", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, SelinuxRelabel: true}, api: "1.44",
			wantMounts: bind("/h", "/c", true, mount.PropagationRPrivate, true, false), wantIgnored: []string{"mounts[0].selinux_relabel: Docker runs without SELinux"}},
		{name: "read-only, API 1.44: not recursive", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, Propagation: slave}, api: "1.44",
			wantMounts: bind("/h", "/c", true, mount.PropagationRSlave, true, false)},
		{name: "recursive read-only, API 1.44", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, RecursiveReadOnly: true}, api: "1.44",
			wantMounts: bind("/h", "/c", true, mount.PropagationRPrivate, false, true)},
		{name: "read-only relabelled, API 1.44", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Readonly: true, SelinuxRelabel: true}, api: "1.44", selinux: true,
			wantBinds:   []string{"/h:/c:ro,rprivate,Z"},
			wantIgnored: []string{"mounts[0].readonly: with selinux_relabel it is a Docker bind, which Docker makes recursively read-only where the kernel can"}},
		{name: "image volume, API 1.48", give: &runtimeapi.Mount{ContainerPath: "/data", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "sha256:" + hex64}}, api: "1.48",
			wantMounts: []mount.Mount{{Type: mount.TypeImage, Source: "sha256:" + hex64, Target: "/data", ReadOnly: true}}},
		{name: "image volume sub path, propagation", give: &runtimeapi.Mount{ContainerPath: "/data", Image: &runtimeapi.ImageSpec{Image: "busybox"}, ImageSubPath: "etc/x",
			Propagation: slave}, api: "1.56",
			wantMounts:  []mount.Mount{{Type: mount.TypeImage, Source: "busybox", Target: "/data", ReadOnly: true, ImageOptions: &mount.ImageOptions{Subpath: "etc/x"}}},
			wantIgnored: []string{"mounts[0].propagation: Docker mounts an image volume private"}},
		{name: "colon in path, API 1.42", give: &runtimeapi.Mount{HostPath: "/h:ro", ContainerPath: "/c", Readonly: true}, api: "1.42",
			wantMounts: bind("/h:ro", "/c", true, mount.PropagationRPrivate, false, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{tt.give} })
			got := cfgTestCreate(t, cfg, nil, ContainerOptions{APIVersion: tt.api, SELinux: tt.selinux})
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
		{name: "image volume before API 1.48", give: &runtimeapi.Mount{ContainerPath: "/c", Image: &runtimeapi.ImageSpec{Image: "sha256:" + hex64}}, api: "1.47", want: ErrUnsupported, mention: "API 1.48"},
		{name: "image volume without image", give: &runtimeapi.Mount{ContainerPath: "/c", Image: &runtimeapi.ImageSpec{}}, api: "1.48", want: ErrInvalidConfig, mention: "no image"},
		{name: "image volume with a host path", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", Image: &runtimeapi.ImageSpec{Image: "busybox"}}, api: "1.48", want: ErrInvalidConfig, mention: "host_path"},
		{name: "image sub path escaping", give: &runtimeapi.Mount{ContainerPath: "/c", Image: &runtimeapi.ImageSpec{Image: "busybox"}, ImageSubPath: "../etc"}, api: "1.48", want: ErrInvalidConfig, mention: "image_sub_path"},
		{name: "image sub path absolute", give: &runtimeapi.Mount{ContainerPath: "/c", Image: &runtimeapi.ImageSpec{Image: "busybox"}, ImageSubPath: "/etc"}, api: "1.48", want: ErrInvalidConfig, mention: "image_sub_path"},
		{name: "image volume relative target", give: &runtimeapi.Mount{ContainerPath: "c", Image: &runtimeapi.ImageSpec{Image: "busybox"}}, api: "1.48", want: ErrInvalidConfig, mention: "container_path"},
		{name: "image volume with mount options", give: &runtimeapi.Mount{ContainerPath: "/c", Image: &runtimeapi.ImageSpec{Image: "busybox"}, MountOptions: []string{"ro"}}, api: "1.48", want: ErrUnsupported, mention: "image volume"},
		{name: "image sub path alone", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", ImageSubPath: "x"}, want: ErrInvalidConfig, mention: "image_sub_path"},
		{name: "idmapped", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", UidMappings: []*runtimeapi.IDMapping{{Length: 1}}}, want: ErrUnsupported, mention: "idmapped"},
		{name: "mount options", give: &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", MountOptions: []string{"noexec"}}, want: ErrUnsupported, mention: "mount_options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{tt.give} })
			// SELinux on: relabelling is only asked of a daemon that does it.
			_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx", APIVersion: tt.api, SELinux: true})
			cfgTestWantErr(t, err, tt.want, tt.mention)
			cfgTestWantErr(t, err, tt.want, "mounts[0]")
		})
	}
}

// TestContainerMountOptions takes one mount option at a time: what Docker
// can express is applied, everything else is refused naming the option and
// the mount.
func TestContainerMountOptions(t *testing.T) {
	const slave = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
	bind := func(ro bool, prop mount.Propagation, nonRec, roNonRec, forceRec bool) []mount.Mount {
		return []mount.Mount{{Type: mount.TypeBind, Source: "/h", Target: "/c", ReadOnly: ro, BindOptions: &mount.BindOptions{
			Propagation: prop, NonRecursive: nonRec, CreateMountpoint: true, ReadOnlyNonRecursive: roNonRec, ReadOnlyForceRecursive: forceRec,
		}}}
	}
	tests := []struct {
		name       string
		give       string
		mod        func(*runtimeapi.Mount)
		api        string
		wantBinds  []string
		wantMounts []mount.Mount
	}{
		{name: "ro", give: "ro", wantBinds: []string{"/h:/c:ro,rprivate"}},
		{name: "ro on API 1.44 is not recursive", give: "ro", api: "1.44", wantMounts: bind(true, mount.PropagationRPrivate, false, true, false)},
		{name: "ro with readonly", give: "ro", mod: func(m *runtimeapi.Mount) { m.Readonly = true }, wantBinds: []string{"/h:/c:ro,rprivate"}},
		{name: "rw", give: "rw", wantBinds: []string{"/h:/c:rprivate"}},
		{name: "rro", give: "rro", api: "1.44", wantMounts: bind(true, mount.PropagationRPrivate, false, false, true)},
		{name: "rbind is Docker's own", give: "rbind", wantBinds: []string{"/h:/c:rprivate"}},
		{name: "bind", give: "bind", api: "1.42", wantMounts: bind(false, mount.PropagationRPrivate, true, false, false)},
		{name: "rprivate", give: "rprivate", wantBinds: []string{"/h:/c:rprivate"}},
		{name: "private", give: "private", wantBinds: []string{"/h:/c:private"}},
		{name: "rslave", give: "rslave", mod: func(m *runtimeapi.Mount) { m.Propagation = slave }, wantBinds: []string{"/h:/c:rslave"}},
		{name: "slave", give: "slave", mod: func(m *runtimeapi.Mount) { m.Propagation = slave }, wantBinds: []string{"/h:/c:slave"}},
		{name: "shared", give: "shared", mod: func(m *runtimeapi.Mount) { m.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL },
			wantBinds: []string{"/h:/c:shared"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/c", MountOptions: []string{tt.give}}
			if tt.mod != nil {
				tt.mod(m)
			}
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{m} })
			got := cfgTestCreate(t, cfg, nil, ContainerOptions{APIVersion: tt.api})
			if !reflect.DeepEqual(got.HostConfig.Binds, tt.wantBinds) || !reflect.DeepEqual(got.HostConfig.Mounts, tt.wantMounts) {
				t.Fatalf("Binds, Mounts = %q, %+v; want %q, %+v", got.HostConfig.Binds, got.HostConfig.Mounts, tt.wantBinds, tt.wantMounts)
			}
		})
	}
}

func TestContainerMountOptionsRejects(t *testing.T) {
	const named = "of the mount at \"/data\""
	tests := []struct {
		name    string
		give    string
		mod     func(*runtimeapi.Mount)
		api     string
		want    error
		mention string
	}{
		// The options of the kubelet's bindMountOptions: no Docker field.
		{name: "noexec", give: "noexec", want: ErrUnsupported, mention: `option "noexec" ` + named},
		{name: "nosuid", give: "nosuid", want: ErrUnsupported, mention: `option "nosuid" ` + named},
		{name: "nodev", give: "nodev", want: ErrUnsupported, mention: `option "nodev" ` + named},
		// Other mount flags: none either.
		{name: "exec", give: "exec", want: ErrUnsupported, mention: `option "exec" ` + named},
		{name: "noatime", give: "noatime", want: ErrUnsupported, mention: `option "noatime" ` + named},
		{name: "nosymfollow", give: "nosymfollow", want: ErrUnsupported, mention: `option "nosymfollow" ` + named},
		{name: "rnoexec", give: "rnoexec", want: ErrUnsupported, mention: `option "rnoexec" ` + named},
		// Docker's own bind modes that are not OCI options.
		{name: "Z", give: "Z", want: ErrUnsupported, mention: `option "Z" ` + named},
		{name: "z", give: "z", want: ErrUnsupported, mention: `option "z" ` + named},
		{name: "nocopy", give: "nocopy", want: ErrUnsupported, mention: `option "nocopy" ` + named},
		{name: "cached", give: "cached", want: ErrUnsupported, mention: `option "cached" ` + named},
		{name: "empty", give: "", want: ErrUnsupported, mention: `option "" ` + named},
		{name: "comma-joined", give: "ro,noexec", want: ErrUnsupported, mention: `option "ro,noexec" ` + named},
		// Expressible, but not on this API or with these fields.
		{name: "rro on API 1.41", give: "rro", api: "1.41", want: ErrUnsupported, mention: "API 1.44"},
		{name: "bind on API 1.41", give: "bind", api: "1.41", want: ErrUnsupported, mention: "API 1.42"},
		{name: "bind relabelled", give: "bind", api: "1.44", mod: func(m *runtimeapi.Mount) { m.SelinuxRelabel = true },
			want: ErrUnsupported, mention: "selinux_relabel"},
		// Contradictions.
		{name: "rw with readonly", give: "rw", mod: func(m *runtimeapi.Mount) { m.Readonly = true }, want: ErrInvalidConfig, mention: `option "rw" ` + named},
		{name: "propagation against the field", give: "rshared", want: ErrInvalidConfig, mention: `option "rshared" ` + named},
		{name: "rro with bind", give: "bind", api: "1.44", mod: func(m *runtimeapi.Mount) { m.Readonly, m.RecursiveReadOnly = true, true },
			want: ErrInvalidConfig, mention: `"bind"`},
		{name: "rro with slave", give: "rro", api: "1.44", mod: func(m *runtimeapi.Mount) {
			m.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
		}, want: ErrInvalidConfig, mention: "PRIVATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &runtimeapi.Mount{HostPath: "/h", ContainerPath: "/data", MountOptions: []string{tt.give}}
			if tt.mod != nil {
				tt.mod(m)
			}
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
				c.Mounts = []*runtimeapi.Mount{{HostPath: "/ok", ContainerPath: "/ok"}, m}
			})
			_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx", APIVersion: tt.api, SELinux: true})
			cfgTestWantErr(t, err, tt.want, "mounts[1]")
			cfgTestWantErr(t, err, tt.want, tt.mention)
		})
	}
	t.Run("contradicting options", func(t *testing.T) {
		for _, opts := range [][]string{{"bind", "rbind"}, {"private", "rprivate"}, {"ro", "rw"}} {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
				c.Mounts = []*runtimeapi.Mount{{HostPath: "/h", ContainerPath: "/data", MountOptions: opts}}
			})
			_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx", APIVersion: "1.44"})
			cfgTestWantErr(t, err, ErrInvalidConfig, "/data")
		}
	})
}

func TestMountOptionsFeature(t *testing.T) {
	// Docker cannot set noexec, nodev or nosuid on a bind: the feature must
	// not be announced, or the kubelet would send pods that then fail.
	if MountOptionsFeature() {
		t.Fatal("MountOptionsFeature() = true, but Docker cannot express noexec, nodev or nosuid")
	}
}
