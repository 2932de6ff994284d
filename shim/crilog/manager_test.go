package crilog

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// logsDocker serves one container's log stream once (the follow), then an
// empty one (the final pass), and says the container has exited.
type logsDocker struct {
	mu    sync.Mutex
	calls []client.ContainerLogsOptions
	first string
}

func (d *logsDocker) ContainerLogs(_ context.Context, _ string, opts client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, opts)
	if len(d.calls) == 1 {
		return io.NopCloser(strings.NewReader(d.first)), nil
	}
	return io.NopCloser(strings.NewReader("")), nil
}

func (d *logsDocker) ContainerInspect(context.Context, string, client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	return client.ContainerInspectResult{}, errors.New("not asked in these tests")
}

func TestManagerCopiesUntilTheContainerStops(t *testing.T) {
	d := &logsDocker{first: frame(1, msg(at(1), "hello\n")) + frame(2, msg(at(2), "oops\n"))}
	m := NewManager(d)
	w, path := newWriter(t)
	m.Start("c1", false, w, time.Time{})
	m.WaitDone("c1", 5*time.Second)
	sameEntries(t, readEntries(t, path), []entry{out(at(1), "hello"), errE(at(2), "oops")})
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.calls) != 2 || !d.calls[0].Follow || d.calls[1].Follow || d.calls[1].Since == "" {
		t.Fatalf("logs calls = %+v; want a follow, then a final pass since the last entry", d.calls)
	}
	if err := m.Reopen("c1"); !cerrdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("Reopen of a finished copier = %v, want FailedPrecondition", err)
	}
	m.Stop("c1")
	if err := m.Reopen("c1"); !cerrdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "no open log file") {
		t.Fatalf("Reopen after Stop = %v, want FailedPrecondition", err)
	}
}

func TestLastTime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	if ts, err := LastTime(path); err != nil || !ts.IsZero() {
		t.Fatalf("LastTime of an absent file = %v, %v; want zero", ts, err)
	}
	w, err := OpenWriter(path + ".20261122-180000")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(at(7), Stdout, false, []byte("rotated")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Just rotated: the live file is absent, the newest rotated one counts.
	if ts, err := LastTime(path); err != nil || !ts.Equal(at(7)) {
		t.Fatalf("LastTime after rotation = %v, %v; want %v", ts, err, at(7))
	}
	if err := os.WriteFile(path, []byte(at(9).Format(time.RFC3339Nano)+" stdout F live\nnot a CRI line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ts, err := LastTime(path); err != nil || !ts.Equal(at(9)) {
		t.Fatalf("LastTime = %v, %v; want the last parseable entry %v", ts, err, at(9))
	}
}
