package translate

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cfgTestContainer is the smallest container config the kubelet sends,
// changed by mod.
func cfgTestContainer(mod func(*runtimeapi.ContainerConfig)) *runtimeapi.ContainerConfig {
	c := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
		Image:    &runtimeapi.ImageSpec{Image: "sha256:" + hex64},
		Linux: &runtimeapi.LinuxContainerConfig{
			SecurityContext: &runtimeapi.LinuxContainerSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Pid: runtimeapi.NamespaceMode_CONTAINER},
			},
		},
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func cfgTestCreate(t *testing.T, cfg *runtimeapi.ContainerConfig, sandbox *runtimeapi.PodSandboxConfig, opts ContainerOptions) *Created {
	t.Helper()
	if sandbox == nil {
		sandbox = cfgTestPod(nil)
	}
	if opts.SandboxID == "" {
		opts.SandboxID = "sbx"
	}
	got, err := ContainerCreateConfig(cfg, sandbox, opts)
	if err != nil {
		t.Fatalf("ContainerCreateConfig: %v", err)
	}
	return got
}

// cfgTestWantErr checks that err wraps want and names what it refuses.
func cfgTestWantErr(t *testing.T, err, want error, mention string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
	if !strings.Contains(err.Error(), mention) {
		t.Fatalf("error %q does not mention %q", err, mention)
	}
}

func TestContainerDefaults(t *testing.T) {
	got := cfgTestCreate(t, cfgTestContainer(nil), nil, ContainerOptions{Labels: map[string]string{"k": "v"}})
	want := &Created{
		Config: &container.Config{
			Image:       "sha256:" + hex64,
			Labels:      map[string]string{"k": "v"},
			Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
			// cfgTestContainer sends no seccomp: CRI's unset is unconfined.
		},
		HostConfig: &container.HostConfig{
			NetworkMode:   "container:sbx",
			IpcMode:       "container:sbx",
			RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
			SecurityOpt:   []string{"seccomp=unconfined"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ContainerCreateConfig =\n%+v\n%+v\nwant\n%+v\n%+v", got.Config, got.HostConfig, want.Config, want.HostConfig)
	}
}

// The pod's runtime handler and Docker's log driver come in through the
// options, one field at a time.
func TestContainerFromOptions(t *testing.T) {
	logs := container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m"}}
	tests := []struct {
		name string
		give ContainerOptions
		want func(*container.HostConfig) bool
	}{
		{name: "runtime handler", give: ContainerOptions{RuntimeHandler: "runsc"},
			want: func(hc *container.HostConfig) bool { return hc.Runtime == "runsc" && hc.LogConfig.Type == "" }},
		{name: "log config", give: ContainerOptions{LogConfig: logs},
			want: func(hc *container.HostConfig) bool { return reflect.DeepEqual(hc.LogConfig, logs) && hc.Runtime == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cfgTestCreate(t, cfgTestContainer(nil), nil, tt.give).HostConfig; !tt.want(got) {
				t.Fatalf("HostConfig = %+v", got)
			}
		})
	}
}

func TestContainerProcess(t *testing.T) {
	tests := []struct {
		name                string
		command, args       []string
		dir                 string
		wantEntrypoint, cmd []string
	}{
		{name: "image defaults"},
		{name: "command replaces entrypoint and drops cmd", command: []string{"/bin/sh", "-c"}, wantEntrypoint: []string{"/bin/sh", "-c"}},
		{name: "args alone keep entrypoint", args: []string{"--port=80"}, cmd: []string{"--port=80"}},
		{name: "both", command: []string{"app"}, args: []string{"-v"}, wantEntrypoint: []string{"app"}, cmd: []string{"-v"}},
		{name: "working dir", dir: "/srv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cfgTestCreate(t, cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
				c.Command, c.Args, c.WorkingDir = tt.command, tt.args, tt.dir
			}), nil, ContainerOptions{})
			if !reflect.DeepEqual(got.Config.Entrypoint, tt.wantEntrypoint) || !reflect.DeepEqual(got.Config.Cmd, tt.cmd) || got.Config.WorkingDir != tt.dir {
				t.Fatalf("Entrypoint, Cmd, WorkingDir = %q, %q, %q; want %q, %q, %q", got.Config.Entrypoint, got.Config.Cmd, got.Config.WorkingDir, tt.wantEntrypoint, tt.cmd, tt.dir)
			}
		})
	}
	_, err := ContainerCreateConfig(cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.WorkingDir = "srv" }), cfgTestPod(nil), ContainerOptions{SandboxID: "sbx"})
	cfgTestWantErr(t, err, ErrInvalidConfig, "working_dir")
}

