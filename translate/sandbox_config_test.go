package translate

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cfgTestPod is the smallest pod config the kubelet sends, changed by mod.
func cfgTestPod(mod func(*runtimeapi.PodSandboxConfig)) *runtimeapi.PodSandboxConfig {
	p := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "web-0", Namespace: "default", Uid: "uid"},
		Hostname: "web-0",
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{},
				Seccomp:          &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault},
			},
		},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

var cfgTestSandboxOpts = SandboxOptions{Image: "pause:3.10", NetworkMode: "none", OOMScoreAdj: -998, APIVersion: "1.41"}

func cfgTestSandbox(t *testing.T, mod func(*runtimeapi.PodSandboxConfig), opts SandboxOptions) *Created {
	t.Helper()
	got, err := SandboxCreateConfig(cfgTestPod(mod), "", opts)
	if err != nil {
		t.Fatalf("SandboxCreateConfig: %v", err)
	}
	return got
}

func TestSandboxDefaults(t *testing.T) {
	opts := cfgTestSandboxOpts
	opts.Labels = map[string]string{"k": "v"}
	got := cfgTestSandbox(t, nil, opts)
	want := &Created{
		Config: &container.Config{Image: "pause:3.10", Hostname: "web-0", Labels: map[string]string{"k": "v"}},
		HostConfig: &container.HostConfig{
			NetworkMode:   "none",
			IpcMode:       "shareable",
			OomScoreAdj:   -998,
			ShmSize:       64 << 20,
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
			Resources:     container.Resources{CPUShares: 2},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SandboxCreateConfig =\n%+v\n%+v\nwant\n%+v\n%+v", got.Config, got.HostConfig, want.Config, want.HostConfig)
	}
}

func TestSandboxRuntimeHandler(t *testing.T) {
	got, err := SandboxCreateConfig(cfgTestPod(nil), "runsc", cfgTestSandboxOpts)
	if err != nil || got.HostConfig.Runtime != "runsc" {
		t.Fatalf("Runtime = %v, %v; want runsc", got, err)
	}
}

func TestSandboxNamespaces(t *testing.T) {
	const node = runtimeapi.NamespaceMode_NODE
	tests := []struct {
		name         string
		give         *runtimeapi.NamespaceOption
		wantHostname string
		want         container.HostConfig
		wantIgnored  []string
	}{
		{name: "pod", give: &runtimeapi.NamespaceOption{}, wantHostname: "web-0",
			want: container.HostConfig{NetworkMode: "none", IpcMode: "shareable"}},
		{name: "host network", give: &runtimeapi.NamespaceOption{Network: node},
			want:        container.HostConfig{NetworkMode: "host", IpcMode: "shareable", UTSMode: "host"},
			wantIgnored: []string{"hostname: host network: the pod has the node's hostname"}},
		{name: "host ipc", give: &runtimeapi.NamespaceOption{Ipc: node}, wantHostname: "web-0",
			want: container.HostConfig{NetworkMode: "none", IpcMode: "host"}},
		{name: "host pid", give: &runtimeapi.NamespaceOption{Pid: node}, wantHostname: "web-0",
			want: container.HostConfig{NetworkMode: "none", IpcMode: "shareable", PidMode: "host"}},
		{name: "host user namespace", give: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: node}}, wantHostname: "web-0",
			want: container.HostConfig{NetworkMode: "none", IpcMode: "shareable", UsernsMode: "host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cfgTestSandbox(t, func(p *runtimeapi.PodSandboxConfig) { p.Linux.SecurityContext.NamespaceOptions = tt.give }, cfgTestSandboxOpts)
			h := got.HostConfig
			g := container.HostConfig{NetworkMode: h.NetworkMode, IpcMode: h.IpcMode, PidMode: h.PidMode, UTSMode: h.UTSMode, UsernsMode: h.UsernsMode}
			if !reflect.DeepEqual(g, tt.want) || got.Config.Hostname != tt.wantHostname || !reflect.DeepEqual(got.Ignored, tt.wantIgnored) {
				t.Fatalf("namespaces = %+v, hostname %q, ignored %q; want %+v, %q, %q", g, got.Config.Hostname, got.Ignored, tt.want, tt.wantHostname, tt.wantIgnored)
			}
		})
	}
}

