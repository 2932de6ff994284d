package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// imagesNode is a node with a locally built image used by a pod, a pulled
// image used by a stopped pod, an unused image and a static pod's image.
func imagesNode() *fakeDocker {
	stopped := kubeContainer("2222222222222222", "old", "sha256:pulled", nil, nil, false)
	stopped.running = false
	plain := kubeContainer("3333333333333333", "plain", "sha256:unused", nil, nil, false)
	plain.inspect.Config.Labels = nil // not made by Kubernetes
	return &fakeDocker{
		containers: []fakeContainer{
			kubeContainer("1111111111111111", "app", "sha256:local", nil, nil, false),
			stopped, plain,
		},
		images: []image.Summary{
			{ID: "sha256:local", RepoTags: []string{"local/app:v1", "local/app:v2"}, RepoDigests: []string{"<none>@<none>"}, Size: 10},
			{ID: "sha256:pulled", RepoTags: []string{"nginx:1.25"}, RepoDigests: []string{"nginx@sha256:abc"}, Size: 20},
			{ID: "sha256:unused", RepoTags: []string{"unused:1"}, Size: 30},
			{ID: "sha256:etcd", RepoTags: []string{"etcd:3.5"}, RepoDigests: []string{"etcd@sha256:def"}, Size: 40},
		},
	}
}

func TestUsedImages(t *testing.T) {
	tests := []struct {
		name        string
		give        Selection
		want        []string // IDs
		wantMissing []string
	}{
		{name: "running pods", want: []string{"sha256:local"}},
		{name: "all pods", give: Selection{AllContainers: true}, want: []string{"sha256:local", "sha256:pulled"}},
		{
			name: "static pods", give: Selection{StaticPodImages: []string{"etcd:3.5", "gone:1"}},
			want: []string{"sha256:etcd", "sha256:local"}, wantMissing: []string{"gone:1"},
		},
		{
			name: "every image", give: Selection{AllImages: true},
			want: []string{"sha256:etcd", "sha256:local", "sha256:pulled", "sha256:unused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs, missing, err := UsedImages(context.Background(), imagesNode(), tt.give)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, img := range imgs {
				got = append(got, img.ID)
			}
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(missing, tt.wantMissing) {
				t.Errorf("got %q missing %q, want %q missing %q", got, missing, tt.want, tt.wantMissing)
			}
		})
	}
}

// Docker 29's containerd store lists an image kept under two repositories
// with the repo digest of one: the inspection's are taken too, so that a
// pod naming the image by the other digest finds it in containerd.
func TestUsedImagesTakesInspectedNames(t *testing.T) {
	d := imagesNode()
	d.images[0].RepoTags = append(d.images[0].RepoTags, "registry.example/app:v1")
	d.images[0].RepoDigests = []string{"registry.example/app@sha256:111"}
	d.inspectDigests = map[string][]string{"sha256:local": {"local/app@sha256:111"}}
	imgs, _, err := UsedImages(context.Background(), d, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"registry.example/app@sha256:111", "local/app@sha256:111"}
	if len(imgs) != 1 || !reflect.DeepEqual(imgs[0].RepoDigests, want) {
		t.Fatalf("UsedImages = %+v, want one image with repo digests %q", imgs, want)
	}
}

