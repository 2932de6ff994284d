package shim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/cgroups"
	"dockercri/translate"
)

// PodSandboxStats reports one pod: its containers, their sums, its network
// interfaces (read in the pause process's namespace) and process count.
func (s *Service) PodSandboxStats(ctx context.Context, req *runtimeapi.PodSandboxStatsRequest) (*runtimeapi.PodSandboxStatsResponse, error) {
	id := req.GetPodSandboxId()
	in, found, err := s.inspectSandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("pod sandbox %q", id)
	}
	meta, err := translate.ParseSandboxName(in.Name)
	if err != nil {
		return nil, err
	}
	labels := translate.ParseLabels(in.Config.Labels)
	attrs := &runtimeapi.PodSandboxAttributes{Id: in.ID, Metadata: meta, Labels: labels.Labels, Annotations: labels.Annotations}
	members, err := listOurs(ctx, s.docker, translate.ContainerTypeContainer, false, filterArg("label", translate.LabelSandboxID+"="+in.ID))
	if err != nil {
		return nil, fmt.Errorf("list containers of pod sandbox %s: %w", in.ID, err)
	}
	running := in.State != nil && in.State.Running
	return &runtimeapi.PodSandboxStatsResponse{Stats: s.podStats(ctx, attrs, running, members, time.Now())}, nil
}

// ListPodSandboxStats reports every running pod that matches the filter
// from two Docker lists (pods, containers) and their cgroup files.
func (s *Service) ListPodSandboxStats(ctx context.Context, req *runtimeapi.ListPodSandboxStatsRequest) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	f := req.GetFilter()
	pods, err := listOurs(ctx, s.docker, translate.ContainerTypeSandbox, false, narrowTo(f.GetId(), "")...)
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	ctrs, err := listOurs(ctx, s.docker, translate.ContainerTypeContainer, false)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	bySandbox := map[string][]container.Summary{}
	for _, c := range ctrs {
		if l := translate.ParseLabels(c.Labels); l.Type == translate.ContainerTypeContainer {
			bySandbox[l.SandboxID] = append(bySandbox[l.SandboxID], c)
		}
	}
	match := &runtimeapi.PodSandboxFilter{Id: f.GetId(), LabelSelector: f.GetLabelSelector()}
	now := time.Now()
	resp := &runtimeapi.ListPodSandboxStatsResponse{Stats: make([]*runtimeapi.PodSandboxStats, 0, len(pods))}
	seen := make(map[string]bool, len(pods))
	for _, p := range pods {
		seen[p.ID] = true
		sb, err := translate.SandboxFromSummary(p)
		if err != nil || !translate.MatchSandbox(match, sb) {
			continue
		}
		attrs := &runtimeapi.PodSandboxAttributes{Id: sb.Id, Metadata: sb.Metadata, Labels: sb.Labels, Annotations: sb.Annotations}
		resp.Stats = append(resp.Stats, s.podStats(ctx, attrs, true, bySandbox[p.ID], now))
	}
	if f == nil {
		s.stats.prune(seen, true)
		running := make(map[string]bool, len(ctrs))
		for _, c := range ctrs {
			running[c.ID] = true
		}
		s.stats.prune(running, false)
	}
	return resp, nil
}

