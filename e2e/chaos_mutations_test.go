package e2e

import (
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The hostile changes TestChaos makes to a valid request, one at a time.
// Each keeps the test's tag in the pod's namespace or uid (and its label),
// so whatever Docker is left holding is recognisably this test's.

func podSC(r *runtimeapi.RunPodSandboxRequest) *runtimeapi.LinuxSandboxSecurityContext {
	return r.Config.Linux.SecurityContext
}

var chaosPodMutations = []func(*chaos, *runtimeapi.RunPodSandboxRequest){
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata = nil },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config = nil },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata.Name = "" },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata.Name = "under_score" },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata.Name = strings.Repeat("x", 300) },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata.Name = "pöd-ünïcödé" },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata.Namespace = "" }, // valid: the uid keeps the tag
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata.Uid = "../../etc" },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Metadata.Attempt = 1<<32 - 1 },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.LogDirectory = "../../../../etc" },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Hostname = "evil\n6.6.6.6 kubernetes.default"
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Hostname = strings.Repeat("h", 65) },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).RunAsUser = &runtimeapi.Int64Value{Value: 1 << 32}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).RunAsUser = &runtimeapi.Int64Value{Value: -1}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).RunAsGroup = &runtimeapi.Int64Value{Value: 5}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { podSC(r).SupplementalGroups = []int64{-1, 1 << 31} },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { podSC(r).Privileged = true }, // valid
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).NamespaceOptions.Network = runtimeapi.NamespaceMode_TARGET
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).NamespaceOptions.Ipc = runtimeapi.NamespaceMode(42)
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).SelinuxOptions = &runtimeapi.SELinuxOption{User: "chaos_u", Level: "s0:c1,c2\nlabel=disable"}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		podSC(r).Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "../../etc/passwd"}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Linux.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1+kernel.core_pattern=|/tmp/chaos"}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Linux.Sysctls = map[string]string{"kernel.core_pattern": "|/tmp/chaos"}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Linux.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "1024"} // valid
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Linux.CgroupParent = "/dockercri-e2e/../../chaos"
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Linux.Resources = &runtimeapi.LinuxContainerResources{CpuShares: -5, MemoryLimitInBytes: -1} // ignored: no pod cgroup
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"not-an-ip"}, Searches: []string{"a\nnameserver 6.6.6.6"}}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: []string{"svc.cluster.local"}, Options: []string{"ndots:5"}} // valid
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: -5, HostPort: 70000, Protocol: 9, HostIp: "0.0.0.0\n"}}
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80}, {ContainerPort: 53, Protocol: runtimeapi.Protocol_UDP}} // valid, no host port
	},
	func(c *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Labels["io.kubernetes.docker.type"] = "container" // valid: stored escaped, read back as given
		r.Config.Labels["io.kubernetes.sandbox.id"] = c.bogusID()
		r.Config.Annotations["io.kubernetes.container.logpath"] = "/etc/shadow"
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Annotations["huge"] = strings.Repeat("v", 64<<10)
	},
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.Config.Labels[""] = "empty key" },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) { r.RuntimeHandler = "chaos-absent-runtime" },
	func(_ *chaos, r *runtimeapi.RunPodSandboxRequest) {
		r.Config.Windows = &runtimeapi.WindowsPodSandboxConfig{}
	},
}

func ctrSC(r *runtimeapi.CreateContainerRequest) *runtimeapi.LinuxContainerSecurityContext {
	return r.Config.Linux.SecurityContext
}

func ctrRes(r *runtimeapi.CreateContainerRequest, res *runtimeapi.LinuxContainerResources) {
	r.Config.Linux.Resources = res
}

