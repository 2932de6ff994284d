package shim

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestVersion(t *testing.T) {
	f := newFakeDocker()
	c := newTestClients(t, f)
	got, err := c.runtime.Version(testContext(t), &runtimeapi.VersionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRuntimeName() != "docker" || got.GetRuntimeVersion() != "20.10.24+dfsg1" ||
		got.GetRuntimeApiVersion() != "1.41" || got.GetVersion() != "0.1.0" {
		t.Fatalf("Version = %v", got)
	}
}

// TestVersionReusesRecentAnswer: the kubelet asks about once a second;
// Docker is asked again only once the last answer is versionFresh old.
func TestVersionReusesRecentAnswer(t *testing.T) {
	tests := []struct {
		name  string
		fresh time.Duration
		want  int // ServerVersion calls for three Versions
	}{
		{name: "within the freshness window", fresh: time.Hour, want: 1},
		{name: "every time without one", fresh: 0, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			c := newTestClients(t, f)
			c.svc.versionFresh = tt.fresh
			for i := 0; i < 3; i++ {
				if _, err := c.runtime.Version(testContext(t), &runtimeapi.VersionRequest{}); err != nil {
					t.Fatal(err)
				}
			}
			got := 0
			for _, call := range f.callLog() {
				if call == "ServerVersion" {
					got++
				}
			}
			if got != tt.want {
				t.Fatalf("ServerVersion calls = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestVersionDockerDown(t *testing.T) {
	f := newFakeDocker()
	f.down = realConnectionError(t)
	c := newTestClients(t, f)
	ctx := testContext(t)
	_, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{})
	wantCode(t, err, codes.Unavailable) // never seen Docker: nothing to report

	f.down = nil
	if _, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatal(err)
	}
	f.down = realConnectionError(t)
	got, err := c.runtime.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || got.GetRuntimeVersion() != "20.10.24+dfsg1" {
		t.Fatalf("Version with Docker down after it was seen = %v, %v; want the last known version", got, err)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name       string
		down       bool
		apiVersion string
		wantReady  bool
		wantRRO    bool
		wantReason string
	}{
		{name: "docker up, API 1.41", apiVersion: "1.41", wantReady: true},
		{name: "docker up, API 1.44 has recursive read-only mounts", apiVersion: "1.44", wantReady: true, wantRRO: true},
		{name: "docker down", down: true, apiVersion: "1.44", wantReason: reasonDockerNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			f.apiVersion = tt.apiVersion
			if tt.down {
				f.down = realConnectionError(t)
			}
			c := newTestClients(t, f)
			got, err := c.runtime.Status(testContext(t), &runtimeapi.StatusRequest{})
			if err != nil {
				t.Fatalf("Status must not fail when Docker is down: %v", err)
			}
			conds := got.GetStatus().GetConditions()
			if len(conds) != 2 || conds[0].GetType() != runtimeapi.RuntimeReady || conds[1].GetType() != runtimeapi.NetworkReady {
				t.Fatalf("conditions = %v", conds)
			}
			if conds[0].GetStatus() != tt.wantReady || conds[0].GetReason() != tt.wantReason {
				t.Fatalf("RuntimeReady = %v", conds[0])
			}
			if !tt.wantReady && !strings.Contains(conds[0].GetMessage(), "docker") {
				t.Fatalf("RuntimeReady message %q does not say why", conds[0].GetMessage())
			}
			if conds[1].GetStatus() != tt.wantReady {
				t.Fatalf("NetworkReady = %v", conds[1])
			}
			if rro := got.GetRuntimeHandlers()[0].GetFeatures().GetRecursiveReadOnlyMounts(); rro != tt.wantRRO {
				t.Fatalf("RecursiveReadOnlyMounts = %v, want %v", rro, tt.wantRRO)
			}
		})
	}
}

func TestStatusVerboseShowsPodCIDR(t *testing.T) {
	c := newTestClients(t, newFakeDocker())
	ctx := testContext(t)
	_, err := c.runtime.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{
		RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: "10.1.0.0/24,fd00::/64"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.runtime.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(got.GetInfo()["info"]), &info); err != nil {
		t.Fatal(err)
	}
	if info["podCIDR"] != "10.1.0.0/24,fd00::/64" {
		t.Fatalf("verbose info = %v", info)
	}
}

func TestRuntimeConfig(t *testing.T) {
	tests := []struct {
		give     string
		want     runtimeapi.CgroupDriver
		wantCode codes.Code
	}{
		{give: "cgroupfs", want: runtimeapi.CgroupDriver_CGROUPFS},
		{give: "systemd", want: runtimeapi.CgroupDriver_SYSTEMD},
		{give: "none", wantCode: codes.FailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			f := newFakeDocker()
			f.info = system.Info{CgroupDriver: tt.give}
			c := newTestClients(t, f)
			got, err := c.runtime.RuntimeConfig(testContext(t), &runtimeapi.RuntimeConfigRequest{})
			if tt.wantCode != codes.OK {
				st := wantCode(t, err, tt.wantCode)
				if !strings.Contains(st.Message(), tt.give) {
					t.Fatalf("message %q does not name the driver", st.Message())
				}
				return
			}
			if err != nil || got.GetLinux().GetCgroupDriver() != tt.want {
				t.Fatalf("RuntimeConfig = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestUpdateRuntimeConfig(t *testing.T) {
	tests := []struct {
		give     string
		wantCode codes.Code
		wantCIDR string
	}{
		{give: "", wantCIDR: "10.0.0.0/8"}, // empty keeps the previous value
		{give: "10.244.1.0/24", wantCIDR: "10.244.1.0/24"},
		{give: "10.244.1.0/24,fd00:1::/64", wantCIDR: "10.244.1.0/24,fd00:1::/64"},
		{give: "10.244.1.0", wantCode: codes.InvalidArgument, wantCIDR: "10.0.0.0/8"},
		{give: "10.244.1.0/24,nonsense", wantCode: codes.InvalidArgument, wantCIDR: "10.0.0.0/8"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			c := newTestClients(t, newFakeDocker())
			c.svc.podCIDR = "10.0.0.0/8"
			_, err := c.runtime.UpdateRuntimeConfig(testContext(t), &runtimeapi.UpdateRuntimeConfigRequest{
				RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: tt.give}},
			})
			if tt.wantCode != codes.OK {
				wantCode(t, err, tt.wantCode)
			} else if err != nil {
				t.Fatal(err)
			}
			if got := c.svc.PodCIDR(); got != tt.wantCIDR {
				t.Fatalf("pod CIDR = %q, want %q", got, tt.wantCIDR)
			}
		})
	}
}

func TestUnbuiltRPCsAreUnimplemented(t *testing.T) {
	c := newTestClients(t, newFakeDocker())
	// Docker's checkpoints are experimental and need CRIU: not offered.
	_, err := c.runtime.CheckpointContainer(testContext(t), &runtimeapi.CheckpointContainerRequest{ContainerId: "x"})
	wantCode(t, err, codes.Unimplemented)
}

func TestNotReadyServiceRefusesCalls(t *testing.T) {
	f := newFakeDocker()
	c := newTestClients(t, f)
	c.svc.ready.Store(false)
	_, err := c.runtime.Version(testContext(t), &runtimeapi.VersionRequest{})
	wantCode(t, err, codes.Unavailable)
	if len(f.callLog()) != 0 {
		t.Fatalf("a not-ready service called Docker: %v", f.callLog())
	}
}

func TestNewRejectsBadPauseImage(t *testing.T) {
	_, err := New(newFakeDocker(), Config{PodInfraImage: "Not A Ref"})
	if err == nil || !strings.Contains(err.Error(), "pod-infra-container-image") {
		t.Fatalf("New = %v, want an error naming the flag", err)
	}
}

// hangingPing is a Docker whose ping never answers until cancelled.
type hangingPing struct{ *fakeDocker }

func (h hangingPing) Ping(ctx context.Context, _ client.PingOptions) (client.PingResult, error) {
	<-ctx.Done()
	return client.PingResult{}, ctx.Err()
}

func TestStatusBoundsAHungPing(t *testing.T) {
	f := newFakeDocker()
	c := newTestClients(t, hangingPing{f})
	c.svc.pingTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := c.runtime.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatalf("Status with a hung Docker: %v", err)
	}
	if cond := got.GetStatus().GetConditions()[0]; cond.GetStatus() || cond.GetReason() != reasonDockerNotReady {
		t.Fatalf("RuntimeReady = %v, want not ready", cond)
	}
}

// TestStatusDoesNotAnnounceMountOptions: the feature stands for noexec,
// nodev and nosuid on bind mounts, which Docker cannot set; announcing it
// would have the kubelet send pods that then fail at CreateContainer.
func TestStatusDoesNotAnnounceMountOptions(t *testing.T) {
	c := newTestClients(t, newFakeDocker())
	got, err := c.runtime.Status(testContext(t), &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if f := got.GetFeatures(); f.GetMountOptions() || !f.GetSupplementalGroupsPolicy() {
		t.Fatalf("features = %v, want supplemental groups policy and no mount options", f)
	}
}
