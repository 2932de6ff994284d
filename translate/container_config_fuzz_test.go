package translate

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const fuzzSandboxID = "0123abcd"

// fuzzHostCaps is a bounding set without CAP_SYS_RESOURCE, as on the hosts
// this runs on: privileged mode is rebuilt from it.
var fuzzHostCaps = slices.DeleteFunc(slices.Clone(capsNames[:]), func(c string) bool { return c == "CAP_SYS_RESOURCE" })

var fuzzAPIs = [...]string{"", "1.41", "1.43", "1.44", "1.48", "1.51"}

// fuzzContainerSeeds are container configs, kubelet-like and hostile.
func fuzzContainerSeeds() []*runtimeapi.ContainerConfig {
	return []*runtimeapi.ContainerConfig{
		cfgTestContainer(nil),
		cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.LogPath = "app/0.log"
			c.Command, c.Args, c.WorkingDir = []string{"/bin/sh"}, []string{"-c", "sleep 1"}, "/work"
			c.Envs = []*runtimeapi.KeyValue{{Key: "A", Value: []byte("b=c")}}
			c.Mounts = []*runtimeapi.Mount{
				{HostPath: "/var/lib/kubelet/pods/u/volumes/x", ContainerPath: "/data", Readonly: true},
				{HostPath: "/host:colon", ContainerPath: "/in:colon", Propagation: runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
			}
			c.Devices = []*runtimeapi.Device{{HostPath: "/dev/null", ContainerPath: "/dev/n", Permissions: "rw"}}
			c.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: 102, CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 64 << 20, OomScoreAdj: -997}
			c.Linux.SecurityContext.RunAsUser = &runtimeapi.Int64Value{Value: 1000}
			c.Linux.SecurityContext.RunAsGroup = &runtimeapi.Int64Value{Value: 1000}
			c.Linux.SecurityContext.SupplementalGroupsPolicy = runtimeapi.SupplementalGroupsPolicy_Strict
			c.Linux.SecurityContext.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}}
			c.Linux.SecurityContext.Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/var/lib/kubelet/seccomp/p.json"}
		}),
		cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.Privileged = true
			c.Linux.SecurityContext.Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"ALL"}}
		}),
		// Hostile: wrapping ids, a numeric user name, traversal, a ':' that
		// would add a bind field, NUL in the environment, huge resources.
		cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.RunAsUser = &runtimeapi.Int64Value{Value: 1 << 32}
			c.Linux.SecurityContext.RunAsGroup = &runtimeapi.Int64Value{Value: -1}
			c.Linux.SecurityContext.SupplementalGroups = []int64{1 << 31}
		}),
		cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.RunAsUsername = "4294967296"
		}),
		// A user name whose passwd entry (fuzzContainerOptions) has ids
		// that wrap; Strict makes the shim spell out the group.
		cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.Linux.SecurityContext.RunAsUsername = "big"
			c.Linux.SecurityContext.SupplementalGroupsPolicy = runtimeapi.SupplementalGroupsPolicy_Strict
		}),
		cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.LogPath = "../../../etc/cron.d/x"
			c.Mounts = []*runtimeapi.Mount{{HostPath: "/var/lib/../../etc", ContainerPath: "/x:/etc:rw"}}
			c.Devices = []*runtimeapi.Device{{HostPath: "/dev/../etc/shadow", ContainerPath: "/dev/x", Permissions: "rwmx"}}
			c.Envs = []*runtimeapi.KeyValue{{Key: "A=B", Value: []byte("x")}, {Key: "LD_PRELOAD", Value: []byte("\x00")}}
		}),
		cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
			c.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: -1, MemoryLimitInBytes: -5, MemorySwapLimitInBytes: 1, OomScoreAdj: -1001, CpusetCpus: "0-1\n"}
			c.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_TARGET}
			c.Linux.SecurityContext.Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "x y"}
		}),
	}
}

