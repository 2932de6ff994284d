package shim

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeDocker is the one stateful stand-in for Docker in unit tests: it keeps
// images and containers, records every call as "Method arg", and returns an
// injected error for a method until it is cleared.
type fakeDocker struct {
	mu         sync.Mutex
	calls      []string
	errs       map[string]error
	down       error // returned by every call while set, like a stopped daemon
	apiVersion string
	version    types.Version
	info       system.Info
	diskUsage  types.DiskUsage

	images     []*fakeImage
	containers []*fakeContainer
	// registry maps a normalised reference to the image a pull of it yields.
	registry map[string]*fakeImage
	// pullStream, when set, produces the progress stream of a pull.
	pullStream func(ctx context.Context, ref string) io.ReadCloser
	lastAuth   string
	// resolvDir, when set, holds a resolv.conf per container, as Docker's
	// containers directory does.
	resolvDir string
	// exec holds exec processes and attach sessions (methods at the end).
	exec fakeExecState
	// events holds event subscriptions (methods at the end).
	events fakeEventState
	// hooks run when a method is called, before it acts and outside the
	// lock: a test's way to change the daemon mid-RPC, as another client would.
	hooks map[string]func()
}

type fakeImage struct {
	id      string
	tags    []string // Docker's familiar form, as Docker reports them
	digests []string
	size    int64
	user    string
	labels  map[string]string // merged under a container's own labels, like Docker
	files   map[string]string // path -> content (or fakeSymlink+target), for CopyFromContainer
	parent  string            // the ID of the image it was built on
}

// fakeContainer is a container as the fake daemon keeps it.
type fakeContainer struct {
	id, name   string
	config     *container.Config
	hostConfig *container.HostConfig
	imageID    string
	state      string // created, running, exited
	exitCode   int
	oomKilled  bool
	created    time.Time
	started    time.Time
	finished   time.Time
	logs       string // the body ContainerLogs returns
}

var _ Docker = (*fakeDocker)(nil)

func newFakeDocker() *fakeDocker {
	return &fakeDocker{
		errs:       map[string]error{},
		apiVersion: "1.41",
		version:    types.Version{Version: "20.10.24+dfsg1", APIVersion: "1.41"},
		info:       system.Info{CgroupDriver: "cgroupfs", Driver: "overlay2", DockerRootDir: "/nonexistent"},
		registry:   map[string]*fakeImage{},
	}
}

// record notes a call and returns the error to fail it with, if any.
func (f *fakeDocker) record(method string, arg string) error {
	f.mu.Lock()
	f.calls = append(f.calls, strings.TrimSpace(method+" "+arg))
	hook := f.hooks[method]
	err := f.down
	if err == nil {
		err = f.errs[method]
	}
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return err
}

func (f *fakeDocker) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDocker) resetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *fakeDocker) Ping(context.Context) (types.Ping, error) {
	if err := f.record("Ping", ""); err != nil {
		return types.Ping{}, err
	}
	return types.Ping{APIVersion: f.apiVersion}, nil
}

func (f *fakeDocker) ServerVersion(context.Context) (types.Version, error) {
	if err := f.record("ServerVersion", ""); err != nil {
		return types.Version{}, err
	}
	return f.version, nil
}

func (f *fakeDocker) Info(context.Context) (system.Info, error) {
	if err := f.record("Info", ""); err != nil {
		return system.Info{}, err
	}
	return f.info, nil
}

func (f *fakeDocker) DiskUsage(context.Context, types.DiskUsageOptions) (types.DiskUsage, error) {
	if err := f.record("DiskUsage", ""); err != nil {
		return types.DiskUsage{}, err
	}
	return f.diskUsage, nil
}

func (f *fakeDocker) ClientVersion() string { return f.apiVersion }

