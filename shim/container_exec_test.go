package shim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// stubStreams is a StreamServer that records what it was asked for.
type stubStreams struct{ asked []string }

func (s *stubStreams) GetExec(r *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	s.asked = append(s.asked, "exec "+r.GetContainerId())
	return &runtimeapi.ExecResponse{Url: "http://127.0.0.1:1/exec/tok"}, nil
}

func (s *stubStreams) GetAttach(r *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	s.asked = append(s.asked, "attach "+r.GetContainerId())
	return &runtimeapi.AttachResponse{Url: "http://127.0.0.1:1/attach/tok"}, nil
}

func (s *stubStreams) GetPortForward(r *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	s.asked = append(s.asked, "portforward "+r.GetPodSandboxId())
	return &runtimeapi.PortForwardResponse{Url: "http://127.0.0.1:1/portforward/tok"}, nil
}

// execPod is a fake Docker with a pod holding a running and a stopped
// container, served with a stub stream server; kills go to the fake.
type execPod struct {
	f                         *fakeDocker
	c                         *testClients
	streams                   *stubStreams
	sandbox, running, stopped string
}

func newExecPod(t *testing.T) *execPod {
	t.Helper()
	f := fakeWithImages()
	streams := &stubStreams{}
	c := newTestClients(t, f, func(cfg *Config) { cfg.Streaming = streams })
	ctx := testContext(t)
	sb := sandboxConfig("exec")
	p := &execPod{f: f, c: c, streams: streams, sandbox: runSandbox(t, c, sb)}
	p.running = createContainer(t, c, p.sandbox, sb, "running")
	p.stopped = createContainer(t, c, p.sandbox, sb, "stopped")
	for _, id := range []string{p.running, p.stopped} {
		if _, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: p.stopped}); err != nil {
		t.Fatal(err)
	}
	old := killProcess
	killProcess = f.killPid
	t.Cleanup(func() { killProcess = old })
	return p
}

// setScript sets how the fake's execs behave.
func (p *execPod) setScript(script func(e *fakeExec, conn net.Conn) int) {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	p.f.exec.script = script
}

// fastExecTimes makes the exec watch poll and give up without delay.
func fastExecTimes(t *testing.T) {
	old := execTimes
	execTimes = execTiming{poll: time.Millisecond, grace: time.Millisecond}
	t.Cleanup(func() { execTimes = old })
}

func TestStreamingCallsBadInput(t *testing.T) {
	p := newExecPod(t)
	ctx := testContext(t)
	execSync := func(id string, cmd []string, timeout int64) error {
		_, err := p.c.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: timeout})
		return err
	}
	exec := func(id string, cmd []string, tty, stderr bool) error {
		_, err := p.c.runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: cmd, Tty: tty, Stdout: true, Stderr: stderr})
		return err
	}
	attach := func(id string) error {
		_, err := p.c.runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: id, Stdout: true})
		return err
	}
	portForward := func(id string, ports ...int32) error {
		_, err := p.c.runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: id, Port: ports})
		return err
	}
	sh := []string{"sh"}
	tests := []struct {
		name string
		give func() error
		want codes.Code
	}{
		{"execsync empty id", func() error { return execSync("", sh, 0) }, codes.InvalidArgument},
		{"execsync empty command", func() error { return execSync(p.running, nil, 0) }, codes.InvalidArgument},
		{"execsync blank command", func() error { return execSync(p.running, []string{""}, 0) }, codes.InvalidArgument},
		{"execsync negative timeout", func() error { return execSync(p.running, sh, -1) }, codes.InvalidArgument},
		{"execsync absent container", func() error { return execSync("nosuch", sh, 0) }, codes.NotFound},
		{"execsync into the sandbox", func() error { return execSync(p.sandbox, sh, 0) }, codes.NotFound},
		{"execsync stopped container", func() error { return execSync(p.stopped, sh, 0) }, codes.FailedPrecondition},
		{"exec empty command", func() error { return exec(p.running, nil, false, false) }, codes.InvalidArgument},
		{"exec tty with stderr", func() error { return exec(p.running, sh, true, true) }, codes.InvalidArgument},
		{"exec absent container", func() error { return exec("nosuch", sh, false, false) }, codes.NotFound},
		{"exec stopped container", func() error { return exec(p.stopped, sh, false, false) }, codes.FailedPrecondition},
		{"attach empty id", func() error { return attach("") }, codes.InvalidArgument},
		{"attach absent container", func() error { return attach("nosuch") }, codes.NotFound},
		{"attach stopped container", func() error { return attach(p.stopped) }, codes.FailedPrecondition},
		{"port-forward empty id", func() error { return portForward("") }, codes.InvalidArgument},
		{"port-forward absent pod", func() error { return portForward("nosuch", 80) }, codes.NotFound},
		{"port-forward to a container", func() error { return portForward(p.running, 80) }, codes.NotFound},
		{"port-forward port out of range", func() error { return portForward(p.sandbox, 70000) }, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.f.resetCalls()
			wantCode(t, tt.give(), tt.want)
			for _, call := range p.f.callLog() {
				if strings.HasPrefix(call, "Exec") || strings.HasPrefix(call, "ContainerAttach") {
					t.Fatalf("Docker was asked to %s", call)
				}
			}
		})
	}
	if len(p.streams.asked) != 0 {
		t.Fatalf("stream server asked for %v", p.streams.asked)
	}
}