func TestContainerEnv(t *testing.T) {
	tests := []struct {
		name    string
		give    []*runtimeapi.KeyValue
		want    []string
		wantErr string
	}{
		{name: "none"},
		{name: "pairs kept in order", give: []*runtimeapi.KeyValue{{Key: "B", Value: []byte("2")}, {Key: "A", Value: []byte("x=y")}, {Key: "EMPTY"}}, want: []string{"B=2", "A=x=y", "EMPTY="}},
		{name: "empty name", give: []*runtimeapi.KeyValue{{Value: []byte("v")}}, wantErr: "envs[0]"},
		{name: "name with =", give: []*runtimeapi.KeyValue{{Key: "A=B", Value: []byte("v")}}, wantErr: "envs[0]"},
		{name: "NUL in value, value not echoed", give: []*runtimeapi.KeyValue{{Key: "TOKEN", Value: []byte("s3cr3t\x00")}}, wantErr: "TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Envs = tt.give })
			if tt.wantErr != "" {
				_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx"})
				cfgTestWantErr(t, err, ErrInvalidConfig, tt.wantErr)
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("error %q leaks the value", err)
				}
				return
			}
			if got := cfgTestCreate(t, cfg, nil, ContainerOptions{}).Config.Env; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Env = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestContainerStdio(t *testing.T) {
	got := cfgTestCreate(t, cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
		c.Stdin, c.StdinOnce, c.Tty = true, true, true
	}), nil, ContainerOptions{}).Config
	if !got.OpenStdin || !got.StdinOnce || !got.Tty {
		t.Fatalf("OpenStdin, StdinOnce, Tty = %v, %v, %v; want all true", got.OpenStdin, got.StdinOnce, got.Tty)
	}
}

func TestContainerStopSignal(t *testing.T) {
	tests := []struct {
		give runtimeapi.Signal
		want string
	}{
		{give: runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT, want: ""},
		{give: runtimeapi.Signal_SIGNAL_SIGTERM, want: "SIGTERM"},
		{give: runtimeapi.Signal_SIGNAL_SIGQUIT, want: "SIGQUIT"},
		{give: runtimeapi.Signal_SIGNAL_SIGRTMINPLUS1, want: "SIGRTMIN+1"},
		{give: runtimeapi.Signal_SIGNAL_SIGRTMAXMINUS14, want: "SIGRTMAX-14"},
		{give: runtimeapi.Signal_SIGNAL_SIGRTMAX, want: "SIGRTMAX"},
	}
	for _, tt := range tests {
		t.Run(tt.give.String(), func(t *testing.T) {
			got := cfgTestCreate(t, cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.StopSignal = tt.give }), nil, ContainerOptions{})
			if got.Config.StopSignal != tt.want {
				t.Fatalf("StopSignal = %q, want %q", got.Config.StopSignal, tt.want)
			}
		})
	}
	_, err := ContainerCreateConfig(cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.StopSignal = 99 }), cfgTestPod(nil), ContainerOptions{SandboxID: "sbx"})
	cfgTestWantErr(t, err, ErrInvalidConfig, "stop_signal 99")
}

