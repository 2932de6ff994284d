package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	busyboxID = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	pauseID   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// fakeWithImages is a Docker that has the busybox and pause images.
func fakeWithImages() *fakeDocker {
	f := newFakeDocker()
	f.images = []*fakeImage{
		{id: busyboxID, tags: []string{"busybox:1.36", "127.0.0.1:5000/busybox:1.36"}, digests: []string{"127.0.0.1:5000/busybox@sha256:" + strings.Repeat("a", 64)}, size: 900, user: "1002"},
		{id: pauseID, tags: []string{testPause}, size: 100, user: "www-data"},
	}
	return f
}

func spec(ref string) *runtimeapi.ImageSpec { return &runtimeapi.ImageSpec{Image: ref} }

func TestListImages(t *testing.T) {
	c := newTestClients(t, fakeWithImages())
	got, err := c.image.ListImages(testContext(t), &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetImages()) != 2 {
		t.Fatalf("ListImages = %v, want 2 images", got)
	}
	bb, pause := got.GetImages()[0], got.GetImages()[1]
	if strings.Join(bb.GetRepoTags(), ",") != "docker.io/library/busybox:1.36,127.0.0.1:5000/busybox:1.36" {
		t.Errorf("busybox RepoTags = %v, want normalised tags", bb.GetRepoTags())
	}
	if bb.GetPinned() || !pause.GetPinned() {
		t.Errorf("pinned busybox=%v pause=%v, want only the pause image pinned", bb.GetPinned(), pause.GetPinned())
	}
	filtered, err := c.image.ListImages(testContext(t), &runtimeapi.ListImagesRequest{
		Filter: &runtimeapi.ImageFilter{Image: spec("busybox")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(filtered.GetImages()) != 1 || filtered.GetImages()[0].GetId() != busyboxID {
		t.Fatalf("filtered ListImages = %v, want busybox only", filtered)
	}
}

func TestImageStatus(t *testing.T) {
	tests := []struct {
		give     string
		wantID   string
		wantUID  int64
		wantName string
		wantPin  bool
	}{
		{give: "busybox:1.36", wantID: busyboxID, wantUID: 1002},
		{give: "docker.io/library/busybox:1.36", wantID: busyboxID, wantUID: 1002},
		{give: busyboxID, wantID: busyboxID, wantUID: 1002},
		{give: "111111111111", wantID: busyboxID, wantUID: 1002},
		{give: testPause, wantID: pauseID, wantUID: -1, wantName: "www-data", wantPin: true},
		{give: "absent:1", wantUID: -1},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			c := newTestClients(t, fakeWithImages())
			got, err := c.image.ImageStatus(testContext(t), &runtimeapi.ImageStatusRequest{Image: spec(tt.give)})
			if err != nil {
				t.Fatal(err)
			}
			img := got.GetImage()
			if tt.wantID == "" {
				if img != nil {
					t.Fatalf("absent image reported as %v", img)
				}
				return
			}
			uid := int64(-1)
			if img.GetUid() != nil {
				uid = img.GetUid().GetValue()
			}
			if img.GetId() != tt.wantID || uid != tt.wantUID || img.GetUsername() != tt.wantName || img.GetPinned() != tt.wantPin {
				t.Fatalf("ImageStatus = %v", img)
			}
		})
	}
}

func TestImageStatusVerbose(t *testing.T) {
	c := newTestClients(t, fakeWithImages())
	got, err := c.image.ImageStatus(testContext(t), &runtimeapi.ImageStatusRequest{Image: spec("busybox:1.36"), Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(got.GetInfo()["info"]), &info); err != nil {
		t.Fatalf("verbose info is not JSON: %v", err)
	}
	if info["id"] != busyboxID {
		t.Fatalf("verbose info = %v", info)
	}
}

func TestImageBadReferences(t *testing.T) {
	c := newTestClients(t, fakeWithImages())
	ctx := testContext(t)
	for _, give := range []string{"", "Bad Ref", "busybox:"} {
		_, err := c.image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(give)})
		st := wantCode(t, err, codes.InvalidArgument)
		if give != "" && !strings.Contains(st.Message(), give) {
			t.Errorf("ImageStatus(%q) message %q does not name the reference", give, st.Message())
		}
		_, err = c.image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(give)})
		wantCode(t, err, codes.InvalidArgument)
		_, err = c.image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(give)})
		wantCode(t, err, codes.InvalidArgument)
	}
}

