package translate

import (
	"maps"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fuzzSandboxSeeds are pod configs as the kubelet sends them and as a
// hostile CRI client could: the fuzzer mutates their wire encoding.
func fuzzSandboxSeeds() []*runtimeapi.PodSandboxConfig {
	hostNet := &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE, Ipc: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_NODE}
	return []*runtimeapi.PodSandboxConfig{
		cfgTestPod(nil),
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.LogDirectory = "/var/log/pods/default_web-0_uid"
			p.Labels = map[string]string{"io.kubernetes.pod.name": "web-0", "app": "web"}
			p.Annotations = map[string]string{"kubernetes.io/config.seen": "2026-11-22T10:00:00Z"}
			p.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: []string{"default.svc.cluster.local"}, Options: []string{"ndots:5"}}
			p.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080, HostIp: "127.0.0.1"}, {Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53}}
			p.Linux.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel/shm_rmid_forced": "1"}
			p.Linux.CgroupParent = "/kubepods/burstable/poduid"
			p.Linux.SecurityContext.RunAsUser = &runtimeapi.Int64Value{Value: 1000}
			p.Linux.SecurityContext.RunAsGroup = &runtimeapi.Int64Value{Value: 3000}
			p.Linux.SecurityContext.SupplementalGroups = []int64{2000, 4000}
		}),
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Linux.SecurityContext.NamespaceOptions = hostNet
			p.Linux.Sysctls = map[string]string{"kernel.msgmax": "65536"}
			p.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 80}}
		}),
		// Hostile: ids that wrap (CVE-2024-40635), a sysctl value smuggling a
		// second key (CVE-2022-0811), a node-wide sysctl, traversal.
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Linux.SecurityContext.RunAsUser = &runtimeapi.Int64Value{Value: 1 << 32}
			p.Linux.SecurityContext.RunAsGroup = &runtimeapi.Int64Value{Value: -1}
			p.Linux.SecurityContext.SupplementalGroups = []int64{1<<31 + 5}
		}),
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Linux.Sysctls = map[string]string{"kernel.shm_rmid_forced": "1+kernel.core_pattern=|/tmp/x"}
		}),
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Linux.Sysctls = map[string]string{"kernel.core_pattern": "|/tmp/x", "net/ipv4/../../kernel/x": "1"}
			p.Linux.CgroupParent = "/kubepods/../../system.slice"
			p.LogDirectory = "/var/log/pods/../../../etc"
		}),
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Hostname = "evil\n6.6.6.6 kubernetes.default"
			p.DnsConfig = &runtimeapi.DNSConfig{Servers: []string{"1.1.1.1\nnameserver 6.6.6.6"}, Searches: []string{"a b"}}
			p.Metadata = &runtimeapi.PodSandboxMetadata{Name: "../../x", Namespace: "ns_1", Uid: "ü"}
			p.PortMappings = []*runtimeapi.PortMapping{{ContainerPort: -1, HostPort: 70000, HostIp: "0.0.0.0\n"}}
		}),
		cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Labels = map[string]string{LabelContainerType: ContainerTypeContainer, LabelSandboxID: "victim", LabelManifest: "[]", "annotation.x": "y"}
			p.Annotations = map[string]string{LabelContainerType: "x", "": "empty key"}
		}),
	}
}

