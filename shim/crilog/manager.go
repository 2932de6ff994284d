package crilog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"
)

// The copiers: Docker keeps each container's output in its json-file
// (small, rotated: a buffer that survives a dockercri restart); one copier
// per container follows Docker's logs API and writes the entries in the CRI
// log format to the file the kubelet named. The kubelet rotates that file by
// renaming it and calling ReopenContainerLog, which reopens the path. After
// a dockercri restart each copier resumes after the last entry its file
// holds (LastTime), so nothing is written twice.

// Docker is what the copiers ask of Docker: a subset of the shim's Docker
// interface.
type Docker interface {
	ContainerLogs(ctx context.Context, id string, options client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
}

const (
	copierRetryDelay = time.Second
	copierStopWait   = 5 * time.Second
)

// Manager runs one copier per container: each follows Docker's logs API
// and writes CRI log entries to the container's log file until the
// container stops.
type Manager struct {
	docker Docker

	mu   sync.Mutex
	byID map[string]*follower
}

type follower struct {
	w      *Writer
	cancel context.CancelFunc
	done   chan struct{}
}

// NewManager returns a Manager with no copier running.
func NewManager(d Docker) *Manager {
	return &Manager{docker: d, byID: map[string]*follower{}}
}

// Start copies the container's output after `after` into w until the
// container stops. The follower owns w from here on.
func (m *Manager) Start(id string, tty bool, w *Writer, after time.Time) {
	// The follower outlives the StartContainer call that started it: its own
	// context, cancelled when the container stops or is removed.
	ctx, cancel := context.WithCancel(context.Background())
	c := &follower{w: w, cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if old := m.byID[id]; old != nil {
		old.cancel()
	}
	m.byID[id] = c
	m.mu.Unlock()
	go m.run(ctx, id, tty, c, after)
}

func (m *Manager) run(ctx context.Context, id string, tty bool, c *follower, after time.Time) {
	defer close(c.done)
	defer c.w.Close()
	for {
		opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true}
		if !after.IsZero() {
			opts.Since = FormatSince(after)
		}
		body, err := m.docker.ContainerLogs(ctx, id, opts)
		if err == nil {
			var last time.Time
			last, err = Copy(body, tty, after, c.w)
			body.Close()
			if last.After(after) {
				after = last
			}
			if err == nil {
				// EOF: the container stopped. Docker 20.10 can end a
				// follow before the last output reaches its log, so one
				// more pass without follow picks that up.
				m.finalPass(ctx, id, tty, c, after)
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		// A broken stream (Docker restarting, say): go on from the last
		// entry written while the container still exists.
		klog.V(2).InfoS("Container log stream broke; resuming", "container", id, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(copierRetryDelay):
		}
		res, ierr := m.docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if st := res.Container.State; ierr != nil || st == nil || (!st.Running && !st.Restarting) {
			if ierr == nil {
				continue // stopped: one more pass copies what is left, then EOF
			}
			return
		}
	}
}

func (m *Manager) finalPass(ctx context.Context, id string, tty bool, c *follower, after time.Time) {
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true}
	if !after.IsZero() {
		opts.Since = FormatSince(after)
	}
	body, err := m.docker.ContainerLogs(ctx, id, opts)
	if err == nil {
		_, err = Copy(body, tty, after, c.w)
		body.Close()
	}
	if err != nil && ctx.Err() == nil {
		klog.V(2).InfoS("Final log pass failed", "container", id, "err", err)
	}
}

// Stop ends a container's follower and waits briefly for it.
func (m *Manager) Stop(id string) {
	m.mu.Lock()
	c := m.byID[id]
	delete(m.byID, id)
	m.mu.Unlock()
	if c == nil {
		return
	}
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(copierStopWait):
		klog.InfoS("Log follower did not stop in time", "container", id)
	}
}

// StopAll ends every follower (on shutdown).
func (m *Manager) StopAll() {
	m.mu.Lock()
	ids := make([]string, 0, len(m.byID))
	for id := range m.byID {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		m.Stop(id)
	}
}

// WaitDone waits up to d for an exited container's follower to finish.
func (m *Manager) WaitDone(id string, d time.Duration) {
	m.mu.Lock()
	c := m.byID[id]
	m.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.done:
	case <-time.After(d):
	}
}

// Reopen reopens a running container's log file.
func (m *Manager) Reopen(id string) error {
	m.mu.Lock()
	c := m.byID[id]
	m.mu.Unlock()
	if c == nil {
		return fmt.Errorf("container %s has no open log file (no log path, or its output is not being copied): %w", id, cerrdefs.ErrFailedPrecondition)
	}
	select {
	case <-c.done:
		return fmt.Errorf("container %s has stopped; its log file is complete: %w", id, cerrdefs.ErrFailedPrecondition)
	default:
	}
	return c.w.Reopen()
}

// LastTime is the timestamp of the last entry copied for a container:
// the last one in its CRI log file or, when the kubelet has just rotated
// that file away, in the newest rotated file (kubelet names it
// <path>.<time> and compresses only older ones). Zero when there is none.
func LastTime(path string) (time.Time, error) {
	ts, err := lastEntryTime(path)
	if err != nil || !ts.IsZero() {
		return ts, err
	}
	rotated, err := filepath.Glob(path + ".*")
	if err != nil {
		return time.Time{}, err
	}
	rotated = slices.DeleteFunc(rotated, func(p string) bool {
		return strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".tmp")
	})
	if len(rotated) == 0 {
		return time.Time{}, nil
	}
	slices.Sort(rotated) // the suffix is a sortable time
	return lastEntryTime(rotated[len(rotated)-1])
}

// lastEntryTime reads the timestamp of the last entry of a CRI log file
// (zero for an empty or absent file).
func lastEntryTime(path string) (time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	const tail = 64 << 10
	st, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	off := max(st.Size()-tail, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return time.Time{}, err
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if ts, _, _, _, err := ParseLine(lines[i]); err == nil {
			return ts, nil
		}
	}
	return time.Time{}, nil
}
