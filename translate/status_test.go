package translate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"google.golang.org/protobuf/proto"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sandboxInspect is a running pause container on Docker's bridge.
func sandboxInspect(mutate func(*container.InspectResponse)) container.InspectResponse {
	in := container.InspectResponse{
		ID: "sb1", Name: "/k8s_POD_web_ns_uid1_2", Created: "2026-11-22T18:00:00.5Z",
		State:      &container.State{Status: "running", Running: true},
		HostConfig: &container.HostConfig{NetworkMode: "bridge", IpcMode: "shareable"},
		Config: &container.Config{Labels: map[string]string{
			LabelContainerType: ContainerTypeSandbox, "app": "web", "annotation.a/b": "c",
		}},
		NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
			network.NetworkBridge: {IPAddress: netip.MustParseAddr("172.17.0.2")},
		}},
	}
	if mutate != nil {
		mutate(&in)
	}
	return in
}

func TestSandboxStatus(t *testing.T) {
	base := func() *runtimeapi.PodSandboxStatus {
		return &runtimeapi.PodSandboxStatus{
			Id:          "sb1",
			Metadata:    &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "ns", Uid: "uid1", Attempt: 2},
			State:       runtimeapi.PodSandboxState_SANDBOX_READY,
			CreatedAt:   time.Date(2026, 11, 22, 18, 0, 0, 5e8, time.UTC).UnixNano(),
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"a/b": "c"},
			Network:     &runtimeapi.PodSandboxNetworkStatus{Ip: "172.17.0.2"},
			Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{
				Network: runtimeapi.NamespaceMode_POD, Pid: runtimeapi.NamespaceMode_POD, Ipc: runtimeapi.NamespaceMode_POD,
			}}},
		}
	}
	tests := []struct {
		name   string
		give   container.InspectResponse
		opts   SandboxStatusOptions
		change func(*runtimeapi.PodSandboxStatus)
	}{
		{name: "bridge", give: sandboxInspect(nil)},
		{name: "runtime handler", give: sandboxInspect(nil), opts: SandboxStatusOptions{RuntimeHandler: "runsc"},
			change: func(st *runtimeapi.PodSandboxStatus) { st.RuntimeHandler = "runsc" }},
		{name: "exited: no address", give: sandboxInspect(func(in *container.InspectResponse) {
			in.State = &container.State{Status: "exited"}
		}), change: func(st *runtimeapi.PodSandboxStatus) {
			st.State, st.Network = runtimeapi.PodSandboxState_SANDBOX_NOTREADY, nil
		}},
		{name: "IPv6 beside IPv4", give: sandboxInspect(func(in *container.InspectResponse) {
			in.NetworkSettings.Networks[network.NetworkBridge].GlobalIPv6Address = netip.MustParseAddr("fd00::2")
		}), change: func(st *runtimeapi.PodSandboxStatus) {
			st.Network.AdditionalIps = []*runtimeapi.PodIP{{Ip: "fd00::2"}}
		}},
		{name: "network none: no address", give: sandboxInspect(func(in *container.InspectResponse) {
			in.HostConfig.NetworkMode = network.NetworkNone
			in.NetworkSettings.Networks = map[string]*network.EndpointSettings{network.NetworkNone: {}}
		}), change: func(st *runtimeapi.PodSandboxStatus) { st.Network = &runtimeapi.PodSandboxNetworkStatus{} }},
		{name: "host namespaces", give: sandboxInspect(func(in *container.InspectResponse) {
			in.HostConfig = &container.HostConfig{NetworkMode: "host", PidMode: "host", IpcMode: "host"}
		}), change: func(st *runtimeapi.PodSandboxStatus) {
			st.Network = nil
			st.Linux.Namespaces.Options = &runtimeapi.NamespaceOption{
				Network: runtimeapi.NamespaceMode_NODE, Pid: runtimeapi.NamespaceMode_NODE, Ipc: runtimeapi.NamespaceMode_NODE}
		}},
		{name: "CNI: the plugin's addresses, not Docker's", give: sandboxInspect(nil),
			opts: SandboxStatusOptions{CNI: true, IPs: []string{"10.88.0.5", "fd00::5"}},
			change: func(st *runtimeapi.PodSandboxStatus) {
				st.Network = &runtimeapi.PodSandboxNetworkStatus{Ip: "10.88.0.5", AdditionalIps: []*runtimeapi.PodIP{{Ip: "fd00::5"}}}
			}},
		{name: "CNI not attached yet", give: sandboxInspect(nil), opts: SandboxStatusOptions{CNI: true},
			change: func(st *runtimeapi.PodSandboxStatus) { st.Network = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base()
			if tt.change != nil {
				tt.change(want)
			}
			got, err := SandboxStatus(tt.give, tt.opts)
			if err != nil || !proto.Equal(got, want) {
				t.Fatalf("SandboxStatus =\n%v, %v\nwant\n%v", got, err, want)
			}
		})
	}
}

func TestSandboxStatusRejects(t *testing.T) {
	for name, in := range map[string]container.InspectResponse{
		"empty":        {},
		"no state":     sandboxInspect(func(in *container.InspectResponse) { in.State = nil }),
		"foreign name": sandboxInspect(func(in *container.InspectResponse) { in.Name = "/web" }),
	} {
		if st, err := SandboxStatus(in, SandboxStatusOptions{}); err == nil {
			t.Errorf("%s: SandboxStatus = %v, want an error", name, st)
		}
	}
}