func (f *fakeDocker) ImageList(context.Context, image.ListOptions) ([]image.Summary, error) {
	if err := f.record("ImageList", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []image.Summary
	for _, img := range f.images {
		if len(img.tags)+len(img.digests) == 0 && f.hasChildren(img) {
			continue // an intermediate image: Docker lists it only with All
		}
		out = append(out, image.Summary{ID: img.id, RepoTags: img.tags, RepoDigests: img.digests, Size: img.size, ParentID: img.parent})
	}
	return out, nil
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	if err := f.record("ImageInspect", ref); err != nil {
		return image.InspectResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, _ := f.find(ref)
	if img == nil {
		return image.InspectResponse{}, fmt.Errorf("No such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	return image.InspectResponse{
		ID: img.id, RepoTags: img.tags, RepoDigests: img.digests, Size: img.size,
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{User: img.user}},
	}, nil
}

// find resolves a reference the way Docker does: full ID, short ID, tag or
// digest, in familiar or fully qualified form. It returns the matching name
// ("" when matched by ID).
func (f *fakeDocker) find(ref string) (*fakeImage, string) {
	for _, img := range f.images {
		if ref == img.id || (len(ref) >= 4 && strings.HasPrefix(strings.TrimPrefix(img.id, "sha256:"), strings.TrimPrefix(ref, "sha256:"))) {
			return img, ""
		}
	}
	want := canonical(ref)
	for _, img := range f.images {
		for _, name := range append(append([]string{}, img.tags...), img.digests...) {
			if canonical(name) == want {
				return img, name
			}
		}
	}
	return nil, ""
}

func canonical(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

func (f *fakeDocker) ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error) {
	if err := f.record("ImagePull", ref); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastAuth = opts.RegistryAuth
	if f.pullStream != nil {
		return f.pullStream(ctx, ref), nil
	}
	img, ok := f.registry[ref]
	if !ok {
		return nil, fmt.Errorf("manifest for %s not found: manifest unknown: %w", ref, cerrdefs.ErrNotFound)
	}
	if existing, _ := f.find(img.id); existing == nil {
		copied := *img
		f.images = append(f.images, &copied)
	}
	return io.NopCloser(strings.NewReader(`{"status":"Pulling from x"}` + "\n" + `{"status":"Download complete","id":"abc"}` + "\n")), nil
}

func (f *fakeDocker) ImageRemove(_ context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error) {
	if err := f.record("ImageRemove", ref); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, name := f.find(ref)
	if img == nil {
		return nil, fmt.Errorf("No such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	if name == "" { // by ID, like Docker without force
		if f.hasChildren(img) {
			return nil, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image has dependent child images: %w", ref, cerrdefs.ErrConflict)
		}
		if len(img.tags)+len(img.digests) > 1 && !opts.Force {
			return nil, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories: %w", ref, cerrdefs.ErrConflict)
		}
		f.deleteImage(img)
		return []image.DeleteResponse{{Deleted: img.id}}, nil
	}
	img.tags = without(img.tags, name)
	img.digests = without(img.digests, name)
	if len(img.tags)+len(img.digests) == 0 && !f.hasChildren(img) {
		f.deleteImage(img)
	}
	return []image.DeleteResponse{{Untagged: name}}, nil
}

// hasChildren reports whether an image was built on img; Docker keeps such
// an image, untagged, until its children go.
func (f *fakeDocker) hasChildren(img *fakeImage) bool {
	for _, x := range f.images {
		if x.parent == img.id {
			return true
		}
	}
	return false
}

func (f *fakeDocker) deleteImage(img *fakeImage) {
	for i, x := range f.images {
		if x == img {
			f.images = append(f.images[:i], f.images[i+1:]...)
			return
		}
	}
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func newID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// findContainer resolves an ID, a unique ID prefix or a name, like Docker.
func (f *fakeDocker) findContainer(ref string) *fakeContainer {
	name := strings.TrimPrefix(ref, "/")
	var byPrefix []*fakeContainer
	for _, c := range f.containers {
		if c.id == ref || c.name == name {
			return c
		}
		if ref != "" && strings.HasPrefix(c.id, ref) {
			byPrefix = append(byPrefix, c)
		}
	}
	if len(byPrefix) == 1 {
		return byPrefix[0]
	}
	return nil
}

func noSuchContainer(ref string) error {
	return fmt.Errorf("No such container: %s: %w", ref, cerrdefs.ErrNotFound)
}

func (f *fakeDocker) ContainerCreate(_ context.Context, cfg *container.Config, hc *container.HostConfig,
	_ *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	if err := f.record("ContainerCreate", name); err != nil {
		return container.CreateResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if existing := f.findContainer(name); existing != nil && name != "" {
		return container.CreateResponse{}, fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\": %w",
			name, existing.id, cerrdefs.ErrConflict)
	}
	img, _ := f.find(cfg.Image)
	if img == nil {
		return container.CreateResponse{}, fmt.Errorf("No such image: %s: %w", cfg.Image, cerrdefs.ErrNotFound)
	}
	merged := map[string]string{}
	for k, v := range img.labels {
		merged[k] = v
	}
	for k, v := range cfg.Labels {
		merged[k] = v
	}
	copied := *cfg
	copied.Labels = merged
	hcCopy := container.HostConfig{}
	if hc != nil {
		hcCopy = *hc
	}
	c := &fakeContainer{id: newID(), name: name, config: &copied, hostConfig: &hcCopy, imageID: img.id,
		state: "created", created: time.Now()}
	f.containers = append(f.containers, c)
	f.emitLocked(c, events.ActionCreate)
	return container.CreateResponse{ID: c.id}, nil
}

func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ container.StartOptions) error {
	if err := f.record("ContainerStart", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return noSuchContainer(id)
	}
	c.state, c.started = "running", time.Now()
	f.emitLocked(c, events.ActionStart)
	return nil
}

func (f *fakeDocker) ContainerStop(_ context.Context, id string, _ container.StopOptions) error {
	if err := f.record("ContainerStop", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return noSuchContainer(id)
	}
	if c.state == "running" {
		c.state, c.exitCode, c.finished = "exited", 137, time.Now()
		f.emitLocked(c, events.ActionKill) // not reported: exercises the filter
		f.emitLocked(c, events.ActionDie)
	}
	return nil
}

func (f *fakeDocker) ContainerRemove(_ context.Context, id string, opts container.RemoveOptions) error {
	if err := f.record("ContainerRemove", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return noSuchContainer(id)
	}
	if c.state == "running" && !opts.Force {
		return fmt.Errorf("You cannot remove a running container %s: %w", c.id, cerrdefs.ErrConflict)
	}
	for i, x := range f.containers {
		if x == c {
			f.containers = append(f.containers[:i], f.containers[i+1:]...)
			break
		}
	}
	f.emitLocked(c, events.ActionDestroy)
	return nil
}

func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	if err := f.record("ContainerInspect", id); err != nil {
		return container.InspectResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return container.InspectResponse{}, noSuchContainer(id)
	}
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:      c.id,
			Name:    "/" + c.name,
			Created: dockerTime(c.created),
			Image:   c.imageID,
			State: &container.State{
				Status:     container.ContainerState(c.state),
				Running:    c.state == "running",
				ExitCode:   c.exitCode,
				OOMKilled:  c.oomKilled,
				StartedAt:  dockerTime(c.started),
				FinishedAt: dockerTime(c.finished),
				Pid:        map[bool]int{true: 4242}[c.state == "running"],
			},
			HostConfig:     c.hostConfig,
			ResolvConfPath: f.resolvPath(c.id),
		},
		Config:          c.config,
		NetworkSettings: &container.NetworkSettings{DefaultNetworkSettings: container.DefaultNetworkSettings{IPAddress: "172.17.0.2"}},
	}, nil
}

