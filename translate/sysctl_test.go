package translate

import (
	"reflect"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSandboxSysctls(t *testing.T) {
	tests := []struct {
		name             string
		give             map[string]string
		hostNet, hostIPC bool
		want             map[string]string
		wantErr          error
	}{
		{name: "none"},
		{name: "net and ipc", give: map[string]string{
			"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647",
			"kernel.shm_rmid_forced": "1", "kernel.shmmax": "68719476736", "kernel.msgmax": "65536",
			"kernel.sem": "250 32000 100 128", "fs.mqueue.msg_max": "10",
		}, want: map[string]string{
			"net.ipv4.ip_unprivileged_port_start": "0", "net.ipv4.ping_group_range": "0 2147483647",
			"kernel.shm_rmid_forced": "1", "kernel.shmmax": "68719476736", "kernel.msgmax": "65536",
			"kernel.sem": "250 32000 100 128", "fs.mqueue.msg_max": "10",
		}},
		{name: "slash separators", give: map[string]string{"net/ipv4/conf/all/rp_filter": "1"},
			want: map[string]string{"net.ipv4.conf.all.rp_filter": "1"}},
		{name: "ipc sysctl with host network", give: map[string]string{"kernel.msgmax": "1"}, hostNet: true,
			want: map[string]string{"kernel.msgmax": "1"}},
		{name: "CVE-2022-0811 smuggling with +", give: map[string]string{"kernel.shm_rmid_forced": "1+kernel.core_pattern=|/x"}, wantErr: ErrInvalidConfig},
		{name: "smuggling with =", give: map[string]string{"kernel.shm_rmid_forced": "kernel.core_pattern=x"}, wantErr: ErrInvalidConfig},
		{name: "newline in value", give: map[string]string{"net.core.somaxconn": "1\nkernel.core_pattern=x"}, wantErr: ErrInvalidConfig},
		{name: "NUL in value", give: map[string]string{"net.core.somaxconn": "1\x00"}, wantErr: ErrInvalidConfig},
		{name: "node sysctl", give: map[string]string{"kernel.core_pattern": "|/x"}, wantErr: ErrInvalidConfig},
		{name: "vm sysctl", give: map[string]string{"vm.overcommit_memory": "1"}, wantErr: ErrInvalidConfig},
		{name: "uts sysctl", give: map[string]string{"kernel.hostname": "x"}, wantErr: ErrInvalidConfig},
		{name: "net with host network", give: map[string]string{"net.core.somaxconn": "1024"}, hostNet: true, wantErr: ErrInvalidConfig},
		{name: "mqueue with host ipc", give: map[string]string{"fs.mqueue.msg_max": "10"}, hostIPC: true, wantErr: ErrInvalidConfig},
		{name: "shm with host ipc", give: map[string]string{"kernel.shmmax": "1"}, hostIPC: true, wantErr: ErrInvalidConfig},
		{name: "upper case key", give: map[string]string{"NET.core.somaxconn": "1"}, wantErr: ErrInvalidConfig},
		{name: "path traversal key", give: map[string]string{"net/../../kernel/core_pattern": "x"}, wantErr: ErrInvalidConfig},
		{name: "empty segment", give: map[string]string{"net..core": "1"}, wantErr: ErrInvalidConfig},
		{name: "same key twice", give: map[string]string{"net.core.somaxconn": "1", "net/core/somaxconn": "2"}, wantErr: ErrInvalidConfig},
		{name: "dotted name in slash form", give: map[string]string{"net/ipv4/conf/eth0.100/rp_filter": "1"}, wantErr: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := func(p *runtimeapi.PodSandboxConfig) {
				p.Linux.Sysctls = tt.give
				if tt.hostNet {
					p.Linux.SecurityContext.NamespaceOptions.Network = runtimeapi.NamespaceMode_NODE
					p.Hostname = ""
				}
				if tt.hostIPC {
					p.Linux.SecurityContext.NamespaceOptions.Ipc = runtimeapi.NamespaceMode_NODE
				}
			}
			if tt.wantErr != nil {
				_, err := SandboxCreateConfig(cfgTestPod(mod), "", cfgTestSandboxOpts)
				cfgTestWantErr(t, err, tt.wantErr, "sysctl")
				return
			}
			got := cfgTestSandbox(t, mod, cfgTestSandboxOpts)
			if !reflect.DeepEqual(got.HostConfig.Sysctls, tt.want) {
				t.Fatalf("Sysctls = %v, want %v", got.HostConfig.Sysctls, tt.want)
			}
		})
	}
}
