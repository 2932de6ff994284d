package translate

import (
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestImageUser(t *testing.T) {
	tests := []struct {
		give     string
		wantUID  int64 // -1: no uid
		wantName string
		wantErr  bool
	}{
		{give: "", wantUID: -1},
		{give: "0", wantUID: 0},
		{give: "1002", wantUID: 1002},
		{give: "1003:1003", wantUID: 1003},
		{give: "www-data", wantUID: -1, wantName: "www-data"},
		{give: "www-data:www-data", wantUID: -1, wantName: "www-data"},
		{give: "2147483647", wantUID: 2147483647},
		{give: "2147483648", wantErr: true},
		{give: "4294967296", wantErr: true},
		{give: "99999999999999999999999", wantErr: true},
		{give: "-1", wantErr: true},
		{give: ":1000", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			uid, name, err := ImageUser(tt.give)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ImageUser(%q) = %v, %q; want an error", tt.give, uid, name)
				}
				if uid != nil {
					t.Fatalf("ImageUser(%q) returned uid %v with its error", tt.give, uid)
				}
				return
			}
			if err != nil {
				t.Fatalf("ImageUser(%q) error: %v", tt.give, err)
			}
			gotUID := int64(-1)
			if uid != nil {
				gotUID = uid.GetValue()
			}
			if gotUID != tt.wantUID || name != tt.wantName {
				t.Fatalf("ImageUser(%q) = %d, %q; want %d, %q", tt.give, gotUID, name, tt.wantUID, tt.wantName)
			}
		})
	}
}

func TestImageFromSummary(t *testing.T) {
	s := image.Summary{
		ID:          "sha256:" + hex64,
		RepoTags:    []string{"busybox:1.36", "<none>:<none>", "docker.io/library/busybox:1.36"},
		RepoDigests: []string{"busybox@sha256:" + hex64, "<none>@<none>"},
		Size:        1234,
	}
	pause := func(tags []string) bool { return len(tags) == 1 && tags[0] == "docker.io/library/busybox:1.36" }
	got := ImageFromSummary(s, pause)
	if got.GetId() != s.ID {
		t.Errorf("Id = %q, want %q", got.GetId(), s.ID)
	}
	if strings.Join(got.GetRepoTags(), ",") != "docker.io/library/busybox:1.36" {
		t.Errorf("RepoTags = %v, want the one normalised tag", got.GetRepoTags())
	}
	if strings.Join(got.GetRepoDigests(), ",") != "docker.io/library/busybox@sha256:"+hex64 {
		t.Errorf("RepoDigests = %v", got.GetRepoDigests())
	}
	if got.GetSize() != 1234 {
		t.Errorf("Size = %d, want 1234", got.GetSize())
	}
	if !got.GetPinned() {
		t.Error("Pinned = false, want true")
	}
	if ImageFromSummary(image.Summary{Size: -5}, nil).GetSize() != 0 {
		t.Error("a negative size must not wrap around")
	}
}

