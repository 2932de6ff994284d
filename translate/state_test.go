package translate

import (
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSandboxState(t *testing.T) {
	tests := []struct {
		give container.ContainerState
		want runtimeapi.PodSandboxState
	}{
		{"running", runtimeapi.PodSandboxState_SANDBOX_READY},
		{"created", runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
		{"exited", runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
		{"paused", runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
		{"", runtimeapi.PodSandboxState_SANDBOX_NOTREADY},
	}
	for _, tt := range tests {
		if got := SandboxState(tt.give); got != tt.want {
			t.Errorf("SandboxState(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestContainerState(t *testing.T) {
	tests := []struct {
		give container.ContainerState
		want runtimeapi.ContainerState
	}{
		{"created", runtimeapi.ContainerState_CONTAINER_CREATED},
		{"running", runtimeapi.ContainerState_CONTAINER_RUNNING},
		{"paused", runtimeapi.ContainerState_CONTAINER_RUNNING},
		{"restarting", runtimeapi.ContainerState_CONTAINER_RUNNING},
		{"exited", runtimeapi.ContainerState_CONTAINER_EXITED},
		{"dead", runtimeapi.ContainerState_CONTAINER_EXITED},
		{"removing", runtimeapi.ContainerState_CONTAINER_EXITED},
		{"bogus", runtimeapi.ContainerState_CONTAINER_UNKNOWN},
	}
	for _, tt := range tests {
		if got := ContainerState(tt.give); got != tt.want {
			t.Errorf("ContainerState(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestParseDockerTime(t *testing.T) {
	tests := []struct {
		give    string
		want    int64
		wantErr bool
	}{
		{give: "", want: 0},
		{give: "0001-01-01T00:00:00Z", want: 0},
		{give: "2026-11-22T10:00:00.123456789Z", want: 1795341600123456789},
		{give: "2026-11-22T11:00:00.5+01:00", want: 1795341600500000000},
		{give: "yesterday", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseDockerTime(tt.give)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDockerTime(%q) = %d, %v; want %d (error %v)", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func inspectFixture(state container.State) container.InspectResponse {
	labels, _ := ContainerLabels(&runtimeapi.ContainerConfig{
		Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"},
	}, "sb1", "/var/log/pods/p/app/0.log")
	return container.InspectResponse{
		ID: "c1", Name: "/k8s_app_web_default_uid_2", Created: "2026-11-22T10:00:00Z",
		Image: "sha256:abc", State: &state,
		Config: &container.Config{Image: "busybox:1.36", Labels: labels},
		Mounts: []container.MountPoint{
			{Type: mount.TypeBind, Source: "/host/a", Destination: "/a", RW: true, Propagation: mount.PropagationRPrivate},
			{Type: mount.TypeBind, Source: "/host/b", Destination: "/b", RW: false, Propagation: mount.PropagationRSlave},
			{Type: mount.TypeBind, Source: "/host/c", Destination: "/c", RW: true, Propagation: mount.PropagationRShared},
			{Type: mount.TypeVolume, Source: "/var/lib/docker/volumes/x", Destination: "/data", RW: true},
		},
	}
}

const (
	t0       = "2026-11-22T10:00:00Z"
	t1       = "2026-11-22T10:00:01Z"
	t2       = "2026-11-22T10:00:02Z"
	zeroTime = "0001-01-01T00:00:00Z"
)

func TestContainerStatusFromInspectState(t *testing.T) {
	const (
		ns0 = 1795341600000000000
		ns1 = ns0 + 1e9
		ns2 = ns0 + 2e9
	)
	tests := []struct {
		name         string
		give         container.State
		wantState    runtimeapi.ContainerState
		wantStarted  int64
		wantFinished int64
		wantExit     int32
		wantReason   string
		wantMessage  string
	}{
		{name: "created", give: container.State{Status: "created", StartedAt: zeroTime, FinishedAt: zeroTime},
			wantState: runtimeapi.ContainerState_CONTAINER_CREATED},
		{name: "running", give: container.State{Status: "running", Running: true, StartedAt: t1, FinishedAt: zeroTime},
			wantState: runtimeapi.ContainerState_CONTAINER_RUNNING, wantStarted: ns1},
		{name: "completed", give: container.State{Status: "exited", StartedAt: t1, FinishedAt: t2},
			wantState: runtimeapi.ContainerState_CONTAINER_EXITED, wantStarted: ns1, wantFinished: ns2, wantReason: ReasonCompleted},
		{name: "exit 3", give: container.State{Status: "exited", ExitCode: 3, StartedAt: t1, FinishedAt: t2},
			wantState: runtimeapi.ContainerState_CONTAINER_EXITED, wantStarted: ns1, wantFinished: ns2, wantExit: 3, wantReason: ReasonError},
		{name: "oom killed", give: container.State{Status: "exited", ExitCode: 137, OOMKilled: true, StartedAt: t1, FinishedAt: t2},
			wantState: runtimeapi.ContainerState_CONTAINER_EXITED, wantStarted: ns1, wantFinished: ns2, wantExit: 137, wantReason: ReasonOOMKilled},
		{name: "start failed", give: container.State{Status: "created", ExitCode: 128, Error: "exec: nope", StartedAt: zeroTime, FinishedAt: zeroTime},
			wantState: runtimeapi.ContainerState_CONTAINER_EXITED, wantFinished: ns0, wantExit: 128, wantReason: ReasonError, wantMessage: "exec: nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ContainerStatusFromInspect(inspectFixture(tt.give))
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.wantState || st.StartedAt != tt.wantStarted || st.FinishedAt != tt.wantFinished ||
				st.ExitCode != tt.wantExit || st.Reason != tt.wantReason || st.Message != tt.wantMessage || st.CreatedAt != ns0 {
				t.Fatalf("status = %v", st)
			}
		})
	}
}

func TestContainerStatusFromInspectFields(t *testing.T) {
	st, err := ContainerStatusFromInspect(inspectFixture(container.State{Status: "running", Running: true, StartedAt: t0}))
	if err != nil {
		t.Fatal(err)
	}
	if st.Id != "c1" || st.Metadata.GetName() != "app" || st.Metadata.GetAttempt() != 2 {
		t.Errorf("id/metadata = %s %v", st.Id, st.Metadata)
	}
	if st.Image.GetImage() != "busybox:1.36" || st.ImageRef != "sha256:abc" || st.ImageId != "sha256:abc" {
		t.Errorf("image = %v ref %q", st.Image, st.ImageRef)
	}
	if st.LogPath != "/var/log/pods/p/app/0.log" || st.Labels["app"] != "web" || st.Annotations["a"] != "b" || len(st.Labels) != 1 {
		t.Errorf("log path %q labels %v annotations %v", st.LogPath, st.Labels, st.Annotations)
	}
	wantMounts := []struct {
		path, host string
		ro         bool
		prop       runtimeapi.MountPropagation
	}{
		{"/a", "/host/a", false, runtimeapi.MountPropagation_PROPAGATION_PRIVATE},
		{"/b", "/host/b", true, runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
		{"/c", "/host/c", false, runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL},
	}
	if len(st.Mounts) != len(wantMounts) {
		t.Fatalf("mounts = %v (the image volume must not be reported)", st.Mounts)
	}
	for i, w := range wantMounts {
		m := st.Mounts[i]
		if m.ContainerPath != w.path || m.HostPath != w.host || m.Readonly != w.ro || m.Propagation != w.prop {
			t.Errorf("mount %d = %v, want %+v", i, m, w)
		}
	}
}

func TestContainerStatusFromInspectRejects(t *testing.T) {
	bad := inspectFixture(container.State{Status: "running"})
	bad.Name = "/k8s_POD_web_default_uid_1"
	if _, err := ContainerStatusFromInspect(bad); err == nil {
		t.Error("a sandbox name was read as an app container")
	}
	if _, err := ContainerStatusFromInspect(container.InspectResponse{}); err == nil {
		t.Error("an empty inspect was accepted")
	}
}
