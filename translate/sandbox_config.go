package translate

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// SandboxOptions is what the shim decides for a pause container, not the
// kubelet.
type SandboxOptions struct {
	Image        string            // pause image reference
	Labels       map[string]string // Docker labels, already built by the shim
	NetworkMode  string            // for pods without host network: "bridge" or "none"
	CgroupDriver string            // "cgroupfs" or "systemd", from docker info ("" = cgroupfs)
	OOMScoreAdj  int               // already clamped by the shim (dockershim used -998)
	APIVersion   string            // negotiated Docker API version ("" = 1.41, the oldest supported)
}

// Created is a Docker create request built from a CRI config.
type Created struct {
	Config     *container.Config
	HostConfig *container.HostConfig
	// Ignored lists, as "field: reason", the CRI fields Docker cannot
	// express and that are documented no-ops, for the shim to log.
	Ignored []string
}

// cfgOpt is one builder step, in the manner of containerd's SpecOpts: it
// fills part of the request from the CRI values it closes over, or says why
// it cannot.
type cfgOpt func(*Created) error

func (c *Created) apply(opts ...cfgOpt) error {
	for _, o := range opts {
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}

func (c *Created) ignore(field, reason string) {
	c.Ignored = append(c.Ignored, field+": "+reason)
}

func cfgInvalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
}

func cfgUnsupported(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, a...)...)
}

// cfgMinAPI is Docker 20.10's API, the oldest this project supports.
const cfgMinAPI = "1.41"

// cfgAPI normalises the negotiated API version: "" means the oldest
// supported, so an unset version never enables a field an old daemon would
// reject or, worse, silently drop.
func cfgAPI(v string) (string, error) {
	if v == "" {
		return cfgMinAPI, nil
	}
	if apiLess(v, cfgMinAPI) {
		return "", cfgUnsupported("Docker API %s: 1.41 (Docker 20.10) or newer is required", v)
	}
	return v, nil
}

