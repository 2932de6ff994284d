package translate

import (
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestContainerResources(t *testing.T) {
	tests := []struct {
		name        string
		give        *runtimeapi.LinuxContainerResources
		want        container.Resources
		wantIgnored []string
	}{
		{name: "none"},
		{name: "cpu shares", give: &runtimeapi.LinuxContainerResources{CpuShares: 512}, want: container.Resources{CPUShares: 512}},
		{name: "cpu quota and period", give: &runtimeapi.LinuxContainerResources{CpuQuota: 50000, CpuPeriod: 100000}, want: container.Resources{CPUQuota: 50000, CPUPeriod: 100000}},
		{name: "unlimited quota", give: &runtimeapi.LinuxContainerResources{CpuQuota: -1}, want: container.Resources{CPUQuota: -1}},
		{name: "memory means no swap", give: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 128 << 20}, want: container.Resources{Memory: 128 << 20, MemorySwap: 128 << 20}},
		{name: "memory and swap", give: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 128 << 20, MemorySwapLimitInBytes: 256 << 20},
			want: container.Resources{Memory: 128 << 20, MemorySwap: 256 << 20}},
		{name: "unlimited swap", give: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 128 << 20, MemorySwapLimitInBytes: -1},
			want: container.Resources{Memory: 128 << 20, MemorySwap: -1}},
		{name: "cpusets", give: &runtimeapi.LinuxContainerResources{CpusetCpus: "0-3,6", CpusetMems: "0"}, want: container.Resources{CpusetCpus: "0-3,6", CpusetMems: "0"}},
		{name: "zero hugepage limits are the pod's", give: &runtimeapi.LinuxContainerResources{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB"}, {PageSize: "1GB"}}}},
		{name: "hugepage limit", give: &runtimeapi.LinuxContainerResources{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB", Limit: 4 << 20}}},
			wantIgnored: []string{"linux.resources.hugepage_limits: Docker has no hugetlb limit; the kubelet enforces hugepages on the pod cgroup"}},
		{name: "unified", give: &runtimeapi.LinuxContainerResources{Unified: map[string]string{"memory.swap.max": "0", "memory.high": "max"}},
			wantIgnored: []string{"linux.resources.unified (memory.high, memory.swap.max): cgroup v2 settings, which Docker cannot set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cfgTestCreate(t, cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Linux.Resources = tt.give }), nil, ContainerOptions{})
			if !reflect.DeepEqual(got.HostConfig.Resources, tt.want) || !reflect.DeepEqual(got.Ignored, tt.wantIgnored) {
				t.Fatalf("Resources, Ignored = %+v, %q; want %+v, %q", got.HostConfig.Resources, got.Ignored, tt.want, tt.wantIgnored)
			}
		})
	}
}

func TestContainerResourcesRejects(t *testing.T) {
	tests := []struct {
		name    string
		give    *runtimeapi.LinuxContainerResources
		mention string
	}{
		{name: "negative shares", give: &runtimeapi.LinuxContainerResources{CpuShares: -1}, mention: "cpu_shares"},
		{name: "too many shares", give: &runtimeapi.LinuxContainerResources{CpuShares: 262145}, mention: "cpu_shares"},
		{name: "tiny quota", give: &runtimeapi.LinuxContainerResources{CpuQuota: 999}, mention: "cpu_quota"},
		{name: "negative quota", give: &runtimeapi.LinuxContainerResources{CpuQuota: -2}, mention: "cpu_quota"},
		{name: "tiny period", give: &runtimeapi.LinuxContainerResources{CpuPeriod: 999}, mention: "cpu_period"},
		{name: "huge period", give: &runtimeapi.LinuxContainerResources{CpuPeriod: 1000001}, mention: "cpu_period"},
		{name: "negative memory", give: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}, mention: "memory_limit_in_bytes"},
		{name: "swap below memory", give: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 2 << 20, MemorySwapLimitInBytes: 1 << 20}, mention: "memory_swap_limit_in_bytes"},
		{name: "swap without memory", give: &runtimeapi.LinuxContainerResources{MemorySwapLimitInBytes: 1 << 30}, mention: "memory_swap_limit_in_bytes"},
		{name: "negative swap", give: &runtimeapi.LinuxContainerResources{MemorySwapLimitInBytes: -2}, mention: "memory_swap_limit_in_bytes"},
		{name: "bad cpuset", give: &runtimeapi.LinuxContainerResources{CpusetCpus: "all"}, mention: "cpuset_cpus"},
		{name: "bad memset", give: &runtimeapi.LinuxContainerResources{CpusetMems: "0;1"}, mention: "cpuset_mems"},
		{name: "oom score too low", give: &runtimeapi.LinuxContainerResources{OomScoreAdj: -1001}, mention: "oom_score_adj"},
		{name: "oom score too high", give: &runtimeapi.LinuxContainerResources{OomScoreAdj: 1001}, mention: "oom_score_adj"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) { c.Linux.Resources = tt.give })
			_, err := ContainerCreateConfig(cfg, cfgTestPod(nil), ContainerOptions{SandboxID: "sbx"})
			cfgTestWantErr(t, err, ErrInvalidConfig, tt.mention)
		})
	}
}