func TestPullImage(t *testing.T) {
	f := newFakeDocker()
	f.registry["docker.io/library/busybox:latest"] = &fakeImage{id: busyboxID, tags: []string{"busybox:latest"}}
	c := newTestClients(t, f)
	got, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{Image: spec("busybox")})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetImageRef() != busyboxID {
		t.Fatalf("ImageRef = %q, want the image ID", got.GetImageRef())
	}
	want := []string{"ImagePull docker.io/library/busybox:latest", "ImageInspect docker.io/library/busybox:latest"}
	assertCalls(t, f.callLog(), want)
	if f.lastAuth != "" {
		t.Fatalf("anonymous pull sent credentials %q", f.lastAuth)
	}
}

// removeOnInspect makes the first n inspects find the image just removed,
// as when another client removes it between the pull and the inspect.
func removeOnInspect(f *fakeDocker, id string, n int) {
	f.hooks = map[string]func(){"ImageInspect": func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if n == 0 {
			return
		}
		n--
		if img, _ := f.find(id); img != nil {
			f.deleteImage(img)
		}
	}}
}

func TestPullImageAgainWhenRemovedMeanwhile(t *testing.T) {
	f := newFakeDocker()
	f.registry["docker.io/library/busybox:latest"] = &fakeImage{id: busyboxID, tags: []string{"busybox:latest"}}
	removeOnInspect(f, busyboxID, 1)
	c := newTestClients(t, f)
	got, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{Image: spec("busybox")})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetImageRef() != busyboxID {
		t.Fatalf("ImageRef = %q, want the image ID", got.GetImageRef())
	}
	want := []string{"ImagePull docker.io/library/busybox:latest", "ImageInspect docker.io/library/busybox:latest",
		"ImagePull docker.io/library/busybox:latest", "ImageInspect docker.io/library/busybox:latest"}
	assertCalls(t, f.callLog(), want)
}

func TestPullImageRemovedEveryTimeGivesUp(t *testing.T) {
	f := newFakeDocker()
	f.registry["docker.io/library/busybox:latest"] = &fakeImage{id: busyboxID, tags: []string{"busybox:latest"}}
	removeOnInspect(f, busyboxID, 100)
	c := newTestClients(t, f)
	_, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{Image: spec("busybox")})
	st := wantCode(t, err, codes.NotFound)
	if !strings.Contains(st.Message(), "docker.io/library/busybox:latest") {
		t.Fatalf("message %q does not name the image", st.Message())
	}
	pulls := 0
	for _, call := range f.callLog() {
		if strings.HasPrefix(call, "ImagePull") {
			pulls++
		}
	}
	if pulls != maxPullAttempts {
		t.Fatalf("%d pulls, want %d", pulls, maxPullAttempts)
	}
}

// An image absent from the registry is pulled once: only an image that
// vanishes after its pull is pulled again.
func TestPullImageAbsentIsPulledOnce(t *testing.T) {
	f := newFakeDocker()
	c := newTestClients(t, f)
	_, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{Image: spec("busybox")})
	wantCode(t, err, codes.NotFound)
	if calls := f.callLog(); len(calls) != 1 {
		t.Fatalf("calls = %v, want one pull", calls)
	}
}

