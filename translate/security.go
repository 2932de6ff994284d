package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// secSandbox maps the pod's security context onto the pause container:
// run_as_user/run_as_group, supplemental_groups, readonly_rootfs, seccomp,
// apparmor and selinux_options as for app containers. privileged is not
// applied: the pause container needs no privilege, and Docker's privileged
// mode fails on these hosts; the flag only allows privileged app containers
// (ContainerCreateConfig checks it). A Localhost seccomp profile is Ignored:
// the pause container keeps Docker's default profile (SandboxOptions has no
// profile loader; the app containers get the profile).
func secSandbox(sc *runtimeapi.LinuxSandboxSecurityContext) cfgOpt {
	return func(c *Created) error {
		return c.apply(
			secUser(sc.GetRunAsUser(), "", sc.GetRunAsGroup(), ""),
			secGroups(sc.GetSupplementalGroups(), sc.GetSupplementalGroupsPolicy()),
			secFlags(sc.GetReadonlyRootfs(), false),
			secSeccomp(sc.GetSeccomp(), sc.GetSeccompProfilePath(), nil, true),
			secAppArmor(sc.GetApparmor(), ""),
			secSELinux(sc.GetSelinuxOptions()),
		)
	}
}

// secContainer maps an app container's security context. A privileged
// container needs a privileged sandbox (as containerd and CRI-O check) and
// then ignores capabilities, seccomp, apparmor, selinux_options,
// masked_paths and readonly_paths, which privileged mode overrides (CRI:
// they "MAY have no effect").
func secContainer(sc *runtimeapi.LinuxContainerSecurityContext, sandboxPrivileged bool, opts ContainerOptions, api string) cfgOpt {
	return func(c *Created) error {
		if amb := sc.GetCapabilities().GetAddAmbientCapabilities(); len(amb) > 0 {
			return cfgUnsupported("add_ambient_capabilities %v: Docker cannot raise ambient capabilities", amb)
		}
		steps := []cfgOpt{
			secUser(sc.GetRunAsUser(), sc.GetRunAsUsername(), sc.GetRunAsGroup(), opts.ImageUser),
			secGroups(sc.GetSupplementalGroups(), sc.GetSupplementalGroupsPolicy()),
			secGroupsPolicy(sc, opts),
			secFlags(sc.GetReadonlyRootfs(), sc.GetNoNewPrivs()),
		}
		if sc.GetPrivileged() {
			if !sandboxPrivileged {
				return cfgInvalid("privileged container in a sandbox that is not privileged")
			}
			steps = append(steps, secPrivileged(opts, api))
		} else {
			steps = append(steps,
				capsOpt(sc.GetCapabilities(), opts.HostCapabilities),
				secSeccomp(sc.GetSeccomp(), sc.GetSeccompProfilePath(), opts.LoadSeccompProfile, false),
				secAppArmor(sc.GetApparmor(), sc.GetApparmorProfile()),
				secSELinux(sc.GetSelinuxOptions()),
				secPaths(sc.GetMaskedPaths(), sc.GetReadonlyPaths()),
			)
		}
		return c.apply(steps...)
	}
}

// secUser sets Docker's User, "uid[:gid]" or "name[:gid]". Ids are
// range-checked against maxID (CVE-2024-40635: 2^32 must not wrap to root).
// run_as_username wins over run_as_user, as in dockershim and containerd.
// run_as_group without a user is refused, as CRI requires (and dockershim,
// containerd, CRI-O and critest agree): the kubelet always sends a user for
// containers (the image's, or 0), so only a pod-level runAsGroup without
// runAsUser reaches the sandbox that way. With no user at all Docker runs the
// image's USER, checked with the same bound (imageUser).
func secUser(uid *runtimeapi.Int64Value, name string, gid *runtimeapi.Int64Value, imageUser string) cfgOpt {
	return func(c *Created) error {
		if uid != nil && (uid.GetValue() < 0 || uid.GetValue() > maxID) {
			return cfgInvalid("run_as_user %d is outside [0, %d]", uid.GetValue(), maxID)
		}
		if gid != nil && (gid.GetValue() < 0 || gid.GetValue() > maxID) {
			return cfgInvalid("run_as_group %d is outside [0, %d]", gid.GetValue(), maxID)
		}
		if strings.ContainsAny(name, ":\x00") {
			return cfgInvalid("run_as_username %q contains ':' or NUL", name)
		}
		if idOutOfRange(name) {
			return cfgInvalid("run_as_username %q is read as a numeric id outside [0, %d]", name, maxID)
		}
		user := name
		switch {
		case name != "" && uid != nil:
			c.ignore("run_as_user", "run_as_username takes precedence")
		case uid != nil:
			user = strconv.FormatInt(uid.GetValue(), 10)
		}
		if user == "" {
			if gid != nil {
				return cfgInvalid("run_as_group %d without run_as_user or run_as_username", gid.GetValue())
			}
			return secImageUser(imageUser)
		}
		if gid != nil {
			user += ":" + strconv.FormatInt(gid.GetValue(), 10)
		}
		c.Config.User = user
		return nil
	}
}

