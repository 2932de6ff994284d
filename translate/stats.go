package translate

import (
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StatsSample is one reading of a container's cgroup, as the shim's cgroups
// engine takes it.
type StatsSample struct {
	Time          time.Time
	CPUUsageNanos uint64 // cumulative
	NanoCores     uint64 // the rate since the previous sample; 0 for the first
	// MemoryUsage counts page cache; WorkingSet is usage less inactive file
	// pages, the figure the kubelet evicts on.
	MemoryUsage, WorkingSet uint64
	MemoryLimit             uint64 // 0 when there is none
	RSS                     uint64
	PageFaults              uint64
	MajorPageFaults         uint64
}

// LayerUsage is the last measured size of a container's writable layer.
type LayerUsage struct {
	Mountpoint    string
	Bytes, Inodes uint64
	At            time.Time // when it was measured
}

// ContainerStats is the CRI stats of one running container: CPU and memory
// from a cgroup sample (available bytes only under a limit) and, when Docker
// reports the layer's directory, its writable layer.
func ContainerStats(attrs *runtimeapi.ContainerAttributes, s StatsSample, layer *LayerUsage) *runtimeapi.ContainerStats {
	ts := s.Time.UnixNano()
	st := &runtimeapi.ContainerStats{
		Attributes: attrs,
		Cpu: &runtimeapi.CpuUsage{
			Timestamp:            ts,
			UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: s.CPUUsageNanos},
			UsageNanoCores:       &runtimeapi.UInt64Value{Value: s.NanoCores},
		},
		Memory: &runtimeapi.MemoryUsage{
			Timestamp:       ts,
			WorkingSetBytes: &runtimeapi.UInt64Value{Value: s.WorkingSet},
			UsageBytes:      &runtimeapi.UInt64Value{Value: s.MemoryUsage},
			RssBytes:        &runtimeapi.UInt64Value{Value: s.RSS},
			PageFaults:      &runtimeapi.UInt64Value{Value: s.PageFaults},
			MajorPageFaults: &runtimeapi.UInt64Value{Value: s.MajorPageFaults},
		},
	}
	if s.MemoryLimit > 0 {
		st.Memory.AvailableBytes = &runtimeapi.UInt64Value{Value: s.MemoryLimit - min(s.WorkingSet, s.MemoryLimit)}
	}
	if layer != nil {
		st.WritableLayer = &runtimeapi.FilesystemUsage{
			Timestamp:  layer.At.UnixNano(),
			FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: layer.Mountpoint},
			UsedBytes:  &runtimeapi.UInt64Value{Value: layer.Bytes},
			InodesUsed: &runtimeapi.UInt64Value{Value: layer.Inodes},
		}
	}
	return st
}
