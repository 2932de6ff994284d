package translate

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// resMaxShares is the kernel's cpu.shares maximum.
const resMaxShares = 262144

// resFill maps the cgroup fields of LinuxContainerResources onto Docker's:
// cpu_shares, cpu_quota, cpu_period, memory_limit_in_bytes, cpuset_cpus,
// cpuset_mems, and memory_swap_limit_in_bytes (memory plus swap, like
// Docker's MemorySwap; 0 with a memory limit means no swap, as dockershim:
// Docker's default would be twice the limit).
//
// Ignored: hugepage_limits with a non-zero limit (Docker has no hugetlb
// limit; the kubelet enforces hugepages on the pod cgroup; the zero limits it
// sends for every page size are already the pod cgroup's, so they are not
// reported) and unified (cgroup v2 keys; Docker has no field for them and
// these hosts run cgroup v1). oom_score_adj is not a cgroup field: see
// resOOM.
func resFill(dst *container.Resources, r *runtimeapi.LinuxContainerResources) ([]string, error) {
	if r == nil {
		return nil, nil
	}
	if s := r.GetCpuShares(); s < 0 || s > resMaxShares {
		return nil, cfgInvalid("cpu_shares %d is outside [0, %d]", s, resMaxShares)
	}
	if q := r.GetCpuQuota(); q < -1 || (q > 0 && q < 1000) {
		return nil, cfgInvalid("cpu_quota %d: want 0 (unset), -1 (unlimited) or at least 1000 µs", q)
	}
	if p := r.GetCpuPeriod(); p != 0 && (p < 1000 || p > 1000000) {
		return nil, cfgInvalid("cpu_period %d is outside [1000, 1000000] µs", p)
	}
	mem, swap := r.GetMemoryLimitInBytes(), r.GetMemorySwapLimitInBytes()
	switch {
	case mem < 0:
		return nil, cfgInvalid("memory_limit_in_bytes %d is negative", mem)
	case swap < -1:
		return nil, cfgInvalid("memory_swap_limit_in_bytes %d: want -1 (unlimited), 0 (unset) or a limit", swap)
	case swap > 0 && (mem == 0 || swap < mem):
		return nil, cfgInvalid("memory_swap_limit_in_bytes %d is memory plus swap: it needs a memory limit no larger (memory_limit_in_bytes %d)", swap, mem)
	}
	if mem > 0 && swap == 0 {
		swap = mem
	}
	if set := r.GetCpusetCpus(); strings.Trim(set, "0123456789,-") != "" {
		return nil, cfgInvalid("cpuset_cpus %q is not a CPU list", set)
	}
	if set := r.GetCpusetMems(); strings.Trim(set, "0123456789,-") != "" {
		return nil, cfgInvalid("cpuset_mems %q is not a memory node list", set)
	}
	dst.CPUShares, dst.CPUQuota, dst.CPUPeriod = r.GetCpuShares(), r.GetCpuQuota(), r.GetCpuPeriod()
	dst.Memory, dst.MemorySwap = mem, swap
	dst.CpusetCpus, dst.CpusetMems = r.GetCpusetCpus(), r.GetCpusetMems()

	var ignored []string
	for _, h := range r.GetHugepageLimits() {
		if h.GetLimit() != 0 {
			ignored = append(ignored, "linux.resources.hugepage_limits: Docker has no hugetlb limit; the kubelet enforces hugepages on the pod cgroup")
			break
		}
	}
	if len(r.GetUnified()) > 0 {
		keys := slices.Sorted(maps.Keys(r.GetUnified()))
		ignored = append(ignored, "linux.resources.unified ("+strings.Join(keys, ", ")+"): cgroup v2 settings, which Docker cannot set")
	}
	return ignored, nil
}

// resOOM checks oom_score_adj and raises it to min when set: without
// CAP_SYS_RESOURCE the daemon cannot lower a score, and the kubelet's -997
// for Guaranteed pods would fail every such container.
func resOOM(adj int64, min *int) (int, string, error) {
	if adj < -1000 || adj > 1000 {
		return 0, "", cfgInvalid("oom_score_adj %d is outside [-1000, 1000]", adj)
	}
	if min != nil && adj < int64(*min) {
		return *min, "linux.resources.oom_score_adj: " + strconv.FormatInt(adj, 10) + " raised to " + strconv.Itoa(*min) + " (the daemon cannot lower scores without CAP_SYS_RESOURCE)", nil
	}
	return int(adj), "", nil
}

func resOpt(r *runtimeapi.LinuxContainerResources, minOOM *int) cfgOpt {
	return func(c *Created) error {
		ignored, err := resFill(&c.HostConfig.Resources, r)
		if err != nil {
			return err
		}
		adj, note, err := resOOM(r.GetOomScoreAdj(), minOOM)
		if err != nil {
			return err
		}
		c.HostConfig.OomScoreAdj = adj
		if note != "" {
			ignored = append(ignored, note)
		}
		c.Ignored = append(c.Ignored, ignored...)
		return nil
	}
}

// UpdateResources maps an UpdateContainerResources request onto Docker's
// update, with resFill's mapping and checks. Docker's update reads 0 as
// "unchanged", so a field cannot be reset to unset; the kubelet only resizes
// to other limits. Also ignored: oom_score_adj (Docker cannot change it on an
// existing container; the kubelet keeps a container's QoS class, hence its
// score, across resizes).
func UpdateResources(r *runtimeapi.LinuxContainerResources, opts ContainerOptions) (container.UpdateConfig, []string, error) {
	var u container.UpdateConfig
	ignored, err := resFill(&u.Resources, r)
	if err != nil {
		return container.UpdateConfig{}, nil, err
	}
	if _, _, err := resOOM(r.GetOomScoreAdj(), opts.MinOOMScoreAdj); err != nil {
		return container.UpdateConfig{}, nil, err
	}
	if r.GetOomScoreAdj() != 0 {
		ignored = append(ignored, "linux.resources.oom_score_adj: Docker cannot update it; the value given at creation stays")
	}
	return u, ignored, nil
}

// ContainerResources reports a container's cgroup settings as Docker holds
// them, for ContainerStatus.
func ContainerResources(hc *container.HostConfig) *runtimeapi.ContainerResources {
	if hc == nil {
		return nil
	}
	r := hc.Resources
	return &runtimeapi.ContainerResources{Linux: &runtimeapi.LinuxContainerResources{
		CpuPeriod:              r.CPUPeriod,
		CpuQuota:               r.CPUQuota,
		CpuShares:              r.CPUShares,
		MemoryLimitInBytes:     r.Memory,
		MemorySwapLimitInBytes: r.MemorySwap,
		OomScoreAdj:            int64(hc.OomScoreAdj),
		CpusetCpus:             r.CpusetCpus,
		CpusetMems:             r.CpusetMems,
	}}
}
