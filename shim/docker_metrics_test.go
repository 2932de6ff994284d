package shim

import (
	"context"
	"testing"

	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/metrics"
)

// metricValue reads a counter's value or a histogram's sample count.
func metricValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			if h := metric.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return metric.GetCounter().GetValue()
		}
	}
	return 0
}

func TestDockerMetricsTimeEachCall(t *testing.T) {
	m := metrics.New()
	f := fakeWithImages()
	d := WithDockerMetrics(f, m)
	ctx := context.Background()
	for range 2 {
		if _, err := d.ContainerList(ctx, client.ContainerListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = d.ContainerInspect(ctx, "absent", client.ContainerInspectOptions{}) // a failed call is timed too
	tests := []struct {
		give string
		want float64
	}{
		{give: "ContainerList", want: 2},
		{give: "ContainerInspect", want: 1},
		{give: "Ping", want: 0},
	}
	for _, tt := range tests {
		if got := metricValue(t, m, "dockercri_docker_request_duration_seconds", map[string]string{"method": tt.give}); got != tt.want {
			t.Errorf("%s: %v samples, want %v", tt.give, got, tt.want)
		}
	}
	// Methods without a wrapper reach the Docker underneath.
	if got := d.ClientVersion(); got != f.apiVersion {
		t.Errorf("ClientVersion through the decorator = %q", got)
	}
	if WithDockerMetrics(f, nil) != Docker(f) {
		t.Error("without metrics the Docker is not wrapped")
	}
}

func TestInterceptorCountsErrorsByCode(t *testing.T) {
	m := metrics.New()
	f := fakeWithImages()
	c := newTestClients(t, f, func(cfg *Config) { cfg.Metrics = m })
	ctx := testContext(t)
	if _, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "absent"})
	wantCode(t, err, codes.NotFound)
	_, err = c.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: "absent"})
	wantCode(t, err, codes.NotFound)

	tests := []struct {
		name         string
		labels       map[string]string
		wantSamples  float64
		wantErrCount float64
	}{
		{name: "success", labels: map[string]string{"method": "Version", "code": "OK"}, wantSamples: 1},
		{name: "not found", labels: map[string]string{"method": "ContainerStatus", "code": "NotFound"}, wantSamples: 2, wantErrCount: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metricValue(t, m, "dockercri_cri_request_duration_seconds", tt.labels); got != tt.wantSamples {
				t.Errorf("duration samples = %v, want %v", got, tt.wantSamples)
			}
			if got := metricValue(t, m, "dockercri_cri_request_errors_total", tt.labels); got != tt.wantErrCount {
				t.Errorf("errors = %v, want %v", got, tt.wantErrCount)
			}
		})
	}
}
