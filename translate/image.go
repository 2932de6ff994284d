package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/image"
	"github.com/opencontainers/go-digest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxID is the largest uid or gid the kernel accepts (uid_t is 32 bits, and
// -1 means "unchanged"). Kubernetes range-checks runAsUser against 2^31-1
// since CVE-2024-40635; an image's USER is untrusted input and gets the same.
const maxID = 1<<31 - 1

// ImageUser splits an image config's USER ("name", "uid", "uid:gid",
// "name:group") into what CRI reports: a numeric uid or a user name. An empty
// USER yields neither. A numeric user out of range is an error, never a wrap
// to root.
func ImageUser(user string) (uid *runtimeapi.Int64Value, username string, err error) {
	if user == "" {
		return nil, "", nil
	}
	name, _, _ := strings.Cut(user, ":")
	if name == "" {
		return nil, "", fmt.Errorf("image user %q has an empty user part", user)
	}
	n, perr := strconv.ParseInt(name, 10, 64)
	if perr != nil {
		if isDigits(name) {
			return nil, "", fmt.Errorf("image user %q is out of range", user)
		}
		return nil, name, nil
	}
	if n < 0 || n > maxID {
		return nil, "", fmt.Errorf("image user %q is out of range [0, %d]", user, maxID)
	}
	return &runtimeapi.Int64Value{Value: n}, "", nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// ImageFromSummary converts an entry of Docker's image list. The list carries
// no config, so uid and username stay empty; ImageStatus fills them.
//
// In Docker's containerd image store (the only one whose list carries the
// target's Descriptor) an image kept under several names is listed with the
// repo digest of one of them, while its inspection names "repo@<target>"
// for every tag: the list's digests are completed the same way, so that
// ListImages and ImageStatus agree.
func ImageFromSummary(s image.Summary, pinned func(tags []string) bool) *runtimeapi.Image {
	tags, digests := RepoTagsAndDigests(s.RepoTags, s.RepoDigests)
	if s.Descriptor != nil {
		digests = withTagDigests(digests, tags, s.Descriptor.Digest.String())
	}
	return &runtimeapi.Image{
		Id:          s.ID,
		RepoTags:    tags,
		RepoDigests: digests,
		Size:        uint64(max(s.Size, 0)),
		Pinned:      pinned != nil && pinned(tags),
	}
}

// RepoTagsAndDigests normalises Docker's names of an image into CRI's two
// lists. Docker 29's containerd image store lists a reference pulled by
// digest ("repo@sha256:...") among the tags; CRI's repo_tags hold only
// tags, so such a name goes to the digests (once) instead.
func RepoTagsAndDigests(tags, digests []string) (repoTags, repoDigests []string) {
	var byDigest []string
	for _, t := range tags {
		if strings.Contains(t, "@") {
			byDigest = append(byDigest, t)
		}
	}
	if len(byDigest) == 0 {
		return normalizeAll(tags), normalizeAll(digests)
	}
	plain := make([]string, 0, len(tags)-len(byDigest))
	for _, t := range tags {
		if !strings.Contains(t, "@") {
			plain = append(plain, t)
		}
	}
	return normalizeAll(plain), normalizeAll(append(append([]string(nil), digests...), byDigest...))
}

// withTagDigests adds "repo@target" for each normalised tag's repository
// that digests lack.
func withTagDigests(digests, tags []string, target string) []string {
	for _, t := range tags {
		named, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			continue
		}
		d, err := reference.WithDigest(reference.TrimNamed(named), digest.Digest(target))
		if err != nil {
			continue // not a valid digest: nothing to name the image by
		}
		if !slices.Contains(digests, d.String()) {
			digests = append(digests, d.String())
		}
	}
	return digests
}

// ImageFromInspect converts Docker's image inspect. A malformed USER does not
// hide the image: the user is left out and the error returned alongside so the
// caller can report it.
func ImageFromInspect(in image.InspectResponse, pinned func(tags []string) bool) (*runtimeapi.Image, error) {
	tags, digests := RepoTagsAndDigests(in.RepoTags, in.RepoDigests)
	img := &runtimeapi.Image{
		Id:          in.ID,
		RepoTags:    tags,
		RepoDigests: digests,
		Size:        uint64(max(in.Size, 0)),
		Pinned:      pinned != nil && pinned(tags),
	}
	if in.Config == nil {
		return img, nil
	}
	uid, name, err := ImageUser(in.Config.User)
	if err != nil {
		return img, err
	}
	img.Uid, img.Username = uid, name
	return img, nil
}
