package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

func TestVersionAndInfo(t *testing.T) {
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	v, err := d.Runtime.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	server := strings.TrimSpace(framework.Docker(t, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"))
	if v.GetRuntimeName() != "docker" || v.GetRuntimeVersion()+" "+v.GetRuntimeApiVersion() != server {
		t.Fatalf("Version = %v, want docker %s", v, server)
	}

	out, err := framework.Crictl(t, d, "version")
	if err != nil {
		t.Fatalf("crictl version: %v\n%s", err, out)
	}
	if !strings.Contains(out, "RuntimeName:  docker") {
		t.Fatalf("crictl version:\n%s", out)
	}

	out, err = framework.Crictl(t, d, "info")
	if err != nil {
		t.Fatalf("crictl info: %v\n%s", err, out)
	}
	var info struct {
		Status struct {
			Conditions []struct {
				Type   string `json:"type"`
				Status bool   `json:"status"`
			} `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("crictl info is not JSON: %v\n%s", err, out)
	}
	for _, c := range info.Status.Conditions {
		if !c.Status {
			t.Errorf("condition %s is false:\n%s", c.Type, out)
		}
	}
	if len(info.Status.Conditions) != 2 {
		t.Errorf("conditions = %+v, want RuntimeReady and NetworkReady", info.Status.Conditions)
	}

	rc, err := d.Runtime.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	driver := strings.TrimSpace(framework.Docker(t, "info", "--format", "{{.CgroupDriver}}"))
	if strings.ToLower(rc.GetLinux().GetCgroupDriver().String()) != driver {
		t.Fatalf("RuntimeConfig cgroup driver %s, docker says %s", rc.GetLinux().GetCgroupDriver(), driver)
	}
}

func TestUnbuiltRPCsAreUnimplemented(t *testing.T) {
	d := framework.StartDockercri(t)
	_, err := d.Runtime.CheckpointContainer(framework.Context(t), &runtimeapi.CheckpointContainerRequest{ContainerId: "x"})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("CheckpointContainer error = %v, want Unimplemented", err)
	}
}

// TestDockerRestartUnderRunningShim stops the private dockerd under a running
// dockercri and starts it again: Status says why it is not ready, calls that
// need Docker fail Unavailable, and the same dockercri process recovers.
func TestDockerRestartUnderRunningShim(t *testing.T) {
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	if _, err := d.Runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil { // as the kubelet does first
		t.Fatal(err)
	}
	framework.DockerdStop(t)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			framework.DockerdStart(t)
		}
	})

	st, err := d.Runtime.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatalf("Status with Docker down must answer, got %v", err)
	}
	ready := st.GetStatus().GetConditions()[0]
	if ready.GetType() != runtimeapi.RuntimeReady || ready.GetStatus() || ready.GetReason() != "DockerDaemonNotReady" || ready.GetMessage() == "" {
		t.Fatalf("RuntimeReady with Docker down = %v", ready)
	}
	// Version answers with the version Docker last reported, so crictl
	// (which calls Version first) can still show why the runtime is down.
	if v, err := d.Runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil || v.GetRuntimeName() != "docker" {
		t.Fatalf("Version with Docker down after it was seen: %v, %v", v, err)
	}
	// A dockercri that has never seen Docker has no version to report.
	fresh := framework.StartDockercri(t)
	if _, err := fresh.Runtime.Version(ctx, &runtimeapi.VersionRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("Version of a dockercri started with Docker down: %v, want Unavailable", err)
	}
	if _, err := fresh.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(framework.LoadEnv(t).PauseImage)}); status.Code(err) != codes.Unavailable {
		t.Fatalf("PullImage with Docker down: %v, want Unavailable", err)
	}
	if _, err := d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("ListImages with Docker down: %v, want Unavailable", err)
	}
	if out, err := framework.Crictl(t, d, "info"); err != nil || !strings.Contains(out, "DockerDaemonNotReady") {
		t.Fatalf("crictl info with Docker down: %v\n%s", err, out)
	}

	framework.DockerdStart(t)
	restarted = true
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := d.Runtime.Status(ctx, &runtimeapi.StatusRequest{})
		if err == nil && st.GetStatus().GetConditions()[0].GetStatus() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockercri did not see Docker come back: %v %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := d.Runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("Version after Docker restart: %v", err)
	}
	if d.Exited() || fresh.Exited() {
		t.Fatal("dockercri exited while Docker was down")
	}
	if _, err := fresh.Runtime.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("Version of the dockercri started while Docker was down, after Docker came back: %v", err)
	}
}

// TestSocket checks the socket the real binary creates: mode 0660, a second
// instance on it is refused with a clear message, and a leftover socket of a
// killed instance is replaced.
func TestSocket(t *testing.T) {
	d := framework.StartDockercri(t)
	fi, err := os.Stat(d.SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v, want socket 0660", fi.Mode())
	}
	second := exec.Command(framework.Binary(), "--container-runtime-endpoint", "unix://"+d.SocketPath,
		"--docker-endpoint", framework.LoadEnv(t).DockerHost, "--root-directory", t.TempDir())
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already listening") {
		t.Fatalf("second instance on a live socket: %v\n%s", err, out)
	}

	d.Kill() // SIGKILL leaves the socket file behind
	if _, err := os.Stat(d.SocketPath); err != nil {
		t.Fatalf("expected a stale socket after SIGKILL: %v", err)
	}
	d.Restart()
	if _, err := d.Runtime.Version(framework.Context(t), &runtimeapi.VersionRequest{}); err != nil {
		t.Fatalf("after replacing the stale socket: %v", err)
	}
}