func TestSandboxPortMappings(t *testing.T) {
	port := network.MustParsePort
	tests := []struct {
		name         string
		give         []*runtimeapi.PortMapping
		hostNet      bool
		wantExposed  network.PortSet
		wantBindings network.PortMap
		wantIgnored  []string
		wantErr      string
	}{
		{name: "tcp with host port", give: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 8080}},
			wantExposed: network.PortSet{port("80/tcp"): {}}, wantBindings: network.PortMap{port("80/tcp"): {{HostPort: "8080"}}}},
		{name: "udp and sctp with host ip", give: []*runtimeapi.PortMapping{
			{Protocol: runtimeapi.Protocol_UDP, ContainerPort: 53, HostPort: 53, HostIp: "127.0.0.1"},
			{Protocol: runtimeapi.Protocol_SCTP, ContainerPort: 9, HostPort: 9, HostIp: "::1"},
		}, wantExposed: network.PortSet{port("53/udp"): {}, port("9/sctp"): {}}, wantBindings: network.PortMap{
			port("53/udp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "53"}}, port("9/sctp"): {{HostIP: netip.MustParseAddr("::1"), HostPort: "9"}},
		}},
		{name: "two host ports for one port", give: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 80}, {ContainerPort: 80, HostPort: 81}},
			wantExposed: network.PortSet{port("80/tcp"): {}}, wantBindings: network.PortMap{port("80/tcp"): {{HostPort: "80"}, {HostPort: "81"}}}},
		{name: "host port 0 only exposes", give: []*runtimeapi.PortMapping{{ContainerPort: 80}}, wantExposed: network.PortSet{port("80/tcp"): {}}},
		{name: "host network", give: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 80}}, hostNet: true,
			wantIgnored: []string{"port_mappings: host network: the pod listens on the node's ports directly"}},
		{name: "container port 0", give: []*runtimeapi.PortMapping{{HostPort: 80}}, wantErr: "container_port"},
		{name: "host port too big", give: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 65536}}, wantErr: "host_port"},
		{name: "bad host ip", give: []*runtimeapi.PortMapping{{ContainerPort: 80, HostPort: 80, HostIp: "localhost"}}, wantErr: "host_ip"},
		{name: "bad protocol", give: []*runtimeapi.PortMapping{{Protocol: 7, ContainerPort: 80}}, wantErr: "protocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := func(p *runtimeapi.PodSandboxConfig) {
				p.PortMappings = tt.give
				if tt.hostNet {
					p.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
					p.Hostname = ""
				}
			}
			if tt.wantErr != "" {
				_, err := SandboxCreateConfig(cfgTestPod(mod), "", cfgTestSandboxOpts)
				cfgTestWantErr(t, err, ErrInvalidConfig, tt.wantErr)
				return
			}
			got := cfgTestSandbox(t, mod, cfgTestSandboxOpts)
			if !reflect.DeepEqual(got.Config.ExposedPorts, tt.wantExposed) || !reflect.DeepEqual(got.HostConfig.PortBindings, tt.wantBindings) || !reflect.DeepEqual(got.Ignored, tt.wantIgnored) {
				t.Fatalf("ExposedPorts, PortBindings, Ignored = %v, %v, %q; want %v, %v, %q", got.Config.ExposedPorts, got.HostConfig.PortBindings, got.Ignored, tt.wantExposed, tt.wantBindings, tt.wantIgnored)
			}
		})
	}
}