var chaosContainerMutations = []func(*chaos, *runtimeapi.CreateContainerRequest){
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config = nil },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Metadata = nil },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Metadata.Name = "" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Metadata.Name = "POD" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Metadata.Name = "dup" }, // valid; a second one conflicts
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Metadata.Name = "ctr-ünïcödé" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Image = nil },
	func(c *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Image = spec(c.env.Registry + "/chaos-absent:1")
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Image = spec("UPPER/Case:x") },
	func(c *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Image = spec(c.imageRef()) },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Command = []string{"/chaos/absent"} }, // start fails in runc
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.Args = make([]string, 2000) },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.WorkingDir = "relative" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.LogPath = "../../../../etc/chaos" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.LogPath = "/etc/chaos.log" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.LogPath = "." },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.Config.StopSignal = runtimeapi.Signal(999) },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Envs = []*runtimeapi.KeyValue{{Key: "A=B", Value: "x"}}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Envs = []*runtimeapi.KeyValue{{Key: "NUL", Value: "a\x00b"}}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Mounts = []*runtimeapi.Mount{{HostPath: "relative", ContainerPath: "/x"}}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Mounts = []*runtimeapi.Mount{{HostPath: "/tmp/../etc", ContainerPath: "/x"}}
	},
	func(c *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Mounts = []*runtimeapi.Mount{{HostPath: c.logRoot, ContainerPath: "/in:colon"}}
	},
	func(c *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Mounts = []*runtimeapi.Mount{{HostPath: c.logRoot, ContainerPath: "/data", Readonly: true}} // valid
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Devices = []*runtimeapi.Device{{HostPath: "/dev/chaos-absent", ContainerPath: "/dev/x"}}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Devices = []*runtimeapi.Device{{HostPath: "/dev/../etc/shadow", ContainerPath: "/dev/x", Permissions: "rwmx"}}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Devices = []*runtimeapi.Device{{HostPath: "/dev/null", ContainerPath: "/dev/chaos-null", Permissions: "r"}} // valid
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrRes(r, &runtimeapi.LinuxContainerResources{CpuShares: -1})
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrRes(r, &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1})
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrRes(r, &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 1}) // Docker's minimum is 6 MB
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrRes(r, &runtimeapi.LinuxContainerResources{CpuQuota: 5})
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrRes(r, &runtimeapi.LinuxContainerResources{OomScoreAdj: -1001})
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrRes(r, &runtimeapi.LinuxContainerResources{CpusetCpus: "999"}) // no such CPU
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrRes(r, &runtimeapi.LinuxContainerResources{CpuShares: 2, CpuQuota: 20000, CpuPeriod: 100000, MemoryLimitInBytes: 32 << 20, OomScoreAdj: 900}) // valid
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).RunAsUser = &runtimeapi.Int64Value{Value: 1 << 32}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).RunAsUser = &runtimeapi.Int64Value{Value: -1}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { ctrSC(r).RunAsUsername = "4294967296" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { ctrSC(r).RunAsUsername = "+4294967296" },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { ctrSC(r).RunAsUsername = "chaos-nosuchuser" }, // start fails
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).RunAsGroup = &runtimeapi.Int64Value{Value: 1}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { ctrSC(r).SupplementalGroups = []int64{-1} },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).SupplementalGroupsPolicy = runtimeapi.SupplementalGroupsPolicy(7)
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { ctrSC(r).Privileged = true },
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"CAP_CHAOS"}}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"SYS_RESOURCE"}}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).Capabilities = &runtimeapi.Capability{AddCapabilities: []string{"NET_ADMIN"}, DropCapabilities: []string{"ALL"}} // valid
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).Seccomp = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "/chaos/absent.json"}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).Apparmor = &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: "chaos absent"}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { ctrSC(r).MaskedPaths = []string{"relative"} },
	func(c *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).NamespaceOptions = &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_TARGET, TargetId: c.bogusID()}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) {
		ctrSC(r).NamespaceOptions = &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}
	},
	func(_ *chaos, r *runtimeapi.CreateContainerRequest) { r.SandboxConfig = nil },
	func(c *chaos, r *runtimeapi.CreateContainerRequest) { r.SandboxConfig = c.validPod() }, // another pod's
	func(c *chaos, r *runtimeapi.CreateContainerRequest) { r.PodSandboxId = c.bogusID() },
	func(c *chaos, r *runtimeapi.CreateContainerRequest) {
		r.Config.Labels["io.kubernetes.sandbox.id"] = c.podID() // valid: stored escaped, never read as the pod
		r.Config.Annotations = map[string]string{"io.kubernetes.container.logpath": "/etc/shadow"}
	},
}
