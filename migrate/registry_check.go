package migrate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// containerdSnapshotter is the driver-type Docker's Info reports in
// DriverStatus when its images live in containerd's image store (the
// default of fresh installs since Docker 29).
const containerdSnapshotter = "io.containerd.snapshotter.v1"

// registryTimeout bounds each registry look-up of check: an unreachable
// registry must not hold up the whole report.
const registryTimeout = 10 * time.Second

// usesContainerdStore says whether Docker keeps its images in containerd's
// image store rather than its classic graph driver store.
func usesContainerdStore(info system.Info) bool {
	for _, kv := range info.DriverStatus {
		if len(kv) == 2 && kv[0] == "driver-type" && kv[1] == containerdSnapshotter {
			return true
		}
	}
	return false
}

// notInRegistry says why containerd could not pull img, or "" when a
// registry has it.
//
// In Docker's classic store only a pull (or push) records a repo digest,
// so having one is proof enough. In its containerd store every image has
// one, a locally built image too (its own manifest's digest under its
// repository name), so there only the registry can tell: it is asked,
// through Docker (without credentials), for each repo digest in turn.
func notInRegistry(ctx context.Context, d Docker, img Image, containerdStore bool) (string, error) {
	if len(img.RepoDigests) == 0 {
		return "built or loaded locally", nil
	}
	if !containerdStore {
		return "", nil
	}
	var reasons []string
	for _, rd := range img.RepoDigests {
		reason := lookUpDigest(ctx, d, rd)
		if reason == "" {
			return "", nil
		}
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("look up %s: %w", rd, err)
		}
		reasons = append(reasons, reason)
	}
	return "no registry confirms it: " + strings.Join(reasons, "; "), nil
}

// lookUpDigest asks the registry of a repo digest whether it has that
// manifest; it returns "" if so, else why it could not be confirmed.
func lookUpDigest(ctx context.Context, d Docker, repoDigest string) string {
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	_, err := d.DistributionInspect(ctx, repoDigest, client.DistributionInspectOptions{})
	switch {
	case err == nil:
		return ""
	case errdefs.IsNotFound(err):
		return repoDigest + " not found"
	case errdefs.IsUnauthorized(err) || errdefs.IsPermissionDenied(err):
		return repoDigest + " denied (no such repository, or a private one: check asks without credentials)"
	case ctx.Err() != nil:
		return fmt.Sprintf("%s: registry unreachable (no answer in %s)", repoDigest, registryTimeout)
	}
	return fmt.Sprintf("%s: registry unreachable (%v)", repoDigest, err)
}
