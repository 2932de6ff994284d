package e2e

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestMetricsEndpoint: with --metrics-bind-addr, /metrics reports the CRI
// calls made and the Docker calls behind them.
func TestMetricsEndpoint(t *testing.T) {
	addr := freeAddr(t)
	d := framework.StartDockercri(t, "--metrics-bind-addr", addr)
	ctx := framework.Context(t)
	if _, err := d.Runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: strings.Repeat("0", 64)})
	if err == nil {
		t.Fatal("ContainerStatus of an absent container succeeded")
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	for _, want := range []string{
		`dockercri_cri_request_duration_seconds_count{code="OK",method="Version"} 1`,
		`dockercri_cri_request_duration_seconds_count{code="OK",method="ListContainers"} 1`,
		`dockercri_cri_request_errors_total{code="NotFound",method="ContainerStatus"} 1`,
		`dockercri_docker_request_duration_seconds_count{method="ContainerList"}`,
		`dockercri_docker_request_duration_seconds_count{method="ContainerInspect"}`,
		`dockercri_cri_requests_in_flight 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