func TestSandboxCgroupParent(t *testing.T) {
	tests := []struct {
		give, driver, want string
		wantErr            bool
	}{
		{give: "/kubepods/burstable/pod1", driver: "cgroupfs", want: "/kubepods/burstable/pod1"},
		{give: "/kubepods/burstable/pod1", driver: "", want: "/kubepods/burstable/pod1"},
		{give: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice", driver: "systemd", want: "kubepods-burstable-pod1.slice"},
		{give: "kubepods-burstable-pod1.slice", driver: "systemd", want: "kubepods-burstable-pod1.slice"},
		{give: "", driver: "systemd", want: ""},
		{give: "/kubepods/burstable/pod1", driver: "systemd", wantErr: true},
		{give: "/.slice", driver: "systemd", wantErr: true},
		{give: "/kubepods/../../escape", driver: "cgroupfs", wantErr: true},
		{give: "/kubepods", driver: "cgroupfs2", wantErr: true},
		{give: "/", driver: "cgroupfs", want: "/"},
		{give: "/kubepods/pod1/", driver: "cgroupfs", want: "/kubepods/pod1/"},
		{give: "../..", driver: "cgroupfs", wantErr: true},
		{give: "kubepods/pod1", driver: "cgroupfs", wantErr: true},
		{give: "kubepods-burstable-pod1.slice", driver: "cgroupfs", wantErr: true},
		{give: "/kubepods.slice/kubepods-burstable-pod1.slice", driver: "", wantErr: true},
		{give: "/kubepods//pod1", driver: "cgroupfs", wantErr: true},
		{give: "/kubepods/./pod1", driver: "cgroupfs", wantErr: true},
		{give: "/kubepods/pod1\n/x", driver: "cgroupfs", wantErr: true},
		{give: "/kubepods/pod\x00", driver: "cgroupfs", wantErr: true},
		{give: "kubepods-pod$1.slice", driver: "systemd", wantErr: true},
		{give: "/a/../kubepods.slice", driver: "systemd", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.driver+tt.give, func(t *testing.T) {
			opts := cfgTestSandboxOpts
			opts.CgroupDriver = tt.driver
			got, err := SandboxCreateConfig(cfgTestPod(func(p *runtimeapi.PodSandboxConfig) { p.Linux.CgroupParent = tt.give }), "", opts)
			if tt.wantErr {
				cfgTestWantErr(t, err, ErrInvalidConfig, "cgroup")
				return
			}
			if err != nil || got.HostConfig.CgroupParent != tt.want {
				t.Fatalf("CgroupParent = %v, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSandboxOOMScoreAdj(t *testing.T) {
	opts := cfgTestSandboxOpts
	opts.OOMScoreAdj = 0
	if got := cfgTestSandbox(t, nil, opts); got.HostConfig.OomScoreAdj != 0 {
		t.Fatalf("OomScoreAdj = %d, want 0", got.HostConfig.OomScoreAdj)
	}
	opts.OOMScoreAdj = -1001
	_, err := SandboxCreateConfig(cfgTestPod(nil), "", opts)
	cfgTestWantErr(t, err, ErrInvalidConfig, "oom_score_adj")
}

func TestSandboxIgnored(t *testing.T) {
	res := &runtimeapi.LinuxContainerResources{CpuShares: 1024, MemoryLimitInBytes: 1 << 30}
	got := cfgTestSandbox(t, func(p *runtimeapi.PodSandboxConfig) {
		p.Linux.Resources, p.Linux.Overhead = res, res
		p.Windows = &runtimeapi.WindowsPodSandboxConfig{}
	}, cfgTestSandboxOpts)
	why := ": Docker has no pod cgroup; the kubelet enforces pod limits on cgroup_parent, which it creates and sizes itself"
	want := []string{"linux.resources" + why, "linux.overhead" + why, "windows: Linux host"}
	if !reflect.DeepEqual(got.Ignored, want) {
		t.Fatalf("Ignored = %q, want %q", got.Ignored, want)
	}
	if got.HostConfig.CPUShares != 2 || got.HostConfig.Memory != 0 {
		t.Fatalf("pod resources reached the pause container: %+v", got.HostConfig.Resources)
	}
}

func TestSandboxCreateConfigRejects(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *runtimeapi.PodSandboxConfig
		opts    func(*SandboxOptions)
		want    error
		mention string
	}{
		{name: "no config", want: ErrInvalidConfig, mention: "config"},
		{name: "no image", cfg: cfgTestPod(nil), opts: func(o *SandboxOptions) { o.Image = "" }, want: ErrInvalidConfig, mention: "pause image"},
		{name: "API too old", cfg: cfgTestPod(nil), opts: func(o *SandboxOptions) { o.APIVersion = "1.39" }, want: ErrUnsupported, mention: "1.39"},
		{name: "target network", cfg: cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_TARGET
		}), want: ErrInvalidConfig, mention: "network namespace mode TARGET"},
		{name: "pod user namespace", cfg: cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
			p.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &runtimeapi.UserNamespace{Mode: runtimeapi.NamespaceMode_POD}
		}), want: ErrUnsupported, mention: "userns_options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := cfgTestSandboxOpts
			if tt.opts != nil {
				tt.opts(&opts)
			}
			got, err := SandboxCreateConfig(tt.cfg, "", opts)
			if got != nil {
				t.Fatalf("got a config with error %v", err)
			}
			cfgTestWantErr(t, err, tt.want, tt.mention)
		})
	}
}
