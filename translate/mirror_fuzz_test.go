package translate

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// FuzzMirror checks --registry-mirror parsing and the rewrite of pulls. A
// mirror flag is refused with ErrInvalidConfig or names a registry that a
// reference can have as its domain, served from a host that Docker reads as
// the reference's domain (a bare word would be read as a Docker Hub
// account, sending the pull to Docker Hub). A pull is rewritten exactly when
// its registry is the mirror's, to a valid reference on the mirror's host
// with the same repository path under the prefix and the same tag and
// digest, and Unmirror gives the original name back; other names are left
// alone by both.
func FuzzMirror(f *testing.F) {
	f.Add("registry.k8s.io=http://127.0.0.1:5000/k8s", "registry.k8s.io/pause:3.10")
	f.Add("docker.io=mirror.example.com", "busybox")
	f.Add("gcr.io=http://127.0.0.1:5000/gcr/", "gcr.io/k8s-staging-cri-tools/test-image-1@sha256:"+hex64)
	f.Add("Registry.K8s.io=https://m:443/a/b", "registry.k8s.io/x:1.36@sha256:"+hex64)
	f.Add("registry.k8s.io=http://mirror/k8s", "registry.k8s.io/pause:3.10")
	f.Add("index.docker.io=http://127.0.0.1:5000", "busybox")
	f.Add("quay=http://127.0.0.1:5000", "quay/x")
	f.Add("registry.k8s.io=http://user:pass@127.0.0.1:5000/../x?y#z", "registry.k8s.io/../x")
	f.Add("registry.k8s.io=http://[::1]:5000/k8s", "registry.k8s.io/pause:3.10")
	f.Fuzz(func(t *testing.T, spec, ref string) {
		m, err := ParseMirror(spec)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("ParseMirror(%q): %v does not wrap ErrInvalidConfig", spec, err)
			}
			return
		}
		reg, err := reference.ParseNormalizedNamed(m.Registry + "/x")
		if err != nil || reference.Domain(reg) != m.Registry {
			t.Fatalf("ParseMirror(%q) = %+v: no reference has the domain %q (%v)", spec, m, m.Registry, err)
		}
		base, err := reference.ParseNormalizedNamed(m.base() + "/x")
		if err != nil || reference.Domain(base) != m.Host {
			t.Fatalf("ParseMirror(%q) = %+v: %q is not read as a name on %q (%v)", spec, m, m.base()+"/x", m.Host, err)
		}
		pull, err := PullReference(ref)
		if err != nil {
			return
		}
		fuzzCheckRewrite(t, Mirrors{m}, pull)
	})
}

func fuzzCheckRewrite(t *testing.T, ms Mirrors, pull string) {
	t.Helper()
	m := ms[0]
	named, _ := reference.ParseNormalizedNamed(pull)
	rw, ok := ms.Rewrite(pull)
	if ok != (reference.Domain(named) == m.Registry) {
		t.Fatalf("mirror %+v: Rewrite(%q) = %q, %v", m, pull, rw, ok)
	}
	if !ok {
		if back := ms.Unmirror(pull); back != pull && !strings.HasPrefix(pull, m.base()+"/") {
			t.Fatalf("mirror %+v: Unmirror(%q) = %q", m, pull, back)
		}
		return
	}
	got, err := reference.ParseNormalizedNamed(rw)
	if err != nil || reference.Domain(got) != m.Host {
		t.Fatalf("mirror %+v: Rewrite(%q) = %q, on domain %q (%v)", m, pull, rw, reference.Domain(got), err)
	}
	if want := strings.TrimPrefix(m.Prefix+"/"+reference.Path(named), "/"); reference.Path(got) != want {
		t.Fatalf("mirror %+v: Rewrite(%q) = %q, path %q, want %q", m, pull, rw, reference.Path(got), want)
	}
	if strings.TrimPrefix(rw, got.Name()) != strings.TrimPrefix(pull, named.Name()) {
		t.Fatalf("mirror %+v: Rewrite(%q) = %q changed the tag or digest", m, pull, rw)
	}
	if back := ms.Unmirror(rw); back != pull {
		t.Fatalf("mirror %+v: Unmirror(Rewrite(%q)) = %q", m, pull, back)
	}
}
