package translate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/moby/moby/api/types/container"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// resPageSize is a hugepage size as the kubelet names them ("2MB", "1GB").
var resPageSize = regexp.MustCompile(`^[1-9][0-9]*[KMGTPE]?B$`)

// PodResources checks pod-level resources (UpdatePodSandboxResources'
// overhead and resources; field names which) with the ranges a container's
// resources get (resFill, resOOM), plus hugepage sizes and cgroup v2 keys.
// Nothing reaches Docker: the kubelet sizes the pod cgroup itself; the shim
// only records what it was told, so it must make sense.
func PodResources(field string, r *runtimeapi.LinuxContainerResources) error {
	if r == nil {
		return nil
	}
	if _, err := resFill(&container.Resources{}, r); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if _, _, err := resOOM(r.GetOomScoreAdj(), nil); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	for i, h := range r.GetHugepageLimits() {
		if !resPageSize.MatchString(h.GetPageSize()) {
			return cfgInvalid("%s.hugepage_limits[%d].page_size %q: want a size such as 2MB or 1GB", field, i, h.GetPageSize())
		}
	}
	for k := range r.GetUnified() {
		if !strings.Contains(k, ".") || strings.HasPrefix(k, ".") || strings.ContainsAny(k, "/\x00") {
			return cfgInvalid("%s.unified key %q is not a cgroup v2 file name", field, k)
		}
	}
	return nil
}
