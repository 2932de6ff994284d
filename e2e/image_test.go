package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

func spec(ref string) *runtimeapi.ImageSpec { return &runtimeapi.ImageSpec{Image: ref} }

// removeImageAfter makes sure a test leaves no pulled image behind for the next.
func removeImageAfter(t *testing.T, d *framework.Daemon, ref string) {
	t.Cleanup(func() {
		if _, err := d.Image.RemoveImage(framework.Context(t), &runtimeapi.RemoveImageRequest{Image: spec(ref)}); err != nil {
			t.Errorf("cleanup: remove %s: %v", ref, err)
		}
	})
}

func TestPullByTagAndDigest(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	ref := env.Registry + "/busybox:1.36"
	removeImageAfter(t, d, ref)

	pulled, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pulled.GetImageRef(), "sha256:") {
		t.Fatalf("ImageRef = %q, want the image ID", pulled.GetImageRef())
	}
	st, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref)})
	if err != nil {
		t.Fatal(err)
	}
	img := st.GetImage()
	if img.GetId() != pulled.GetImageRef() || !contains(img.GetRepoTags(), ref) || img.GetSize() == 0 {
		t.Fatalf("ImageStatus = %v", img)
	}
	if len(img.GetRepoDigests()) != 1 || !strings.HasPrefix(img.GetRepoDigests()[0], env.Registry+"/busybox@sha256:") {
		t.Fatalf("RepoDigests = %v, want the registry's digest", img.GetRepoDigests())
	}
	digestRef := img.GetRepoDigests()[0]

	// Remove, then pull the same image by digest: same ID.
	if _, err := d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(pulled.GetImageRef())}); err != nil {
		t.Fatal(err)
	}
	if st, _ := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref)}); st.GetImage() != nil {
		t.Fatalf("image still present after RemoveImage: %v", st.GetImage())
	}
	byDigest, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(digestRef)})
	if err != nil {
		t.Fatal(err)
	}
	removeImageAfter(t, d, digestRef)
	if byDigest.GetImageRef() != pulled.GetImageRef() {
		t.Fatalf("pull by digest gave %s, by tag %s", byDigest.GetImageRef(), pulled.GetImageRef())
	}
}

func TestImageUserAndPinned(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	tests := []struct {
		ref      string
		wantUID  int64 // -1: none
		wantName string
		wantPin  bool
	}{
		{ref: env.Registry + "/busybox-uid:1.36", wantUID: 1002},
		{ref: env.Registry + "/busybox-uidgid:1.36", wantUID: 1003},
		{ref: env.Registry + "/busybox-user:1.36", wantUID: -1, wantName: "www-data"},
		{ref: env.PauseImage, wantUID: -1, wantPin: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(tt.ref)}); err != nil {
				t.Fatal(err)
			}
			removeImageAfter(t, d, tt.ref)
			st, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(tt.ref)})
			if err != nil {
				t.Fatal(err)
			}
			uid := int64(-1)
			if st.GetImage().GetUid() != nil {
				uid = st.GetImage().GetUid().GetValue()
			}
			if uid != tt.wantUID || st.GetImage().GetUsername() != tt.wantName || st.GetImage().GetPinned() != tt.wantPin {
				t.Fatalf("ImageStatus = %v", st.GetImage())
			}
		})
	}
}

func TestPullAuthenticated(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	ref := env.AuthRegistry + "/busybox:1.36"

	_, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)})
	if c := status.Code(err); c != codes.Unauthenticated {
		t.Fatalf("anonymous pull from the htpasswd registry: %v, want Unauthenticated", err)
	}
	const wrong = "wrong-password-do-not-log"
	_, err = d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{
		Image: spec(ref),
		Auth:  &runtimeapi.AuthConfig{Username: env.AuthUser, Password: wrong, ServerAddress: env.AuthRegistry},
	})
	if c := status.Code(err); c != codes.Unauthenticated {
		t.Fatalf("pull with a wrong password: %v, want Unauthenticated", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error echoes the password: %v", err)
	}

	removeImageAfter(t, d, ref)
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{
		Image: spec(ref),
		Auth:  &runtimeapi.AuthConfig{Username: env.AuthUser, Password: env.AuthPass, ServerAddress: env.AuthRegistry},
	}); err != nil {
		t.Fatalf("pull with the right credentials: %v", err)
	}

	// crictl pull --creds, the way an operator would.
	uidRef := env.AuthRegistry + "/busybox-uid:1.36"
	removeImageAfter(t, d, uidRef)
	if out, err := framework.Crictl(t, d, "pull", "--creds", env.AuthUser+":"+env.AuthPass, uidRef); err != nil {
		t.Fatalf("crictl pull --creds: %v\n%s", err, out)
	}
	if logs := d.LogContents(); strings.Contains(logs, wrong) || strings.Contains(logs, env.AuthPass) {
		t.Fatal("dockercri's log contains a password")
	}
}