func (f *fakeDocker) ContainerList(_ context.Context, opts container.ListOptions) ([]container.Summary, error) {
	args := append(opts.Filters.Get("ancestor"), opts.Filters.Get("label")...)
	if err := f.record("ContainerList", strings.Join(args, ",")); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.Summary
	for _, c := range f.containers {
		if !opts.All && c.state != "running" {
			continue
		}
		if !matchLabelFilters(c.config.Labels, opts.Filters.Get("label")) {
			continue
		}
		if ids := opts.Filters.Get("id"); len(ids) > 0 && !hasPrefixAny(c.id, ids) {
			continue
		}
		out = append(out, container.Summary{
			ID: c.id, Names: []string{"/" + c.name}, Image: c.config.Image, ImageID: c.imageID,
			Labels: c.config.Labels, State: container.ContainerState(c.state), Created: c.created.Unix(),
		})
	}
	return out, nil
}

func matchLabelFilters(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, hasValue := strings.Cut(f, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

func hasPrefixAny(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func (f *fakeDocker) ContainerUpdate(_ context.Context, id string, u container.UpdateConfig) (container.UpdateResponse, error) {
	if err := f.record("ContainerUpdate", id); err != nil {
		return container.UpdateResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return container.UpdateResponse{}, noSuchContainer(id)
	}
	c.hostConfig.Resources = u.Resources
	return container.UpdateResponse{}, nil
}

func (f *fakeDocker) ContainerLogs(_ context.Context, id string, _ container.LogsOptions) (io.ReadCloser, error) {
	if err := f.record("ContainerLogs", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return nil, noSuchContainer(id)
	}
	return io.NopCloser(strings.NewReader(c.logs)), nil
}

func (f *fakeDocker) resolvPath(id string) string {
	if f.resolvDir == "" {
		return ""
	}
	return f.resolvDir + "/" + id + "-resolv.conf"
}

// containerByName returns the container with that Docker name, or nil.
func (f *fakeDocker) containerByName(name string) *fakeContainer {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.name == name {
			return c
		}
	}
	return nil
}

// fakeExecState is the exec and attach side of the fake daemon. Sessions
// run over a unix socket pair, so half-close (end of stdin) works as it does
// on Docker's hijacked TCP or unix connection.
type fakeExecState struct {
	execs   map[string]*fakeExec
	nextPid int
	// script plays an exec's process on the daemon's end of the session:
	// it reads stdin from conn, writes output (framed with stdcopy unless
	// the exec has a TTY) and returns the exit code. nil exits 0 silently.
	script func(e *fakeExec, conn net.Conn) int
	// attach plays a container's stdio on an attach session; nil stays
	// silent until the session is closed.
	attach  func(id string, conn net.Conn)
	resizes []string // "exec <id> HxW" or "container <id> HxW"
}

// fakeExec is an exec as the fake daemon keeps it.
type fakeExec struct {
	id, containerID string
	opts            container.ExecOptions
	pid             int
	running         bool
	exitCode        int
	conn            net.Conn // the daemon's end, once started
}

func socketPair() (daemonEnd, clientEnd net.Conn, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "fake-session")
		conns[i], err = net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return conns[0], conns[1], nil
}

func (f *fakeDocker) ContainerExecCreate(_ context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error) {
	if err := f.record("ContainerExecCreate", id+" "+strings.Join(opts.Cmd, " ")); err != nil {
		return container.ExecCreateResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return container.ExecCreateResponse{}, noSuchContainer(id)
	}
	if c.state != "running" {
		return container.ExecCreateResponse{}, fmt.Errorf("Container %s is not running: %w", c.id, cerrdefs.ErrConflict)
	}
	if f.exec.execs == nil {
		f.exec.execs = map[string]*fakeExec{}
	}
	f.exec.nextPid++
	e := &fakeExec{id: newID(), containerID: c.id, opts: opts, pid: 90000 + f.exec.nextPid}
	f.exec.execs[e.id] = e
	return container.ExecCreateResponse{ID: e.id}, nil
}

func (f *fakeDocker) ContainerExecAttach(_ context.Context, execID string, _ container.ExecAttachOptions) (types.HijackedResponse, error) {
	if err := f.record("ContainerExecAttach", execID); err != nil {
		return types.HijackedResponse{}, err
	}
	f.mu.Lock()
	e := f.exec.execs[execID]
	script := f.exec.script
	f.mu.Unlock()
	if e == nil {
		return types.HijackedResponse{}, fmt.Errorf("No such exec instance: %s: %w", execID, cerrdefs.ErrNotFound)
	}
	daemonEnd, clientEnd, err := socketPair()
	if err != nil {
		return types.HijackedResponse{}, err
	}
	f.mu.Lock()
	e.running, e.conn = true, daemonEnd
	f.mu.Unlock()
	go func() {
		code := 0
		if script != nil {
			code = script(e, daemonEnd)
		}
		f.exitExec(e, code)
		daemonEnd.Close()
	}()
	return types.NewHijackedResponse(clientEnd, ""), nil
}

// exitExec records an exec's exit unless it was already recorded (killed,
// or a script that exits while a child keeps the output open).
func (f *fakeDocker) exitExec(e *fakeExec, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.running {
		e.running, e.exitCode = false, code
	}
}

// killPid is the tests' killProcess: it ends the exec with that pid as
// SIGKILL would, closing its output.
func (f *fakeDocker) killPid(pid int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.exec.execs {
		if e.pid == pid && e.running {
			e.running, e.exitCode = false, 137
			e.conn.Close()
			return nil
		}
	}
	return syscall.ESRCH
}

func (f *fakeDocker) ContainerExecInspect(_ context.Context, execID string) (container.ExecInspect, error) {
	if err := f.record("ContainerExecInspect", execID); err != nil {
		return container.ExecInspect{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.exec.execs[execID]
	if e == nil {
		return container.ExecInspect{}, fmt.Errorf("No such exec instance: %s: %w", execID, cerrdefs.ErrNotFound)
	}
	pid := 0
	if e.running {
		pid = e.pid
	}
	return container.ExecInspect{ExecID: e.id, ContainerID: e.containerID, Running: e.running, ExitCode: e.exitCode, Pid: pid}, nil
}

func (f *fakeDocker) ContainerExecResize(_ context.Context, execID string, o container.ResizeOptions) error {
	if err := f.record("ContainerExecResize", execID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.exec.execs[execID]
	if e == nil || !e.running {
		return fmt.Errorf("exec %s is not running: %w", execID, cerrdefs.ErrConflict)
	}
	f.exec.resizes = append(f.exec.resizes, fmt.Sprintf("exec %s %dx%d", execID, o.Height, o.Width))
	return nil
}

func (f *fakeDocker) ContainerAttach(_ context.Context, id string, _ container.AttachOptions) (types.HijackedResponse, error) {
	if err := f.record("ContainerAttach", id); err != nil {
		return types.HijackedResponse{}, err
	}
	f.mu.Lock()
	c := f.findContainer(id)
	attach := f.exec.attach
	f.mu.Unlock()
	if c == nil {
		return types.HijackedResponse{}, noSuchContainer(id)
	}
	daemonEnd, clientEnd, err := socketPair()
	if err != nil {
		return types.HijackedResponse{}, err
	}
	go func() {
		defer daemonEnd.Close()
		if attach != nil {
			attach(c.id, daemonEnd)
			return
		}
		_, _ = io.Copy(io.Discard, daemonEnd) // silent until the client leaves
	}()
	return types.NewHijackedResponse(clientEnd, ""), nil
}

func (f *fakeDocker) ContainerResize(_ context.Context, id string, o container.ResizeOptions) error {
	if err := f.record("ContainerResize", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exec.resizes = append(f.exec.resizes, fmt.Sprintf("container %s %dx%d", id, o.Height, o.Width))
	return nil
}

// runningExecs counts execs the fake daemon still runs.
func (f *fakeDocker) runningExecs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.exec.execs {
		if e.running {
			n++
		}
	}
	return n
}

func (f *fakeDocker) ImageTag(_ context.Context, source, target string) error {
	if err := f.record("ImageTag", source+" "+target); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, _ := f.find(source)
	if img == nil {
		return fmt.Errorf("No such image: %s: %w", source, cerrdefs.ErrNotFound)
	}
	if !slices.Contains(img.tags, target) {
		img.tags = append(img.tags, target)
	}
	return nil
}

// fakeEventState is the event side of the fake daemon: subscriptions get
// the events of the container calls above, and tests emit more or break
// every stream as a Docker restart does.
type fakeEventState struct {
	subs []*fakeEventSub
	// subscribed, when set, receives a value on each Events call.
	subscribed chan struct{}
}

type fakeEventSub struct {
	ctx  context.Context
	opts events.ListOptions
	msgs chan events.Message
	errs chan error
}

// fakeEventBuffer is generous: the fake never blocks a container call on
// a slow reader, and no test emits this many events.
const fakeEventBuffer = 4096

// Events subscribes like Docker's client: the error channel gets one error
// and the stream is over. While the fake is down the error comes at once.
func (f *fakeDocker) Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error) {
	sub := &fakeEventSub{ctx: ctx, opts: opts, msgs: make(chan events.Message, fakeEventBuffer), errs: make(chan error, 1)}
	err := f.record("Events", "")
	f.mu.Lock()
	if err != nil {
		sub.errs <- err
	} else {
		f.events.subs = append(f.events.subs, sub)
	}
	notify := f.events.subscribed
	f.mu.Unlock()
	if notify != nil {
		notify <- struct{}{}
	}
	return sub.msgs, sub.errs
}

// emitLocked sends a container event to the subscriptions whose filters
// match, as Docker does. f.mu is held.
func (f *fakeDocker) emitLocked(c *fakeContainer, action events.Action) {
	attrs := map[string]string{"name": c.name, "image": c.config.Image}
	for k, v := range c.config.Labels {
		attrs[k] = v
	}
	now := time.Now()
	f.emitMessageLocked(events.Message{Type: events.ContainerEventType, Action: action, Time: now.Unix(), TimeNano: now.UnixNano(),
		Actor: events.Actor{ID: c.id, Attributes: attrs}})
}

func (f *fakeDocker) emitMessageLocked(m events.Message) {
	live := f.events.subs[:0]
	for _, sub := range f.events.subs {
		if sub.ctx.Err() != nil {
			continue
		}
		live = append(live, sub)
		a := sub.opts.Filters
		if !a.ExactMatch("type", string(m.Type)) || !a.ExactMatch("event", string(m.Action)) || !a.MatchKVList("label", m.Actor.Attributes) {
			continue
		}
		select {
		case sub.msgs <- m:
		default:
			panic("fake docker: event subscriber more than fakeEventBuffer events behind")
		}
	}
	f.events.subs = live
}

// emitEvent sends m to the matching subscriptions.
func (f *fakeDocker) emitEvent(m events.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emitMessageLocked(m)
}

// breakEvents ends every event stream with err, as a stopping Docker does.
func (f *fakeDocker) breakEvents(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sub := range f.events.subs {
		sub.errs <- err
	}
	f.events.subs = nil
}

// fakeSymlink starts the content of a fakeImage file that is a symbolic
// link to the absolute path after it.
const fakeSymlink = "symlink:"

// CopyFromContainer serves the files of the container's image (fakeImage.files)
// as Docker does: a tar stream holding the one file.
func (f *fakeDocker) CopyFromContainer(_ context.Context, id, path string) (io.ReadCloser, container.PathStat, error) {
	if err := f.record("CopyFromContainer", id+" "+path); err != nil {
		return nil, container.PathStat{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return nil, container.PathStat{}, noSuchContainer(id)
	}
	var content string
	var ok bool
	for _, img := range f.images {
		if img.id == c.imageID {
			content, ok = img.files[path]
		}
	}
	if !ok {
		return nil, container.PathStat{}, fmt.Errorf("Could not find the file %s in container %s: %w", path, id, cerrdefs.ErrNotFound)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if target, ok := strings.CutPrefix(content, fakeSymlink); ok {
		// Docker archives the link itself and reports its resolved target.
		if err := tw.WriteHeader(&tar.Header{Name: filepath.Base(path), Linkname: target, Typeflag: tar.TypeSymlink}); err != nil {
			return nil, container.PathStat{}, err
		}
		tw.Close()
		return io.NopCloser(&buf), container.PathStat{Name: filepath.Base(path), Mode: os.ModeSymlink | 0o777, LinkTarget: target}, nil
	}
	if err := tw.WriteHeader(&tar.Header{Name: filepath.Base(path), Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return nil, container.PathStat{}, err
	}
	tw.Write([]byte(content))
	tw.Close()
	return io.NopCloser(&buf), container.PathStat{Name: filepath.Base(path), Size: int64(len(content))}, nil
}
