package shim

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

// logDrainWait bounds how long ContainerStatus waits for an exited
// container's output to reach its log file, so that "exited" implies "its
// log is complete" for the kubelet and crictl.
const logDrainWait = 2 * time.Second

// ContainerStatus reports one container.
func (s *Service) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	in, found, err := s.statuses.inspect(ctx, s, req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("container %q", req.GetContainerId())
	}
	st, err := s.statusOf(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: st}
	if req.GetVerbose() {
		b, err := json.Marshal(map[string]any{
			"pid": in.State.Pid, "config": in.Config, "hostConfig": in.HostConfig, "mounts": in.Mounts, "state": in.State,
		})
		if err != nil {
			return nil, err
		}
		resp.Info = map[string]string{"info": string(b)}
	}
	return resp, nil
}

// statusOf builds the CRI status of an inspected app container, for
// ContainerStatus and for the statuses container events carry.
func (s *Service) statusOf(ctx context.Context, in container.InspectResponse) (*runtimeapi.ContainerStatus, error) {
	if in.State != nil && !in.State.Running {
		s.logs.WaitDone(in.ID, logDrainWait)
	}
	st, err := translate.ContainerStatusFromInspect(in)
	if err != nil {
		return nil, err
	}
	if u := s.processUser(in); u != nil {
		st.User = u
	}
	s.describeImage(ctx, st)
	return st, nil
}

// describeImage replaces an image ID in the status by the image's first
// repo tag and reports its repo digest as the image ref, as containerd does:
// the kubelet shows both in the pod's status. An image that is gone leaves
// the IDs in place.
func (s *Service) describeImage(ctx context.Context, st *runtimeapi.ContainerStatus) {
	ref := st.GetImageRef()
	if ref == "" {
		return
	}
	cri, ok := s.imageNames.get(ref, time.Now())
	if !ok {
		img, err := s.docker.ImageInspect(ctx, ref)
		if err != nil {
			return
		}
		cri, _ = translate.ImageFromInspect(img.InspectResponse, nil)
		s.imageNames.put(ref, cri, time.Now())
	}
	if strings.HasPrefix(st.GetImage().GetImage(), "sha256:") && len(cri.GetRepoTags()) > 0 {
		st.Image = &runtimeapi.ImageSpec{Image: cri.GetRepoTags()[0]}
	}
	if len(cri.GetRepoDigests()) > 0 {
		st.ImageRef = cri.GetRepoDigests()[0]
	}
}

// processUser reports the identity of a running container's process as the
// kernel holds it (uid, gid and supplementary groups, from /proc); nil for a
// container not running, or whose process dockercri cannot see, which keeps
// the numeric parts of Docker's User (translate.ConfigUser).
func (s *Service) processUser(in container.InspectResponse) *runtimeapi.ContainerUser {
	if in.State != nil && in.State.Running && in.State.Pid > 0 {
		status, err := os.ReadFile(filepath.Join(s.stats.roots.Proc, strconv.Itoa(in.State.Pid), "status"))
		if err == nil {
			if u, err := translate.ProcessUser(status); err == nil {
				return u
			}
		}
	}
	return nil
}

// imageNamesFresh is how long describeImage reuses an image's tags and
// digests. The kubelet asks every container's status every 10 s (its log
// stats), and each asked Docker for the image; an image's names change only
// when it is tagged, untagged or pulled again, which the status shows this
// much later at most.
const imageNamesFresh = 10 * time.Second

// imageNamesCache holds the CRI image (tags, digests) of image IDs.
type imageNamesCache struct {
	mu      sync.Mutex
	entries map[string]imageNames
}

type imageNames struct {
	img *runtimeapi.Image
	at  time.Time
}

func (c *imageNamesCache) get(ref string, now time.Time) (*runtimeapi.Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[ref]
	if !ok || now.Sub(e.at) >= imageNamesFresh {
		return nil, false
	}
	return e.img, true
}

// put keeps img; the stale entries go once the map has grown, so it holds
// about the images of the containers asked about within imageNamesFresh.
func (c *imageNamesCache) put(ref string, img *runtimeapi.Image, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]imageNames{}
	}
	if len(c.entries) >= 64 {
		for k, e := range c.entries {
			if now.Sub(e.at) >= imageNamesFresh {
				delete(c.entries, k)
			}
		}
	}
	c.entries[ref] = imageNames{img: img, at: now}
}
