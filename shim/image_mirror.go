package shim

import (
	"context"
	"fmt"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Registry mirrors (--registry-mirror): Docker mirrors only Docker Hub, so
// dockercri does it for any registry, as containerd does. An image whose
// registry has a mirror is pulled from the mirror (without the kubelet's
// credentials, which are the registry's), tagged under the name the kubelet
// asked for, and the mirror's tag removed; a failing mirror falls back to the
// registry. Names Docker keeps for the mirror (repo digests) are reported
// under the registry's name.
//
// Pulls of one image through its mirror take turns: one pull's untag of the
// mirror's name would otherwise pull the name from under another's tag.

// pullMirrored pulls ref, through its mirror when it has one, and returns
// the name Docker now knows the image by.
func (s *Service) pullMirrored(ctx context.Context, ref, auth string) (string, error) {
	mref, ok := s.cfg.Mirrors.Rewrite(ref)
	if !ok {
		return ref, s.pull(ctx, ref, auth)
	}
	unlock, err := s.mirrorPulls.lock(ctx, mref)
	if err != nil {
		return "", fmt.Errorf("pull image %q: waiting for another pull of it: %w", ref, err)
	}
	defer unlock()
	if err := s.pull(ctx, mref, ""); err != nil {
		klog.InfoS("Pull from the mirror failed; pulling from the registry", "image", ref, "mirror", mref, "err", err)
		return ref, s.pull(ctx, ref, auth)
	}
	if isDigestRef(ref) {
		// A pull by digest makes no tag; the digest is recorded under the
		// mirror's name, which ImageStatus and ListImages report back under
		// the registry's.
		return mref, nil
	}
	tctx, cancel := context.WithTimeout(ctx, s.cfg.RuntimeRequestTimeout)
	defer cancel()
	in, err := s.docker.ImageInspect(tctx, mref)
	if err != nil {
		return "", fmt.Errorf("inspect %q pulled from the mirror: %w", mref, vanished(err))
	}
	if _, err := s.docker.ImageTag(tctx, client.ImageTagOptions{Source: mref, Target: ref}); err != nil {
		return "", fmt.Errorf("tag %q pulled from the mirror as %q: %w", mref, ref, vanished(err))
	}
	if _, err := s.docker.ImageRemove(tctx, mref, client.ImageRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("remove the mirror's tag %q: %w", mref, err)
	}
	// Untagging a repository's last tag drops its digest too: pull by
	// digest (the layers are here; only the manifest moves) to keep it, so
	// the image's digest is reported under the registry's name.
	if d := mirrorDigest(in.RepoDigests, mref); d != "" {
		if err := s.pull(ctx, d, ""); err != nil {
			klog.V(2).InfoS("Image pulled from a mirror is reported without its digest", "image", ref, "err", err)
		}
	}
	return ref, nil
}

// mirrorDigest is the repo digest Docker recorded for the repository of
// mref ("host/repo:tag" → "host/repo@sha256:…"), or "".
func mirrorDigest(digests []string, mref string) string {
	named, err := reference.ParseNormalizedNamed(mref)
	if err != nil {
		return ""
	}
	for _, d := range digests {
		if dn, err := reference.ParseNormalizedNamed(d); err == nil && dn.Name() == named.Name() {
			return d
		}
	}
	return ""
}

func isDigestRef(ref string) bool {
	r, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return false
	}
	_, ok := r.(reference.Digested)
	return ok
}

// mirrorName is where a digest reference pulled through a mirror is found.
func (s *Service) mirrorName(ref string) (string, bool) {
	if !isDigestRef(ref) {
		return "", false
	}
	return s.cfg.Mirrors.Rewrite(ref)
}

// unmirror reports an image's names under the registries' names.
func (s *Service) unmirror(img *runtimeapi.Image) {
	if img == nil || len(s.cfg.Mirrors) == 0 {
		return
	}
	rename := func(names []string) []string {
		out := make([]string, 0, len(names))
		for _, n := range names {
			if u := s.cfg.Mirrors.Unmirror(n); !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
		return out
	}
	img.RepoTags, img.RepoDigests = rename(img.RepoTags), rename(img.RepoDigests)
}