// FuzzContainerConfig decodes a ContainerConfig and its PodSandboxConfig
// from the wire, with the log directory, log path and image USER also given
// directly, and translates them as CreateContainer does (on an unrestricted
// host and on one like these, without CAP_SYS_RESOURCE). A config is
// refused with a classified error or gives a container that: runs as ids in
// [0, 2^31-1] (its own user or the image's); has bind mounts of exactly
// three fields and clean absolute paths; devices with clean absolute paths;
// an environment of NAME=value without NUL; the pod's network and IPC
// namespaces (or the host's when allowed); privileges only in a privileged
// pod and, on a restricted host, only the host's capabilities; resources in
// the kernel's ranges and no OOM score below the host's floor. Its log path
// stays in the pod's log directory, its name parses back to its metadata,
// and its labels read back as given with the shim's internals intact.
func FuzzContainerConfig(f *testing.F) {
	sandboxes := []*runtimeapi.PodSandboxConfig{
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) { p.LogDirectory = "/var/log/pods/default_web-0_uid" }),
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Linux.SecurityContext.Privileged = true
			p.Linux.SecurityContext.NamespaceOptions = &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}
		}),
	}
	for i, c := range fuzzContainerSeeds() {
		cb, err := proto.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		sb, err := proto.Marshal(sandboxes[i%len(sandboxes)])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cb, sb, "", "", "", uint8(i), i%2 == 0)
	}
	f.Add([]byte{}, []byte{}, "/var/log/pods/x", "app/0.log", "1000:1000", uint8(1), false)
	f.Add([]byte{}, []byte{}, "/var/log/pods/x", "../../etc/passwd", "4294967296", uint8(2), true)
	f.Add([]byte{}, []byte{}, "/", "x/./y//z", "+4294967296:0", uint8(3), true)
	f.Add([]byte{}, []byte{}, "relative", "/abs", "-1", uint8(4), false)
	f.Add([]byte{}, []byte{}, "/var/log/pods/x/..", ".", "root:99999999999", uint8(5), true)
	f.Fuzz(func(t *testing.T, data, sbData []byte, logDir, logPath, imageUser string, api uint8, restricted bool) {
		cfg, sb := &runtimeapi.ContainerConfig{}, &runtimeapi.PodSandboxConfig{}
		if proto.Unmarshal(data, cfg) != nil || proto.Unmarshal(sbData, sb) != nil {
			return // not messages gRPC would deliver
		}
		if !fuzzValidUTF8(logDir, logPath) {
			return // see fuzzValidUTF8 (imageUser comes from Docker: any bytes)
		}
		if logDir != "" || logPath != "" {
			sb.LogDirectory, cfg.LogPath = logDir, logPath
		}
		if cfg.Image == nil {
			cfg.Image = &runtimeapi.ImageSpec{Image: "sha256:" + hex64}
		}
		opts := fuzzContainerOptions(imageUser, fuzzAPIs[int(api)%len(fuzzAPIs)], restricted)
		lp, err := LogPath(sb.GetLogDirectory(), cfg.GetLogPath())
		if err != nil {
			fuzzClassified(t, "LogPath", err)
		} else {
			fuzzCheckLogPath(t, sb.GetLogDirectory(), cfg.GetLogPath(), lp)
		}
		c, err := ContainerCreateConfig(cfg, sb, opts)
		if err != nil {
			fuzzClassified(t, "ContainerCreateConfig", err)
		} else {
			fuzzCheckContainer(t, cfg, sb, c, opts)
		}
		if u, _, err := UpdateResources(cfg.GetLinux().GetResources(), opts); err != nil {
			fuzzClassified(t, "UpdateResources", err)
		} else {
			fuzzCheckResources(t, u.Resources)
		}
		fuzzCheckContainerName(t, sb.GetMetadata(), cfg.GetMetadata())
		fuzzCheckContainerLabels(t, cfg, lp)
	})
}

func fuzzContainerOptions(imageUser, api string, restricted bool) ContainerOptions {
	opts := ContainerOptions{
		SandboxID:          fuzzSandboxID,
		APIVersion:         api,
		ImageUser:          imageUser,
		LoadSeccompProfile: func(string) ([]byte, error) { return []byte(`{ "defaultAction": "SCMP_ACT_ALLOW" }`), nil },
		// The shim reads the accounts when NeedsAccounts says so.
		Accounts: &Accounts{
			Passwd: []byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\nbig:x:4294967296:4294967296:::\n"),
			Group:  []byte("root:x:0:\nwww:x:33:\nextra:x:50000:www,root\nhuge:x:4294967297:www\n"),
		},
	}
	if restricted {
		floor := 0
		opts.HostCapabilities, opts.MinOOMScoreAdj = fuzzHostCaps, &floor
		opts.HostDevices = func() ([]container.DeviceMapping, error) {
			return []container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/null"}}, nil
		}
	}
	return opts
}