// An image removed between Docker's list and its inspection is left out.
func TestUsedImagesImageGone(t *testing.T) {
	d := &removingDocker{fakeDocker: imagesNode(), gone: "sha256:local"}
	imgs, _, err := UsedImages(context.Background(), d, Selection{AllContainers: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID != "sha256:pulled" {
		t.Fatalf("UsedImages = %+v, want only sha256:pulled", imgs)
	}
}

// removingDocker is fakeDocker with one image that no longer inspects.
type removingDocker struct {
	*fakeDocker
	gone string
}

func (r *removingDocker) ImageInspect(ctx context.Context, ref string, o ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if ref == r.gone {
		return client.ImageInspectResult{}, fmt.Errorf("image %s: %w", ref, errdefs.ErrNotFound)
	}
	return r.fakeDocker.ImageInspect(ctx, ref, o...)
}

func TestCheckImages(t *testing.T) {
	tests := []struct {
		name  string
		give  fakeStore
		giveS Selection
		want  []string
	}{
		{
			name:  "nothing in containerd",
			give:  fakeStore{},
			giveS: Selection{StaticPodImages: []string{"etcd:3.5", "gone:1"}},
			want: []string{
				"warning image etcd:3.5 (etcd): only in Docker; used by static pod image etcd:3.5",
				"blocker image local/app:v1 (local): only in Docker and in no registry (built or loaded locally); " +
					"used by pod default/web container app (111111111111)",
				"info static pod image gone:1: not in Docker's store either",
			},
		},
		{
			name: "already copied", give: fakeStore{"sha256:local": true, "sha256:etcd": true},
			giveS: Selection{StaticPodImages: []string{"etcd:3.5"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings, err := CheckImages(context.Background(), imagesNode(), tt.give, tt.giveS)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range findings {
				got = append(got, string(f.Severity)+" "+f.Object+": "+f.What)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestNotInAndPlan(t *testing.T) {
	imgs, _, err := UsedImages(context.Background(), imagesNode(), Selection{AllContainers: true})
	if err != nil {
		t.Fatal(err)
	}
	todo, err := NotIn(context.Background(), fakeStore{"sha256:pulled": true}, imgs)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WritePlan(&out, todo); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"local/app:v1,local/app:v2", "would copy 1 image(s), about 10 bytes"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "nginx") {
		t.Errorf("plan copies an image containerd has:\n%s", out.String())
	}
}

// containerdStoreNode is a node whose Docker keeps images in containerd's
// store: its image ID is the manifest digest and even the locally built
// image has a repo digest.
func containerdStoreNode(registry map[string]error) *fakeDocker {
	return &fakeDocker{
		containers: []fakeContainer{kubeContainer("1111111111111111", "app", "sha256:local", nil, nil, false)},
		images: []image.Summary{
			{ID: "sha256:local", RepoTags: []string{"local/app:v1"}, RepoDigests: []string{"local/app@sha256:local"}, Size: 10},
		},
		info:     system.Info{DriverStatus: [][2]string{{"driver-type", containerdSnapshotter}}},
		registry: registry,
	}
}

func TestCheckImagesContainerdStore(t *testing.T) {
	const used = "; used by pod default/web container app (111111111111)"
	tests := []struct {
		name     string
		give     *fakeDocker
		wantSev  Severity
		wantWhat string
	}{
		{
			name:     "in its registry",
			give:     containerdStoreNode(map[string]error{"local/app@sha256:local": nil}),
			wantSev:  Warning,
			wantWhat: "only in Docker" + used,
		},
		{
			name:     "not found",
			give:     containerdStoreNode(nil),
			wantSev:  Blocker,
			wantWhat: "only in Docker and in no registry (no registry confirms it: local/app@sha256:local not found)" + used,
		},
		{
			name:    "registry unreachable",
			give:    containerdStoreNode(map[string]error{"local/app@sha256:local": errors.New("dial tcp: no such host")}),
			wantSev: Blocker,
			wantWhat: "only in Docker and in no registry (no registry confirms it: " +
				"local/app@sha256:local: registry unreachable (dial tcp: no such host))" + used,
		},
		{
			name:    "access denied",
			give:    containerdStoreNode(map[string]error{"local/app@sha256:local": errdefs.ErrUnauthenticated}),
			wantSev: Blocker,
			wantWhat: "only in Docker and in no registry (no registry confirms it: local/app@sha256:local denied " +
				"(no such repository, or a private one: check asks without credentials))" + used,
		},
		{
			name: "classic store trusts the digest",
			give: func() *fakeDocker {
				d := containerdStoreNode(nil)
				d.info = system.Info{}
				return d
			}(),
			wantSev:  Warning,
			wantWhat: "only in Docker" + used,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings, err := CheckImages(context.Background(), tt.give, fakeStore{}, Selection{})
			if err != nil {
				t.Fatal(err)
			}
			if len(findings) != 1 || findings[0].Severity != tt.wantSev || findings[0].What != tt.wantWhat {
				t.Errorf("got %+v\nwant one %s finding %q", findings, tt.wantSev, tt.wantWhat)
			}
		})
	}
}
