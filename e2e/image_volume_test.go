package e2e

import (
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// TestImageVolume mounts an image as a volume, as the kubelet does for an
// "image" volume (it pulls the image first and passes its id): on Docker
// API 1.48+ it is Docker's image mount, read-only, image_sub_path honoured;
// on an older Docker the create fails naming the API it needs.
func TestImageVolume(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	ctx := framework.Context(t)
	volRef := env.Registry + "/busybox-user:1.36"
	pulled, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(volRef)})
	if err != nil {
		t.Fatal(err)
	}
	removePodsAfter(t, "imagevol")
	pod := podConfig(t, "imagevol")
	podID := runPod(t, d, pod)
	cfg := &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "reader"}, Image: spec(image),
		Command: []string{"sleep", "3600"},
		Mounts: []*runtimeapi.Mount{{
			ContainerPath: "/vol", Readonly: true, ImageSubPath: "etc",
			Image: &runtimeapi.ImageSpec{Image: pulled.GetImageRef(), UserSpecifiedImage: volRef},
		}},
	}
	api := strings.TrimSpace(framework.Docker(t, "version", "-f", "{{.Server.APIVersion}}"))
	if apiBelow(api, 1, 48) {
		_, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "API 1.48") {
			t.Fatalf("Docker API %s: create = %v, want InvalidArgument naming API 1.48", api, err)
		}
		return
	}
	id := createAndStart(t, d, podID, pod, cfg)
	exec := func(cmd ...string) int32 {
		r, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: 10})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetExitCode()
	}
	if code := exec("grep", "-q", "^www-data:", "/vol/passwd"); code != 0 {
		t.Fatalf("the image's etc/passwd is not at /vol/passwd (exit %d)", code)
	}
	if code := exec("touch", "/vol/new"); code == 0 {
		t.Fatal("the image volume is writable")
	}
}

func apiBelow(v string, major, minor int) bool {
	a, b, _ := strings.Cut(v, ".")
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return x < major || (x == major && y < minor)
}
