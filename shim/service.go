// Package shim serves the CRI v1 RuntimeService and ImageService by
// translating each call into Docker Engine API calls. One file per RPC group,
// named resource then verb; every error leaves through the boundary wrapper in
// instrument.go. It owns the Docker interface (docker.go), the shared lookups
// (lookup.go), the Docker-level steps several RPCs share (docker_ops.go) and
// the sandbox checkpoints; the conversions are translate's, the background
// engines (crilog, events, cgroups, cni, metrics) are its subpackages.
//
// It may import translate, its subpackages, streaming (for the Runtime
// interface it implements), the Docker client and cri-api; nothing imports
// it but cmd/dockercri.
package shim

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/cni"
	"dockercri/shim/crilog"
	"dockercri/shim/events"
	"dockercri/shim/metrics"
	"dockercri/translate"
)

// Config is what the daemon's flags decide.
type Config struct {
	// RootDirectory holds dockercri's own state (checkpoints).
	RootDirectory string
	// PodInfraImage is the pause image; ImageStatus reports it pinned so the
	// kubelet's image GC never removes it.
	PodInfraImage string
	// ImagePullProgressDeadline cancels a pull that made no progress for
	// this long. A pull that keeps progressing is never cut off.
	ImagePullProgressDeadline time.Duration
	// RuntimeRequestTimeout bounds every short Docker call.
	RuntimeRequestTimeout time.Duration
	// NetworkMode is the Docker network of pods without host networking
	// ("bridge" or "none") until CNI networking takes over.
	NetworkMode string
	// Host is what ProbeHost found.
	Host HostInfo
	// Streaming hands out the URLs of exec, attach and port-forward
	// sessions (a *streaming.Server running NewStreamingRuntime). Without
	// it those calls fail with Unimplemented; ExecSync needs none.
	Streaming StreamServer
	// Network attaches pods through CNI (a *cni.Network); nil leaves pods
	// on Docker's own network (NetworkMode).
	Network PodNetwork
	// Mirrors serve registries' images from elsewhere (--registry-mirror).
	Mirrors translate.Mirrors
	// Metrics records CRI calls (--metrics-bind-addr); nil records nothing.
	Metrics *metrics.Metrics
	// ListCacheMaxAge, when positive, answers container lists (the
	// kubelet's relists) from memory kept current by Docker's event stream,
	// asking Docker again at least this often (shim/listcache); 0 asks
	// Docker every time.
	ListCacheMaxAge time.Duration
	// AdoptCheckpointsFrom are the root directories of the dockershim or
	// cri-dockerd that ran this node's pods before (their checkpoints are
	// <dir>/sandbox/<id>): read, never written, when a pod they started is
	// adopted (shim/legacy).
	AdoptCheckpointsFrom []string
}

// PodNetwork is the pod network plugin; *cni.Network is the real one.
type PodNetwork interface {
	// Status is nil when pods can be attached, else why not.
	Status() error
	// Warning says why pods that can be attached will not reach each other
	// (Docker's FORWARD policy, say), "" when nothing shows that.
	Warning() string
	Setup(ctx context.Context, pod cni.Pod) ([]string, error)
	Teardown(ctx context.Context, pod cni.Pod) error
	// Addresses reads an attached pod's addresses from its namespace: for
	// pods adopted from dockershim or cri-dockerd, whose ADD result
	// dockercri never saw.
	Addresses(ctx context.Context, pod cni.Pod) ([]string, error)
}

var _ PodNetwork = (*cni.Network)(nil)

// StreamServer hands out the URLs of exec, attach and port-forward sessions
// (*streaming.Server).
type StreamServer interface {
	GetExec(*runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error)
	GetAttach(*runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error)
	GetPortForward(*runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error)
}

// HostInfo is what the probe found.
type HostInfo struct {
	// Capabilities is the host's bounding set when it lacks a capability the
	// kernel knows, so Docker's privileged mode (which asks for all of them)
	// fails there. Nil when Docker's privileged mode works.
	Capabilities []string
	// MinOOMScoreAdj is the lowest oom_score_adj a container may get, or nil.
	MinOOMScoreAdj *int
	// dockerLacks holds the capabilities of Capabilities that the Docker
	// daemon turned out not to know: a Docker older than the kernel
	// refuses them ("unknown capability"). Learnt at the first refusal.
	dockerLacks *capSet
}

// Service implements runtimeapi.RuntimeServiceServer and
// runtimeapi.ImageServiceServer. RPCs not yet built answer Unimplemented
// through the embedded types.
type Service struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	docker Docker
	// direct is Docker without the list cache: the event handler's, which
	// may run before the cache has seen the event it handles.
	direct Docker
	cfg    Config
	// pauseRef is PodInfraImage normalised, to compare with repo tags.
	pauseRef string

	ready atomic.Bool
	// lastVersion is the Docker version last seen, served while Docker is down.
	lastVersion atomic.Pointer[dockerVersion]
	// pingTimeout bounds Status's ping (statusPingTimeout; shorter in tests).
	pingTimeout time.Duration
	// versionFresh is how long Version reuses lastVersion (versionFresh).
	versionFresh time.Duration

	mu      sync.Mutex
	podCIDR string

	imageFS fsUsageCache
	// snapshotRoots: containerd address + snapshotter → its root directory
	// (image_fsinfo.go).
	snapshotRoots sync.Map

	checkpoints *checkpointStore
	traits      atomic.Pointer[daemonTraits] // Docker's settings, once known
	logs        *crilog.Manager
	stats       *statsManager
	events      *events.Hub
	stopCache   context.CancelFunc // ends the list cache's event follower
	accounts    accountsCache
	imageNames  imageNamesCache // describeImage's
	statuses    statusInspects  // ContainerStatus's
	mirrorPulls keyedLock
}

