package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// valueOf reads a counter's value or a histogram's sample count.
func valueOf(t *testing.T, m *Metrics, name string, labels map[string]string) float64 {
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
			return metric.GetCounter().GetValue() + metric.GetGauge().GetValue()
		}
	}
	return 0
}

func TestStartRPC(t *testing.T) {
	tests := []struct {
		give       codes.Code
		wantErrors float64
	}{
		{give: codes.OK, wantErrors: 0},
		{give: codes.NotFound, wantErrors: 1},
		{give: codes.Unavailable, wantErrors: 1},
	}
	for _, tt := range tests {
		t.Run(tt.give.String(), func(t *testing.T) {
			m := New()
			finish := m.StartRPC("ContainerStatus")
			if got := valueOf(t, m, "dockercri_cri_requests_in_flight", nil); got != 1 {
				t.Fatalf("in flight during the call = %v, want 1", got)
			}
			finish(tt.give)
			labels := map[string]string{"method": "ContainerStatus", "code": tt.give.String()}
			if got := valueOf(t, m, "dockercri_cri_request_duration_seconds", labels); got != 1 {
				t.Fatalf("duration samples = %v, want 1", got)
			}
			if got := valueOf(t, m, "dockercri_cri_request_errors_total", labels); got != tt.wantErrors {
				t.Fatalf("errors = %v, want %v", got, tt.wantErrors)
			}
			if got := valueOf(t, m, "dockercri_cri_requests_in_flight", nil); got != 0 {
				t.Fatalf("in flight after the call = %v, want 0", got)
			}
		})
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.StartRPC("Version")(codes.OK)
	m.ObserveDocker("Ping", time.Now())
}

func TestHandlerServesFamilies(t *testing.T) {
	m := New()
	m.StartRPC("ListContainers")(codes.OK)
	m.StartRPC("ContainerStatus")(codes.NotFound)
	m.ObserveDocker("ContainerList", time.Now())
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`dockercri_cri_request_duration_seconds_bucket{code="OK",method="ListContainers",le="0.0005"}`,
		`dockercri_cri_request_errors_total{code="NotFound",method="ContainerStatus"} 1`,
		`dockercri_cri_requests_in_flight 0`,
		`dockercri_docker_request_duration_seconds_count{method="ContainerList"} 1`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestListenPicksAFreePort(t *testing.T) {
	s, err := Listen("127.0.0.1:0", New(), false)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// TestListenProfiling: pprof is served only when asked for.
func TestListenProfiling(t *testing.T) {
	tests := []struct {
		give bool
		want int
	}{
		{give: false, want: http.StatusNotFound},
		{give: true, want: http.StatusOK},
	}
	for _, tt := range tests {
		s, err := Listen("127.0.0.1:0", New(), tt.give)
		if err != nil {
			t.Fatal(err)
		}
		go s.Serve()
		resp, err := http.Get("http://" + s.Addr() + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("profiling %t: /debug/pprof/heap: %d, want %d", tt.give, resp.StatusCode, tt.want)
		}
		s.Close()
	}
}
