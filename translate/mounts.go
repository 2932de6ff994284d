package translate

import (
	"path"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/versions"
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
//     (API 1.42+ for CreateMountpoint, else ErrUnsupported).
//
// ErrUnsupported: image (image volumes), uidMappings/gidMappings (idmapped
// mounts), mount_options (no per-bind options in Docker), and
// selinux_relabel where Mounts are needed.
func mntOpt(mounts []*runtimeapi.Mount, api string) cfgOpt {
	return func(c *Created) error {
		for i, m := range mounts {
			if err := mntOne(c, "mounts["+strconv.Itoa(i)+"]", m, api); err != nil {
				return err
			}
		}
		return nil
	}
}

func mntOne(c *Created, field string, m *runtimeapi.Mount, api string) error {
	switch {
	case m.GetImage() != nil:
		return cfgUnsupported("%s.image %q: image volumes cannot be mounted by Docker", field, m.GetImage().GetImage())
	case m.GetImageSubPath() != "":
		return cfgInvalid("%s.image_sub_path %q without an image", field, m.GetImageSubPath())
	case len(m.GetUidMappings()) > 0 || len(m.GetGidMappings()) > 0:
		return cfgUnsupported("%s: uidMappings/gidMappings (idmapped mounts) cannot be expressed to Docker", field)
	case len(m.GetMountOptions()) > 0:
		return cfgUnsupported("%s.mount_options %v: Docker bind mounts take no mount options", field, m.GetMountOptions())
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
	ro, rro, relabel := m.GetReadonly(), m.GetRecursiveReadOnly(), m.GetSelinuxRelabel()
	at44 := !versions.LessThan(api, "1.44")
	if rro {
		switch {
		case !ro:
			return cfgInvalid("%s: recursive_read_only needs readonly", field)
		case prop != mount.PropagationRPrivate:
			return cfgInvalid("%s: recursive_read_only needs PRIVATE propagation, not %s", field, m.GetPropagation())
		case !at44:
			return cfgUnsupported("%s: recursive_read_only needs Docker API 1.44, this daemon speaks %s", field, api)
		}
	}
	colon := strings.Contains(host, ":") || strings.Contains(ctr, ":")
	if rro || colon || (ro && at44 && !relabel) {
		if relabel {
			return cfgUnsupported("%s: selinux_relabel with recursive_read_only or a ':' in a path: Docker cannot relabel such a mount", field)
		}
		if versions.LessThan(api, "1.42") {
			return cfgUnsupported("%s: a ':' in a path needs Docker API 1.42, this daemon speaks %s", field, api)
		}
		c.HostConfig.Mounts = append(c.HostConfig.Mounts, mount.Mount{
			Type: mount.TypeBind, Source: host, Target: ctr, ReadOnly: ro,
			BindOptions: &mount.BindOptions{
				Propagation:            prop,
				CreateMountpoint:       true,
				ReadOnlyNonRecursive:   ro && !rro && at44,
				ReadOnlyForceRecursive: rro,
			},
		})
		return nil
	}
	mode := string(prop)
	if ro {
		mode = "ro," + mode
		if relabel && at44 {
			c.ignore(field+".readonly", "with selinux_relabel it is a Docker bind, which Docker makes recursively read-only where the kernel can")
		}
	}
	if relabel {
		mode += ",Z"
	}
	c.HostConfig.Binds = append(c.HostConfig.Binds, host+":"+ctr+":"+mode)
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
