package translate

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// sysctlKey is Kubernetes' sysctl name syntax with "." separators.
var sysctlKey = regexp.MustCompile(`^[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*$`)

// sysctlSegment is one element of the slash form, where '.' may be part of
// a name.
var sysctlSegment = regexp.MustCompile(`^[a-z0-9]([-_.a-z0-9]*[a-z0-9])?$`)

// sysctlOpt validates a pod's sysctls and sets them on the pause container,
// whose network and IPC namespaces the app containers join.
//
// Since CVE-2022-0811 (a value "1+kernel.core_pattern=|/x" smuggling a second
// sysctl through a runtime that joined them with "+") nothing reaches Docker
// unless it is one namespaced sysctl: the key must be a well-formed name, the
// value may not contain '+', '=', a newline or NUL, and the key must be one
// the pod's own namespaces scope (Kubernetes' list): kernel.shm*, kernel.msg*,
// kernel.sem and fs.mqueue.* (IPC, refused with host IPC) and net.* (refused
// with host network). Anything else would change the node.
func sysctlOpt(sysctls map[string]string, hostNet, hostIPC bool) cfgOpt {
	return func(c *Created) error {
		if len(sysctls) == 0 {
			return nil
		}
		out := make(map[string]string, len(sysctls))
		for _, raw := range slices.Sorted(maps.Keys(sysctls)) { // first error is stable
			key, err := sysctlNormalize(raw)
			if err != nil {
				return err
			}
			val := sysctls[raw]
			if strings.ContainsAny(val, "+=\n\x00") {
				return cfgInvalid("sysctl %q: value %q contains '+', '=', a newline or NUL", raw, val)
			}
			switch {
			case sysctlIsIPC(key):
				if hostIPC {
					return cfgInvalid("sysctl %q: the pod uses the host IPC namespace, so it would change the node", raw)
				}
			case strings.HasPrefix(key, "net."):
				if hostNet {
					return cfgInvalid("sysctl %q: the pod uses the host network, so it would change the node", raw)
				}
			default:
				return cfgInvalid("sysctl %q is not namespaced: it would change the node", raw)
			}
			if _, dup := out[key]; dup {
				return cfgInvalid("sysctl %q is given twice (with '.' and '/' separators)", raw)
			}
			out[key] = val
		}
		c.HostConfig.Sysctls = out
		return nil
	}
}

// sysctlNormalize converts Kubernetes' slash form to Docker's dotted one.
// Kubernetes' rule: when the first separator is '/', slashes separate and
// dots are part of a name (an interface "eth0.100"), so the two swap. runc
// reads every '.' as a separator, so such a dotted name cannot be expressed.
func sysctlNormalize(raw string) (string, error) {
	key := raw
	if i := strings.IndexAny(raw, "./"); i >= 0 && raw[i] == '/' {
		for _, seg := range strings.Split(raw, "/") {
			if !sysctlSegment.MatchString(seg) {
				return "", cfgInvalid("sysctl %q is not a valid sysctl name", raw)
			}
		}
		if strings.Contains(raw, ".") {
			return "", cfgUnsupported("sysctl %q: a name containing '.' cannot be passed to runc, which reads '.' as a separator", raw)
		}
		key = strings.ReplaceAll(raw, "/", ".")
	}
	if !sysctlKey.MatchString(key) {
		return "", cfgInvalid("sysctl %q is not a valid sysctl name", raw)
	}
	return key, nil
}

func sysctlIsIPC(key string) bool {
	return strings.HasPrefix(key, "kernel.shm") || strings.HasPrefix(key, "kernel.msg") ||
		key == "kernel.sem" || strings.HasPrefix(key, "fs.mqueue.")
}