// FuzzSandboxConfig decodes a PodSandboxConfig from the wire, with the
// fields that carry the known attacks also given directly (so the mutator
// reaches them without re-encoding), and translates it as RunPodSandbox
// does. Whatever the input, a config is refused with a classified error or
// gives a pause container that: runs as an id in [0, 2^31-1]; sets only
// well-formed, namespaced sysctls with values that cannot smuggle a second
// key; publishes ports in range on IP addresses; has a hostname that cannot
// add lines to /etc/hosts; joins the host's namespaces only when asked and
// is never privileged; writes a resolv.conf of whole lines; has a name that
// parses back to its metadata and labels that read back exactly as given,
// none of them posing as the shim's own.
func FuzzSandboxConfig(f *testing.F) {
	for _, cfg := range fuzzSandboxSeeds() {
		b, err := proto.Marshal(cfg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "", "", "", int64(0))
	}
	f.Add([]byte{}, "web-0", "net.core.somaxconn", "1024", int64(65534))
	f.Add([]byte{}, "evil\n6.6.6.6 kubernetes.default", "", "", int64(0))
	f.Add([]byte{}, "web\x00x", "kernel.shm_rmid_forced", "1+kernel.core_pattern=|/x", int64(4294967296))
	f.Add([]byte{}, strings.Repeat("h", 65), "net/ipv4/conf/eth0.100/forwarding", "1\n", int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, hostname, sysctlKey, sysctlVal string, uid int64) {
		cfg := &runtimeapi.PodSandboxConfig{}
		if err := proto.Unmarshal(data, cfg); err != nil {
			return // not a message gRPC would deliver
		}
		if !fuzzValidUTF8(hostname, sysctlKey, sysctlVal) {
			return // see fuzzValidUTF8
		}
		fuzzOverrideSandbox(cfg, hostname, sysctlKey, sysctlVal, uid)
		opts := SandboxOptions{Image: "registry.k8s.io/pause:3.10", NetworkMode: "none", APIVersion: "1.41"}
		c, err := SandboxCreateConfig(cfg, "runc", opts)
		if err != nil {
			fuzzClassified(t, "SandboxCreateConfig", err)
		} else {
			fuzzCheckSandbox(t, cfg, c)
			fuzzCheckResolv(t, cfg.GetDnsConfig())
		}
		fuzzCheckSandboxName(t, cfg.GetMetadata())
		fuzzCheckSandboxLabels(t, cfg)
	})
}

func fuzzOverrideSandbox(cfg *runtimeapi.PodSandboxConfig, hostname, sysctlKey, sysctlVal string, uid int64) {
	if hostname != "" {
		cfg.Hostname = hostname
	}
	if cfg.Linux == nil {
		cfg.Linux = &runtimeapi.LinuxPodSandboxConfig{}
	}
	if sysctlKey != "" {
		if cfg.Linux.Sysctls == nil {
			cfg.Linux.Sysctls = map[string]string{}
		}
		cfg.Linux.Sysctls[sysctlKey] = sysctlVal
	}
	if uid != 0 {
		if cfg.Linux.SecurityContext == nil {
			cfg.Linux.SecurityContext = &runtimeapi.LinuxSandboxSecurityContext{}
		}
		cfg.Linux.SecurityContext.RunAsUser = &runtimeapi.Int64Value{Value: uid}
	}
}

func fuzzCheckSandbox(t *testing.T, cfg *runtimeapi.PodSandboxConfig, c *Created) {
	t.Helper()
	ns := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions()
	hostNet, hostIPC := ns.GetNetwork() == runtimeapi.NamespaceMode_NODE, ns.GetIpc() == runtimeapi.NamespaceMode_NODE
	fuzzCheckHost(t, c, "")
	fuzzCheckSysctls(t, c.HostConfig.Sysctls, hostNet, hostIPC)
	if len(c.HostConfig.Sysctls) != len(cfg.GetLinux().GetSysctls()) {
		t.Fatalf("sysctls %v became %v", cfg.GetLinux().GetSysctls(), c.HostConfig.Sysctls)
	}
	h := c.HostConfig
	if (h.NetworkMode == "host") != hostNet || (h.IpcMode == "host") != hostIPC ||
		(h.PidMode == "host") != (ns.GetPid() == runtimeapi.NamespaceMode_NODE) {
		t.Fatalf("namespaces %v became network %q ipc %q pid %q", ns, h.NetworkMode, h.IpcMode, h.PidMode)
	}
	if !hostIPC && h.IpcMode != "shareable" {
		t.Fatalf("IpcMode %q: app containers could not join it", h.IpcMode)
	}
	if h.Privileged || len(h.CapAdd) > 0 || h.Runtime != "runc" {
		t.Fatalf("pause container: privileged %v, CapAdd %v, runtime %q", h.Privileged, h.CapAdd, h.Runtime)
	}
	fuzzCheckHostname(t, c.Config.Hostname)
	for port, bindings := range h.PortBindings {
		if _, ok := c.Config.ExposedPorts[port]; !ok {
			t.Fatalf("port %s is bound but not exposed", port)
		}
		for _, b := range bindings {
			if n, err := strconv.Atoi(b.HostPort); err != nil || n < 1 || n > 65535 {
				t.Fatalf("host port %q of %s", b.HostPort, port)
			}
			if b.HostIP.IsValid() {
				if _, err := netip.ParseAddr(b.HostIP.String()); err != nil {
					t.Fatalf("host IP %s of %s", b.HostIP, port)
				}
			}
		}
	}
	for port := range c.Config.ExposedPorts {
		n, err := strconv.Atoi(port.Port())
		if err != nil || n < 1 || n > 65535 || (port.Proto() != "tcp" && port.Proto() != "udp" && port.Proto() != "sctp") {
			t.Fatalf("exposed port %q", port)
		}
	}
}

