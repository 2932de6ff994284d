package translate

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/distribution/reference"
)

// Mirror serves one registry's repositories from another place: Docker
// itself mirrors only Docker Hub, containerd mirrors any registry. A mirror
// "registry.k8s.io=http://127.0.0.1:5000/k8s" pulls
// registry.k8s.io/pause:3.10 as 127.0.0.1:5000/k8s/pause:3.10. Whether Docker
// speaks HTTP or HTTPS to the mirror is Docker's own setting (its
// insecure-registries; loopback is insecure by default): the scheme in the
// flag is only checked.
type Mirror struct {
	Registry string // the domain the kubelet names, e.g. "registry.k8s.io", "docker.io"
	Host     string // the mirror's host[:port]
	Prefix   string // a path under which the registry's repositories live ("" for none)
}

// ParseMirror reads "<registry>=<scheme>://<host>[/<prefix>]" (the scheme
// may be left out).
func ParseMirror(s string) (Mirror, error) {
	reg, target, ok := strings.Cut(s, "=")
	if !ok || reg == "" || target == "" {
		return Mirror{}, fmt.Errorf("%w: registry mirror %q: want <registry>=<url>", ErrInvalidConfig, s)
	}
	if !strings.Contains(target, "://") {
		target = "https://" + target
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		return Mirror{}, fmt.Errorf("%w: registry mirror %q: %q is not an http(s) URL", ErrInvalidConfig, s, target)
	}
	m := Mirror{Registry: strings.ToLower(reg), Host: u.Host, Prefix: strings.Trim(u.Path, "/")}
	// Both sides must make valid references whose domain is the one given.
	// A word without a dot or port ("mirror", "quay") is read as a Docker
	// Hub account: the registry would never match a pull, and the mirror's
	// rewritten pulls would go to Docker Hub. "index.docker.io" is read as
	// "docker.io".
	if err := mirrorDomain(m.Registry+"/x", m.Registry); err != nil {
		return Mirror{}, fmt.Errorf("%w: registry mirror %q: registry %q: %v", ErrInvalidConfig, s, reg, err)
	}
	if err := mirrorDomain(m.base()+"/x", m.Host); err != nil {
		return Mirror{}, fmt.Errorf("%w: registry mirror %q: %v", ErrInvalidConfig, s, err)
	}
	return m, nil
}

// mirrorDomain checks that ref parses and names a repository on domain.
func mirrorDomain(ref, domain string) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	if got := reference.Domain(named); got != domain {
		return fmt.Errorf("%q is read as a name on %q, not on %q: give a host with a dot or a port, or localhost", ref, got, domain)
	}
	return nil
}

func (m Mirror) base() string {
	if m.Prefix == "" {
		return m.Host
	}
	return m.Host + "/" + m.Prefix
}

// Mirrors are the node's mirrors, at most one per registry.
type Mirrors []Mirror

// Rewrite returns the mirror's reference for a normalised pull reference
// ("registry.k8s.io/pause:3.10"), or ok=false when its registry has no
// mirror.
func (ms Mirrors) Rewrite(ref string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", false
	}
	domain, path := reference.Domain(named), reference.Path(named)
	for _, m := range ms {
		if m.Registry == domain {
			return m.base() + "/" + path + strings.TrimPrefix(ref, named.Name()), true
		}
	}
	return "", false
}

// Unmirror turns a name Docker recorded for a mirror's image (a repo tag or
// repo digest under the mirror) back into the registry's name, so the
// kubelet sees the names it asked for. Other names are returned unchanged.
func (ms Mirrors) Unmirror(name string) string {
	for _, m := range ms {
		if rest, ok := strings.CutPrefix(name, m.base()+"/"); ok {
			return m.Registry + "/" + rest
		}
	}
	return name
}