// secImageUser refuses an image USER whose numeric uid or gid is out of
// range: Docker would run it as is.
func secImageUser(user string) error {
	for _, part := range strings.SplitN(user, ":", 2) {
		if idOutOfRange(part) {
			return cfgInvalid("image USER %q: id %s is outside [0, %d]", user, part, maxID)
		}
	}
	return nil
}

// idOutOfRange reports whether Docker reads a user or group as a number
// outside [0, maxID]. Docker (moby/sys/user) reads it with strconv.Atoi, so
// a sign counts ("+4294967296", "-1"), and matches that number against the
// image's /etc/passwd before any range check: an entry with uid 2^32 there
// makes "+4294967296" run as root (uint32 wrap, measured on Docker 20.10),
// while ImageUser reports no uid and the kubelet's runAsNonRoot check lets it
// pass. Digits too long for an int are refused too: never a valid id.
func idOutOfRange(s string) bool {
	n, err := strconv.Atoi(s)
	if err != nil {
		return isDigits(s)
	}
	return n < 0 || n > maxID
}

// secGroups maps supplemental_groups to GroupAdd and checks the policy;
// secGroupsPolicy applies it (see groups_policy.go).
func secGroups(groups []int64, policy runtimeapi.SupplementalGroupsPolicy) cfgOpt {
	return func(c *Created) error {
		switch policy {
		case runtimeapi.SupplementalGroupsPolicy_Merge, runtimeapi.SupplementalGroupsPolicy_Strict:
		default:
			return cfgInvalid("supplemental_groups_policy %d is unknown", policy)
		}
		for _, g := range groups {
			if g < 0 || g > maxID {
				return cfgInvalid("supplemental_groups: %d is outside [0, %d]", g, maxID)
			}
			c.HostConfig.GroupAdd = append(c.HostConfig.GroupAdd, strconv.FormatInt(g, 10))
		}
		return nil
	}
}

func secFlags(readonlyRootfs, noNewPrivs bool) cfgOpt {
	return func(c *Created) error {
		c.HostConfig.ReadonlyRootfs = readonlyRootfs
		if noNewPrivs {
			c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "no-new-privileges")
		}
		return nil
	}
}

// secProfile reads a SecurityProfile, or the deprecated string form
// ("runtime/default", "docker/default", "unconfined", "localhost/<ref>")
// when the profile is nil; unset is unset.
func secProfile(field string, p *runtimeapi.SecurityProfile, legacy string, unset runtimeapi.SecurityProfile_ProfileType) (runtimeapi.SecurityProfile_ProfileType, string, error) {
	if p != nil {
		switch p.GetProfileType() {
		case runtimeapi.SecurityProfile_RuntimeDefault, runtimeapi.SecurityProfile_Unconfined:
			return p.GetProfileType(), "", nil
		case runtimeapi.SecurityProfile_Localhost:
			if p.GetLocalhostRef() == "" {
				return 0, "", cfgInvalid("%s: Localhost profile without localhost_ref", field)
			}
			return p.GetProfileType(), p.GetLocalhostRef(), nil
		}
		return 0, "", cfgInvalid("%s: profile type %d is unknown", field, p.GetProfileType())
	}
	switch {
	case legacy == "":
		return unset, "", nil
	case legacy == "runtime/default" || legacy == "docker/default":
		return runtimeapi.SecurityProfile_RuntimeDefault, "", nil
	case legacy == "unconfined":
		return runtimeapi.SecurityProfile_Unconfined, "", nil
	case strings.HasPrefix(legacy, "localhost/") && len(legacy) > len("localhost/"):
		return runtimeapi.SecurityProfile_Localhost, strings.TrimPrefix(legacy, "localhost/"), nil
	}
	return 0, "", cfgInvalid("%s: profile %q is not runtime/default, docker/default, unconfined or localhost/<ref>", field, legacy)
}

// secSeccomp: RuntimeDefault leaves Docker's default profile; Unconfined is
// "seccomp=unconfined" (also when nothing is set: CRI defines an empty
// profile as unconfined, as dockershim and containerd do; the kubelet
// always sends one); Localhost passes the profile's JSON, read by load, as
// "seccomp=<json>" like the docker CLI. The pause container (pause) keeps
// Docker's default profile instead (Ignored).
func secSeccomp(p *runtimeapi.SecurityProfile, legacy string, load func(string) ([]byte, error), pause bool) cfgOpt {
	return func(c *Created) error {
		typ, ref, err := secProfile("seccomp", p, legacy, runtimeapi.SecurityProfile_Unconfined)
		if err != nil {
			return err
		}
		switch typ {
		case runtimeapi.SecurityProfile_Unconfined:
			c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "seccomp=unconfined")
		case runtimeapi.SecurityProfile_Localhost:
			if !path.IsAbs(ref) {
				return cfgInvalid("seccomp localhost profile %q is not an absolute path", ref)
			}
			if pause {
				c.ignore("seccomp", "Localhost profile "+ref+" for the pause container: it keeps Docker's default profile (the app containers get the profile)")
				return nil
			}
			if load == nil {
				return cfgUnsupported("seccomp localhost profile %q: the shim gave no profile loader", ref)
			}
			raw, err := load(ref)
			if err != nil {
				return fmt.Errorf("%w: seccomp localhost profile %q: %w", ErrInvalidConfig, ref, err)
			}
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return cfgInvalid("seccomp localhost profile %q is not JSON: %v", ref, err)
			}
			c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "seccomp="+b.String())
		}
		return nil
	}
}

