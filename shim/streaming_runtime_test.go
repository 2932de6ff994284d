package shim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"

	"dockercri/streaming"
)

// syncBuffer is a client's output stream.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Close() error { return nil }

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// echoLine reads one line of stdin and prints it back, like `read l; echo $l`.
func echoLine(code int) func(*fakeExec, net.Conn) int {
	return func(e *fakeExec, conn net.Conn) int {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		w := io.Writer(conn)
		if !e.opts.TTY {
			w = newStdWriter(conn, stdcopy.Stdout)
		}
		_, _ = w.Write([]byte("got " + line))
		return code
	}
}

func TestExecSessions(t *testing.T) {
	tests := []struct {
		name     string
		giveTTY  bool
		giveCode int
		wantOut  string
		wantExit int // -1: no error
	}{
		{"multiplexed, exit 0", false, 0, "got hello\n", -1},
		{"multiplexed, exit 3 reaches the client", false, 3, "got hello\n", 3},
		{"tty", true, 0, "got hello\n", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newExecPod(t)
			p.setScript(echoLine(tt.giveCode))
			rt := NewStreamingRuntime(p.f)
			out, errOut := &syncBuffer{}, &syncBuffer{}
			var stderr io.WriteCloser = errOut
			if tt.giveTTY {
				stderr = nil
			}
			err := rt.Exec(testContext(t), p.running, []string{"sh"}, strings.NewReader("hello\n"), out, stderr, tt.giveTTY, nil)
			var exit interface{ ExitStatus() int }
			switch {
			case tt.wantExit < 0 && err != nil:
				t.Fatalf("Exec: %v", err)
			case tt.wantExit >= 0 && (!errors.As(err, &exit) || exit.ExitStatus() != tt.wantExit):
				t.Fatalf("Exec error = %v, want exit code %d", err, tt.wantExit)
			}
			if out.String() != tt.wantOut {
				t.Fatalf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

func TestExecSessionForwardsResize(t *testing.T) {
	p := newExecPod(t)
	resized := make(chan struct{})
	p.setScript(func(e *fakeExec, conn net.Conn) int {
		<-resized
		return 0
	})
	sizes := make(chan streaming.TerminalSize)
	done := make(chan error, 1)
	go func() {
		done <- NewStreamingRuntime(p.f).Exec(testContext(t), p.running, []string{"sh"}, nil, &syncBuffer{}, nil, true, sizes)
	}()
	sizes <- streaming.TerminalSize{Width: 80, Height: 24}
	sizes <- streaming.TerminalSize{Width: 100, Height: 40} // taken only after the first was forwarded
	close(resized)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.f.mu.Lock()
	got := append([]string(nil), p.f.exec.resizes...)
	p.f.mu.Unlock()
	if len(got) < 1 || !strings.HasSuffix(got[0], " 24x80") {
		t.Fatalf("resizes = %v, want 24x80 first", got)
	}
}

// Leaks CVE-2022-23471 was about: an exec that fails while a resize is
// pending, and clients that go away mid-session.
func TestSessionsLeaveNothingBehind(t *testing.T) {
	tests := []struct {
		name string
		give func(t *testing.T, p *execPod, rt streaming.Runtime)
	}{
		{"exec fails to start with a resize pending", func(t *testing.T, p *execPod, rt streaming.Runtime) {
			p.f.errs["ExecAttach"] = errors.New("OCI runtime exec failed")
			sizes := make(chan streaming.TerminalSize, 1)
			sizes <- streaming.TerminalSize{Width: 80, Height: 24}
			if err := rt.Exec(testContext(t), p.running, []string{"nosuch"}, nil, &syncBuffer{}, nil, true, sizes); err == nil {
				t.Fatal("Exec succeeded")
			}
		}},
		{"exec client goes away: the process is killed", func(t *testing.T, p *execPod, rt streaming.Runtime) {
			started := make(chan struct{})
			p.setScript(func(_ *fakeExec, conn net.Conn) int {
				close(started)
				_, _ = io.Copy(io.Discard, conn)
				return 0
			})
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-started; cancel() }()
			stdin, _ := io.Pipe() // a client that never sends
			if err := rt.Exec(ctx, p.running, []string{"sleep", "60"}, stdin, &syncBuffer{}, &syncBuffer{}, false, nil); !errors.Is(err, context.Canceled) {
				t.Fatalf("Exec error = %v, want Canceled", err)
			}
			stdin.Close() // the streaming library closes the streams after the session
			if n := p.f.runningExecs(); n != 0 {
				t.Fatalf("%d execs still running", n)
			}
		}},
		{"attach client goes away", func(t *testing.T, p *execPod, rt streaming.Runtime) {
			p.f.exec.attach = func(_ string, conn net.Conn) {
				_, _ = newStdWriter(conn, stdcopy.Stdout).Write([]byte("hello\n"))
				_, _ = io.Copy(io.Discard, conn)
			}
			out := &notifyBuffer{want: "hello\n", seen: make(chan struct{})}
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-out.seen; cancel() }()
			if err := rt.Attach(ctx, p.running, nil, out, &syncBuffer{}, false, make(chan streaming.TerminalSize)); err != nil {
				t.Fatalf("Attach: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newExecPod(t)
			rt := NewStreamingRuntime(p.f)
			before := runtime.NumGoroutine()
			tt.give(t, p, rt)
			waitGoroutines(t, before)
		})
	}
}

// notifyBuffer closes seen once want has been written.
type notifyBuffer struct {
	syncBuffer
	want string
	seen chan struct{}
	once sync.Once
}

func (b *notifyBuffer) Write(p []byte) (int, error) {
	n, err := b.syncBuffer.Write(p)
	if strings.Contains(b.String(), b.want) {
		b.once.Do(func() { close(b.seen) })
	}
	return n, err
}

func TestPodNetNS(t *testing.T) {
	p := newExecPod(t)
	rt := NewStreamingRuntime(p.f)
	tests := []struct {
		name    string
		give    string
		want    string
		wantErr error
	}{
		{"running sandbox", p.sandbox, "/proc/4242/ns/net", nil},
		{"an app container is no sandbox", p.running, "", cerrdefs.ErrNotFound},
		{"absent", "nosuch", "", cerrdefs.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rt.PodNetNS(testContext(t), tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Fatalf("PodNetNS = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