var (
	_ runtimeapi.RuntimeServiceServer = (*Service)(nil)
	_ runtimeapi.ImageServiceServer   = (*Service)(nil)
)

// New builds the service. It does not talk to Docker: Docker may be down at
// start, and dockercri serves (and reports it) until it comes back.
func New(docker Docker, cfg Config) (*Service, error) {
	pause, err := translate.PullReference(cfg.PodInfraImage)
	if err != nil {
		return nil, invalidArgument("--pod-infra-container-image: %v", err)
	}
	if cfg.ImagePullProgressDeadline <= 0 {
		cfg.ImagePullProgressDeadline = time.Minute
	}
	if cfg.RuntimeRequestTimeout <= 0 {
		cfg.RuntimeRequestTimeout = 2 * time.Minute
	}
	if cfg.NetworkMode == "" {
		cfg.NetworkMode = "bridge"
	}
	if cfg.NetworkMode != "bridge" && cfg.NetworkMode != "none" {
		return nil, invalidArgument("network mode %q: want bridge or none", cfg.NetworkMode)
	}
	checkpoints, err := openCheckpointStore(filepath.Join(cfg.RootDirectory, "sandbox"))
	if err != nil {
		return nil, err
	}
	s := &Service{direct: docker, cfg: cfg, pauseRef: pause, checkpoints: checkpoints}
	// The event hub resyncs from Docker's own lists, never the cache's.
	// Nothing runs until the first GetContainerEvents client subscribes.
	s.events = events.NewHub(docker, s.containerEvent, events.Options{})
	var cacheCtx context.Context
	cacheCtx, s.stopCache = context.WithCancel(context.Background())
	s.docker, s.statuses.lists = withListCache(cacheCtx, docker, cfg.ListCacheMaxAge)
	// The kubelet asks each container's status every 10 s (its log stats):
	// an entry must outlive that to be of use. Events, not age, keep it
	// current; the age only bounds what an unnoticed change could cost.
	s.statuses.maxAge = max(cfg.ListCacheMaxAge, statusInspectMaxAge)
	s.logs = crilog.NewManager(s.docker)
	s.stats = newStatsManager(s.docker)
	s.imageFS.ttl = imageFSCacheTTL
	s.pingTimeout = statusPingTimeout
	s.versionFresh = versionFresh
	s.ready.Store(true)
	return s, nil
}

// isPinned reports whether an image's normalised tags include the pause image.
func (s *Service) isPinned(tags []string) bool {
	for _, t := range tags {
		if t == s.pauseRef {
			return true
		}
	}
	return false
}

// Resume, at start, cleans up interrupted network setups, adopts the pods
// another runtime started (sandbox_adopt.go), and restarts the copiers of
// the containers that have a log path: running ones are followed again,
// exited ones get what they wrote after the last entry in their file.
func (s *Service) Resume(ctx context.Context) error {
	s.resumeNetworks(ctx)
	if err := s.adoptAll(ctx); err != nil {
		return err
	}
	list, err := listOurs(ctx, s.docker, translate.ContainerTypeContainer, true)
	if err != nil {
		return err
	}
	for _, c := range list {
		labels := translate.ParseLabels(c.Labels)
		if labels.Type != translate.ContainerTypeContainer || labels.LogPath == "" || c.State == container.StateCreated {
			continue
		}
		if labels.Legacy {
			// dockershim's log path is a symlink to Docker's own log,
			// which already holds the whole output.
			continue
		}
		after, err := crilog.LastTime(labels.LogPath)
		if err != nil {
			klog.V(2).InfoS("Not resuming log copy", "container", c.ID, "err", err)
			continue
		}
		res, err := s.docker.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		in := res.Container
		if err != nil || in.Config == nil {
			continue
		}
		if finished, _ := translate.ParseDockerTime(in.State.FinishedAt); !in.State.Running && finished != 0 && !after.IsZero() && after.UnixNano() >= finished {
			continue // everything up to the exit is in the file
		}
		w, err := crilog.OpenWriter(labels.LogPath)
		if err != nil {
			klog.V(2).InfoS("Not resuming log copy", "container", c.ID, "err", err)
			continue
		}
		s.logs.Start(c.ID, in.Config.Tty, w, after)
	}
	return nil
}

// Close stops background work.
func (s *Service) Close() {
	s.stopCache()
	s.logs.StopAll()
	s.stats.close()
	s.events.Close()
}