// secAppArmor: RuntimeDefault (and unset) leaves Docker's default profile,
// Unconfined is "apparmor=unconfined", Localhost "apparmor=<name>". Docker
// ignores AppArmor on hosts without it.
func secAppArmor(p *runtimeapi.SecurityProfile, legacy string) cfgOpt {
	return func(c *Created) error {
		typ, ref, err := secProfile("apparmor", p, legacy, runtimeapi.SecurityProfile_RuntimeDefault)
		if err != nil {
			return err
		}
		switch typ {
		case runtimeapi.SecurityProfile_Unconfined:
			c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "apparmor=unconfined")
		case runtimeapi.SecurityProfile_Localhost:
			if strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' }) {
				return cfgInvalid("apparmor profile %q contains white space", ref)
			}
			c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "apparmor="+ref)
		}
		return nil
	}
}

// secSELinux maps selinux_options to "label=user:..", "label=role:..",
// "label=type:..", "label=level:..", the parts given.
func secSELinux(o *runtimeapi.SELinuxOption) cfgOpt {
	return func(c *Created) error {
		for _, kv := range [...][2]string{{"user", o.GetUser()}, {"role", o.GetRole()}, {"type", o.GetType()}, {"level", o.GetLevel()}} {
			if kv[1] != "" {
				c.HostConfig.SecurityOpt = append(c.HostConfig.SecurityOpt, "label="+kv[0]+":"+kv[1])
			}
		}
		return nil
	}
}

// secPaths sets MaskedPaths/ReadonlyPaths (API 1.38, below the oldest
// supported) when given. Empty lists leave them nil, so Docker applies its
// defaults: safer for clients that send none. The kubelet sends its default
// lists, and empty ones for procMount Unmasked, which the wire cannot tell
// from absent; Unmasked needs a user namespace, refused anyway.
func secPaths(masked, readonly []string) cfgOpt {
	return func(c *Created) error {
		for _, p := range slices.Concat(masked, readonly) {
			if !path.IsAbs(p) {
				return cfgInvalid("masked/readonly path %q is not absolute", p)
			}
		}
		if len(masked) > 0 {
			c.HostConfig.MaskedPaths = masked
		}
		if len(readonly) > 0 {
			c.HostConfig.ReadonlyPaths = readonly
		}
		return nil
	}
}

// secPrivileged: with HostCapabilities nil Docker's privileged mode works and
// is used. Otherwise privileged mode is rebuilt from the host, as containerd
// does: every host capability, every host device with a device cgroup rule
// allowing all, no seccomp, AppArmor or SELinux confinement, nothing masked
// or read-only (empty, non-nil path lists), writable cgroupfs on API 1.48+
// (Docker 28's "writable-cgroups"). What cannot be rebuilt, a writable /sys
// (and cgroupfs before 1.48), is reported in Ignored.
func secPrivileged(opts ContainerOptions, api string) cfgOpt {
	return func(c *Created) error {
		if opts.HostCapabilities == nil {
			c.HostConfig.Privileged = true
			return nil
		}
		if opts.HostDevices == nil {
			return cfgUnsupported("privileged: HostCapabilities is set but HostDevices is not")
		}
		devs, err := opts.HostDevices()
		if err != nil {
			return fmt.Errorf("privileged: listing host devices: %w", err)
		}
		h := c.HostConfig
		for _, d := range devs {
			if slices.ContainsFunc(h.Devices, func(x container.DeviceMapping) bool { return x.PathInContainer == d.PathInContainer }) {
				continue // a device the container asked for keeps its mapping
			}
			if d.CgroupPermissions == "" {
				d.CgroupPermissions = "rwm"
			}
			h.Devices = append(h.Devices, d)
		}
		h.CapAdd, h.CapDrop = slices.Clone(opts.HostCapabilities), nil
		h.DeviceCgroupRules = append(h.DeviceCgroupRules, "a *:* rwm")
		h.SecurityOpt = append(h.SecurityOpt, "seccomp=unconfined", "apparmor=unconfined", "label=disable")
		h.MaskedPaths, h.ReadonlyPaths = []string{}, []string{}
		ro := "/sys and /sys/fs/cgroup stay"
		if !apiLess(api, "1.48") {
			h.SecurityOpt = append(h.SecurityOpt, "writable-cgroups=true")
			ro = "/sys stays"
		}
		c.ignore("privileged", "rebuilt from the host's capabilities (Docker's privileged mode cannot start here): "+ro+" read-only")
		return nil
	}
}