func TestContainerNamespaces(t *testing.T) {
	const (
		pod  = runtimeapi.NamespaceMode_POD
		ctr  = runtimeapi.NamespaceMode_CONTAINER
		node = runtimeapi.NamespaceMode_NODE
		tgt  = runtimeapi.NamespaceMode_TARGET
	)
	tests := []struct {
		name       string
		give       *runtimeapi.NamespaceOption
		hostNetPod bool
		want       container.HostConfig
		wantErr    error
	}{
		{name: "pod namespaces", give: &runtimeapi.NamespaceOption{Pid: pod},
			want: container.HostConfig{NetworkMode: "container:sbx", IpcMode: "container:sbx", PidMode: "container:sbx"}},
		{name: "private pid", give: &runtimeapi.NamespaceOption{Pid: ctr},
			want: container.HostConfig{NetworkMode: "container:sbx", IpcMode: "container:sbx"}},
		{name: "host pid and ipc", give: &runtimeapi.NamespaceOption{Pid: node, Ipc: node},
			want: container.HostConfig{NetworkMode: "container:sbx", IpcMode: "host", PidMode: "host"}},
		{name: "host network pod", give: &runtimeapi.NamespaceOption{Network: node, Pid: ctr}, hostNetPod: true,
			want: container.HostConfig{NetworkMode: "container:sbx", IpcMode: "container:sbx", UTSMode: "host"}},
		{name: "target pid", give: &runtimeapi.NamespaceOption{Pid: tgt, TargetId: "abc"},
			want: container.HostConfig{NetworkMode: "container:sbx", IpcMode: "container:sbx", PidMode: "container:abc"}},
		{name: "private ipc", give: &runtimeapi.NamespaceOption{Ipc: ctr, Pid: ctr},
			want: container.HostConfig{NetworkMode: "container:sbx", IpcMode: "private"}},
		{name: "host user namespace", give: &runtimeapi.NamespaceOption{Pid: ctr, UsernsOptions: &runtimeapi.UserNamespace{Mode: node}},
			want: container.HostConfig{NetworkMode: "container:sbx", IpcMode: "container:sbx", UsernsMode: "host"}},
		{name: "target without id", give: &runtimeapi.NamespaceOption{Pid: tgt}, wantErr: ErrInvalidConfig},
		{name: "host network outside a host network pod", give: &runtimeapi.NamespaceOption{Network: node}, wantErr: ErrInvalidConfig},
		{name: "own network", give: &runtimeapi.NamespaceOption{Network: ctr}, wantErr: ErrUnsupported},
		{name: "pod user namespace", give: &runtimeapi.NamespaceOption{UsernsOptions: &runtimeapi.UserNamespace{Mode: pod}}, wantErr: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Linux.SecurityContext.NamespaceOptions = tt.give })
			sandbox := cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
				if tt.hostNetPod {
					p.Linux.SecurityContext.NamespaceOptions.Network = node
				}
			})
			got, err := ContainerCreateConfig(cfg, sandbox, ContainerOptions{SandboxID: "sbx"})
			if tt.wantErr != nil {
				cfgTestWantErr(t, err, tt.wantErr, "namespace")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := got.HostConfig
			g := container.HostConfig{NetworkMode: h.NetworkMode, IpcMode: h.IpcMode, PidMode: h.PidMode, UTSMode: h.UTSMode, UsernsMode: h.UsernsMode}
			if !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("namespaces = %+v, want %+v", g, tt.want)
			}
		})
	}
}

func TestContainerCgroupParent(t *testing.T) {
	sandbox := cfgTestPod(func(p *runtimeapi.PodSandboxConfig) {
		p.Linux.CgroupParent = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"
	})
	got := cfgTestCreate(t, cfgTestContainer(nil), sandbox, ContainerOptions{CgroupDriver: "systemd"})
	if got.HostConfig.CgroupParent != "kubepods-burstable-pod1.slice" {
		t.Fatalf("CgroupParent = %q, want the sandbox's slice", got.HostConfig.CgroupParent)
	}
}