func fuzzCheckContainer(t *testing.T, cfg *runtimeapi.ContainerConfig, sb *runtimeapi.PodSandboxConfig, c *Created, opts ContainerOptions) {
	t.Helper()
	h := c.HostConfig
	fuzzCheckHost(t, c, opts.ImageUser)
	fuzzCheckResources(t, h.Resources)
	fuzzCheckPaths(t, h)
	for _, e := range c.Config.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.Contains(e, "\x00") {
			t.Fatalf("environment entry %q", e)
		}
	}
	join := "container:" + opts.SandboxID
	hostNet := sb.GetLinux().GetSecurityContext().GetNamespaceOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
	if string(h.NetworkMode) != join || (h.UTSMode == "host") != hostNet {
		t.Fatalf("NetworkMode %q UTSMode %q: not the pod's", h.NetworkMode, h.UTSMode)
	}
	if string(h.IpcMode) != join && h.IpcMode != "host" && h.IpcMode != "private" {
		t.Fatalf("IpcMode %q", h.IpcMode)
	}
	sc := cfg.GetLinux().GetSecurityContext()
	privileged := sc.GetPrivileged() && sb.GetLinux().GetSecurityContext().GetPrivileged()
	if h.Privileged && (!privileged || opts.HostCapabilities != nil) {
		t.Fatalf("Privileged set (asked %v, pod %v, restricted host %v)", sc.GetPrivileged(), privileged, opts.HostCapabilities != nil)
	}
	for _, cp := range h.CapAdd {
		if opts.HostCapabilities != nil && !slices.Contains(opts.HostCapabilities, cp) {
			t.Fatalf("CapAdd %q is not in the host's bounding set", cp)
		}
	}
	if !privileged && len(h.DeviceCgroupRules) > 0 {
		t.Fatalf("DeviceCgroupRules %v without privilege", h.DeviceCgroupRules)
	}
	if opts.MinOOMScoreAdj != nil && h.OomScoreAdj < *opts.MinOOMScoreAdj {
		t.Fatalf("OomScoreAdj %d below the floor %d", h.OomScoreAdj, *opts.MinOOMScoreAdj)
	}
	if h.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Fatalf("RestartPolicy %q: the kubelet restarts containers", h.RestartPolicy.Name)
	}
}

// fuzzCheckPaths: every path Docker mounts or maps is clean and absolute,
// and a bind is exactly host:container:mode, so no part can add a field.
func fuzzCheckPaths(t *testing.T, h *container.HostConfig) {
	t.Helper()
	for _, b := range h.Binds {
		f := strings.Split(b, ":")
		if len(f) != 3 || !fuzzCleanAbs(f[0]) || !fuzzCleanAbs(f[1]) {
			t.Fatalf("bind %q is not host:container:mode with clean absolute paths", b)
		}
		for _, o := range strings.Split(f[2], ",") {
			if !slices.Contains([]string{"ro", "rprivate", "rslave", "rshared", "Z"}, o) {
				t.Fatalf("bind %q has option %q", b, o)
			}
		}
	}
	for _, m := range h.Mounts {
		if m.Type != "bind" || !fuzzCleanAbs(m.Source) || !fuzzCleanAbs(m.Target) {
			t.Fatalf("mount %+v", m)
		}
	}
	for _, d := range h.Devices {
		if !fuzzCleanAbs(d.PathOnHost) || !fuzzCleanAbs(d.PathInContainer) || strings.Trim(d.CgroupPermissions, "rwm") != "" {
			t.Fatalf("device %+v", d)
		}
	}
}

// fuzzCheckContainerLabels is fuzzCheckSandboxLabels for an app container.
func fuzzCheckContainerLabels(t *testing.T, cfg *runtimeapi.ContainerConfig, logPath string) {
	t.Helper()
	labels, err := ContainerLabels(cfg, fuzzSandboxID, logPath)
	if err != nil {
		fuzzClassified(t, "ContainerLabels", err)
		return
	}
	got := ParseLabels(labels)
	if got.Type != ContainerTypeContainer || got.SandboxID != fuzzSandboxID || got.LogPath != logPath || got.Legacy ||
		!fuzzMapEqual(got.Labels, cfg.GetLabels()) || !fuzzMapEqual(got.Annotations, cfg.GetAnnotations()) {
		t.Fatalf("labels %v annotations %v log %q read back as %+v", cfg.GetLabels(), cfg.GetAnnotations(), logPath, got)
	}
}