func TestStreamingCallsHandOutURLs(t *testing.T) {
	p := newExecPod(t)
	ctx := testContext(t)
	tests := []struct {
		name string
		give func() (string, error)
		want string
	}{
		{"exec", func() (string, error) {
			r, err := p.c.runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: p.running, Cmd: []string{"sh"}, Stdin: true, Stdout: true, Tty: true})
			return r.GetUrl(), err
		}, "exec " + p.running},
		{"attach", func() (string, error) {
			r, err := p.c.runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: p.running, Stdout: true, Stderr: true})
			return r.GetUrl(), err
		}, "attach " + p.running},
		{"port-forward", func() (string, error) {
			r, err := p.c.runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: p.sandbox, Port: []int32{8080}})
			return r.GetUrl(), err
		}, "portforward " + p.sandbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.streams.asked = nil
			url, err := tt.give()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(url, "http://127.0.0.1:1/") || len(p.streams.asked) != 1 || p.streams.asked[0] != tt.want {
				t.Fatalf("url %q, stream server asked %v, want %q", url, p.streams.asked, tt.want)
			}
		})
	}
}

func TestStreamingCallsWithoutStreamServer(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("nostream")
	_, err := c.runtime.PortForward(testContext(t), &runtimeapi.PortForwardRequest{PodSandboxId: runSandbox(t, c, sb)})
	wantCode(t, err, codes.Unimplemented)
}

// writeOutput is an exec script printing to both streams and exiting code.
func writeOutput(stdout, stderr string, code int) func(*fakeExec, net.Conn) int {
	return func(_ *fakeExec, conn net.Conn) int {
		_, _ = newStdWriter(conn, stdcopy.Stdout).Write([]byte(stdout))
		_, _ = newStdWriter(conn, stdcopy.Stderr).Write([]byte(stderr))
		return code
	}
}

func TestExecSyncOutputAndCalls(t *testing.T) {
	p := newExecPod(t)
	p.setScript(writeOutput("out\n", "err\n", 3))
	p.f.resetCalls()
	resp, err := p.c.runtime.ExecSync(testContext(t), &runtimeapi.ExecSyncRequest{ContainerId: p.running, Cmd: []string{"sh", "-c", "x"}, Timeout: 10})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.GetStdout()) != "out\n" || string(resp.GetStderr()) != "err\n" || resp.GetExitCode() != 3 {
		t.Fatalf("response = %v", resp)
	}
	calls := withoutLogCalls(p.f.callLog())
	want := []string{"ContainerInspect " + p.running, "ExecCreate " + p.running + " sh -c x"}
	if len(calls) < 4 || !equalCalls(calls[:2], want) || !strings.HasPrefix(calls[2], "ExecAttach ") {
		t.Fatalf("calls =\n%s", strings.Join(calls, "\n"))
	}
	for _, c := range calls[3:] {
		if !strings.HasPrefix(c, "ExecInspect ") {
			t.Fatalf("after the attach, only exec inspects; got %s", c)
		}
	}
}

// The expired context stands for the timeout without waiting for one.
func TestExecSyncTimeoutKillsTheProcess(t *testing.T) {
	p := newExecPod(t)
	p.setScript(func(_ *fakeExec, conn net.Conn) int {
		_, _ = io.Copy(io.Discard, conn) // runs until killed
		return 0
	})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := p.c.svc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: p.running, Cmd: []string{"sleep", "60"}, Timeout: 1})
	if !errors.Is(err, context.DeadlineExceeded) || status.Code(toStatus(err)) != codes.DeadlineExceeded {
		t.Fatalf("error = %v, want DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), p.running+" timed out after 1s") || strings.Contains(err.Error(), "sleep") {
		t.Fatalf("error = %v, want it to name the container and timeout, not the command", err)
	}
	if n := p.f.runningExecs(); n != 0 {
		t.Fatalf("%d execs still running after the timeout", n)
	}
}