func TestContainerDevices(t *testing.T) {
	tests := []struct {
		name    string
		give    []*runtimeapi.Device
		want    []container.DeviceMapping
		wantErr string
	}{
		{name: "default permissions", give: []*runtimeapi.Device{{HostPath: "/dev/fuse", ContainerPath: "/dev/fuse"}},
			want: []container.DeviceMapping{{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"}}},
		{name: "given permissions", give: []*runtimeapi.Device{{HostPath: "/dev/nvidia0", ContainerPath: "/dev/gpu", Permissions: "rw"}},
			want: []container.DeviceMapping{{PathOnHost: "/dev/nvidia0", PathInContainer: "/dev/gpu", CgroupPermissions: "rw"}}},
		{name: "bad permissions", give: []*runtimeapi.Device{{HostPath: "/dev/a", ContainerPath: "/dev/a", Permissions: "rwx"}}, wantErr: "permissions"},
		{name: "repeated permission", give: []*runtimeapi.Device{{HostPath: "/dev/a", ContainerPath: "/dev/a", Permissions: "rr"}}, wantErr: "permissions"},
		{name: "relative host path", give: []*runtimeapi.Device{{HostPath: "dev/a", ContainerPath: "/dev/a"}}, wantErr: "host_path"},
		{name: "container path escapes", give: []*runtimeapi.Device{{HostPath: "/dev/a", ContainerPath: "/dev/../etc/a"}}, wantErr: "container_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Devices = tt.give })
			if tt.wantErr != "" {
				_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx"})
				cfgTestWantErr(t, err, ErrInvalidConfig, tt.wantErr)
				return
			}
			if got := cfgTestCreate(t, cfg, nil, ContainerOptions{}).HostConfig.Devices; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Devices = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestContainerCDIDevices(t *testing.T) {
	tests := []struct {
		name    string
		give    []string
		api     string
		want    []container.DeviceRequest
		wantErr error
	}{
		{name: "API 1.44", give: []string{"nvidia.com/gpu=0"}, api: "1.44",
			want: []container.DeviceRequest{{Driver: "cdi", DeviceIDs: []string{"nvidia.com/gpu=0"}}}},
		{name: "API 1.41", give: []string{"nvidia.com/gpu=0"}, api: "1.41", wantErr: ErrUnsupported},
		{name: "not a CDI name", give: []string{"gpu0"}, api: "1.44", wantErr: ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
				for _, n := range tt.give {
					c.CDIDevices = append(c.CDIDevices, &runtimeapi.CDIDevice{Name: n})
				}
			})
			opts := ContainerOptions{SandboxID: "sbx", APIVersion: tt.api}
			got, err := ContainerCreateConfig(cfg, cfgTestPod(nil), opts)
			if tt.wantErr != nil {
				cfgTestWantErr(t, err, tt.wantErr, "CDI_devices")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.HostConfig.DeviceRequests, tt.want) {
				t.Fatalf("DeviceRequests = %+v, want %+v", got.HostConfig.DeviceRequests, tt.want)
			}
		})
	}
}

func TestContainerIgnoredWindows(t *testing.T) {
	got := cfgTestCreate(t, cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Windows = &runtimeapi.WindowsContainerConfig{} }), nil, ContainerOptions{})
	if !reflect.DeepEqual(got.Ignored, []string{"windows: Linux host"}) {
		t.Fatalf("Ignored = %q", got.Ignored)
	}
}

func TestContainerCreateConfigRejects(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *runtimeapi.ContainerConfig
		sandbox *runtimeapi.PodSandboxConfig
		opts    ContainerOptions
		want    error
		mention string
	}{
		{name: "no config", sandbox: cfgTestPod(nil), opts: ContainerOptions{SandboxID: "s"}, want: ErrInvalidConfig, mention: "container config"},
		{name: "no sandbox", cfg: cfgTestContainer(nil), opts: ContainerOptions{SandboxID: "s"}, want: ErrInvalidConfig, mention: "sandbox config"},
		{name: "no sandbox ID", cfg: cfgTestContainer(nil), sandbox: cfgTestPod(nil), want: ErrInvalidConfig, mention: "sandbox ID"},
		{name: "no image", cfg: cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Image = nil }), sandbox: cfgTestPod(nil),
			opts: ContainerOptions{SandboxID: "s"}, want: ErrInvalidConfig, mention: "image"},
		{name: "API too old", cfg: cfgTestContainer(nil), sandbox: cfgTestPod(nil),
			opts: ContainerOptions{SandboxID: "s", APIVersion: "1.40"}, want: ErrUnsupported, mention: "1.40"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ContainerCreateConfig(tt.cfg, tt.sandbox, tt.opts)
			if got != nil {
				t.Fatalf("got a config with error %v", err)
			}
			cfgTestWantErr(t, err, tt.want, tt.mention)
		})
	}
}

func TestLogPath(t *testing.T) {
	tests := []struct {
		dir, give, want string
		wantErr         bool
	}{
		{dir: "/var/log/pods/ns_p_uid", give: "app/0.log", want: "/var/log/pods/ns_p_uid/app/0.log"},
		{dir: "/var/log/pods/ns_p_uid/", give: "app/0.log", want: "/var/log/pods/ns_p_uid/app/0.log"},
		{dir: "/var/log/pods/x", give: "", want: ""},
		{dir: "", give: "", want: ""},
		{dir: "/var/log/pods/x", give: "../y/0.log", wantErr: true},
		{dir: "/var/log/pods/x", give: "app/../../y.log", wantErr: true},
		{dir: "/var/log/pods/x", give: "/etc/shadow", wantErr: true},
		{dir: "/var/log/pods/x", give: ".", wantErr: true},
		{dir: "", give: "app/0.log", wantErr: true},
		{dir: "var/log/pods/x", give: "app/0.log", wantErr: true},
		{dir: "/var/log/../x", give: "app/0.log", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.dir+"+"+tt.give, func(t *testing.T) {
			got, err := LogPath(tt.dir, tt.give)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("LogPath = %q, %v; want ErrInvalidConfig", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("LogPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
