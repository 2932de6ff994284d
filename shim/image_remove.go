package shim

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// RemoveImage removes an image with all its tags and digests, whichever of
// them it is named by, as containerd does: the kubelet's image GC names
// images by ID. Removing an absent image succeeds. An image that a container
// still uses is refused before any tag is touched, so a failed remove never
// leaves the image half untagged. An image that other local images are
// built on (`docker build` on the node) loses every name and stays, as with
// `docker rmi <name>`: Docker deletes it with its last child, and an untagged
// parent is not listed, so the kubelet's image GC stops asking for it.
func (s *Service) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref, err := translate.LocalReference(req.GetImage().GetImage())
	if err != nil {
		return nil, err
	}
	in, found, err := s.inspectImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !found {
		return &runtimeapi.RemoveImageResponse{}, nil
	}
	users, err := s.containersUsing(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, failedPrecondition("image %q (%s) is used by container(s) %s", ref, in.ID, strings.Join(users, ", "))
	}
	names := append(append([]string{}, in.RepoTags...), in.RepoDigests...)
	for _, name := range append(names, in.ID) {
		if strings.HasPrefix(name, "<none>") {
			continue
		}
		_, err := s.docker.ImageRemove(ctx, name, client.ImageRemoveOptions{PruneChildren: true})
		if name == in.ID && hasChildImages(err) {
			klog.V(2).InfoS("Image untagged; Docker keeps it for the images built on it", "image", ref, "id", in.ID)
			return &runtimeapi.RemoveImageResponse{}, nil
		}
		if err != nil && !cerrdefs.IsNotFound(err) {
			// Another client (a second RemoveImage of the same image, the
			// kubelet's image GC) may have removed it since the inspect:
			// Docker 20.10 answers that with a server error ("unrecognized
			// image ID"), not NotFound. Gone is what was asked for.
			if _, ierr := s.docker.ImageInspect(ctx, in.ID); cerrdefs.IsNotFound(ierr) {
				return &runtimeapi.RemoveImageResponse{}, nil
			}
			return nil, fmt.Errorf("remove image %q (%s): %w", name, in.ID, err)
		}
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

// hasChildImages recognises Docker's refusal to delete an image that others
// are built on (a conflict; the text is the only sign of its cause, the same
// in the classic and the containerd image store).
func hasChildImages(err error) bool {
	return cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "dependent child images")
}

// containersUsing lists the containers, running or not, created from the
// image with this ID. Docker's "ancestor" filter also matches images built
// on top of it, so the IDs are compared exactly.
func (s *Service) containersUsing(ctx context.Context, id string) ([]string, error) {
	list, err := s.docker.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("ancestor", id),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers of image %s: %w", id, err)
	}
	var users []string
	for _, c := range list.Items {
		if c.ImageID == id {
			name := c.ID
			if len(c.Names) > 0 {
				name = strings.TrimPrefix(c.Names[0], "/")
			}
			users = append(users, name)
		}
	}
	return users, nil
}
