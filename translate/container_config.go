package translate

import (
	"path"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerOptions is what the shim decides for an app container.
type ContainerOptions struct {
	SandboxID    string            // the pause container, whose namespaces the container joins
	Labels       map[string]string // Docker labels, already built by the shim
	CgroupDriver string            // "cgroupfs" or "systemd", from docker info ("" = cgroupfs)
	APIVersion   string            // negotiated Docker API version ("" = 1.41)
	// SELinux: the daemon relabels mounts (dockerd --selinux-enabled). Without
	// it a mount's selinux_relabel has nothing to do, as under containerd on a
	// host without SELinux, and is dropped (see mntOpt).
	SELinux bool
	// ImageUser is the image's USER. When the container sets no user Docker
	// runs it, so its numeric ids are range-checked (run_as_group without a
	// user is refused as CRI requires, not combined with it: see secUser).
	ImageUser string
	// Accounts are the image's /etc/passwd and /etc/group, read by the shim
	// when NeedsAccounts says the supplemental groups policy needs them.
	Accounts *Accounts
	// HostCapabilities is the host's capability bounding set ("CAP_CHOWN",
	// ...). When it lacks a capability Docker knows, Docker's privileged mode
	// cannot start here, so privileged containers and CapAdd ALL are built
	// from this set instead. Nil means Docker's privileged mode works.
	HostCapabilities []string
	// MinOOMScoreAdj, when set, raises a lower oom_score_adj to it (the
	// daemon lacks CAP_SYS_RESOURCE).
	MinOOMScoreAdj *int
	// LoadSeccompProfile reads a Localhost seccomp profile (injected I/O).
	LoadSeccompProfile func(path string) ([]byte, error)
	// HostDevices lists all host devices, for privileged containers built
	// from HostCapabilities (injected I/O).
	HostDevices func() ([]container.DeviceMapping, error)
	// RuntimeHandler is the pod's OCI runtime, as its pause container has it
	// (HostConfig.Runtime): ContainerConfig does not carry it.
	RuntimeHandler string
	// LogConfig is Docker's log driver for the container; the zero value
	// keeps Docker's default. The shim copies the output into the CRI log
	// file from Docker's logs, so it sets a small json-file buffer.
	LogConfig container.LogConfig
}

// ContainerCreateConfig builds an app container of the pod whose config is
// sandbox.
//
// Mapped: image (as given: the kubelet passes the image ID), command
// (Entrypoint) and args (Cmd; args alone keep the image's ENTRYPOINT, command
// alone drops its CMD), working_dir, envs, tty, stdin (OpenStdin),
// stdin_once, stop_signal (RUNTIME_DEFAULT: the image's or Docker's),
// namespaces (cfgCtrNamespaces), mounts (mntOpt), devices (cfgCtrDevices),
// CDI_devices (cfgCtrCDI), linux.resources (resOpt), the security context
// (secContainer), the sandbox's cgroup_parent (cfgCgroupParent). Docker's
// health check is disabled (Healthcheck NONE, as dockershim): CRI has its
// own probes. RestartPolicy "no": the kubelet restarts containers.
//
// From the options: the pod's runtime handler (HostConfig.Runtime: the
// ContainerConfig does not carry it) and Docker's log driver (LogConfig).
//
// Consumed by the shim, not here: metadata (name), labels and annotations
// (opts.Labels), log_path (LogPath), image.annotations, user_specified_image
// and runtime_handler (pull-time data).
//
// Ignored: windows (Linux host), plus the per-field notes of resOpt, mntOpt
// and secContainer.
func ContainerCreateConfig(cfg *runtimeapi.ContainerConfig, sandbox *runtimeapi.PodSandboxConfig, opts ContainerOptions) (*Created, error) {
	switch {
	case cfg == nil:
		return nil, cfgInvalid("container config is missing")
	case sandbox == nil:
		return nil, cfgInvalid("sandbox config is missing")
	case opts.SandboxID == "":
		return nil, cfgInvalid("sandbox ID is empty")
	case cfg.GetImage().GetImage() == "":
		return nil, cfgInvalid("image is empty")
	}
	api, err := cfgAPI(opts.APIVersion)
	if err != nil {
		return nil, err
	}
	lx, sbx := cfg.GetLinux(), sandbox.GetLinux().GetSecurityContext()
	c := &Created{
		Config: &container.Config{
			Image:       cfg.GetImage().GetImage(),
			Labels:      opts.Labels,
			Tty:         cfg.GetTty(),
			OpenStdin:   cfg.GetStdin(),
			StdinOnce:   cfg.GetStdinOnce(),
			Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
		},
		HostConfig: &container.HostConfig{
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
			Runtime:       opts.RuntimeHandler,
			LogConfig:     opts.LogConfig,
		},
	}
	err = c.apply(
		cfgCtrProcess(cfg.GetCommand(), cfg.GetArgs(), cfg.GetWorkingDir()),
		cfgCtrEnv(cfg.GetEnvs()),
		cfgCtrStopSignal(cfg.GetStopSignal()),
		cfgCtrNamespaces(lx.GetSecurityContext().GetNamespaceOptions(), sbx.GetNamespaceOptions(), opts.SandboxID),
		cfgUserns(lx.GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()),
		cfgCgroupParent(sandbox.GetLinux().GetCgroupParent(), opts.CgroupDriver),
		mntOpt(cfg.GetMounts(), api, opts.SELinux),
		cfgCtrDevices(cfg.GetDevices()),
		cfgCtrCDI(cfg.GetCDIDevices(), api),
		resOpt(lx.GetResources(), opts.MinOOMScoreAdj),
		secContainer(lx.GetSecurityContext(), sbx.GetPrivileged(), opts, api), // after devices: privileged adds to them
		cfgWindows(cfg.GetWindows() != nil),
	)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func cfgCtrProcess(command, args []string, dir string) cfgOpt {
	return func(c *Created) error {
		if len(command) > 0 {
			c.Config.Entrypoint = command
		}
		if len(args) > 0 {
			c.Config.Cmd = args
		}
		if dir != "" && !path.IsAbs(dir) {
			return cfgInvalid("working_dir %q is not absolute", dir)
		}
		c.Config.WorkingDir = dir
		return nil
	}
}

// cfgCtrEnv: errors name the variable, never its value (it may be a secret).
func cfgCtrEnv(envs []*runtimeapi.KeyValue) cfgOpt {
	return func(c *Created) error {
		c.Config.Env = slices.Grow(c.Config.Env, len(envs))
		for i, kv := range envs {
			k, v := kv.GetKey(), string(kv.GetValue())
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return cfgInvalid("envs[%d]: name %q is empty or contains '=' or NUL", i, k)
			}
			if strings.Contains(v, "\x00") {
				return cfgInvalid("envs[%d] %s: the value contains NUL", i, k)
			}
			c.Config.Env = append(c.Config.Env, k+"="+v)
		}
		return nil
	}
}

// cfgCtrStopSignal spells CRI's enum as Docker parses it: SIGNAL_SIGTERM is
// "SIGTERM", SIGNAL_SIGRTMINPLUS1 "SIGRTMIN+1", SIGNAL_SIGRTMAXMINUS1
// "SIGRTMAX-1".
func cfgCtrStopSignal(s runtimeapi.Signal) cfgOpt {
	return func(c *Created) error {
		if s == runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT {
			return nil
		}
		name, ok := runtimeapi.Signal_name[int32(s)]
		if !ok {
			return cfgInvalid("stop_signal %d is unknown", s)
		}
		name = strings.TrimPrefix(name, "SIGNAL_")
		name = strings.Replace(name, "RTMINPLUS", "RTMIN+", 1)
		c.Config.StopSignal = strings.Replace(name, "RTMAXMINUS", "RTMAX-", 1)
		return nil
	}
}

// cfgCtrNamespaces joins the pause container's namespaces. Network: POD or
// NODE join the sandbox (NODE only in a host-network pod), with the host's
// UTS namespace in a host-network pod, as the sandbox. IPC: POD joins, NODE
// is the host's, CONTAINER private. PID: POD joins, CONTAINER private, NODE
// the host's, TARGET another container's (target_id).
func cfgCtrNamespaces(ns, sandbox *runtimeapi.NamespaceOption, sandboxID string) cfgOpt {
	return func(c *Created) error {
		join := "container:" + sandboxID
		hostNet := sandbox.GetNetwork() == runtimeapi.NamespaceMode_NODE
		switch ns.GetNetwork() {
		case runtimeapi.NamespaceMode_NODE:
			if !hostNet {
				return cfgInvalid("network namespace NODE in a pod without host network")
			}
		case runtimeapi.NamespaceMode_POD:
		default:
			return cfgUnsupported("network namespace mode %s: app containers share the pod's network", ns.GetNetwork())
		}
		c.HostConfig.NetworkMode = container.NetworkMode(join)
		if hostNet {
			c.HostConfig.UTSMode = "host"
		}
		switch ns.GetIpc() {
		case runtimeapi.NamespaceMode_POD:
			c.HostConfig.IpcMode = container.IpcMode(join)
		case runtimeapi.NamespaceMode_NODE:
			c.HostConfig.IpcMode = container.IPCModeHost
		case runtimeapi.NamespaceMode_CONTAINER:
			c.HostConfig.IpcMode = container.IPCModePrivate
		default:
			return cfgUnsupported("ipc namespace mode %s: Docker joins only the pod's or the host's", ns.GetIpc())
		}
		switch ns.GetPid() {
		case runtimeapi.NamespaceMode_POD:
			c.HostConfig.PidMode = container.PidMode(join)
		case runtimeapi.NamespaceMode_CONTAINER:
		case runtimeapi.NamespaceMode_NODE:
			c.HostConfig.PidMode = "host"
		case runtimeapi.NamespaceMode_TARGET:
			if ns.GetTargetId() == "" {
				return cfgInvalid("pid namespace TARGET without target_id")
			}
			c.HostConfig.PidMode = container.PidMode("container:" + ns.GetTargetId())
		default:
			return cfgInvalid("pid namespace mode %s is unknown", ns.GetPid())
		}
		return nil
	}
}

// cfgCtrDevices maps devices to HostConfig.Devices; empty permissions are "rwm".
func cfgCtrDevices(devs []*runtimeapi.Device) cfgOpt {
	return func(c *Created) error {
		for i, d := range devs {
			host, ctr, perm := d.GetHostPath(), d.GetContainerPath(), d.GetPermissions()
			if !path.IsAbs(host) || cfgHasDotDot(host) {
				return cfgInvalid("devices[%d].host_path %q must be absolute without \"..\"", i, host)
			}
			if !path.IsAbs(ctr) || cfgHasDotDot(ctr) {
				return cfgInvalid("devices[%d].container_path %q must be absolute without \"..\"", i, ctr)
			}
			if perm == "" {
				perm = "rwm"
			}
			for j, r := range perm {
				if !strings.ContainsRune("rwm", r) || strings.ContainsRune(perm[:j], r) {
					return cfgInvalid("devices[%d].permissions %q: want some of r, w, m", i, d.GetPermissions())
				}
			}
			c.HostConfig.Devices = append(c.HostConfig.Devices, container.DeviceMapping{PathOnHost: host, PathInContainer: ctr, CgroupPermissions: perm})
		}
		return nil
	}
}

// cfgCtrCDI maps CDI devices to a DeviceRequest with Docker's "cdi" driver,
// which Docker has from API 1.44 (Docker 25; before 28 only with the cdi
// feature enabled, else the create fails naming the driver). Older APIs:
// ErrUnsupported, as a device the pod needs must not silently go missing.
func cfgCtrCDI(devs []*runtimeapi.CDIDevice, api string) cfgOpt {
	return func(c *Created) error {
		if len(devs) == 0 {
			return nil
		}
		ids := make([]string, 0, len(devs))
		for i, d := range devs {
			if kind, name, ok := strings.Cut(d.GetName(), "="); !ok || kind == "" || name == "" {
				return cfgInvalid("CDI_devices[%d] %q is not a vendor/class=name device", i, d.GetName())
			}
			ids = append(ids, d.GetName())
		}
		if apiLess(api, "1.44") {
			return cfgUnsupported("CDI_devices %v: Docker takes CDI devices from API 1.44, this daemon speaks %s", ids, api)
		}
		c.HostConfig.DeviceRequests = append(c.HostConfig.DeviceRequests, container.DeviceRequest{Driver: "cdi", DeviceIDs: ids})
		return nil
	}
}

// LogPath joins the sandbox's log directory and the container's log path,
// refusing anything that escapes the directory ("../x", an absolute
// log_path, a log_path without a directory). It checks text only: the shim
// opens the result, in a directory the kubelet created.
func LogPath(logDirectory, logPath string) (string, error) {
	switch {
	case logPath == "":
		return "", nil
	case logDirectory == "":
		return "", cfgInvalid("log_path %q without a sandbox log_directory", logPath)
	case !path.IsAbs(logDirectory) || cfgHasDotDot(logDirectory):
		return "", cfgInvalid("log_directory %q must be absolute without \"..\"", logDirectory)
	case path.IsAbs(logPath) || cfgHasDotDot(logPath):
		return "", cfgInvalid("log_path %q must be relative without \"..\"", logPath)
	}
	dir := path.Clean(logDirectory)
	joined := path.Join(dir, logPath)
	if joined == dir || !strings.HasPrefix(joined, strings.TrimSuffix(dir, "/")+"/") {
		return "", cfgInvalid("log_path %q does not name a file in %q", logPath, logDirectory)
	}
	return joined, nil
}