// SandboxCreateConfig builds the pause container of a pod.
//
// Mapped: hostname (only without host network: Docker refuses a hostname with
// the host's UTS namespace), namespaces (network: host or opts.NetworkMode;
// IPC: host or "shareable" so app containers can join it; PID: host or
// private; UTS: host with host network; user: see cfgUserns), port mappings
// (ExposedPorts/PortBindings; host_port 0 only exposes; with NetworkMode
// "none" Docker publishes nothing and the ports stay on record for the
// shim's CNI portmap), sysctls (validated, see sysctlOpt), cgroup_parent
// (cfgCgroupParent), runtimeHandler (HostConfig.Runtime, "" = Docker's
// default), the security context (secSandbox), OomScoreAdj = opts.OOMScoreAdj,
// CPUShares 2 and ShmSize 64 MiB as dockershim, RestartPolicy "no".
//
// Consumed by the shim, not here: metadata (name), labels and annotations
// (opts.Labels), log_directory, dns_config (the shim writes ResolvConf into
// the container's resolv.conf: HostConfig.DNS is refused by Docker with host
// network; it is validated here all the same).
//
// Ignored: port_mappings with host network (the pod uses the node's ports),
// hostname with host network, linux.resources and linux.overhead (Docker has
// no pod cgroup; the kubelet already enforces pod limits on cgroup_parent,
// which it creates), windows (Linux host).
func SandboxCreateConfig(cfg *runtimeapi.PodSandboxConfig, runtimeHandler string, opts SandboxOptions) (*Created, error) {
	if cfg == nil {
		return nil, cfgInvalid("pod sandbox config is missing")
	}
	if opts.Image == "" {
		return nil, cfgInvalid("pause image is empty")
	}
	if opts.OOMScoreAdj < -1000 || opts.OOMScoreAdj > 1000 {
		return nil, cfgInvalid("sandbox oom_score_adj %d is outside [-1000, 1000]", opts.OOMScoreAdj)
	}
	if _, err := cfgAPI(opts.APIVersion); err != nil {
		return nil, err
	}
	lx := cfg.GetLinux()
	ns := lx.GetSecurityContext().GetNamespaceOptions()
	hostNet := ns.GetNetwork() == runtimeapi.NamespaceMode_NODE
	hostIPC := ns.GetIpc() == runtimeapi.NamespaceMode_NODE
	c := &Created{
		Config: &container.Config{Image: opts.Image, Labels: opts.Labels},
		HostConfig: &container.HostConfig{
			Runtime:       runtimeHandler,
			OomScoreAdj:   opts.OOMScoreAdj,
			ShmSize:       64 << 20,
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
			// The pause container only sleeps; 2 is the kernel's minimum.
			Resources: container.Resources{CPUShares: 2},
		},
	}
	err := c.apply(
		cfgSbxNamespaces(ns, opts.NetworkMode, cfg.GetHostname()),
		cfgUserns(ns.GetUsernsOptions()),
		cfgSbxPorts(cfg.GetPortMappings(), hostNet),
		resolvCheck(cfg.GetDnsConfig()),
		sysctlOpt(lx.GetSysctls(), hostNet, hostIPC),
		cfgCgroupParent(lx.GetCgroupParent(), opts.CgroupDriver),
		secSandbox(lx.GetSecurityContext()),
		cfgSbxPodResources(lx),
		cfgWindows(cfg.GetWindows() != nil),
	)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// sbxHostname is what a pod's hostname may be: Docker writes it into the
// pod's /etc/hosts as it is (a newline would add a hosts entry), and the
// kernel takes at most 64 bytes. The kubelet sends a DNS label or, with
// setHostnameAsFQDN, a name of at most 64 bytes.
var sbxHostname = regexp.MustCompile(`^[a-zA-Z0-9._-]{0,64}$`)

func cfgSbxNamespaces(ns *runtimeapi.NamespaceOption, networkMode, hostname string) cfgOpt {
	return func(c *Created) error {
		switch ns.GetNetwork() {
		case runtimeapi.NamespaceMode_NODE:
			c.HostConfig.NetworkMode = "host"
			c.HostConfig.UTSMode = "host"
			if hostname != "" {
				c.ignore("hostname", "host network: the pod has the node's hostname")
			}
		case runtimeapi.NamespaceMode_POD, runtimeapi.NamespaceMode_CONTAINER:
			if !sbxHostname.MatchString(hostname) {
				return cfgInvalid("hostname %q: want at most 64 letters, digits, '.', '-' or '_'", hostname)
			}
			c.HostConfig.NetworkMode = container.NetworkMode(networkMode)
			c.Config.Hostname = hostname
		default:
			return cfgInvalid("network namespace mode %s for a pod", ns.GetNetwork())
		}
		switch ns.GetIpc() {
		case runtimeapi.NamespaceMode_NODE:
			c.HostConfig.IpcMode = container.IPCModeHost
		case runtimeapi.NamespaceMode_POD, runtimeapi.NamespaceMode_CONTAINER:
			c.HostConfig.IpcMode = container.IPCModeShareable
		default:
			return cfgInvalid("ipc namespace mode %s for a pod", ns.GetIpc())
		}
		switch ns.GetPid() {
		case runtimeapi.NamespaceMode_NODE:
			c.HostConfig.PidMode = "host"
		case runtimeapi.NamespaceMode_POD, runtimeapi.NamespaceMode_CONTAINER:
		default:
			return cfgInvalid("pid namespace mode %s for a pod", ns.GetPid())
		}
		return nil
	}
}

// cfgUserns: Docker has no per-container user namespace with mappings (only
// the daemon-wide userns-remap), so a pod user namespace is refused. NODE is
// mapped to UsernsMode "host", which is what it means on a remapping daemon
// and a no-op elsewhere; nil (kubelets before user namespaces) is left to
// Docker's default.
func cfgUserns(u *runtimeapi.UserNamespace) cfgOpt {
	return func(c *Created) error {
		if u == nil {
			return nil
		}
		switch u.GetMode() {
		case runtimeapi.NamespaceMode_NODE:
			c.HostConfig.UsernsMode = "host"
		case runtimeapi.NamespaceMode_POD:
			return cfgUnsupported("userns_options mode POD: Docker cannot give a container its own user namespace mappings")
		default:
			return cfgInvalid("userns_options mode %s", u.GetMode())
		}
		return nil
	}
}

func cfgSbxPorts(pm []*runtimeapi.PortMapping, hostNet bool) cfgOpt {
	return func(c *Created) error {
		if len(pm) == 0 {
			return nil
		}
		if hostNet {
			c.ignore("port_mappings", "host network: the pod listens on the node's ports directly")
			return nil
		}
		exposed, bindings := network.PortSet{}, network.PortMap{}
		for i, p := range pm {
			proto := strings.ToLower(p.GetProtocol().String())
			if _, ok := runtimeapi.Protocol_value[p.GetProtocol().String()]; !ok {
				return cfgInvalid("port_mappings[%d].protocol %d", i, p.GetProtocol())
			}
			if p.GetContainerPort() < 1 || p.GetContainerPort() > 65535 {
				return cfgInvalid("port_mappings[%d].container_port %d is outside [1, 65535]", i, p.GetContainerPort())
			}
			if p.GetHostPort() < 0 || p.GetHostPort() > 65535 {
				return cfgInvalid("port_mappings[%d].host_port %d is outside [0, 65535]", i, p.GetHostPort())
			}
			// The zero Addr is no host IP: Docker's "all addresses".
			var hostIP netip.Addr
			if ip := p.GetHostIp(); ip != "" {
				var err error
				if hostIP, err = netip.ParseAddr(ip); err != nil {
					return cfgInvalid("port_mappings[%d].host_ip %q is not an IP address", i, ip)
				}
			}
			port, _ := network.PortFrom(uint16(p.GetContainerPort()), network.IPProtocol(proto)) // proto is never empty
			exposed[port] = struct{}{}
			if p.GetHostPort() == 0 { // CRI: 0 means no host port, not a random one
				continue
			}
			bindings[port] = append(bindings[port], network.PortBinding{HostIP: hostIP, HostPort: strconv.Itoa(int(p.GetHostPort()))})
		}
		c.Config.ExposedPorts = exposed
		if len(bindings) > 0 {
			c.HostConfig.PortBindings = bindings
		}
		return nil
	}
}

// cfgCgroupParent sets the pod's cgroup (the sandbox's, reused by its app
// containers). The kubelet sends a cgroupfs-style path; Docker's systemd
// driver wants the slice name ("kubepods-burstable-pod1.slice"), which is
// the path's last element, as dockershim did. A parent that is not a valid
// cgroup for the daemon's driver is refused here, naming what is wrong:
// Docker would pass it on, and runc's failure would reach the kubelet as an
// internal error. A ".." element would place the pod outside the kubelet's
// hierarchy; a relative path would land under dockerd's own cgroup.
func cfgCgroupParent(parent, driver string) cfgOpt {
	return func(c *Created) error {
		if parent == "" {
			return nil
		}
		if strings.ContainsAny(parent, "\x00\n") {
			return cfgInvalid("cgroup_parent %q holds a NUL or a newline", parent)
		}
		if cfgHasDotDot(parent) {
			return cfgInvalid("cgroup_parent %q has a \"..\" element", parent)
		}
		switch driver {
		case "", "cgroupfs":
			if err := cgroupfsParent(parent); err != nil {
				return err
			}
			c.HostConfig.CgroupParent = parent
		case "systemd":
			slice := path.Base(parent)
			if !strings.HasSuffix(slice, ".slice") || len(slice) <= len(".slice") || !systemdUnitName(slice) {
				return cfgInvalid("cgroup_parent %q: the systemd cgroup driver needs a path ending in a \"<name>.slice\"", parent)
			}
			c.HostConfig.CgroupParent = slice
		default:
			return cfgInvalid("cgroup driver %q: want cgroupfs or systemd", driver)
		}
		return nil
	}
}

// cgroupfsParent checks a cgroup_parent for the cgroupfs driver: an absolute
// path of plain elements, not a systemd slice name (the kubelet and Docker
// disagree on the driver).
func cgroupfsParent(parent string) error {
	if !strings.HasPrefix(parent, "/") {
		return cfgInvalid("cgroup_parent %q: the cgroupfs cgroup driver needs an absolute path", parent)
	}
	rest := strings.TrimSuffix(parent[1:], "/")
	for _, e := range strings.Split(rest, "/") {
		if rest != "" && (e == "" || e == ".") {
			return cfgInvalid("cgroup_parent %q has an empty or \".\" element", parent)
		}
	}
	if strings.HasSuffix(path.Base(parent), ".slice") {
		return cfgInvalid("cgroup_parent %q is a systemd slice, but Docker uses the cgroupfs cgroup driver: "+
			"set the kubelet's cgroupDriver to cgroupfs, or Docker's to systemd", parent)
	}
	return nil
}

// systemdUnitName reports whether s has only the characters systemd allows in
// a unit name.
func systemdUnitName(s string) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":_.-\\", r)
		if !ok {
			return false
		}
	}
	return true
}

// cfgHasDotDot reports whether a slash-separated path has a ".."
// element. It looks at the text only: paths are never resolved here.
func cfgHasDotDot(p string) bool {
	for p != "" {
		var e string
		e, p, _ = strings.Cut(p, "/")
		if e == ".." {
			return true
		}
	}
	return false
}

func cfgSbxPodResources(lx *runtimeapi.LinuxPodSandboxConfig) cfgOpt {
	return func(c *Created) error {
		const why = "Docker has no pod cgroup; the kubelet enforces pod limits on cgroup_parent, which it creates and sizes itself"
		if lx.GetResources() != nil {
			c.ignore("linux.resources", why)
		}
		if lx.GetOverhead() != nil {
			c.ignore("linux.overhead", why)
		}
		return nil
	}
}

func cfgWindows(set bool) cfgOpt {
	return func(c *Created) error {
		if set {
			c.ignore("windows", "Linux host")
		}
		return nil
	}
}
