package shim

import (
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	"dockercri/streaming"
	"dockercri/translate"
)

// execTiming paces the watch over an exec: how often its state is polled,
// and how long its output may stay open once the process has exited (a
// background child that inherited the pipes keeps them open).
type execTiming struct {
	poll, grace time.Duration
}

var execTimes = execTiming{poll: 100 * time.Millisecond, grace: time.Second}

// killTimeout bounds the calls that clean up after a session whose context
// has already ended.
const killTimeout = 10 * time.Second

// killProcess ends a timed-out or abandoned exec. Docker has no call for
// it; ExecInspect gives the process's host pid and dockercri runs on the
// host. A variable so unit tests never signal a real process.
var killProcess = func(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// NewStreamingRuntime runs streaming sessions on Docker: exec and attach
// through Docker's hijacked exec and attach streams, port forwarding in the
// pause container's network namespace.
func NewStreamingRuntime(d Docker) streaming.Runtime { return &streamingRuntime{docker: d} }

type streamingRuntime struct{ docker Docker }

// Exec runs cmd in the container, wired to the client's streams. A client
// that goes away takes the process with it.
func (r *streamingRuntime) Exec(ctx context.Context, id string, cmd []string, in io.Reader, out, errw io.WriteCloser,
	tty bool, resize <-chan streaming.TerminalSize) error {
	if _, err := runningOurs(ctx, r.docker, translate.ContainerTypeContainer, id); err != nil {
		return err
	}
	created, err := r.docker.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd: cmd, TTY: tty, AttachStdin: in != nil, AttachStdout: out != nil, AttachStderr: errw != nil,
	})
	if err != nil {
		return fmt.Errorf("create exec in container %s: %w", id, err)
	}
	klog.V(levelExec).InfoS("Exec session", "container", id, "exec", created.ID, "args", len(cmd), "tty", tty)
	klog.V(levelBody).InfoS("Exec session command", "exec", created.ID, "cmd", cmd)
	hj, err := r.docker.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: tty})
	if err != nil {
		return fmt.Errorf("start exec %s in container %s: %w", created.ID, id, err)
	}
	defer hj.Close()
	stopResize := forwardResize(ctx, resize, func(ctx context.Context, o client.ContainerResizeOptions) error {
		_, err := r.docker.ExecResize(ctx, created.ID, client.ExecResizeOptions(o))
		return err
	})
	err = pump(ctx, hj.HijackedResponse, in, out, errw, tty, true)
	stopResize()
	if ctx.Err() != nil {
		killExec(ctx, r.docker, created.ID)
		return fmt.Errorf("exec %s: client went away: %w", created.ID, ctx.Err())
	}
	if err != nil {
		klog.V(levelExec).InfoS("Exec output copy ended with an error", "exec", created.ID, "err", err)
	}
	code, err := execExitCode(ctx, r.docker, created.ID)
	if err != nil {
		return err
	}
	if code != 0 {
		return streaming.ExitCode(code)
	}
	return nil
}

// Attach wires the client's streams to the running container's stdio. The
// session ends when the container's output ends or the client goes away;
// the container keeps running.
func (r *streamingRuntime) Attach(ctx context.Context, id string, in io.Reader, out, errw io.WriteCloser,
	_ bool, resize <-chan streaming.TerminalSize) error {
	c, err := runningOurs(ctx, r.docker, translate.ContainerTypeContainer, id)
	if err != nil {
		return err
	}
	hj, err := r.docker.ContainerAttach(ctx, id, client.ContainerAttachOptions{
		Stream: true, Stdin: in != nil, Stdout: out != nil, Stderr: errw != nil,
	})
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", id, err)
	}
	defer hj.Close()
	klog.V(levelExec).InfoS("Attach session", "container", id, "tty", c.Config.Tty)
	stopResize := forwardResize(ctx, resize, func(ctx context.Context, o client.ContainerResizeOptions) error {
		_, err := r.docker.ContainerResize(ctx, id, o)
		return err
	})
	defer stopResize()
	// Docker frames the stream by the container's own TTY setting. The end
	// of the client's stdin closes the container's only with stdin_once:
	// Docker would otherwise end the whole attach on it, output and all.
	if err := pump(ctx, hj.HijackedResponse, in, out, errw, c.Config.Tty, c.Config.StdinOnce); err != nil && ctx.Err() == nil {
		return fmt.Errorf("attach to container %s: %w", id, err)
	}
	return nil
}

// PodNetNS is the network namespace of the running pod sandbox.
func (r *streamingRuntime) PodNetNS(ctx context.Context, podSandboxID string) (string, error) {
	in, err := runningOurs(ctx, r.docker, translate.ContainerTypeSandbox, podSandboxID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/proc/%d/ns/net", in.State.Pid), nil
}

// pump copies the client's stdin into a hijacked Docker stream and the
// stream's output to the client, demultiplexed unless tty. It returns when
// the output ends, or when ctx ends (the stream is then closed). The stdin
// copy ends when the client's stdin does (passed on as EOF if closeStdin),
// or when the session's streams are closed after the session.
func pump(ctx context.Context, hj client.HijackedResponse, in io.Reader, out, errw io.Writer, tty, closeStdin bool) error {
	if in != nil {
		go func() {
			_, _ = io.Copy(hj.Conn, in)
			if closeStdin {
				_ = hj.CloseWrite()
			}
		}()
	}
	out, errw = orDiscard(out), orDiscard(errw)
	done := make(chan error, 1)
	go func() {
		var err error
		if tty {
			_, err = io.Copy(out, hj.Reader)
		} else {
			_, err = stdcopy.StdCopy(out, errw, hj.Reader)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		hj.Close()
		<-done
		return ctx.Err()
	}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// forwardResize passes the client's terminal sizes to Docker until the
// returned stop is called; stop waits for the forwarding goroutine and
// cancels a resize still in flight (Docker 20.10 holds a resize of an exec
// that never started for 10 s).
func forwardResize(ctx context.Context, sizes <-chan streaming.TerminalSize,
	resize func(context.Context, client.ContainerResizeOptions) error) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case size, ok := <-sizes:
				if !ok {
					return
				}
				o := client.ContainerResizeOptions{Height: uint(size.Height), Width: uint(size.Width)}
				if err := resize(ctx, o); err != nil {
					klog.V(levelExec).InfoS("Terminal resize failed", "height", size.Height, "width", size.Width, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// execExitCode waits for Docker to report the exec exited and returns its
// code; the output can end a moment before Docker records the exit.
func execExitCode(ctx context.Context, d Docker, execID string) (int, error) {
	for {
		in, err := d.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return 0, fmt.Errorf("inspect exec %s: %w", execID, err)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("exec %s: %w", execID, ctx.Err())
		case <-time.After(execTimes.poll):
		}
	}
}

// killExec kills an exec's process if it still runs. ctx may be done
// already: the calls get their own short deadline.
func killExec(ctx context.Context, d Docker, execID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killTimeout)
	defer cancel()
	in, err := d.ExecInspect(ctx, execID, client.ExecInspectOptions{})
	if err != nil {
		klog.V(levelExec).InfoS("Inspecting an exec to kill it failed", "exec", execID, "err", err)
		return
	}
	if !in.Running || in.PID <= 0 {
		return
	}
	if err := killProcess(in.PID); err != nil {
		klog.V(levelExec).InfoS("Killing an exec failed", "exec", execID, "pid", in.PID, "err", err)
		return
	}
	klog.V(levelExec).InfoS("Exec killed", "exec", execID, "pid", in.PID)
}