func TestPullImageSendsAuth(t *testing.T) {
	f := newFakeDocker()
	f.registry["127.0.0.1:5001/busybox:1.36"] = &fakeImage{id: busyboxID, tags: []string{"127.0.0.1:5001/busybox:1.36"}}
	c := newTestClients(t, f)
	_, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{
		Image: spec("127.0.0.1:5001/busybox:1.36"),
		Auth:  &runtimeapi.AuthConfig{Username: "dcri", Password: "s3cret", ServerAddress: "127.0.0.1:5001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := authconfig.Decode(f.lastAuth)
	if err != nil {
		t.Fatal(err)
	}
	if auth.Username != "dcri" || auth.Password != "s3cret" || auth.ServerAddress != "127.0.0.1:5001" {
		t.Fatalf("auth sent = %+v", auth)
	}
}

// streamOf returns a pull stream that yields the lines, one every gap.
func streamOf(gap time.Duration, lines ...string) func(context.Context, string) io.ReadCloser {
	return func(ctx context.Context, _ string) io.ReadCloser {
		r, w := io.Pipe()
		go func() {
			for _, l := range lines {
				select {
				case <-time.After(gap):
				case <-ctx.Done():
					w.CloseWithError(ctx.Err())
					return
				}
				if _, err := io.WriteString(w, l+"\n"); err != nil {
					return
				}
			}
			w.Close()
		}()
		return r
	}
}

func TestPullImageErrors(t *testing.T) {
	tests := []struct {
		name      string
		pullErr   error
		stream    []string
		wantCode  codes.Code
		wantInMsg []string
	}{
		{
			name:      "absent image, HTTP error",
			wantCode:  codes.NotFound,
			wantInMsg: []string{"127.0.0.1:5000/absent:1", "127.0.0.1:5000", "manifest unknown"},
		},
		{
			name:      "bad credentials in the stream",
			stream:    []string{`{"status":"Pulling"}`, `{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}`},
			wantCode:  codes.Unauthenticated,
			wantInMsg: []string{"127.0.0.1:5000/absent:1", "unauthorized"},
		},
		{
			name:      "bad credentials as an untyped daemon error",
			pullErr:   fmt.Errorf("Error response from daemon: Head \"http://127.0.0.1:5000/v2/absent/manifests/1\": no basic auth credentials"),
			wantCode:  codes.Unauthenticated,
			wantInMsg: []string{"no basic auth credentials"},
		},
		{
			name:      "other stream error keeps the registry's answer",
			stream:    []string{`{"error":"filesystem layer verification failed"}`},
			wantCode:  codes.Internal,
			wantInMsg: []string{"filesystem layer verification failed"},
		},
		{
			name:     "garbage stream",
			stream:   []string{`{"status":`},
			wantCode: codes.Internal,
		},
		{
			name:      "registry refuses connections",
			pullErr:   fmt.Errorf(`Error response from daemon: Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused`),
			wantCode:  codes.Unavailable,
			wantInMsg: []string{"from 127.0.0.1:5000", "connection refused"},
		},
		{
			name:      "registry name does not resolve",
			pullErr:   fmt.Errorf(`Error response from daemon: Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid on 10.0.0.2:53: no such host`),
			wantCode:  codes.Unavailable,
			wantInMsg: []string{"from 127.0.0.1:5000", "no such host"},
		},
		{
			name:      "TLS failure",
			pullErr:   fmt.Errorf(`Error response from daemon: Get "https://127.0.0.1:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority`),
			wantCode:  codes.Unavailable,
			wantInMsg: []string{"x509"},
		},
		{
			name:      "plain HTTP registry asked for HTTPS",
			pullErr:   fmt.Errorf(`Error response from daemon: Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client`),
			wantCode:  codes.Unavailable,
			wantInMsg: []string{"HTTP response to HTTPS client"},
		},
		{
			name:      "network failure in the middle of the stream",
			stream:    []string{`{"status":"Downloading"}`, `{"error":"read tcp 127.0.0.1:4711->127.0.0.1:5000: read: connection reset by peer"}`},
			wantCode:  codes.Unavailable,
			wantInMsg: []string{"connection reset by peer"},
		},
		{
			name:      "registry hangs up",
			pullErr:   fmt.Errorf(`Error response from daemon: Get "http://127.0.0.1:5000/v2/": EOF`),
			wantCode:  codes.Unavailable,
			wantInMsg: []string{"EOF"},
		},
		{
			name:      "Docker Hub's unknown repository",
			pullErr:   fmt.Errorf(`Error response from daemon: pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`),
			wantCode:  codes.NotFound,
			wantInMsg: []string{"docker login"},
		},
		{
			name:      "access denied",
			stream:    []string{`{"error":"denied: requested access to the resource is denied"}`},
			wantCode:  codes.PermissionDenied,
			wantInMsg: []string{"denied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDocker()
			if tt.pullErr != nil {
				f.errs["ImagePull"] = tt.pullErr
			}
			if tt.stream != nil {
				f.pullStream = streamOf(0, tt.stream...)
			}
			c := newTestClients(t, f)
			_, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{
				Image: spec("127.0.0.1:5000/absent:1"),
				Auth:  &runtimeapi.AuthConfig{Username: "u", Password: "hunter2-password"},
			})
			st := wantCode(t, err, tt.wantCode)
			for _, w := range tt.wantInMsg {
				if !strings.Contains(st.Message(), w) {
					t.Errorf("message %q lacks %q", st.Message(), w)
				}
			}
			if strings.Contains(st.Message(), "hunter2") {
				t.Fatalf("message %q echoes the password", st.Message())
			}
		})
	}
}

func TestPullImageCancelledOnlyWhenProgressStalls(t *testing.T) {
	deadline := func(c *Config) { c.ImagePullProgressDeadline = 150 * time.Millisecond }
	t.Run("steady progress outlives the deadline", func(t *testing.T) {
		f := newFakeDocker()
		lines := make([]string, 12) // 12 × 40 ms ≈ 3 deadlines in all
		for i := range lines {
			lines[i] = fmt.Sprintf(`{"status":"Downloading","progress":"%d"}`, i)
		}
		f.pullStream = streamOf(40*time.Millisecond, lines...)
		f.images = []*fakeImage{{id: busyboxID, tags: []string{"127.0.0.1:5000/slow:1"}}}
		c := newTestClients(t, f, deadline)
		if _, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{Image: spec("127.0.0.1:5000/slow:1")}); err != nil {
			t.Fatalf("a progressing pull was cut off: %v", err)
		}
	})
	t.Run("a stall is cancelled", func(t *testing.T) {
		f := newFakeDocker()
		f.pullStream = streamOf(5*time.Second, `{"status":"never"}`)
		c := newTestClients(t, f, deadline)
		_, err := c.image.PullImage(testContext(t), &runtimeapi.PullImageRequest{Image: spec("127.0.0.1:5000/stuck:1")})
		st := wantCode(t, err, codes.DeadlineExceeded)
		if !strings.Contains(st.Message(), "no progress") || !strings.Contains(st.Message(), "stuck:1") {
			t.Fatalf("message %q does not say the pull stalled", st.Message())
		}
	})
}

