package shim

import (
	"slices"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

func withMirrors(t *testing.T, specs ...string) func(*Config) {
	var ms translate.Mirrors
	for _, s := range specs {
		m, err := translate.ParseMirror(s)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return func(c *Config) { c.Mirrors = ms }
}

const testMirrorDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func TestPullThroughMirror(t *testing.T) {
	f := newFakeDocker()
	// The mirror has the image; Docker records the mirror's names.
	f.registry["127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2"] = &fakeImage{id: busyboxID,
		tags:    []string{"127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2"},
		digests: []string{"127.0.0.1:5000/k8s/e2e-test-images/busybox@" + testMirrorDigest}}
	f.registry["127.0.0.1:5000/k8s/e2e-test-images/busybox@"+testMirrorDigest] = f.registry["127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2"]
	c := newTestClients(t, f, withMirrors(t, "registry.k8s.io=http://127.0.0.1:5000/k8s"))
	ctx := testContext(t)
	const want = "registry.k8s.io/e2e-test-images/busybox:1.29-2"
	resp, err := c.image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: want},
		Auth: &runtimeapi.AuthConfig{Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetImageRef() != busyboxID {
		t.Fatalf("ImageRef = %q", resp.GetImageRef())
	}
	calls := f.callLog()
	wantCalls := []string{
		"ImagePull 127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2",
		"ImageInspect 127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2",
		"ImageTag 127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2 " + want,
		"ImageRemove 127.0.0.1:5000/k8s/e2e-test-images/busybox:1.29-2",
		// Untagging dropped the digest: put it back (no tag).
		"ImagePull 127.0.0.1:5000/k8s/e2e-test-images/busybox@" + testMirrorDigest,
		"ImageInspect " + want,
	}
	assertCalls(t, calls, wantCalls)
	if f.lastAuth != "" {
		t.Fatal("the registry's credentials were sent to the mirror")
	}
	st, err := c.image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: want}})
	if err != nil {
		t.Fatal(err)
	}
	img := st.GetImage()
	if !slices.Equal(img.GetRepoTags(), []string{want}) ||
		!slices.Equal(img.GetRepoDigests(), []string{"registry.k8s.io/e2e-test-images/busybox@" + testMirrorDigest}) {
		t.Fatalf("names = %v %v, want the registry's and no mirror tag", img.GetRepoTags(), img.GetRepoDigests())
	}
}

func TestPullFallsBackFromMirror(t *testing.T) {
	f := newFakeDocker()
	f.registry["registry.k8s.io/pause:3.10"] = &fakeImage{id: pauseID, tags: []string{"registry.k8s.io/pause:3.10"}}
	c := newTestClients(t, f, withMirrors(t, "registry.k8s.io=http://127.0.0.1:5000/k8s"))
	if _, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "registry.k8s.io/pause:3.10"}}); err != nil {
		t.Fatal(err)
	}
	if calls := f.callLog(); len(calls) < 2 || calls[0] != "ImagePull 127.0.0.1:5000/k8s/pause:3.10" || calls[1] != "ImagePull registry.k8s.io/pause:3.10" {
		t.Fatalf("calls = %v, want the mirror then the registry", calls)
	}
}

func TestPullByDigestThroughMirror(t *testing.T) {
	f := newFakeDocker()
	const mref = "127.0.0.1:5000/k8s/pause@" + testMirrorDigest
	f.registry[mref] = &fakeImage{id: pauseID, digests: []string{mref}}
	c := newTestClients(t, f, withMirrors(t, "registry.k8s.io=http://127.0.0.1:5000/k8s"))
	ctx := testContext(t)
	ref := "registry.k8s.io/pause@" + testMirrorDigest
	resp, err := c.image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil || resp.GetImageRef() != pauseID {
		t.Fatalf("PullImage = %v, %v", resp, err)
	}
	st, err := c.image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil || !slices.Equal(st.GetImage().GetRepoDigests(), []string{ref}) {
		t.Fatalf("ImageStatus by the registry's digest = %v, %v", st.GetImage(), err)
	}
}

// Two pulls of one image through its mirror take turns: the first one's
// untag of the mirror's name would fail the other's tag.
func TestPullsThroughMirrorTakeTurns(t *testing.T) {
	f := newFakeDocker()
	const mref = "127.0.0.1:5000/k8s/pause:3.10"
	f.registry[mref] = &fakeImage{id: pauseID, tags: []string{mref}}
	c := newTestClients(t, f, withMirrors(t, "registry.k8s.io=http://127.0.0.1:5000/k8s"))
	ctx := testContext(t)
	unlock, err := c.svc.mirrorPulls.lock(ctx, mref) // a pull of it under way
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "registry.k8s.io/pause:3.10"}})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the second pull did not wait: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if calls := f.callLog(); len(calls) != 0 {
		t.Fatalf("calls %v while another pull of the image holds it", calls)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