// A command that exits while a background child keeps its output open
// returns once the grace after the exit has passed.
func TestExecSyncStopsReadingAfterExitWhenAChildHoldsTheOutput(t *testing.T) {
	fastExecTimes(t)
	p := newExecPod(t)
	p.setScript(func(e *fakeExec, conn net.Conn) int {
		_, _ = newStdWriter(conn, stdcopy.Stdout).Write([]byte("started\n"))
		p.f.exitExec(e, 0)
		_, _ = io.Copy(io.Discard, conn) // the child: holds the pipe until closed
		return 0
	})
	resp, err := p.c.runtime.ExecSync(testContext(t), &runtimeapi.ExecSyncRequest{ContainerId: p.running, Cmd: []string{"sh", "-c", "sleep 60 &"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.GetStdout()) != "started\n" || resp.GetExitCode() != 0 {
		t.Fatalf("response = %v", resp)
	}
}

// A big output is cut to fit the 16 MiB message with the exit code intact.
func TestExecSyncTruncatesBigOutput(t *testing.T) {
	p := newExecPod(t)
	p.setScript(func(_ *fakeExec, conn net.Conn) int {
		w := newStdWriter(conn, stdcopy.Stdout)
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 20 {
			if _, err := w.Write(chunk); err != nil {
				return 1
			}
		}
		_, _ = newStdWriter(conn, stdcopy.Stderr).Write([]byte("tail"))
		return 7
	})
	// Called directly: the test clients keep gRPC's 4 MiB receive default.
	resp, err := p.c.svc.ExecSync(testContext(t), &runtimeapi.ExecSyncRequest{ContainerId: p.running, Cmd: []string{"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if size := proto.Size(resp); size > MaxMsgSize {
		t.Fatalf("response is %d bytes, over the %d the kubelet accepts", size, MaxMsgSize)
	}
	want := MaxMsgSize - execSyncFraming - len("tail")
	if len(resp.GetStdout()) != want || string(resp.GetStderr()) != "tail" || resp.GetExitCode() != 7 {
		t.Fatalf("stdout %d bytes (want %d), stderr %q, exit %d", len(resp.GetStdout()), want, resp.GetStderr(), resp.GetExitCode())
	}
}

// An exec probe's life: many quick ExecSyncs leave no exec running and no
// goroutine behind.
func TestExecSyncLoopLeavesNothingBehind(t *testing.T) {
	p := newExecPod(t)
	p.setScript(writeOutput("ok\n", "", 0))
	ctx := testContext(t)
	run := func() {
		resp, err := p.c.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: p.running, Cmd: []string{"true"}, Timeout: 5})
		if err != nil || string(resp.GetStdout()) != "ok\n" {
			t.Fatalf("ExecSync = %v, %v", resp, err)
		}
	}
	run() // let gRPC set up its connection goroutines
	before := runtime.NumGoroutine()
	for range 1000 {
		run()
	}
	if n := p.f.runningExecs(); n != 0 {
		t.Fatalf("%d execs still running", n)
	}
	waitGoroutines(t, before)
}

// waitGoroutines waits (boundedly) for the goroutine count to come back to
// at most want: finished goroutines take a moment to be gone.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFitOutput(t *testing.T) {
	tests := []struct {
		name             string
		giveOut, giveErr int
		budget           int
		wantOut, wantErr int
	}{
		{"both fit", 10, 5, 20, 10, 5},
		{"exactly the budget", 15, 5, 20, 15, 5},
		{"stdout too big, stderr small", 100, 4, 20, 16, 4},
		{"stderr too big, stdout small", 3, 100, 20, 3, 17},
		{"both too big share halves", 100, 100, 20, 10, 10},
		{"odd budget", 100, 100, 21, 10, 11},
		{"empty stderr", 100, 0, 20, 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut := fitOutput(make([]byte, tt.giveOut), make([]byte, tt.giveErr), tt.budget)
			if len(out) != tt.wantOut || len(errOut) != tt.wantErr {
				t.Fatalf("fitOutput = %d, %d; want %d, %d", len(out), len(errOut), tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestCappedBuffer(t *testing.T) {
	tests := []struct {
		name        string
		limit       int
		give        []string
		want        string
		wantDropped int64
	}{
		{"under the cap", 10, []string{"abc", "de"}, "abcde", 0},
		{"write crossing the cap", 4, []string{"abc", "def"}, "abcd", 2},
		{"writes after the cap are drained", 2, []string{"ab", "cd", "ef"}, "ab", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &cappedBuffer{limit: tt.limit}
			for _, s := range tt.give {
				if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v: a capped write must still succeed", s, n, err)
				}
			}
			if string(b.buf) != tt.want || b.dropped != tt.wantDropped {
				t.Fatalf("kept %q dropped %d, want %q and %d", b.buf, b.dropped, tt.want, tt.wantDropped)
			}
		})
	}
}