func TestPullErrors(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)

	absent := env.Registry + "/no-such-image:1"
	_, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(absent)})
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), absent) || !strings.Contains(err.Error(), env.Registry) {
		t.Fatalf("pull of an absent image: %v, want NotFound naming image and registry", err)
	}
	// A registry that cannot be reached: nothing listens, or a listener that
	// hangs up at once. Both are Unavailable and name the registry.
	for name, addr := range map[string]string{"refused": closedPort(t), "hangs up": hangingUpListener(t)} {
		ref := addr + "/busybox:1.36"
		_, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)})
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "from "+addr) {
			t.Errorf("pull from a registry that %s: %v, want Unavailable naming %s", name, err, addr)
		}
	}
	for _, bad := range []string{"", "UPPER/Case:1", "busybox:", "a b"} {
		_, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(bad)})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("pull %q: %v, want InvalidArgument", bad, err)
		}
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hangingUpListener accepts connections on loopback and closes them at once,
// until the test ends.
func hangingUpListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

// TestCrictlImageCommands drives the image service the way an operator does.
func TestCrictlImageCommands(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ref := env.Registry + "/busybox-uid:1.36"

	if out, err := framework.Crictl(t, d, "pull", ref); err != nil {
		t.Fatalf("crictl pull: %v\n%s", err, out)
	}
	out, err := framework.Crictl(t, d, "images")
	if err != nil || !strings.Contains(out, env.Registry+"/busybox-uid") || !strings.Contains(out, "1.36") {
		t.Fatalf("crictl images: %v\n%s", err, out)
	}
	out, err = framework.Crictl(t, d, "inspecti", ref)
	if err != nil {
		t.Fatalf("crictl inspecti: %v\n%s", err, out)
	}
	var inspected struct {
		Status struct {
			RepoTags []string `json:"repoTags"`
			UID      struct {
				Value string `json:"value"`
			} `json:"uid"`
		} `json:"status"`
		Info map[string]any `json:"info"`
	}
	if err := json.Unmarshal([]byte(out), &inspected); err != nil {
		t.Fatalf("inspecti output: %v\n%s", err, out)
	}
	if !contains(inspected.Status.RepoTags, ref) || inspected.Status.UID.Value != "1002" || inspected.Info == nil {
		t.Fatalf("crictl inspecti:\n%s", out)
	}
	out, err = framework.Crictl(t, d, "imagefsinfo")
	if err != nil {
		t.Fatalf("crictl imagefsinfo: %v\n%s", err, out)
	}
	var fsinfo struct {
		Status struct {
			ImageFilesystems []struct {
				FsID struct {
					Mountpoint string `json:"mountpoint"`
				} `json:"fsId"`
				UsedBytes struct {
					Value string `json:"value"`
				} `json:"usedBytes"`
				InodesUsed struct {
					Value string `json:"value"`
				} `json:"inodesUsed"`
			} `json:"imageFilesystems"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &fsinfo); err != nil || len(fsinfo.Status.ImageFilesystems) != 1 {
		t.Fatalf("imagefsinfo output: %v\n%s", err, out)
	}
	fs := fsinfo.Status.ImageFilesystems[0]
	// The layers are under Docker's data root, or with the containerd image
	// store under the snapshotter's root in containerd's.
	store := env.DataRoot
	if env.ContainerdStore() {
		store = filepath.Join(env.ContainerdRoot, "io.containerd.snapshotter.v1.overlayfs")
	}
	if !strings.HasPrefix(fs.FsID.Mountpoint, store) || fs.UsedBytes.Value == "" || fs.UsedBytes.Value == "0" || fs.InodesUsed.Value == "0" {
		t.Fatalf("imagefsinfo = %+v, want usage of the layer store %s", fs, store)
	}
	if _, err := os.Stat(fs.FsID.Mountpoint); err != nil {
		t.Fatalf("reported mountpoint: %v", err)
	}

	if out, err := framework.Crictl(t, d, "rmi", ref); err != nil {
		t.Fatalf("crictl rmi: %v\n%s", err, out)
	}
	if out, err := framework.Crictl(t, d, "images", "-q", ref); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("image still listed after rmi: %v\n%s", err, out)
	}
	// Removing what is already gone succeeds (the CRI contract).
	if _, err := d.Image.RemoveImage(framework.Context(t), &runtimeapi.RemoveImageRequest{Image: spec(ref)}); err != nil {
		t.Fatalf("removing an absent image: %v", err)
	}
}

// TestImageLabelsDoNotLeak pulls an image whose LABELs imitate the shim's own
// keys; the image service reports it like any other.
func TestImageWithShimLookingLabels(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	ref := env.Registry + "/busybox-label:1.36"
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)}); err != nil {
		t.Fatal(err)
	}
	removeImageAfter(t, d, ref)
	list, err := d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: spec(ref)}})
	if err != nil || len(list.GetImages()) != 1 {
		t.Fatalf("ListImages filtered by %s: %v %v", ref, list, err)
	}
}

// TestListImagesAgreesWithStatus: an image under two repositories is listed
// with the names ImageStatus gives it. Docker 29's containerd store lists
// the repo digest of one name only and inspects one per name.
func TestListImagesAgreesWithStatus(t *testing.T) {
	env := framework.LoadEnv(t)
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	ref := env.Registry + "/busybox-uid:1.36"
	if _, err := d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(ref)}); err != nil {
		t.Fatal(err)
	}
	removeImageAfter(t, d, ref)
	alias := fmt.Sprintf("dockercri-e2e/alias-%d:1", os.Getpid())
	framework.Docker(t, "tag", ref, alias)
	t.Cleanup(func() { _, _ = framework.DockerMayFail(t, "rmi", alias) })

	st, err := d.Image.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec(ref)})
	if err != nil || st.GetImage() == nil {
		t.Fatalf("ImageStatus(%s) = %v, %v", ref, st, err)
	}
	list, err := d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: spec(ref)}})
	if err != nil || len(list.GetImages()) != 1 {
		t.Fatalf("ListImages filtered by %s: %v %v", ref, list, err)
	}
	listed, want := list.GetImages()[0], st.GetImage()
	if !contains(listed.GetRepoTags(), "docker.io/"+alias) {
		t.Errorf("ListImages tags %q lack docker.io/%s", listed.GetRepoTags(), alias)
	}
	if !sameSet(listed.GetRepoTags(), want.GetRepoTags()) || !sameSet(listed.GetRepoDigests(), want.GetRepoDigests()) {
		t.Errorf("ListImages names %q %q, ImageStatus %q %q", listed.GetRepoTags(), listed.GetRepoDigests(),
			want.GetRepoTags(), want.GetRepoDigests())
	}
	if env.Store == "containerd" && len(want.GetRepoDigests()) < 2 {
		t.Errorf("the containerd store names %q by digest under one repository only: %q", ref, want.GetRepoDigests())
	}
	t.Logf("%s/%s: tags %q, digests %q", env.Engine, env.Store, listed.GetRepoTags(), listed.GetRepoDigests())
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !contains(b, s) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// An image that a node-built image is based on (`docker build` FROM it) is
// removed by name and by ID the way `docker rmi <name>` does: it loses its
// names, is no longer listed, and its child keeps running from it.
func TestRemoveImageWithChildImages(t *testing.T) {
	env := framework.LoadEnv(t)
	t.Setenv("DOCKER_BUILDKIT", "0") // the classic builder records parents
	d := framework.StartDockercri(t)
	ctx := framework.Context(t)
	base := busybox(t, d)
	build := func(tag, from, label string) string {
		dir := t.TempDir()
		file := "FROM " + from + "\nLABEL dockercri.e2e.role=" + label + "\n"
		if err := os.WriteFile(dir+"/Dockerfile", []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		framework.Docker(t, "build", "-q", "-t", tag, dir)
		return strings.TrimSpace(framework.Docker(t, "image", "inspect", "-f", "{{.Id}}", tag))
	}
	for _, by := range []string{"name", "id"} {
		parentTag, childTag := env.Registry+"/dcri-parent-"+by+":1", env.Registry+"/dcri-child-"+by+":1"
		parentID := build(parentTag, base, "parent-"+by)
		childID := build(childTag, parentTag, "child-"+by)
		t.Cleanup(func() { framework.Docker(t, "rmi", "-f", childTag) })
		give := parentTag
		if by == "id" {
			give = parentID
		}
		if _, err := d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(give)}); err != nil {
			t.Fatalf("remove a parent image by %s: %v", by, err)
		}
		list, err := d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, img := range list.GetImages() {
			ids = append(ids, img.GetId())
		}
		if contains(ids, parentID) || !contains(ids, childID) {
			t.Fatalf("by %s: listed %v; want the child %s and not the parent %s", by, ids, childID, parentID)
		}
		// The graph driver store keeps the parent under the child, nameless;
		// the containerd store has no parent chains and deletes it.
		tags, err := framework.DockerMayFail(t, "image", "inspect", "-f", "{{.RepoTags}}", parentID)
		switch {
		case env.ContainerdStore() && (err == nil || !strings.Contains(err.Error(), "No such image")):
			t.Fatalf("by %s: the parent is still there (%s, %v)", by, tags, err)
		case !env.ContainerdStore() && (err != nil || strings.TrimSpace(tags) != "[]"):
			t.Fatalf("by %s: the parent keeps names %s (%v)", by, tags, err)
		}
		// The kubelet's GC asks again by ID: still a success, nothing to do.
		if _, err := d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: spec(parentID)}); err != nil {
			t.Fatalf("by %s: removing the untagged parent again: %v", by, err)
		}
	}
}
