package e2e

import (
	"encoding/json"
	"net/http"
	"runtime"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// TestPullMultiPlatformIndex pulls busybox-multi:1.36, a manifest list of
// linux/amd64 and linux/arm64 (e2e/env/up.sh): the host's platform is the
// one pulled and reported, the list's digest is the image's repo digest,
// a container of it runs, and the image goes by that digest.
func TestPullMultiPlatformIndex(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	ref := env.Registry + "/busybox-multi:1.36"
	listDigest := registryDigest(t, env.Registry, "busybox-multi", "1.36",
		"application/vnd.docker.distribution.manifest.list.v2+json")

	pulled, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref), Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	img := st.GetImage()
	byDigest := env.Registry + "/busybox-multi@" + listDigest
	if img.GetId() != pulled.GetImageRef() || !contains(img.GetRepoTags(), ref) || !contains(img.GetRepoDigests(), byDigest) {
		t.Fatalf("ImageStatus = %v, want tag %s and digest %s", img, ref, byDigest)
	}
	var info struct{ OS, Architecture string }
	if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil || info.OS != "linux" || info.Architecture != runtime.GOARCH {
		t.Fatalf("platform reported %+v (%v), want linux/%s", info, err, runtime.GOARCH)
	}

	removePodsAfter(t, "multi")
	pod := podConfig(t, "multi")
	podID := runPod(t, d, pod)
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "multi"}, Image: spec(pulled.GetImageRef()), Command: []string{"sleep", "3600"},
	})
	if r, err := d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"true"}, Timeout: 10}); err != nil || r.GetExitCode() != 0 {
		t.Fatalf("exec in the container of the index's image: %v, %v", r, err)
	}
	if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(byDigest)}); err != nil {
		t.Fatalf("remove by digest: %v", err)
	}
	if st, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref)}); err != nil || st.GetImage() != nil {
		t.Fatalf("after remove by digest: %v, %v", st.GetImage(), err)
	}
}

// registryDigest asks the registry for the digest of name:tag as mediaType.
func registryDigest(t *testing.T, registry, name, tag, mediaType string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(framework.Context(t), http.MethodHead, "http://"+registry+"/v2/"+name+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	digest := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || digest == "" {
		t.Fatalf("registry: %s: %s, digest %q", name+":"+tag, resp.Status, digest)
	}
	return digest
}