func TestContainerOOMScoreAdj(t *testing.T) {
	zero, five := 0, 5
	tests := []struct {
		name        string
		give        int64
		min         *int
		want        int
		wantIgnored []string
	}{
		{name: "burstable", give: 999, want: 999},
		{name: "guaranteed, CAP_SYS_RESOURCE", give: -997, want: -997},
		{name: "guaranteed, raised", give: -997, min: &zero, want: 0,
			wantIgnored: []string{"linux.resources.oom_score_adj: -997 raised to 0 (the daemon cannot lower scores without CAP_SYS_RESOURCE)"}},
		{name: "above the minimum", give: 1000, min: &five, want: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgTestContainer(func(c *runtimeapi.ContainerConfig) {
				c.Linux.Resources = &runtimeapi.LinuxContainerResources{OomScoreAdj: tt.give}
			})
			got := cfgTestCreate(t, cfg, nil, ContainerOptions{MinOOMScoreAdj: tt.min})
			if got.HostConfig.OomScoreAdj != tt.want || !reflect.DeepEqual(got.Ignored, tt.wantIgnored) {
				t.Fatalf("OomScoreAdj, Ignored = %d, %q; want %d, %q", got.HostConfig.OomScoreAdj, got.Ignored, tt.want, tt.wantIgnored)
			}
		})
	}
}

func TestUpdateResources(t *testing.T) {
	tests := []struct {
		name        string
		give        *runtimeapi.LinuxContainerResources
		want        container.UpdateConfig
		wantIgnored []string
		wantErr     bool
	}{
		{name: "nil", give: nil},
		{name: "resize", give: &runtimeapi.LinuxContainerResources{CpuShares: 1024, CpuQuota: 200000, CpuPeriod: 100000, MemoryLimitInBytes: 1 << 30, CpusetCpus: "0-1"},
			want: container.UpdateConfig{Resources: container.Resources{CPUShares: 1024, CPUQuota: 200000, CPUPeriod: 100000, Memory: 1 << 30, MemorySwap: 1 << 30, CpusetCpus: "0-1"}}},
		{name: "oom score cannot change", give: &runtimeapi.LinuxContainerResources{CpuShares: 2, OomScoreAdj: 1000},
			want:        container.UpdateConfig{Resources: container.Resources{CPUShares: 2}},
			wantIgnored: []string{"linux.resources.oom_score_adj: Docker cannot update it; the value given at creation stays"}},
		{name: "unified", give: &runtimeapi.LinuxContainerResources{Unified: map[string]string{"memory.max": "1"}},
			wantIgnored: []string{"linux.resources.unified (memory.max): cgroup v2 settings, which Docker cannot set"}},
		{name: "bad quota", give: &runtimeapi.LinuxContainerResources{CpuQuota: 10}, wantErr: true},
		{name: "bad oom score", give: &runtimeapi.LinuxContainerResources{OomScoreAdj: 2000}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ignored, err := UpdateResources(tt.give, ContainerOptions{})
			if tt.wantErr {
				cfgTestWantErr(t, err, ErrInvalidConfig, "")
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(ignored, tt.wantIgnored) {
				t.Fatalf("UpdateResources = %+v, %q, %v; want %+v, %q", got, ignored, err, tt.want, tt.wantIgnored)
			}
		})
	}
}