// Docker's containerd store lists the repo digest of one of an image's
// names; its inspection has one per tag, and so must the list.
func TestImageFromSummaryContainerdStore(t *testing.T) {
	index := "sha256:" + strings.Repeat("b", 64)
	tests := []struct {
		name string
		give image.Summary
		want []string
	}{
		{
			name: "classic store: no descriptor, the list's digests only",
			give: image.Summary{RepoTags: []string{"busybox:1.36", "x/alias:1"}, RepoDigests: []string{"busybox@" + index}},
			want: []string{"docker.io/library/busybox@" + index},
		},
		{
			name: "containerd store: a digest per tagged repository",
			give: image.Summary{
				RepoTags:    []string{"127.0.0.1:5000/busybox:1.36", "x/alias:1", "x/alias:2"},
				RepoDigests: []string{"x/alias@" + index},
				Descriptor:  &ocispec.Descriptor{Digest: digest.Digest(index)},
			},
			want: []string{"docker.io/x/alias@" + index, "127.0.0.1:5000/busybox@" + index},
		},
		{
			name: "containerd store: a name pulled by digest is kept, not doubled",
			give: image.Summary{
				RepoTags:    []string{"reg.example/app@" + index, "reg.example/app:v1"},
				RepoDigests: []string{"reg.example/app@" + index},
				Descriptor:  &ocispec.Descriptor{Digest: digest.Digest(index)},
			},
			want: []string{"reg.example/app@" + index},
		},
		{
			name: "containerd store: an invalid target digest adds nothing",
			give: image.Summary{
				RepoTags:   []string{"busybox:1.36"},
				Descriptor: &ocispec.Descriptor{Digest: "sha256:short"},
			},
			want: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ImageFromSummary(tt.give, nil).GetRepoDigests()
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("RepoDigests = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRepoTagsAndDigests(t *testing.T) {
	digest := "sha256:" + hex64
	tests := []struct {
		name                 string
		giveTags, giveDigest []string
		wantTags, wantDigest string
	}{
		{
			name:     "tags and digests as Docker 20.10 lists them",
			giveTags: []string{"busybox:1.36"}, giveDigest: []string{"busybox@" + digest},
			wantTags: "docker.io/library/busybox:1.36", wantDigest: "docker.io/library/busybox@" + digest,
		},
		{
			name:     "containerd store: a pull by digest listed among the tags",
			giveTags: []string{"127.0.0.1:5000/busybox:1.36", "127.0.0.1:5000/busybox@" + digest}, giveDigest: []string{"127.0.0.1:5000/busybox@" + digest},
			wantTags: "127.0.0.1:5000/busybox:1.36", wantDigest: "127.0.0.1:5000/busybox@" + digest,
		},
		{
			name:     "pulled by digest only: no tag at all",
			giveTags: []string{"127.0.0.1:5000/busybox@" + digest},
			wantTags: "", wantDigest: "127.0.0.1:5000/busybox@" + digest,
		},
		{name: "nothing", wantTags: "", wantDigest: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tags, digests := RepoTagsAndDigests(tt.giveTags, tt.giveDigest)
			if got := strings.Join(tags, ","); got != tt.wantTags {
				t.Errorf("tags = %q, want %q", got, tt.wantTags)
			}
			if got := strings.Join(digests, ","); got != tt.wantDigest {
				t.Errorf("digests = %q, want %q", got, tt.wantDigest)
			}
		})
	}
}

func TestImageFromInspect(t *testing.T) {
	withUser := func(u string) image.InspectResponse {
		return image.InspectResponse{
			ID:       "sha256:" + hex64,
			RepoTags: []string{"127.0.0.1:5000/busybox:1.36"},
			Size:     42,
			Config:   &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{User: u}},
		}
	}
	t.Run("uid", func(t *testing.T) {
		got, err := ImageFromInspect(withUser("1002"), nil)
		if err != nil || got.GetUid().GetValue() != 1002 || got.GetUsername() != "" {
			t.Fatalf("got %v, %v; want uid 1002", got, err)
		}
	})
	t.Run("username", func(t *testing.T) {
		got, err := ImageFromInspect(withUser("www-data"), nil)
		if err != nil || got.GetUid() != nil || got.GetUsername() != "www-data" {
			t.Fatalf("got %v, %v; want username www-data", got, err)
		}
	})
	t.Run("out of range user is reported, image still returned", func(t *testing.T) {
		got, err := ImageFromInspect(withUser("4294967296"), nil)
		if err == nil || got == nil || got.GetUid() != nil || got.GetSize() != 42 {
			t.Fatalf("got %v, %v; want the image without user and an error", got, err)
		}
	})
	t.Run("no config", func(t *testing.T) {
		got, err := ImageFromInspect(image.InspectResponse{ID: "sha256:" + hex64}, nil)
		if err != nil || got.GetUid() != nil {
			t.Fatalf("got %v, %v", got, err)
		}
	})
}