func TestRemoveImageRemovesAllNames(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	if _, err := c.image.RemoveImage(testContext(t), &runtimeapi.RemoveImageRequest{Image: spec(busyboxID)}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ImageInspect " + busyboxID,
		"ContainerList " + busyboxID,
		"ImageRemove busybox:1.36",
		"ImageRemove 127.0.0.1:5000/busybox:1.36",
		"ImageRemove 127.0.0.1:5000/busybox@sha256:" + strings.Repeat("a", 64),
		"ImageRemove " + busyboxID,
	}
	assertCalls(t, f.callLog(), want)
	if img, _ := f.find(busyboxID); img != nil {
		t.Fatal("image still present")
	}
	if img, _ := f.find(pauseID); img == nil {
		t.Fatal("another image was removed")
	}
}

func TestRemoveImageAbsentSucceeds(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	if _, err := c.image.RemoveImage(testContext(t), &runtimeapi.RemoveImageRequest{Image: spec("absent:1")}); err != nil {
		t.Fatalf("removing an absent image: %v", err)
	}
	if calls := f.callLog(); len(calls) != 1 {
		t.Fatalf("calls = %v, want only the inspect", calls)
	}
}

func TestRemoveImageInUseTouchesNothing(t *testing.T) {
	f := fakeWithImages()
	f.containers = []*fakeContainer{
		{id: "c1", name: "k8s_app_pod_ns_uid_0", imageID: busyboxID, config: &container.Config{}, state: "exited"},
		{id: "c2", name: "child", imageID: "sha256:child", config: &container.Config{}, state: "exited"}, // built on top: not a user
	}
	c := newTestClients(t, f)
	_, err := c.image.RemoveImage(testContext(t), &runtimeapi.RemoveImageRequest{Image: spec("busybox:1.36")})
	st := wantCode(t, err, codes.FailedPrecondition)
	if !strings.Contains(st.Message(), "k8s_app_pod_ns_uid_0") || strings.Contains(st.Message(), "child") {
		t.Fatalf("message %q should name exactly the container using the image", st.Message())
	}
	for _, call := range f.callLog() {
		if strings.HasPrefix(call, "ImageRemove") {
			t.Fatalf("an image in use lost a name: %v", f.callLog())
		}
	}
}

