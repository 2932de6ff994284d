package e2e

import (
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// TestRegistryMirror pulls an image named after a registry that is not
// reachable here through a mirror on the local registry: the image gets the
// name the kubelet asked for, its digest is reported under that name, and no
// mirror tag is left behind.
func TestRegistryMirror(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t, "--registry-mirror", "registry.k8s.io=http://"+env.Registry)
	ctx := framework.Context(t)
	const ref = "registry.k8s.io/busybox:1.36"
	removeImageAfter(t, d, ref)
	pulled, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref)})
	if err != nil {
		t.Fatal(err)
	}
	img := st.GetImage()
	if img.GetId() != pulled.GetImageRef() || !contains(img.GetRepoTags(), ref) {
		t.Fatalf("ImageStatus = %v", img)
	}
	for _, name := range append(img.GetRepoTags(), img.GetRepoDigests()...) {
		if strings.HasPrefix(name, env.Registry) {
			t.Fatalf("a mirror name is reported: %v", img)
		}
	}
	if len(img.GetRepoDigests()) == 0 || !strings.HasPrefix(img.GetRepoDigests()[0], "registry.k8s.io/busybox@sha256:") {
		t.Fatalf("RepoDigests = %v, want the digest under the registry's name", img.GetRepoDigests())
	}
	tags := framework.Docker(t, "image", "inspect", "--format", "{{json .RepoTags}}", pulled.GetImageRef())
	if strings.Contains(tags, env.Registry+"/busybox:1.36") {
		t.Fatalf("the mirror's tag was left behind: %s", tags)
	}

	// By digest, through the same mirror.
	digestRef := img.GetRepoDigests()[0]
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(digestRef)}); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(digestRef)}); err != nil || st.GetImage().GetId() != pulled.GetImageRef() {
		t.Fatalf("ImageStatus by digest = %v, %v", st.GetImage(), err)
	}
}
