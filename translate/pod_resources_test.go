package translate

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestPodResources(t *testing.T) {
	tests := []struct {
		name    string
		give    *runtimeapi.LinuxContainerResources
		wantErr string // "" for none; else what the error must name
	}{
		{name: "nil", give: nil},
		{name: "empty", give: &runtimeapi.LinuxContainerResources{}},
		{name: "what the kubelet sends for a Guaranteed pod", give: &runtimeapi.LinuxContainerResources{
			CpuShares: 512, CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 256 << 20,
			HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "2MB"}, {PageSize: "1GB"}},
			Unified:        map[string]string{"memory.oom.group": "1", "hugetlb.2MB.max": "0"},
		}},
		{name: "unlimited quota", give: &runtimeapi.LinuxContainerResources{CpuQuota: -1, CpuShares: 2}},
		{name: "cpusets", give: &runtimeapi.LinuxContainerResources{CpusetCpus: "0-1,3", CpusetMems: "0"}},
		{name: "negative shares", give: &runtimeapi.LinuxContainerResources{CpuShares: -2}, wantErr: "cpu_shares -2"},
		{name: "negative memory", give: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: -1}, wantErr: "memory_limit_in_bytes -1"},
		{name: "negative quota", give: &runtimeapi.LinuxContainerResources{CpuQuota: -5}, wantErr: "cpu_quota -5"},
		{name: "negative period", give: &runtimeapi.LinuxContainerResources{CpuPeriod: -100000}, wantErr: "cpu_period -100000"},
		{name: "period out of range", give: &runtimeapi.LinuxContainerResources{CpuPeriod: 5_000_000}, wantErr: "cpu_period"},
		{name: "swap below memory", give: &runtimeapi.LinuxContainerResources{MemoryLimitInBytes: 100 << 20, MemorySwapLimitInBytes: 50 << 20},
			wantErr: "memory_swap_limit_in_bytes"},
		{name: "oom score", give: &runtimeapi.LinuxContainerResources{OomScoreAdj: -1001}, wantErr: "oom_score_adj -1001"},
		{name: "cpuset", give: &runtimeapi.LinuxContainerResources{CpusetCpus: "all"}, wantErr: "cpuset_cpus"},
		{name: "page size", give: &runtimeapi.LinuxContainerResources{HugepageLimits: []*runtimeapi.HugepageLimit{{PageSize: "huge"}}},
			wantErr: "hugepage_limits[0].page_size"},
		{name: "unified path", give: &runtimeapi.LinuxContainerResources{Unified: map[string]string{"../memory.max": "1"}}, wantErr: "unified key"},
		{name: "unified without controller", give: &runtimeapi.LinuxContainerResources{Unified: map[string]string{"max": "1"}}, wantErr: "unified key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PodResources("overhead", tt.give)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("PodResources = %v", err)
				}
				return
			}
			cfgTestWantErr(t, err, ErrInvalidConfig, tt.wantErr)
			cfgTestWantErr(t, err, ErrInvalidConfig, "overhead")
		})
	}
}
