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
	// Pressure stall information; nil where the host keeps none.
	CPUPressure, MemoryPressure, IOPressure *Pressure
}

// Pressure is one cgroup *.pressure reading.
type Pressure struct {
	Some, Full PressureLine
}

// PressureLine is the "some" or "full" line: averages in percent over 10,
// 60 and 300 s, and the total stall time.
type PressureLine struct {
	Avg10, Avg60, Avg300 float64
	Total                time.Duration
}

// LayerUsage is the last measured size of a container's writable layer.
type LayerUsage struct {
	Mountpoint    string
	Bytes, Inodes uint64
	At            time.Time // when it was measured
}

// ContainerStats is the CRI stats of one running container: its cgroup
// sample (see Usage) and, when Docker reports the layer's directory, its
// writable layer.
func ContainerStats(attrs *runtimeapi.ContainerAttributes, s StatsSample, layer *LayerUsage) *runtimeapi.ContainerStats {
	st := &runtimeapi.ContainerStats{Attributes: attrs}
	st.Cpu, st.Memory, st.Io = Usage(s)
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

// Usage is the CPU, memory and I/O of one cgroup sample, a container's or a
// pod's: available bytes only under a memory limit, I/O only where there is
// pressure information (its one field in the CRI).
func Usage(s StatsSample) (*runtimeapi.CpuUsage, *runtimeapi.MemoryUsage, *runtimeapi.IoUsage) {
	ts := s.Time.UnixNano()
	cpu := &runtimeapi.CpuUsage{
		Timestamp:            ts,
		UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: s.CPUUsageNanos},
		UsageNanoCores:       &runtimeapi.UInt64Value{Value: s.NanoCores},
		Psi:                  psi(s.CPUPressure),
	}
	mem := &runtimeapi.MemoryUsage{
		Timestamp:       ts,
		WorkingSetBytes: &runtimeapi.UInt64Value{Value: s.WorkingSet},
		UsageBytes:      &runtimeapi.UInt64Value{Value: s.MemoryUsage},
		RssBytes:        &runtimeapi.UInt64Value{Value: s.RSS},
		PageFaults:      &runtimeapi.UInt64Value{Value: s.PageFaults},
		MajorPageFaults: &runtimeapi.UInt64Value{Value: s.MajorPageFaults},
		Psi:             psi(s.MemoryPressure),
	}
	if s.MemoryLimit > 0 {
		mem.AvailableBytes = &runtimeapi.UInt64Value{Value: s.MemoryLimit - min(s.WorkingSet, s.MemoryLimit)}
	}
	var io *runtimeapi.IoUsage
	if s.IOPressure != nil {
		io = &runtimeapi.IoUsage{Timestamp: ts, Psi: psi(s.IOPressure)}
	}
	return cpu, mem, io
}

// psi is the CRI's form of a pressure reading; its totals are nanoseconds.
func psi(p *Pressure) *runtimeapi.PsiStats {
	if p == nil {
		return nil
	}
	line := func(l PressureLine) *runtimeapi.PsiData {
		return &runtimeapi.PsiData{Total: uint64(l.Total.Nanoseconds()), Avg10: l.Avg10, Avg60: l.Avg60, Avg300: l.Avg300}
	}
	return &runtimeapi.PsiStats{Some: line(p.Some), Full: line(p.Full)}
}