// podStats reports the pod's containers, its own cgroup where it has one
// (else the containers' sums) and its network; members are its running app
// containers.
func (s *Service) podStats(ctx context.Context, attrs *runtimeapi.PodSandboxAttributes, running bool, members []container.Summary, now time.Time) *runtimeapi.PodSandboxStats {
	ts := now.UnixNano()
	var cpu, nano, ws, usage, rss, faults, major, pids uint64
	linux := &runtimeapi.LinuxPodSandboxStats{}
	for _, c := range members {
		ctr, err := translate.ContainerFromSummary(c)
		if err != nil {
			continue
		}
		cattrs := &runtimeapi.ContainerAttributes{Id: ctr.Id, Metadata: ctr.Metadata, Labels: ctr.Labels, Annotations: ctr.Annotations}
		st, sample, err := s.stats.containerStats(ctx, cattrs, now)
		if err != nil {
			klog.V(5).InfoS("No stats for a container that stopped meanwhile", "container", c.ID, "err", err)
			continue
		}
		linux.Containers = append(linux.Containers, st)
		cpu += sample.CPUUsageNanos
		nano += st.GetCpu().GetUsageNanoCores().GetValue()
		ws += sample.WorkingSet
		usage += sample.MemoryUsage
		rss += sample.RSS
		faults += sample.PageFaults
		major += sample.MajorPageFaults
		pids += sample.Pids
	}
	linux.Cpu = &runtimeapi.CpuUsage{Timestamp: ts, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: cpu}, UsageNanoCores: &runtimeapi.UInt64Value{Value: nano}}
	linux.Memory = &runtimeapi.MemoryUsage{
		Timestamp: ts, WorkingSetBytes: &runtimeapi.UInt64Value{Value: ws}, UsageBytes: &runtimeapi.UInt64Value{Value: usage},
		RssBytes: &runtimeapi.UInt64Value{Value: rss}, PageFaults: &runtimeapi.UInt64Value{Value: faults}, MajorPageFaults: &runtimeapi.UInt64Value{Value: major},
	}
	linux.Process = &runtimeapi.ProcessUsage{Timestamp: ts, ProcessCount: &runtimeapi.UInt64Value{Value: pids}}
	if running {
		s.podCgroupUsage(ctx, attrs.GetId(), linux, now)
		linux.Network = s.podNetwork(ctx, attrs.GetId(), ts)
	}
	return &runtimeapi.PodSandboxStats{Attributes: attrs, Linux: linux}
}

// podCgroupUsage replaces the containers' sums with the pod cgroup's own
// figures where the pod has one: the pause process counted too, the pod's
// memory limit (its available bytes), and its pressure, which no sum of
// containers gives.
func (s *Service) podCgroupUsage(ctx context.Context, sandboxID string, linux *runtimeapi.LinuxPodSandboxStats, now time.Time) {
	cur, prev, err := s.stats.podSample(ctx, sandboxID, now)
	if err != nil {
		if !errors.Is(err, errNoPodCgroup) {
			klog.V(5).InfoS("No pod cgroup stats", "podSandboxID", sandboxID, "err", err)
		}
		return
	}
	linux.Cpu, linux.Memory, linux.Io = translate.Usage(statsSample(prev, cur, now))
	linux.Process = &runtimeapi.ProcessUsage{Timestamp: now.UnixNano(), ProcessCount: &runtimeapi.UInt64Value{Value: cur.Pids}}
}

// podNetwork reads the pod's interfaces from its pause process: all of them
// but loopback in Interfaces, and eth0 (else the first) as the default too.
// The CRI's comment says "excluding the default", but the kubelet copies the
// list into the Summary API's, which has always held every interface (as
// cAdvisor gives it), and so does containerd 2.x.
func (s *Service) podNetwork(ctx context.Context, sandboxID string, ts int64) *runtimeapi.NetworkUsage {
	e, err := s.stats.entry(ctx, sandboxID, true)
	if err != nil {
		return nil
	}
	devs, err := s.stats.roots.NetDevs(e.pid)
	if err != nil {
		s.stats.forget(sandboxID)
		return nil
	}
	return networkUsage(devs, ts)
}

// networkUsage is nil when the pod has no interface but loopback (its
// network torn down before its pause container stops, or none at all): the
// kubelet's CRI stats path reads the default interface of any network it is
// given without checking it is there, and a nil one crashed the kubelet 1.36
// in the node conformance suite.
func networkUsage(devs []cgroups.NetDev, ts int64) *runtimeapi.NetworkUsage {
	if len(devs) == 0 {
		return nil
	}
	net := &runtimeapi.NetworkUsage{Timestamp: ts}
	for _, d := range devs {
		iface := &runtimeapi.NetworkInterfaceUsage{
			Name:     d.Name,
			RxBytes:  &runtimeapi.UInt64Value{Value: d.RxBytes},
			RxErrors: &runtimeapi.UInt64Value{Value: d.RxErrors},
			TxBytes:  &runtimeapi.UInt64Value{Value: d.TxBytes},
			TxErrors: &runtimeapi.UInt64Value{Value: d.TxErrors},
		}
		net.Interfaces = append(net.Interfaces, iface)
		if d.Name == "eth0" {
			net.DefaultInterface = iface
		}
	}
	if net.DefaultInterface == nil && len(net.Interfaces) > 0 {
		net.DefaultInterface = net.Interfaces[0]
	}
	return net
}
