package translate

import (
	"strings"

	"github.com/distribution/reference"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ImageFilter matches CRI images against ListImages' filter. An empty filter
// matches everything. The filter may be an image ID, a unique-looking ID
// prefix, a reference with tag or digest (exact match after normalisation), or
// a bare repository name, which matches every tag of that repository, the way
// `crictl images busybox` is read by users.
type ImageFilter struct {
	raw      string
	exact    string // normalised reference with tag or digest
	repoName string // normalised repository name when no tag or digest was given
}

// NewImageFilter prepares a filter; a filter that is not a valid reference
// still matches IDs and ID prefixes.
func NewImageFilter(f *runtimeapi.ImageFilter) ImageFilter {
	raw := f.GetImage().GetImage()
	out := ImageFilter{raw: raw}
	if raw == "" {
		return out
	}
	named, err := reference.ParseNormalizedNamed(raw)
	if err != nil {
		return out
	}
	if _, ok := named.(reference.Canonical); ok {
		out.exact = named.String()
	} else if _, ok := named.(reference.Tagged); ok {
		out.exact = named.String()
	} else {
		out.repoName = named.Name()
	}
	return out
}

// Match reports whether img passes the filter.
func (f ImageFilter) Match(img *runtimeapi.Image) bool {
	if f.raw == "" {
		return true
	}
	id := strings.TrimPrefix(img.GetId(), "sha256:")
	raw := strings.TrimPrefix(f.raw, "sha256:")
	if img.GetId() == f.raw || (len(raw) >= 4 && isHex(raw) && strings.HasPrefix(id, raw)) {
		return true
	}
	for _, ref := range append(append([]string{}, img.GetRepoTags()...), img.GetRepoDigests()...) {
		if f.exact != "" && ref == f.exact {
			return true
		}
		// Repo tags and digests are already normalised, so the repository
		// is everything before the tag's ":" or the digest's "@".
		if f.repoName != "" && len(ref) > len(f.repoName) && strings.HasPrefix(ref, f.repoName) &&
			(ref[len(f.repoName)] == ':' || ref[len(f.repoName)] == '@') {
			return true
		}
	}
	return false
}

func isHex(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
