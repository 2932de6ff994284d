package translate

import (
	"path"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/mount"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// mntOpt maps CRI mounts to Docker bind mounts.
//
// Paths are checked as text and never resolved or followed here (the
// CVE-2022-23648 class: a runtime that resolves a path itself can be led
// outside it); Docker does the mount. Both paths must be absolute with no
// ".." element.
//
// A mount becomes a HostConfig.Binds entry "host:container:[ro,]propagation[,Z]"
// (PRIVATE rprivate, HOST_TO_CONTAINER rslave, BIDIRECTIONAL rshared;
// selinux_relabel "Z" as dockershim), like dockershim's, Docker creating a
// missing host directory as it always did. It becomes a HostConfig.Mounts
// entry instead (CreateMountpoint keeping that behaviour) when Binds cannot
// say it:
//   - recursive_read_only: ReadOnlyForceRecursive, so Docker fails rather
//     than mount writable submounts (API 1.44+, else ErrUnsupported; it needs
//     readonly and PRIVATE propagation, as CRI says);
//   - readonly on API 1.44+: since 1.44 Docker makes a read-only bind
//     recursively read-only when it can, which CRI's readonly (not
//     recursive) does not ask for and which fails on some submounts, so
//     ReadOnlyNonRecursive is set. With selinux_relabel it stays a bind
//     (Mounts cannot relabel) and Ignored says Docker may make it recursive;
//   - a ':' in a path, which would be read as a field separator in Binds
//     (API 1.42+ for CreateMountpoint, else ErrUnsupported);
//   - the mount option "bind" (NonRecursive).
//
// selinux_relabel asks Docker to relabel only where the daemon runs with
// SELinux (selinux): elsewhere Docker would ignore the "Z" anyway, and
// containerd relabels only where SELinux is enabled, so the request is
// dropped (Ignored says so) and the mount is built as if it were not set.
//
// An image volume becomes Docker's image mount (mntImage).
//
// mount_options: see mntOptions. ErrUnsupported: image volumes before API
// 1.48, uidMappings/gidMappings (idmapped mounts), mount options Docker cannot
// express, and selinux_relabel where Mounts are needed.
func mntOpt(mounts []*runtimeapi.Mount, api string, selinux bool) cfgOpt {
	return func(c *Created) error {
		for i, m := range mounts {
			if err := mntOne(c, "mounts["+strconv.Itoa(i)+"]", m, api, selinux); err != nil {
				return err
			}
		}
		return nil
	}
}

// mntSpec is what a CRI mount asks of Docker, its fields and its
// mount_options together.
type mntSpec struct {
	ro, rro, relabel bool
	// nonRecursive is the option "bind": Docker's binds are recursive
	// ("rbind") unless BindOptions.NonRecursive says otherwise.
	nonRecursive bool
	prop         mount.Propagation
}

func mntOne(c *Created, field string, m *runtimeapi.Mount, api string, selinux bool) error {
	switch {
	case m.GetImage() != nil:
		return mntImage(c, field, m, api)
	case m.GetImageSubPath() != "":
		return cfgInvalid("%s.image_sub_path %q without an image", field, m.GetImageSubPath())
	case len(m.GetUidMappings()) > 0 || len(m.GetGidMappings()) > 0:
		return cfgUnsupported("%s: uidMappings/gidMappings (idmapped mounts) cannot be expressed to Docker", field)
	}
	host, ctr := m.GetHostPath(), m.GetContainerPath()
	if !path.IsAbs(ctr) || cfgHasDotDot(ctr) {
		return cfgInvalid("%s.container_path %q must be absolute without \"..\"", field, ctr)
	}
	if !path.IsAbs(host) || cfgHasDotDot(host) {
		return cfgInvalid("%s.host_path %q must be absolute without \"..\"", field, host)
	}
	prop, err := mntPropagation(field, m.GetPropagation())
	if err != nil {
		return err
	}
	sp := mntSpec{ro: m.GetReadonly(), rro: m.GetRecursiveReadOnly(), relabel: m.GetSelinuxRelabel(), prop: prop}
	if err := mntOptions(&sp, field, m); err != nil {
		return err
	}
	if sp.relabel && !selinux {
		sp.relabel = false
		c.ignore(field+".selinux_relabel", "Docker runs without SELinux")
	}
	at44 := !apiLess(api, "1.44")
	if sp.rro {
		switch {
		case !sp.ro:
			return cfgInvalid("%s: recursive_read_only needs readonly", field)
		case sp.prop != mount.PropagationRPrivate && sp.prop != mount.PropagationPrivate:
			return cfgInvalid("%s: recursive_read_only needs PRIVATE propagation, not %s", field, m.GetPropagation())
		case sp.nonRecursive:
			return cfgInvalid("%s: recursive_read_only with the non-recursive mount option \"bind\"", field)
		case !at44:
			return cfgUnsupported("%s: recursive_read_only needs Docker API 1.44, this daemon speaks %s", field, api)
		}
	}
	colon := strings.Contains(host, ":") || strings.Contains(ctr, ":")
	if sp.rro || colon || sp.nonRecursive || (sp.ro && at44 && !sp.relabel) {
		return mntAsMount(c, field, host, ctr, sp, api)
	}
	mode := string(sp.prop)
	if sp.ro {
		mode = "ro," + mode
		if sp.relabel && at44 {
			c.ignore(field+".readonly", "with selinux_relabel it is a Docker bind, which Docker makes recursively read-only where the kernel can")
		}
	}
	if sp.relabel {
		mode += ",Z"
	}
	c.HostConfig.Binds = append(c.HostConfig.Binds, host+":"+ctr+":"+mode)
	return nil
}

// mntImage mounts an image volume (the kubelet's "image" volumes, pulled by
// it beforehand) as Docker's image mount (API 1.48+): the image's
// filesystem, or image_sub_path of it, read-only at the container path.
// Docker fixes such a mount's propagation (private) and does not relabel it.
func mntImage(c *Created, field string, m *runtimeapi.Mount, api string) error {
	ref, ctr, sub := m.GetImage().GetImage(), m.GetContainerPath(), m.GetImageSubPath()
	switch {
	case apiLess(api, "1.48"):
		return cfgUnsupported("%s.image %q: image volumes need Docker's image mounts, API 1.48, this daemon speaks %s", field, ref, api)
	case ref == "":
		return cfgInvalid("%s.image: no image", field)
	case m.GetHostPath() != "":
		return cfgInvalid("%s: an image volume has no host_path (%q)", field, m.GetHostPath())
	case !path.IsAbs(ctr) || cfgHasDotDot(ctr):
		return cfgInvalid("%s.container_path %q must be absolute without \"..\"", field, ctr)
	case sub != "" && (path.IsAbs(sub) || cfgHasDotDot(sub)):
		return cfgInvalid("%s.image_sub_path %q must be relative without \"..\"", field, sub)
	case m.GetRecursiveReadOnly() || len(m.GetMountOptions()) > 0 || len(m.GetUidMappings()) > 0 || len(m.GetGidMappings()) > 0:
		return cfgUnsupported("%s: an image volume takes no recursive_read_only, mount_options or id mappings with Docker", field)
	}
	if m.GetPropagation() != runtimeapi.MountPropagation_PROPAGATION_PRIVATE {
		c.ignore(field+".propagation", "Docker mounts an image volume private")
	}
	if m.GetSelinuxRelabel() {
		c.ignore(field+".selinux_relabel", "Docker does not relabel an image mount")
	}
	mnt := mount.Mount{Type: mount.TypeImage, Source: ref, Target: ctr, ReadOnly: true}
	if sub != "" {
		mnt.ImageOptions = &mount.ImageOptions{Subpath: sub}
	}
	c.HostConfig.Mounts = append(c.HostConfig.Mounts, mnt)
	return nil
}

// mntAsMount adds a HostConfig.Mounts entry, for what Binds cannot say.
func mntAsMount(c *Created, field, host, ctr string, sp mntSpec, api string) error {
	if sp.relabel {
		return cfgUnsupported("%s: selinux_relabel with recursive_read_only, the mount option \"bind\" or a ':' in a path: Docker cannot relabel such a mount", field)
	}
	if apiLess(api, "1.42") {
		return cfgUnsupported("%s: recursive_read_only, the mount option \"bind\" or a ':' in a path need Docker API 1.42, this daemon speaks %s", field, api)
	}
	at44 := !apiLess(api, "1.44")
	c.HostConfig.Mounts = append(c.HostConfig.Mounts, mount.Mount{
		Type: mount.TypeBind, Source: host, Target: ctr, ReadOnly: sp.ro,
		BindOptions: &mount.BindOptions{
			Propagation:            sp.prop,
			NonRecursive:           sp.nonRecursive,
			CreateMountpoint:       true,
			ReadOnlyNonRecursive:   sp.ro && !sp.rro && at44,
			ReadOnlyForceRecursive: sp.rro,
		},
	})
	return nil
}

func mntPropagation(field string, p runtimeapi.MountPropagation) (mount.Propagation, error) {
	switch p {
	case runtimeapi.MountPropagation_PROPAGATION_PRIVATE:
		return mount.PropagationRPrivate, nil
	case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		return mount.PropagationRSlave, nil
	case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		return mount.PropagationRShared, nil
	}
	return "", cfgInvalid("%s.propagation %d is unknown", field, p)
}

// mntPropagationOptions are the propagation mount options, each with the
// CRI propagation it refines (its recursive or non-recursive form).
var mntPropagationOptions = map[string]mount.Propagation{
	"private": mount.PropagationRPrivate, "rprivate": mount.PropagationRPrivate,
	"slave": mount.PropagationRSlave, "rslave": mount.PropagationRSlave,
	"shared": mount.PropagationRShared, "rshared": mount.PropagationRShared,
}

// mntOptions applies a mount's mount_options (OCI bind mount options) to
// sp. Docker's API lets a client say of a bind mount only what Binds' mode
// string ("ro"/"rw", propagation, SELinux "z"/"Z", volume-only "nocopy",
// macOS-only consistency) and BindOptions (propagation, non-recursive,
// read-only recursion) say, and dockerd mounts every bind "rbind" plus
// those. So the options accepted are the ones among them that are OCI
// options:
//   - "ro", "rw": read-only or not ("rw" with readonly is a contradiction);
//   - "rro": recursively read-only, as recursive_read_only;
//   - "rbind" (Docker's own way, a no-op) and "bind" (NonRecursive);
//   - "private", "rprivate", "slave", "rslave", "shared", "rshared", when
//     they agree with the propagation field (one of its two forms).
//
// Everything else is ErrUnsupported naming the option and the mount: in
// particular noexec, nosuid and nodev (the options the kubelet sends for a
// volume mount's bindMountOptions), which Docker has no field for on a
// bind (only tmpfs mounts take them); and "z", "Z", "nocopy" and the
// consistency modes, which Docker accepts but which are not OCI options.
func mntOptions(sp *mntSpec, field string, m *runtimeapi.Mount) error {
	rw, recursion, prop := false, "", ""
	for _, o := range m.GetMountOptions() {
		if p, ok := mntPropagationOptions[o]; ok {
			if p != sp.prop || (prop != "" && prop != o) {
				return cfgInvalid("%s.mount_options: option %q of the mount at %q contradicts propagation %s", field, o, m.GetContainerPath(), m.GetPropagation())
			}
			prop = o
			continue
		}
		switch o {
		case "ro":
			sp.ro = true
		case "rw":
			rw = true
		case "rro":
			sp.ro, sp.rro = true, true
		case "bind", "rbind":
			if recursion != "" && recursion != o {
				return cfgInvalid("%s.mount_options: options \"bind\" and \"rbind\" of the mount at %q contradict each other", field, m.GetContainerPath())
			}
			recursion, sp.nonRecursive = o, o == "bind"
		default:
			return cfgUnsupported("%s.mount_options: option %q of the mount at %q cannot be expressed to Docker: "+
				"its bind mounts take only ro, rw, rro, bind, rbind and propagation options (no noexec, nosuid, nodev or other mount flags)",
				field, o, m.GetContainerPath())
		}
	}
	if rw && sp.ro {
		return cfgInvalid("%s.mount_options: option \"rw\" of the mount at %q contradicts its read-only setting", field, m.GetContainerPath())
	}
	if prop != "" {
		sp.prop = mount.Propagation(prop)
	}
	return nil
}

// mntFeatureOptions are the options RuntimeFeatures.mount_options stands
// for (the bindMountOptions of a Kubernetes volume mount).
var mntFeatureOptions = []string{"noexec", "nodev", "nosuid"}

// MountOptionsFeature reports whether the runtime feature mount_options
// can be announced: whether any of the options it stands for is accepted.
// The kubelet refuses pods that ask for them from a runtime that does not
// announce it, instead of running them without the flags.
func MountOptionsFeature() bool {
	for _, o := range mntFeatureOptions {
		sp := mntSpec{prop: mount.PropagationRPrivate}
		if mntOptions(&sp, "", &runtimeapi.Mount{MountOptions: []string{o}}) == nil {
			return true
		}
	}
	return false
}
