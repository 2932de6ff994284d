package shim

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// ImageStatus inspects one image. An absent image is not an error: the
// response carries no image, which is how the kubelet learns it must pull.
func (s *Service) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	ref, err := translate.LocalReference(req.GetImage().GetImage())
	if err != nil {
		return nil, err
	}
	in, found, err := s.inspectImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !found {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	img, userErr := translate.ImageFromInspect(in, s.isPinned)
	s.unmirror(img)
	if userErr != nil {
		// The image's USER is untrusted input; a bad one must not hide the
		// image, and creating a container from it will refuse it.
		klog.V(2).InfoS("Image has an unusable USER, reported without user", "image", ref, "err", userErr)
	}
	resp := &runtimeapi.ImageStatusResponse{Image: img}
	if req.GetVerbose() {
		graphDriver := ""
		if in.GraphDriver != nil { // none with the containerd image store
			graphDriver = in.GraphDriver.Name
		}
		b, err := json.Marshal(map[string]any{
			"id":           in.ID,
			"repoTags":     in.RepoTags,
			"repoDigests":  in.RepoDigests,
			"created":      in.Created,
			"os":           in.Os,
			"architecture": in.Architecture,
			"size":         in.Size,
			"config":       in.Config,
			"rootfs":       in.RootFS,
			"graphDriver":  graphDriver,
		})
		if err != nil {
			return nil, fmt.Errorf("encode verbose status of image %q: %w", ref, err)
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}
