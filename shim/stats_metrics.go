package shim

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The metrics a kubelet takes from the CRI instead of cAdvisor
// (PodAndContainerStatsFromCRI): cAdvisor's names and labels, so dashboards
// keep working, from the same cgroup reads as the stats calls. CRI metric
// values are integers: CPU time is in whole seconds, as CRI-O gives it.

var (
	ctrMetricLabels = []string{"container", "id", "image", "name", "namespace", "pod"}
	netMetricLabels = append(append([]string{}, ctrMetricLabels...), "interface")
)

type metricDef struct {
	desc *runtimeapi.MetricDescriptor
	typ  runtimeapi.MetricType
}

var metricDefs = []metricDef{
	{&runtimeapi.MetricDescriptor{Name: "container_cpu_usage_seconds_total", Help: "Cumulative cpu time consumed in seconds.", LabelKeys: ctrMetricLabels}, runtimeapi.MetricType_COUNTER},
	{&runtimeapi.MetricDescriptor{Name: "container_memory_usage_bytes", Help: "Current memory usage in bytes, including all memory regardless of when it was accessed.", LabelKeys: ctrMetricLabels}, runtimeapi.MetricType_GAUGE},
	{&runtimeapi.MetricDescriptor{Name: "container_memory_working_set_bytes", Help: "Current working set in bytes.", LabelKeys: ctrMetricLabels}, runtimeapi.MetricType_GAUGE},
	{&runtimeapi.MetricDescriptor{Name: "container_memory_rss", Help: "Size of RSS in bytes.", LabelKeys: ctrMetricLabels}, runtimeapi.MetricType_GAUGE},
	{&runtimeapi.MetricDescriptor{Name: "container_processes", Help: "Number of processes running inside the container.", LabelKeys: ctrMetricLabels}, runtimeapi.MetricType_GAUGE},
	{&runtimeapi.MetricDescriptor{Name: "container_network_receive_bytes_total", Help: "Cumulative count of bytes received.", LabelKeys: netMetricLabels}, runtimeapi.MetricType_COUNTER},
	{&runtimeapi.MetricDescriptor{Name: "container_network_transmit_bytes_total", Help: "Cumulative count of bytes transmitted.", LabelKeys: netMetricLabels}, runtimeapi.MetricType_COUNTER},
	{&runtimeapi.MetricDescriptor{Name: "container_network_receive_errors_total", Help: "Cumulative count of errors encountered while receiving.", LabelKeys: netMetricLabels}, runtimeapi.MetricType_COUNTER},
	{&runtimeapi.MetricDescriptor{Name: "container_network_transmit_errors_total", Help: "Cumulative count of errors encountered while transmitting.", LabelKeys: netMetricLabels}, runtimeapi.MetricType_COUNTER},
}

// ListMetricDescriptors lists the metrics ListPodSandboxMetrics reports.
func (s *Service) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	resp := &runtimeapi.ListMetricDescriptorsResponse{}
	for _, d := range metricDefs {
		resp.Descriptors = append(resp.Descriptors, d.desc)
	}
	return resp, nil
}

// ListPodSandboxMetrics reports every running pod's metrics.
func (s *Service) ListPodSandboxMetrics(ctx context.Context, _ *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	stats, err := s.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{})
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ListPodSandboxMetricsResponse{}
	for _, ps := range stats.GetStats() {
		resp.PodMetrics = append(resp.PodMetrics, podMetrics(ps))
	}
	return resp, nil
}

func metric(name string, typ runtimeapi.MetricType, ts int64, v uint64, labels ...string) *runtimeapi.Metric {
	return &runtimeapi.Metric{Name: name, MetricType: typ, Timestamp: ts, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: v}}
}

func podMetrics(ps *runtimeapi.PodSandboxStats) *runtimeapi.PodSandboxMetrics {
	attrs := ps.GetAttributes()
	pod, ns := attrs.GetMetadata().GetName(), attrs.GetMetadata().GetNamespace()
	out := &runtimeapi.PodSandboxMetrics{PodSandboxId: attrs.GetId()}
	if net := ps.GetLinux().GetNetwork(); net != nil {
		ifaces := net.GetInterfaces()
		if net.GetDefaultInterface() != nil {
			ifaces = append([]*runtimeapi.NetworkInterfaceUsage{net.GetDefaultInterface()}, ifaces...)
		}
		for _, i := range ifaces {
			l := []string{"POD", attrs.GetId(), "", "", ns, pod, i.GetName()}
			out.Metrics = append(out.Metrics,
				metric("container_network_receive_bytes_total", runtimeapi.MetricType_COUNTER, net.GetTimestamp(), i.GetRxBytes().GetValue(), l...),
				metric("container_network_transmit_bytes_total", runtimeapi.MetricType_COUNTER, net.GetTimestamp(), i.GetTxBytes().GetValue(), l...),
				metric("container_network_receive_errors_total", runtimeapi.MetricType_COUNTER, net.GetTimestamp(), i.GetRxErrors().GetValue(), l...),
				metric("container_network_transmit_errors_total", runtimeapi.MetricType_COUNTER, net.GetTimestamp(), i.GetTxErrors().GetValue(), l...),
			)
		}
	}
	for _, c := range ps.GetLinux().GetContainers() {
		ca := c.GetAttributes()
		l := []string{ca.GetMetadata().GetName(), ca.GetId(), "", "", ns, pod}
		cm := &runtimeapi.ContainerMetrics{ContainerId: ca.GetId()}
		cpu, mem := c.GetCpu(), c.GetMemory()
		cm.Metrics = append(cm.Metrics,
			metric("container_cpu_usage_seconds_total", runtimeapi.MetricType_COUNTER, cpu.GetTimestamp(), cpu.GetUsageCoreNanoSeconds().GetValue()/1e9, l...),
			metric("container_memory_usage_bytes", runtimeapi.MetricType_GAUGE, mem.GetTimestamp(), mem.GetUsageBytes().GetValue(), l...),
			metric("container_memory_working_set_bytes", runtimeapi.MetricType_GAUGE, mem.GetTimestamp(), mem.GetWorkingSetBytes().GetValue(), l...),
			metric("container_memory_rss", runtimeapi.MetricType_GAUGE, mem.GetTimestamp(), mem.GetRssBytes().GetValue(), l...),
		)
		out.ContainerMetrics = append(out.ContainerMetrics, cm)
	}
	if p := ps.GetLinux().GetProcess(); p != nil {
		out.Metrics = append(out.Metrics, metric("container_processes", runtimeapi.MetricType_GAUGE, p.GetTimestamp(), p.GetProcessCount().GetValue(), "POD", attrs.GetId(), "", "", ns, pod))
	}
	return out
}