// A concurrent removal of the same image (critest's image benchmark does
// two at once) makes Docker 20.10 fail the second with a server error once
// the image vanishes under it: that removal has still got what it asked for.
func TestRemoveImageRemovedConcurrently(t *testing.T) {
	f := fakeWithImages()
	f.hooks = map[string]func(){"ImageRemove": func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if img, _ := f.find(busyboxID); img != nil {
			f.deleteImage(img)
		}
	}}
	f.errs["ImageRemove"] = fmt.Errorf("Error response from daemon: unrecognized image ID %s: %w", busyboxID, cerrdefs.ErrInternal)
	c := newTestClients(t, f)
	if _, err := c.image.RemoveImage(testContext(t), &runtimeapi.RemoveImageRequest{Image: spec("busybox:1.36")}); err != nil {
		t.Fatalf("an image removed by another client meanwhile: %v", err)
	}
	if got, want := f.callLog()[len(f.callLog())-1], "ImageInspect "+busyboxID; got != want {
		t.Fatalf("last call = %q, want %q (the check that the image is gone)", got, want)
	}
}

// A server error while the image is still there is an error.
func TestRemoveImageFailureWhileImageRemains(t *testing.T) {
	f := fakeWithImages()
	f.errs["ImageRemove"] = fmt.Errorf("Error response from daemon: driver failed: %w", cerrdefs.ErrInternal)
	c := newTestClients(t, f)
	_, err := c.image.RemoveImage(testContext(t), &runtimeapi.RemoveImageRequest{Image: spec("busybox:1.36")})
	st := wantCode(t, err, codes.Internal)
	if !strings.Contains(st.Message(), "busybox:1.36") || !strings.Contains(st.Message(), "driver failed") {
		t.Fatalf("message %q should name the image and Docker's error", st.Message())
	}
}

// A container created from the image between the check and the remove:
// Docker's conflict reaches the kubelet as FailedPrecondition.
func TestRemoveImageDockerConflict(t *testing.T) {
	f := fakeWithImages()
	f.errs["ImageRemove"] = fmt.Errorf("conflict: unable to remove repository reference \"busybox:1.36\" (must force) - container c1 is using its referenced image: %w", cerrdefs.ErrConflict)
	c := newTestClients(t, f)
	_, err := c.image.RemoveImage(testContext(t), &runtimeapi.RemoveImageRequest{Image: spec(pauseID)})
	wantCode(t, err, codes.FailedPrecondition)
}

