package translate

import (
	"slices"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// capsNames are the Linux capabilities by number (linux/capability.h), the
// names Docker validates CapAdd/CapDrop against.
var capsNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// ParseCapMask parses a capability set as /proc/<pid>/status prints it
// ("CapBnd:\t000001ffffffffff"): hexadecimal, optionally 0x-prefixed.
func ParseCapMask(hex string) (uint64, error) {
	s := strings.TrimPrefix(strings.TrimSpace(hex), "0x")
	mask, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, cfgInvalid("capability mask %q is not hexadecimal", hex)
	}
	return mask, nil
}

// CapabilitiesFromMask names the capabilities set in mask, up to lastCap
// (/proc/sys/kernel/cap_last_cap). Numbers this package cannot name (a kernel
// newer than CAP_CHECKPOINT_RESTORE) are left out: Docker could not name
// them either, so they can be neither added nor required.
// CapabilitiesFromMask(1<<(lastCap+1)-1, lastCap) is the set Docker's
// privileged mode asks for on that kernel.
func CapabilitiesFromMask(mask uint64, lastCap int) []string {
	out := []string{}
	for i := 0; i <= lastCap && i < len(capsNames); i++ {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, capsNames[i])
		}
	}
	return out
}

// capsNormalize turns a CRI capability name ("chown", "CAP_CHOWN", "all")
// into Docker's spelling ("CAP_CHOWN", "ALL").
func capsNormalize(field, name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "ALL" {
		return n, nil
	}
	n = "CAP_" + strings.TrimPrefix(n, "CAP_")
	if n == "CAP_" || strings.ContainsFunc(n, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' }) {
		return "", cfgInvalid("%s: %q is not a capability name", field, name)
	}
	return n, nil
}

func capsNormalizeAll(field string, names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		c, err := capsNormalize(field, n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// capsOpt maps add/drop capabilities with Kubernetes' semantics, which
// differ from Docker's: in Kubernetes (containerd) a dropped capability is
// dropped even when also added, and drop ALL beats add ALL, while Docker lets
// an added capability survive its drop and add ALL beat drop ALL. The lists
// are resolved here so that Docker's rules give Kubernetes' result.
// (add_ambient_capabilities is refused by secContainer.)
//
// host is ContainerOptions.HostCapabilities: when set, ALL is expanded to it
// (Docker's ALL would ask for capabilities this host lacks and fail to
// start), and adding a capability outside it is refused up front.
func capsOpt(caps *runtimeapi.Capability, host []string) cfgOpt {
	return func(c *Created) error {
		add, err := capsNormalizeAll("add_capabilities", caps.GetAddCapabilities())
		if err != nil {
			return err
		}
		drop, err := capsNormalizeAll("drop_capabilities", caps.GetDropCapabilities())
		if err != nil {
			return err
		}
		dropAll := slices.Contains(drop, "ALL")
		add = slices.DeleteFunc(add, func(a string) bool {
			return slices.Contains(drop, a) || (a == "ALL" && dropAll)
		})
		for _, a := range add {
			if host != nil && a != "ALL" && !slices.Contains(host, a) {
				return cfgUnsupported("add_capabilities %s: not in this host's capability bounding set", a)
			}
		}
		if slices.Contains(add, "ALL") && host != nil {
			add = slices.DeleteFunc(slices.Clone(host), func(h string) bool { return slices.Contains(drop, h) })
		}
		if len(add) > 0 {
			c.HostConfig.CapAdd = add
		}
		if len(drop) > 0 {
			c.HostConfig.CapDrop = drop
		}
		return nil
	}
}