func TestContainerResourcesReported(t *testing.T) {
	if got := ContainerResources(nil); got != nil {
		t.Fatalf("ContainerResources(nil) = %v", got)
	}
	hc := &container.HostConfig{OomScoreAdj: 500, Resources: container.Resources{
		CPUPeriod: 100000, CPUQuota: 50000, CPUShares: 512, Memory: 1 << 30, MemorySwap: 1 << 30, CpusetCpus: "0-1", CpusetMems: "0",
	}}
	want := &runtimeapi.LinuxContainerResources{CpuPeriod: 100000, CpuQuota: 50000, CpuShares: 512,
		MemoryLimitInBytes: 1 << 30, MemorySwapLimitInBytes: 1 << 30, OomScoreAdj: 500, CpusetCpus: "0-1", CpusetMems: "0"}
	if got := ContainerResources(hc).GetLinux(); !proto.Equal(got, want) {
		t.Fatalf("ContainerResources = %v, want %v", got, want)
	}
}

func TestConfigUser(t *testing.T) {
	tests := []struct {
		give         string
		wantNil      bool
		wantUID, gid int64
	}{
		{give: "1000", wantUID: 1000},
		{give: "1000:3000", wantUID: 1000, gid: 3000},
		{give: "0:0", wantUID: 0},
		{give: "www-data", wantNil: true},
		{give: "", wantNil: true},
		{give: "-1", wantNil: true},
		{give: "1000:staff", wantUID: 1000},
		{give: "1000:-5", wantUID: 1000},
	}
	for _, tt := range tests {
		got := ConfigUser(tt.give)
		if tt.wantNil {
			if got != nil {
				t.Errorf("ConfigUser(%q) = %v, want nil", tt.give, got)
			}
			continue
		}
		if got.GetLinux().GetUid() != tt.wantUID || got.GetLinux().GetGid() != tt.gid {
			t.Errorf("ConfigUser(%q) = %v, want uid %d gid %d", tt.give, got, tt.wantUID, tt.gid)
		}
	}
}

func TestContainerStats(t *testing.T) {
	now := time.Unix(1000, 0)
	attrs := &runtimeapi.ContainerAttributes{Id: "c1"}
	sample := StatsSample{Time: now, CPUUsageNanos: 7, NanoCores: 3, MemoryUsage: 100, WorkingSet: 60, RSS: 40, PageFaults: 2, MajorPageFaults: 1}
	tests := []struct {
		name      string
		limit     uint64
		layer     *LayerUsage
		wantAvail *uint64
	}{
		{name: "no limit, no layer"},
		{name: "under the limit", limit: 100, wantAvail: ptr(uint64(40))},
		{name: "over the limit", limit: 50, wantAvail: ptr(uint64(0))},
		{name: "layer", layer: &LayerUsage{Mountpoint: "/upper", Bytes: 4096, Inodes: 3, At: now.Add(-time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample
			s.MemoryLimit = tt.limit
			st := ContainerStats(attrs, s, tt.layer)
			cpu, mem := st.GetCpu(), st.GetMemory()
			if st.GetAttributes() != attrs || cpu.GetTimestamp() != now.UnixNano() || cpu.GetUsageCoreNanoSeconds().GetValue() != 7 ||
				cpu.GetUsageNanoCores().GetValue() != 3 || mem.GetWorkingSetBytes().GetValue() != 60 || mem.GetUsageBytes().GetValue() != 100 ||
				mem.GetRssBytes().GetValue() != 40 || mem.GetPageFaults().GetValue() != 2 || mem.GetMajorPageFaults().GetValue() != 1 {
				t.Fatalf("ContainerStats = %v", st)
			}
			if (tt.wantAvail == nil) != (mem.GetAvailableBytes() == nil) || (tt.wantAvail != nil && mem.GetAvailableBytes().GetValue() != *tt.wantAvail) {
				t.Fatalf("available = %v, want %v", mem.GetAvailableBytes(), tt.wantAvail)
			}
			l := st.GetWritableLayer()
			if (tt.layer == nil) != (l == nil) {
				t.Fatalf("writable layer = %v, want %v", l, tt.layer)
			}
			if tt.layer != nil && (l.GetFsId().GetMountpoint() != "/upper" || l.GetUsedBytes().GetValue() != 4096 ||
				l.GetInodesUsed().GetValue() != 3 || l.GetTimestamp() != tt.layer.At.UnixNano()) {
				t.Fatalf("writable layer = %v, want %+v", l, tt.layer)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestUsagePressure(t *testing.T) {
	now := time.Unix(1000, 0)
	p := &Pressure{
		Some: PressureLine{Avg10: 1.5, Avg60: 1, Avg300: 0.5, Total: 3 * time.Microsecond},
		Full: PressureLine{Avg10: 0.5, Total: time.Microsecond},
	}
	tests := []struct {
		name string
		give StatsSample
		want *runtimeapi.PsiStats // of each resource; nil: none, and no I/O usage
	}{
		{name: "no pressure", give: StatsSample{Time: now}},
		{
			name: "pressure, totals in nanoseconds",
			give: StatsSample{Time: now, CPUPressure: p, MemoryPressure: p, IOPressure: p},
			want: &runtimeapi.PsiStats{
				Some: &runtimeapi.PsiData{Total: 3000, Avg10: 1.5, Avg60: 1, Avg300: 0.5},
				Full: &runtimeapi.PsiData{Total: 1000, Avg10: 0.5},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cpu, mem, io := Usage(tt.give)
			for name, got := range map[string]*runtimeapi.PsiStats{"cpu": cpu.GetPsi(), "memory": mem.GetPsi(), "io": io.GetPsi()} {
				if !proto.Equal(got, tt.want) {
					t.Errorf("%s psi = %v, want %v", name, got, tt.want)
				}
			}
			if (io == nil) != (tt.want == nil) || (io != nil && io.GetTimestamp() != now.UnixNano()) {
				t.Errorf("io = %v", io)
			}
		})
	}
}