// An image that a locally built image is based on loses its names, by name
// or by ID, and is no longer listed; its child stays whole.
func TestRemoveImageWithChildImages(t *testing.T) {
	for _, by := range []string{"name", "id"} {
		t.Run(by, func(t *testing.T) {
			f := fakeWithImages()
			f.images = append(f.images, &fakeImage{id: "sha256:" + strings.Repeat("c", 64), tags: []string{"app:1"}, parent: busyboxID})
			c := newTestClients(t, f)
			ctx := testContext(t)
			give := "busybox:1.36"
			if by == "id" {
				give = busyboxID
			}
			if _, err := c.image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(give)}); err != nil {
				t.Fatalf("remove a parent image by %s: %v", by, err)
			}
			list, err := c.image.ListImages(ctx, &runtimeapi.ListImagesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, img := range list.GetImages() {
				ids = append(ids, img.GetId())
				if img.GetId() == busyboxID {
					t.Fatalf("the untagged parent is still listed: %v", img)
				}
			}
			if !slices.Contains(ids, "sha256:"+strings.Repeat("c", 64)) {
				t.Fatalf("the child image is gone: %v", ids)
			}
			st, err := c.image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec("busybox:1.36")})
			if err != nil || st.GetImage() != nil {
				t.Fatalf("ImageStatus of the removed name = %v, %v; want no image", st, err)
			}
			// Again: nothing left to untag, and still a success.
			if _, err := c.image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(busyboxID)}); err != nil {
				t.Fatalf("remove the untagged parent again: %v", err)
			}
		})
	}
}

func TestImageFsInfo(t *testing.T) {
	root := t.TempDir()
	layers := filepath.Join(root, "overlay2")
	if err := os.MkdirAll(filepath.Join(layers, "l1", "diff"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layers, "l1", "diff", "f"), make([]byte, 64*1024), 0o644); err != nil {
		t.Fatal(err)
	}
	// A hard link must be counted once.
	if err := os.Link(filepath.Join(layers, "l1", "diff", "f"), filepath.Join(layers, "l1", "link")); err != nil {
		t.Fatal(err)
	}
	f := newFakeDocker()
	f.info = system.Info{DockerRootDir: root, Driver: "overlay2"}
	c := newTestClients(t, f)
	got, err := c.image.ImageFsInfo(testContext(t), &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	fs := got.GetImageFilesystems()[0]
	if fs.GetFsId().GetMountpoint() != layers {
		t.Errorf("mountpoint = %q, want %q", fs.GetFsId().GetMountpoint(), layers)
	}
	// overlay2, l1, diff, f (link counted once) = 4 inodes.
	if fs.GetInodesUsed().GetValue() != 4 {
		t.Errorf("inodes = %d, want 4", fs.GetInodesUsed().GetValue())
	}
	used := fs.GetUsedBytes().GetValue()
	if used < 64*1024 || used > 64*1024+64*1024 {
		t.Errorf("used bytes = %d, want 64 KiB plus directories", used)
	}

	// Within the cache TTL a second call does not walk again.
	if err := os.WriteFile(filepath.Join(layers, "l1", "new"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := c.image.ImageFsInfo(testContext(t), &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if again.GetImageFilesystems()[0].GetUsedBytes().GetValue() != used {
		t.Error("a call within the TTL walked the layer store again")
	}
	// Past the TTL it does.
	c.svc.imageFS.last.at = time.Now().Add(-imageFSCacheTTL - time.Second)
	later, err := c.image.ImageFsInfo(testContext(t), &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if later.GetImageFilesystems()[0].GetUsedBytes().GetValue() < used+1<<20 {
		t.Error("a call past the TTL did not see the new file")
	}
}

func TestImageFsInfoFallsBackToDockerAccounting(t *testing.T) {
	f := newFakeDocker()
	f.info = system.Info{DockerRootDir: filepath.Join(t.TempDir(), "absent"), Driver: "overlay2"}
	f.diskUsage = client.DiskUsageResult{Images: client.ImagesDiskUsage{TotalSize: 12345}}
	c := newTestClients(t, f)
	got, err := c.image.ImageFsInfo(testContext(t), &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetImageFilesystems()[0].GetUsedBytes().GetValue() != 12345 {
		t.Fatalf("ImageFsInfo = %v, want Docker's layer size", got)
	}
}
