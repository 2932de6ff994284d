package shim

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
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
	version    client.ServerVersionResult
	info       system.Info
	diskUsage  client.DiskUsageResult

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
		version:    client.ServerVersionResult{Version: "20.10.24+dfsg1", APIVersion: "1.41"},
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

func (f *fakeDocker) Ping(context.Context, client.PingOptions) (client.PingResult, error) {
	if err := f.record("Ping", ""); err != nil {
		return client.PingResult{}, err
	}
	return client.PingResult{APIVersion: f.apiVersion}, nil
}

func (f *fakeDocker) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	if err := f.record("ServerVersion", ""); err != nil {
		return client.ServerVersionResult{}, err
	}
	return f.version, nil
}

func (f *fakeDocker) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	if err := f.record("Info", ""); err != nil {
		return client.SystemInfoResult{}, err
	}
	return client.SystemInfoResult{Info: f.info}, nil
}

func (f *fakeDocker) DiskUsage(context.Context, client.DiskUsageOptions) (client.DiskUsageResult, error) {
	if err := f.record("DiskUsage", ""); err != nil {
		return client.DiskUsageResult{}, err
	}
	return f.diskUsage, nil
}

func (f *fakeDocker) ClientVersion() string { return f.apiVersion }

func (f *fakeDocker) ImageList(context.Context, client.ImageListOptions) (client.ImageListResult, error) {
	if err := f.record("ImageList", ""); err != nil {
		return client.ImageListResult{}, err
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
	return client.ImageListResult{Items: out}, nil
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if err := f.record("ImageInspect", ref); err != nil {
		return client.ImageInspectResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, _ := f.find(ref)
	if img == nil {
		return client.ImageInspectResult{}, fmt.Errorf("No such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{
		ID: img.id, RepoTags: img.tags, RepoDigests: img.digests, Size: img.size,
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{User: img.user}},
	}}, nil
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

func (f *fakeDocker) ImagePull(ctx context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error) {
	if err := f.record("ImagePull", ref); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastAuth = opts.RegistryAuth
	if f.pullStream != nil {
		return fakePullResponse{f.pullStream(ctx, ref)}, nil
	}
	img, ok := f.registry[ref]
	if !ok {
		return nil, fmt.Errorf("manifest for %s not found: manifest unknown: %w", ref, cerrdefs.ErrNotFound)
	}
	if existing, _ := f.find(img.id); existing == nil {
		copied := *img
		f.images = append(f.images, &copied)
	}
	return fakePullResponse{io.NopCloser(strings.NewReader(`{"status":"Pulling from x"}` + "\n" + `{"status":"Download complete","id":"abc"}` + "\n"))}, nil
}

// fakePullResponse is a pull's progress stream as the client hands it out.
type fakePullResponse struct{ io.ReadCloser }

func (r fakePullResponse) JSONMessages(context.Context) iter.Seq2[jsonstream.Message, error] {
	return func(yield func(jsonstream.Message, error) bool) {
		defer r.Close()
		dec := json.NewDecoder(r)
		for {
			var m jsonstream.Message
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) || !yield(m, err) || err != nil {
				return
			}
		}
	}
}

func (r fakePullResponse) Wait(ctx context.Context) error {
	for _, err := range r.JSONMessages(ctx) {
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeDocker) ImageRemove(_ context.Context, ref string, opts client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	if err := f.record("ImageRemove", ref); err != nil {
		return client.ImageRemoveResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, name := f.find(ref)
	if img == nil {
		return client.ImageRemoveResult{}, fmt.Errorf("No such image: %s: %w", ref, cerrdefs.ErrNotFound)
	}
	if name == "" { // by ID, like Docker without force
		if f.hasChildren(img) {
			return client.ImageRemoveResult{}, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image has dependent child images: %w", ref, cerrdefs.ErrConflict)
		}
		if len(img.tags)+len(img.digests) > 1 && !opts.Force {
			return client.ImageRemoveResult{}, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories: %w", ref, cerrdefs.ErrConflict)
		}
		f.deleteImage(img)
		return client.ImageRemoveResult{Items: []image.DeleteResponse{{Deleted: img.id}}}, nil
	}
	img.tags = without(img.tags, name)
	img.digests = without(img.digests, name)
	if len(img.tags)+len(img.digests) == 0 && !f.hasChildren(img) {
		f.deleteImage(img)
	}
	return client.ImageRemoveResult{Items: []image.DeleteResponse{{Untagged: name}}}, nil
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

func (f *fakeDocker) ContainerCreate(_ context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	cfg, hc, name := opts.Config, opts.HostConfig, opts.Name
	if err := f.record("ContainerCreate", name); err != nil {
		return client.ContainerCreateResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if existing := f.findContainer(name); existing != nil && name != "" {
		return client.ContainerCreateResult{}, fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\": %w",
			name, existing.id, cerrdefs.ErrConflict)
	}
	img, _ := f.find(cfg.Image)
	if img == nil {
		return client.ContainerCreateResult{}, fmt.Errorf("No such image: %s: %w", cfg.Image, cerrdefs.ErrNotFound)
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
	return client.ContainerCreateResult{ID: c.id}, nil
}

func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
	if err := f.record("ContainerStart", id); err != nil {
		return client.ContainerStartResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return client.ContainerStartResult{}, noSuchContainer(id)
	}
	c.state, c.started = "running", time.Now()
	f.emitLocked(c, events.ActionStart)
	return client.ContainerStartResult{}, nil
}

func (f *fakeDocker) ContainerStop(_ context.Context, id string, _ client.ContainerStopOptions) (client.ContainerStopResult, error) {
	if err := f.record("ContainerStop", id); err != nil {
		return client.ContainerStopResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return client.ContainerStopResult{}, noSuchContainer(id)
	}
	if c.state == "running" {
		c.state, c.exitCode, c.finished = "exited", 137, time.Now()
		f.emitLocked(c, events.ActionKill) // not reported: exercises the filter
		f.emitLocked(c, events.ActionDie)
	}
	return client.ContainerStopResult{}, nil
}

func (f *fakeDocker) ContainerRemove(_ context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	if err := f.record("ContainerRemove", id); err != nil {
		return client.ContainerRemoveResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return client.ContainerRemoveResult{}, noSuchContainer(id)
	}
	if c.state == "running" && !opts.Force {
		return client.ContainerRemoveResult{}, fmt.Errorf("You cannot remove a running container %s: %w", c.id, cerrdefs.ErrConflict)
	}
	for i, x := range f.containers {
		if x == c {
			f.containers = append(f.containers[:i], f.containers[i+1:]...)
			break
		}
	}
	f.emitLocked(c, events.ActionDestroy)
	return client.ContainerRemoveResult{}, nil
}

func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	if err := f.record("ContainerInspect", id); err != nil {
		return client.ContainerInspectResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return client.ContainerInspectResult{}, noSuchContainer(id)
	}
	// Docker gives an address only to a container on one of its networks.
	networks := map[string]*network.EndpointSettings{
		network.NetworkBridge: {IPAddress: netip.MustParseAddr("172.17.0.2")},
	}
	if hc := c.hostConfig; hc != nil && (hc.NetworkMode.IsNone() || hc.NetworkMode.IsHost()) {
		networks = map[string]*network.EndpointSettings{}
	}
	return client.ContainerInspectResult{Container: container.InspectResponse{
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
		HostConfig:      c.hostConfig,
		ResolvConfPath:  f.resolvPath(c.id),
		Config:          c.config,
		NetworkSettings: &container.NetworkSettings{Networks: networks},
	}}, nil
}

func (f *fakeDocker) ContainerList(_ context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error) {
	args := append(filterValues(opts.Filters, "ancestor"), filterValues(opts.Filters, "label")...)
	if err := f.record("ContainerList", strings.Join(args, ",")); err != nil {
		return client.ContainerListResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.Summary
	for _, c := range f.containers {
		if !opts.All && c.state != "running" {
			continue
		}
		if !matchLabelFilters(c.config.Labels, filterValues(opts.Filters, "label")) {
			continue
		}
		if ids := filterValues(opts.Filters, "id"); len(ids) > 0 && !hasPrefixAny(c.id, ids) {
			continue
		}
		out = append(out, container.Summary{
			ID: c.id, Names: []string{"/" + c.name}, Image: c.config.Image, ImageID: c.imageID,
			Labels: c.config.Labels, State: container.ContainerState(c.state), Created: c.created.Unix(),
		})
	}
	return client.ContainerListResult{Items: out}, nil
}

// filterValues lists a filter term's values, in no order, as Docker's
// daemon reads them.
func filterValues(f client.Filters, term string) []string {
	return slices.Collect(maps.Keys(f[term]))
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

func (f *fakeDocker) ContainerUpdate(_ context.Context, id string, opts client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	if err := f.record("ContainerUpdate", id); err != nil {
		return client.ContainerUpdateResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return client.ContainerUpdateResult{}, noSuchContainer(id)
	}
	if opts.Resources != nil {
		c.hostConfig.Resources = *opts.Resources
	}
	return client.ContainerUpdateResult{}, nil
}

func (f *fakeDocker) ContainerLogs(_ context.Context, id string, _ client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
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
	opts            client.ExecCreateOptions
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

func (f *fakeDocker) ExecCreate(_ context.Context, id string, opts client.ExecCreateOptions) (client.ExecCreateResult, error) {
	if err := f.record("ExecCreate", id+" "+strings.Join(opts.Cmd, " ")); err != nil {
		return client.ExecCreateResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return client.ExecCreateResult{}, noSuchContainer(id)
	}
	if c.state != "running" {
		return client.ExecCreateResult{}, fmt.Errorf("Container %s is not running: %w", c.id, cerrdefs.ErrConflict)
	}
	if f.exec.execs == nil {
		f.exec.execs = map[string]*fakeExec{}
	}
	f.exec.nextPid++
	e := &fakeExec{id: newID(), containerID: c.id, opts: opts, pid: 90000 + f.exec.nextPid}
	f.exec.execs[e.id] = e
	return client.ExecCreateResult{ID: e.id}, nil
}

func (f *fakeDocker) ExecAttach(_ context.Context, execID string, _ client.ExecAttachOptions) (client.ExecAttachResult, error) {
	if err := f.record("ExecAttach", execID); err != nil {
		return client.ExecAttachResult{}, err
	}
	f.mu.Lock()
	e := f.exec.execs[execID]
	script := f.exec.script
	f.mu.Unlock()
	if e == nil {
		return client.ExecAttachResult{}, fmt.Errorf("No such exec instance: %s: %w", execID, cerrdefs.ErrNotFound)
	}
	daemonEnd, clientEnd, err := socketPair()
	if err != nil {
		return client.ExecAttachResult{}, err
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
	return client.ExecAttachResult{HijackedResponse: client.NewHijackedResponse(clientEnd, "")}, nil
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

func (f *fakeDocker) ExecInspect(_ context.Context, execID string, _ client.ExecInspectOptions) (client.ExecInspectResult, error) {
	if err := f.record("ExecInspect", execID); err != nil {
		return client.ExecInspectResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.exec.execs[execID]
	if e == nil {
		return client.ExecInspectResult{}, fmt.Errorf("No such exec instance: %s: %w", execID, cerrdefs.ErrNotFound)
	}
	pid := 0
	if e.running {
		pid = e.pid
	}
	return client.ExecInspectResult{ID: e.id, ContainerID: e.containerID, Running: e.running, ExitCode: e.exitCode, PID: pid}, nil
}

func (f *fakeDocker) ExecResize(_ context.Context, execID string, o client.ExecResizeOptions) (client.ExecResizeResult, error) {
	if err := f.record("ExecResize", execID); err != nil {
		return client.ExecResizeResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.exec.execs[execID]
	if e == nil || !e.running {
		return client.ExecResizeResult{}, fmt.Errorf("exec %s is not running: %w", execID, cerrdefs.ErrConflict)
	}
	f.exec.resizes = append(f.exec.resizes, fmt.Sprintf("exec %s %dx%d", execID, o.Height, o.Width))
	return client.ExecResizeResult{}, nil
}

func (f *fakeDocker) ContainerAttach(_ context.Context, id string, _ client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	if err := f.record("ContainerAttach", id); err != nil {
		return client.ContainerAttachResult{}, err
	}
	f.mu.Lock()
	c := f.findContainer(id)
	attach := f.exec.attach
	f.mu.Unlock()
	if c == nil {
		return client.ContainerAttachResult{}, noSuchContainer(id)
	}
	daemonEnd, clientEnd, err := socketPair()
	if err != nil {
		return client.ContainerAttachResult{}, err
	}
	go func() {
		defer daemonEnd.Close()
		if attach != nil {
			attach(c.id, daemonEnd)
			return
		}
		_, _ = io.Copy(io.Discard, daemonEnd) // silent until the client leaves
	}()
	return client.ContainerAttachResult{HijackedResponse: client.NewHijackedResponse(clientEnd, "")}, nil
}

func (f *fakeDocker) ContainerResize(_ context.Context, id string, o client.ContainerResizeOptions) (client.ContainerResizeResult, error) {
	if err := f.record("ContainerResize", id); err != nil {
		return client.ContainerResizeResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exec.resizes = append(f.exec.resizes, fmt.Sprintf("container %s %dx%d", id, o.Height, o.Width))
	return client.ContainerResizeResult{}, nil
}

// newStdWriter frames each write as one message of a stream of Docker's
// multiplexed exec and attach output, as the daemon does (stdcopy's format:
// the stream, three zero bytes, the big-endian length, then the payload).
func newStdWriter(w io.Writer, stream stdcopy.StdType) io.Writer {
	return stdWriter{w: w, stream: stream}
}

type stdWriter struct {
	w      io.Writer
	stream stdcopy.StdType
}

func (s stdWriter) Write(p []byte) (int, error) {
	frame := make([]byte, 8, 8+len(p))
	frame[0] = byte(s.stream)
	binary.BigEndian.PutUint32(frame[4:], uint32(len(p)))
	if _, err := s.w.Write(append(frame, p...)); err != nil {
		return 0, err
	}
	return len(p), nil
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

func (f *fakeDocker) ImageTag(_ context.Context, opts client.ImageTagOptions) (client.ImageTagResult, error) {
	source, target := opts.Source, opts.Target
	if err := f.record("ImageTag", source+" "+target); err != nil {
		return client.ImageTagResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	img, _ := f.find(source)
	if img == nil {
		return client.ImageTagResult{}, fmt.Errorf("No such image: %s: %w", source, cerrdefs.ErrNotFound)
	}
	if !slices.Contains(img.tags, target) {
		img.tags = append(img.tags, target)
	}
	return client.ImageTagResult{}, nil
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
	opts client.EventsListOptions
	msgs chan events.Message
	errs chan error
}

// fakeEventBuffer is generous: the fake never blocks a container call on
// a slow reader, and no test emits this many events.
const fakeEventBuffer = 4096

// Events subscribes like Docker's client: the error channel gets one error
// and the stream is over. While the fake is down the error comes at once.
func (f *fakeDocker) Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult {
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
	return client.EventsResult{Messages: sub.msgs, Err: sub.errs}
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
		if !exactMatch(a, "type", string(m.Type)) || !exactMatch(a, "event", string(m.Action)) || !matchLabelFilters(m.Actor.Attributes, filterValues(a, "label")) {
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
func (f *fakeDocker) CopyFromContainer(_ context.Context, id string, opts client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	path := opts.SourcePath
	if err := f.record("CopyFromContainer", id+" "+path); err != nil {
		return client.CopyFromContainerResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.findContainer(id)
	if c == nil {
		return client.CopyFromContainerResult{}, noSuchContainer(id)
	}
	var content string
	var ok bool
	for _, img := range f.images {
		if img.id == c.imageID {
			content, ok = img.files[path]
		}
	}
	if !ok {
		return client.CopyFromContainerResult{}, fmt.Errorf("Could not find the file %s in container %s: %w", path, id, cerrdefs.ErrNotFound)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if target, ok := strings.CutPrefix(content, fakeSymlink); ok {
		// Docker archives the link itself and reports its resolved target.
		if err := tw.WriteHeader(&tar.Header{Name: filepath.Base(path), Linkname: target, Typeflag: tar.TypeSymlink}); err != nil {
			return client.CopyFromContainerResult{}, err
		}
		tw.Close()
		stat := container.PathStat{Name: filepath.Base(path), Mode: os.ModeSymlink | 0o777, LinkTarget: target}
		return client.CopyFromContainerResult{Content: io.NopCloser(&buf), Stat: stat}, nil
	}
	if err := tw.WriteHeader(&tar.Header{Name: filepath.Base(path), Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return client.CopyFromContainerResult{}, err
	}
	tw.Write([]byte(content))
	tw.Close()
	stat := container.PathStat{Name: filepath.Base(path), Size: int64(len(content))}
	return client.CopyFromContainerResult{Content: io.NopCloser(&buf), Stat: stat}, nil
}

// exactMatch reads a filter term as Docker's daemon does: unset matches
// everything.
func exactMatch(f client.Filters, term, source string) bool {
	values := f[term]
	return len(values) == 0 || values[source]
}