// fuzzCheckHostname: Docker 20.10 writes the hostname into the pod's
// /etc/hosts as it is, so a newline in it adds a hosts entry; the kernel
// takes at most 64 bytes.
func fuzzCheckHostname(t *testing.T, hostname string) {
	t.Helper()
	if len(hostname) > 64 || strings.ContainsFunc(hostname, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		t.Fatalf("hostname %q would reach Docker", hostname)
	}
}

// fuzzCheckResolv: the resolv.conf of an accepted DNS config is whole
// lines of the three keywords, one nameserver per server.
func fuzzCheckResolv(t *testing.T, dns *runtimeapi.DNSConfig) {
	t.Helper()
	out := ResolvConf(dns)
	servers := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		key, _, _ := strings.Cut(line, " ")
		switch {
		case line == "" && out == "":
		case key == "nameserver":
			servers++
		case key == "search" || key == "options":
		default:
			t.Fatalf("resolv.conf line %q (whole file %q)", line, out)
		}
	}
	if servers != len(dns.GetServers()) {
		t.Fatalf("resolv.conf %q has %d nameservers for %q", out, servers, dns.GetServers())
	}
}

// fuzzCheckSandboxName: a name SandboxName makes is one Docker accepts and
// parses back to exactly the metadata it was made from.
func fuzzCheckSandboxName(t *testing.T, m *runtimeapi.PodSandboxMetadata) {
	t.Helper()
	name, err := SandboxName(m)
	if err != nil {
		fuzzClassified(t, "SandboxName", err)
		return
	}
	fuzzCheckDockerName(t, name)
	back, err := ParseSandboxName("/" + name)
	if err != nil || !fuzzSameKnown(back, m) {
		t.Fatalf("SandboxName(%v) = %q parses back to %v, %v", m, name, back, err)
	}
	if _, _, err := ParseContainerName(name); err == nil {
		t.Fatalf("sandbox name %q parses as an app container's", name)
	}
}

// fuzzCheckSandboxLabels: the pause container's labels read back exactly as
// given, and its internal labels are the shim's whatever the pod's labels
// and annotations say.
func fuzzCheckSandboxLabels(t *testing.T, cfg *runtimeapi.PodSandboxConfig) {
	t.Helper()
	labels, err := SandboxLabels(cfg)
	if err != nil {
		fuzzClassified(t, "SandboxLabels", err)
		return
	}
	if labels[LabelContainerType] != ContainerTypeSandbox {
		t.Fatalf("%s = %q", LabelContainerType, labels[LabelContainerType])
	}
	for _, k := range []string{LabelSandboxID, LabelLogPath} {
		if v, ok := labels[k]; ok {
			t.Fatalf("pod labels produced %s=%q", k, v)
		}
	}
	got := ParseLabels(labels)
	if got.Type != ContainerTypeSandbox || got.SandboxID != "" || got.LogPath != "" || got.Legacy ||
		!fuzzMapEqual(got.Labels, cfg.GetLabels()) || !fuzzMapEqual(got.Annotations, cfg.GetAnnotations()) {
		t.Fatalf("labels %v annotations %v read back as %+v", cfg.GetLabels(), cfg.GetAnnotations(), got)
	}
}

// fuzzMapEqual is maps.Equal with nil and empty alike.
func fuzzMapEqual(a, b map[string]string) bool {
	return len(a) == len(b) && (len(a) == 0 || maps.Equal(a, b))
}
