package translate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// ErrInvalidReference is wrapped by every reference error so callers can map
// it to InvalidArgument without parsing messages.
var ErrInvalidReference = errors.New("invalid image reference")

// imageID matches a full Docker image ID.
var imageID = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// PullReference normalises what the kubelet asks to pull the way Kubernetes
// does: "busybox" becomes "docker.io/library/busybox:latest", a reference
// without tag gets ":latest", and a digest is kept as it is. Image IDs are not
// pullable and are refused.
func PullReference(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("empty image reference: %w", ErrInvalidReference)
	}
	if imageID.MatchString(ref) {
		// "sha256:<hex>" parses as repository "sha256" with a tag; it is an
		// image ID, and pulling it would ask Docker Hub for "library/sha256".
		return "", fmt.Errorf("image reference %q is an image ID, not a pullable name: %w", ref, ErrInvalidReference)
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %v: %w", ref, err, ErrInvalidReference)
	}
	return reference.TagNameOnly(named).String(), nil
}

// LocalReference checks a reference that names an image already on the node:
// a name with tag or digest, a full image ID ("sha256:<hex>") or a short ID.
// It returns the string to hand to Docker, which resolves all three forms.
func LocalReference(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("empty image reference: %w", ErrInvalidReference)
	}
	if _, err := reference.ParseAnyReference(ref); err != nil {
		return "", fmt.Errorf("image reference %q: %v: %w", ref, err, ErrInvalidReference)
	}
	return ref, nil
}

// NormalizeRepoTag turns Docker's familiar repo tag or repo digest
// ("busybox:1.36", "busybox@sha256:…") into the fully qualified form the
// kubelet and containerd use ("docker.io/library/busybox:1.36"). Docker's
// placeholders for untagged images ("<none>:<none>", "<none>@<none>") and
// anything unparsable yield ok=false.
func NormalizeRepoTag(s string) (string, bool) {
	if s == "" || strings.HasPrefix(s, "<none>") {
		return "", false
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", false
	}
	return named.String(), true
}

// normalizeAll applies NormalizeRepoTag to a list, dropping placeholders and
// duplicates while keeping Docker's order.
func normalizeAll(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		n, ok := NormalizeRepoTag(s)
		if !ok || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

// ErrInvalidAuth is wrapped by credential errors (InvalidArgument at the
// boundary). Its messages never include the credentials.
var ErrInvalidAuth = errors.New("invalid registry credentials")
