package translate

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// FuzzImageReference checks the reference functions on any string (a CRI
// client sends any). PullReference refuses with ErrInvalidReference or
// gives a fully qualified name with a tag or digest, never an image ID,
// that is its own normal form and that LocalReference and NormalizeRepoTag
// accept as it is. LocalReference refuses with ErrInvalidReference or gives
// its input back. No result has white space or control characters (it is
// put in Docker's URL query and in logs). ListImages' filter made from the
// reference matches an image carrying the normalised name, and one with its
// ID; a filter by repository matches only that repository's tags.
func FuzzImageReference(f *testing.F) {
	for _, s := range []string{
		"busybox", "busybox:1.36", "127.0.0.1:5000/pause:3.10", "registry.k8s.io/e2e-test-images/busybox:1.29-2",
		"busybox:1.36@sha256:" + hex64, "sha256:" + hex64, hex64, hex64[:12], "Busybox", "busy box", "busybox:",
		"../../etc/passwd", "docker.io/library/busybox:latest\n", "localhost/x", "[::1]:5000/x:y", "a/b/c/d:e",
		"example.com:99999/x", "x@sha256:abc", "<none>:<none>", "busybox:1.36\x00evil", "ünïcödé",
	} {
		f.Add(s, "docker.io/library/busybox")
	}
	f.Fuzz(func(t *testing.T, ref, other string) {
		pull, err := PullReference(ref)
		if err != nil {
			if !errors.Is(err, ErrInvalidReference) {
				t.Fatalf("PullReference(%q): %v does not wrap ErrInvalidReference", ref, err)
			}
		} else {
			fuzzCheckPullRef(t, ref, pull)
		}
		local, err := LocalReference(ref)
		switch {
		case err != nil && !errors.Is(err, ErrInvalidReference):
			t.Fatalf("LocalReference(%q): %v does not wrap ErrInvalidReference", ref, err)
		case err == nil && (local != ref || fuzzHasSpace(local)):
			t.Fatalf("LocalReference(%q) = %q", ref, local)
		}
		fuzzCheckImageFilter(t, ref, other)
	})
}

func fuzzHasSpace(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

func fuzzCheckPullRef(t *testing.T, ref, pull string) {
	t.Helper()
	named, err := reference.ParseNamed(pull) // ParseNamed wants the canonical, fully qualified form
	if err != nil || fuzzHasSpace(pull) || imageID.MatchString(pull) {
		t.Fatalf("PullReference(%q) = %q: not a canonical reference (%v)", ref, pull, err)
	}
	_, tagged := named.(reference.Tagged)
	_, digested := named.(reference.Digested)
	if !tagged && !digested {
		t.Fatalf("PullReference(%q) = %q has neither tag nor digest", ref, pull)
	}
	if again, err := PullReference(pull); err != nil || again != pull {
		t.Fatalf("PullReference(%q) = %q, but PullReference(%q) = %q, %v", ref, pull, pull, again, err)
	}
	if n, ok := NormalizeRepoTag(pull); !ok || n != pull {
		t.Fatalf("NormalizeRepoTag(%q) = %q, %v", pull, n, ok)
	}
	if l, err := LocalReference(pull); err != nil || l != pull {
		t.Fatalf("LocalReference(%q) = %q, %v", pull, l, err)
	}
	orig, err := reference.ParseNormalizedNamed(ref)
	if err != nil || reference.Domain(orig) != reference.Domain(named) || reference.Path(orig) != reference.Path(named) {
		t.Fatalf("PullReference(%q) = %q changed the repository (%v)", ref, pull, err)
	}
}

// fuzzCheckImageFilter: a filter by an image's normalised name or by its
// ID selects it; a filter by repository name selects only tags of exactly
// that repository.
func fuzzCheckImageFilter(t *testing.T, ref, other string) {
	t.Helper()
	pull, err := PullReference(ref)
	if err != nil {
		return
	}
	id := "sha256:" + hex64
	img := &runtimeapi.Image{Id: id, RepoTags: []string{pull}}
	for _, f := range []string{pull, id, ""} {
		if !NewImageFilter(&runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: f}}).Match(img) {
			t.Fatalf("filter %q does not match image %v", f, img)
		}
	}
	filter := NewImageFilter(&runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: other}})
	if filter.repoName == "" || !filter.Match(img) || strings.HasPrefix(id, "sha256:"+strings.TrimPrefix(other, "sha256:")) {
		return
	}
	if named, _ := reference.ParseNormalizedNamed(pull); named.Name() != filter.repoName {
		t.Fatalf("repository filter %q (%q) matches %q of repository %q", other, filter.repoName, pull, named.Name())
	}
}
