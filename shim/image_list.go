package shim

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// ListImages lists Docker's images, filtered as translate.ImageFilter reads
// the filter. Docker's list carries no image config, so uid and username
// are left to ImageStatus rather than paying an inspect per image.
func (s *Service) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	res, err := s.docker.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker image list: %w", err)
	}
	filter := translate.NewImageFilter(req.GetFilter())
	resp := &runtimeapi.ListImagesResponse{Images: make([]*runtimeapi.Image, 0, len(res.Items))}
	for _, summary := range res.Items {
		img := translate.ImageFromSummary(summary, s.isPinned)
		s.unmirror(img)
		if filter.Match(img) {
			resp.Images = append(resp.Images, img)
		}
	}
	return resp, nil
}
