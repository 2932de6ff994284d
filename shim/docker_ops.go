package shim

import (
	"context"
	"fmt"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	"dockercri/translate"
)

// Docker-level steps that several RPCs share: making sure an image is there,
// the daemon's cgroup driver, creating a named container through name
// conflicts, removing one, and rolling back under a fresh context.

// ensureImage pulls ref unless Docker already has it.
func (s *Service) ensureImage(ctx context.Context, ref string) error {
	if _, found, err := s.inspectImage(ctx, ref); err != nil || found {
		return err
	}
	_, err := s.pullMirrored(ctx, ref, "")
	return err
}

// daemonTraits are the settings of the Docker daemon that shape a
// container's config.
type daemonTraits struct {
	cgroupDriver string // "cgroupfs" or "systemd"
	// selinux: dockerd runs with --selinux-enabled ("name=selinux" among its
	// security options). Only then does Docker relabel a bind mount.
	selinux bool
}

// daemon asks Docker once; its settings cannot change without a Docker
// restart, which we would not see anyway between two pods.
func (s *Service) daemon(ctx context.Context) (daemonTraits, error) {
	if t := s.traits.Load(); t != nil {
		return *t, nil
	}
	info, err := s.docker.Info(ctx, client.InfoOptions{})
	if err != nil {
		return daemonTraits{}, fmt.Errorf("docker info: %w", err)
	}
	t := daemonTraits{cgroupDriver: info.Info.CgroupDriver, selinux: slices.Contains(info.Info.SecurityOptions, "name=selinux")}
	s.traits.Store(&t)
	return t, nil
}

// createNamed creates a named container. A name conflict with a
// leftover (a container that is not running, e.g. from a crashed create) is
// resolved by removing it; a conflict with a running one gets a suffixed
// name, which the naming scheme parses back.
func createNamed(ctx context.Context, d Docker, name string, c *translate.Created) (string, error) {
	id, err := createDetached(ctx, d, name, c)
	if err == nil {
		return id, nil
	}
	if !cerrdefs.IsConflict(err) {
		return "", err
	}
	res, ierr := d.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if ierr != nil {
		return "", fmt.Errorf("%w (and inspecting the conflicting container failed: %v)", err, ierr)
	}
	existing := res.Container
	retryName := name
	if existing.State != nil && existing.State.Running {
		retryName = translate.WithConflictSuffix(name, existing.ID[:8])
	} else {
		klog.InfoS("Removing leftover container in the way of a new one", "name", name, "container", existing.ID)
		if _, rerr := d.ContainerRemove(ctx, existing.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !cerrdefs.IsNotFound(rerr) {
			return "", fmt.Errorf("%w (and removing the leftover failed: %v)", err, rerr)
		}
	}
	return createDetached(ctx, d, retryName, c)
}

// createTimeout bounds a container create that no longer follows its
// request's cancellation.
const createTimeout = time.Minute

// createDetached creates a container whatever becomes of the request: Docker
// finishes a create whose client has gone, and the container would be left
// with nobody knowing its id (a NOTREADY pod until the kubelet's garbage
// collection). The create runs under its own bound; when the request has
// ended meanwhile, the new container is removed and the request's error
// returned.
func createDetached(ctx context.Context, d Docker, name string, c *translate.Created) (string, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	resp, err := d.ContainerCreate(cctx, client.ContainerCreateOptions{Config: c.Config, HostConfig: c.HostConfig, Name: name})
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		rollback("container created for a request that ended", resp.ID, func(ctx context.Context) error {
			return forceRemove(ctx, d, resp.ID)
		})
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	return resp.ID, nil
}

// forceRemove force-removes a container with its anonymous volumes; an
// absent one is fine.
func forceRemove(ctx context.Context, d Docker, id string) error {
	_, err := d.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// rollback runs a cleanup step under a fresh bounded context. Its failure
// is logged, not returned: the caller returns the error that caused it.
func rollback(what, id string, step func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := step(ctx); err != nil {
		klog.ErrorS(err, "Rollback failed; the next relist shows what is left", "object", what, "id", id)
	}
}

func logIgnored(kind, name string, ignored []string) {
	for _, msg := range ignored {
		klog.V(2).InfoS("Field not applied on Docker", "object", kind, "name", name, "field", msg)
	}
}
