package shim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"k8s.io/klog/v2"

	"dockercri/shim/crilog"
	"dockercri/translate"
)

// Container logs: Docker keeps each container's output in its json-file
// (small, rotated: a buffer that survives a dockercri restart); one copier
// per container follows Docker's logs API and writes the entries in the CRI
// log format to the file the kubelet named. The kubelet rotates that file by
// renaming it and calling ReopenContainerLog, which reopens the path. After
// a dockercri restart each copier resumes after the last entry its file
// holds, so nothing is written twice.

const (
	copierRetryDelay = time.Second
	copierStopWait   = 5 * time.Second
)

type logManager struct {
	s *Service

	mu   sync.Mutex
	byID map[string]*logCopier
}

type logCopier struct {
	w      *crilog.Writer
	cancel context.CancelFunc
	done   chan struct{}
}

func newLogManager(s *Service) *logManager {
	return &logManager{s: s, byID: map[string]*logCopier{}}
}

// start copies the container's output after `after` into w until the
// container stops. The copier owns w from here on.
func (m *logManager) start(id string, tty bool, w *crilog.Writer, after time.Time) {
	// The copier outlives the StartContainer call that started it: its own
	// context, cancelled when the container stops or is removed.
	ctx, cancel := context.WithCancel(context.Background())
	c := &logCopier{w: w, cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if old := m.byID[id]; old != nil {
		old.cancel()
	}
	m.byID[id] = c
	m.mu.Unlock()
	go m.run(ctx, id, tty, c, after)
}

func (m *logManager) run(ctx context.Context, id string, tty bool, c *logCopier, after time.Time) {
	defer close(c.done)
	defer c.w.Close()
	for {
		opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true}
		if !after.IsZero() {
			opts.Since = crilog.FormatSince(after)
		}
		body, err := m.s.docker.ContainerLogs(ctx, id, opts)
		if err == nil {
			var last time.Time
			last, err = crilog.Copy(body, tty, after, c.w)
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
		in, ierr := m.s.docker.ContainerInspect(ctx, id)
		if ierr != nil || in.State == nil || (!in.State.Running && !in.State.Restarting) {
			if ierr == nil {
				continue // stopped: one more pass copies what is left, then EOF
			}
			return
		}
	}
}

func (m *logManager) finalPass(ctx context.Context, id string, tty bool, c *logCopier, after time.Time) {
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true}
	if !after.IsZero() {
		opts.Since = crilog.FormatSince(after)
	}
	body, err := m.s.docker.ContainerLogs(ctx, id, opts)
	if err == nil {
		_, err = crilog.Copy(body, tty, after, c.w)
		body.Close()
	}
	if err != nil && ctx.Err() == nil {
		klog.V(2).InfoS("Final log pass failed", "container", id, "err", err)
	}
}

// stop ends a container's copier and waits briefly for it.
func (m *logManager) stop(id string) {
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
		klog.InfoS("Log copier did not stop in time", "container", id)
	}
}

// stopAll ends every copier (on shutdown).
func (m *logManager) stopAll() {
	m.mu.Lock()
	ids := make([]string, 0, len(m.byID))
	for id := range m.byID {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		m.stop(id)
	}
}

// waitDone waits up to d for an exited container's copier to finish.
func (m *logManager) waitDone(id string, d time.Duration) {
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

// reopen reopens a running container's log file.
func (m *logManager) reopen(id string) error {
	m.mu.Lock()
	c := m.byID[id]
	m.mu.Unlock()
	if c == nil {
		return failedPrecondition("container %s has no open log file (no log path, or its output is not being copied)", id)
	}
	select {
	case <-c.done:
		return failedPrecondition("container %s has stopped; its log file is complete", id)
	default:
	}
	return c.w.Reopen()
}

// Resume restarts the copiers of the containers that have a log path,
// after a dockercri restart: running ones are followed again, exited ones
// get what they wrote after the last entry in their file.
func (s *Service) Resume(ctx context.Context) error {
	s.resumeNetworks(ctx)
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
		after, err := lastLogTime(labels.LogPath)
		if err != nil {
			klog.V(2).InfoS("Not resuming log copy", "container", c.ID, "err", err)
			continue
		}
		in, err := s.docker.ContainerInspect(ctx, c.ID)
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
		s.logs.start(c.ID, in.Config.Tty, w, after)
	}
	return nil
}

// Close stops background work.
func (s *Service) Close() {
	s.logs.stopAll()
	s.stats.close()
	s.events.close()
}

// lastLogTime is the timestamp of the last entry copied for a container:
// the last one in its CRI log file or, when the kubelet has just rotated
// that file away, in the newest rotated file (kubelet names it
// <path>.<time> and compresses only older ones). Zero when there is none.
func lastLogTime(path string) (time.Time, error) {
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
		if ts, _, _, _, err := crilog.ParseLine(lines[i]); err == nil {
			return ts, nil
		}
	}
	return time.Time{}, nil
}
