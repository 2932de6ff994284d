package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	utilexec "k8s.io/utils/exec"

	"dockercri/e2e/framework"
)

// startStreamPod runs a pod with the streaming tests' containers.
func startStreamPod(t *testing.T, name string) *streamPod {
	t.Helper()
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, name)
	pod := podConfig(t, name)
	// Docker leaves IPv6 off in a bridge network without it, loopback too;
	// the pod turns it on to serve on [::1].
	pod.Linux = &runtimeapi.LinuxPodSandboxConfig{Sysctls: map[string]string{
		"net.ipv6.conf.all.disable_ipv6": "0", "net.ipv6.conf.lo.disable_ipv6": "0",
	}}
	p := &streamPod{d: d, id: runPod(t, d, pod)}
	container := func(name string, tty bool, cmd ...string) *runtimeapi.ContainerConfig {
		return &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: name}, Image: &runtimeapi.ImageSpec{Image: image},
			Command: cmd, Stdin: true, Tty: tty,
		}
	}
	p.web = createAndStart(t, d, p.id, pod, container("web", false, "sh", "-c",
		"mkdir -p /www && echo '"+webPage+"' > /www/index.html && httpd -p 8080 -h /www && httpd -p '[::1]:8081' -h /www && exec sleep 3600"))
	p.echo = createAndStart(t, d, p.id, pod, container("echo", false, "sh", "-c", `while read l; do echo "echo: $l"; done; sleep 3600`))
	p.tty = createAndStart(t, d, p.id, pod, container("tty", true, "sh"))
	p.done = createAndStart(t, d, p.id, pod, container("done", false, "true"))
	waitExited(t, d, p.done, 30*time.Second)
	return p
}

func (p *streamPod) execSync(t *testing.T, id string, timeout int64, cmd ...string) (*runtimeapi.ExecSyncResponse, error) {
	t.Helper()
	return p.d.Runtime.ExecSync(framework.Context(t), &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: timeout})
}

// processes lists the commands running in the web container.
func (p *streamPod) processes(t *testing.T) string {
	t.Helper()
	resp, err := p.execSync(t, p.web, 10, "ps", "-o", "args")
	if err != nil {
		t.Fatal(err)
	}
	return string(resp.GetStdout())
}

func TestStreamingThroughCrictl(t *testing.T) {
	p := startStreamPod(t, "stream-crictl")
	d := p.d

	t.Run("exec --sync exit code and streams", func(t *testing.T) {
		out, err := crictlStdin(t, d, "", false, "exec", "--sync", p.web, "sh", "-c", "echo out; echo err >&2")
		if err != nil || !strings.Contains(out, "out\n") || !strings.Contains(out, "err\n") {
			t.Fatalf("crictl exec --sync = %q, %v; want out and err", out, err)
		}
		// crictl reports a non-zero exit with the stderr.
		_, err = crictlStdin(t, d, "", false, "exec", "--sync", p.web, "sh", "-c", "echo err >&2; exit 3")
		if err == nil || !strings.Contains(err.Error(), "exited with 3: err") {
			t.Fatalf("crictl exec --sync = %v; want exit 3 and stderr", err)
		}
	})
	t.Run("exec --sync --timeout kills the command", func(t *testing.T) {
		start := time.Now()
		_, err := crictlStdin(t, d, "", false, "exec", "--sync", "--timeout", "1", p.web, "sleep", "37")
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("crictl exec --timeout 1 = %v, want a timeout", err)
		}
		if took := time.Since(start); took > 15*time.Second {
			t.Fatalf("timed-out exec took %v", took)
		}
		if ps := p.processes(t); strings.Contains(ps, "sleep 37") {
			t.Fatalf("the timed-out command still runs:\n%s", ps)
		}
	})
	t.Run("exec streams stdin and output", func(t *testing.T) {
		out, err := crictlStdin(t, d, "line\n", false, "exec", "-i", p.web, "sh", "-c", "read l; echo got $l; cat /www/index.html")
		if err != nil || out != "got line\n"+webPage+"\n" {
			t.Fatalf("crictl exec -i = %q, %v", out, err)
		}
	})
	t.Run("exec -it under a terminal", func(t *testing.T) {
		out, err := crictlStdin(t, d, "", true, "exec", "-it", p.web, "sh", "-c", "tty >/dev/null && echo tty-ok; exit 4")
		if !strings.Contains(out, "tty-ok") || !strings.Contains(out, "exit code 4") {
			t.Fatalf("crictl exec -it = %q, %v; want tty-ok and exit 4", out, err)
		}
	})
	t.Run("attach", func(t *testing.T) {
		// The echo container prints what it reads. crictl stays attached
		// after its stdin ends, until it is stopped (the client leaves).
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out := &waitWriter{want: "echo: via-crictl", seen: make(chan struct{})}
		cmd := exec.CommandContext(ctx, framework.CrictlPath(), "--runtime-endpoint", d.Endpoint, "attach", "-i", p.echo)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader("via-crictl\n"), out, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-out.seen:
		case <-ctx.Done():
		}
		cancel()
		_ = cmd.Wait()
		if !out.found() {
			t.Fatalf("crictl attach printed %q", out.String())
		}
	})
	t.Run("port-forward", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := crictlBackground(t, ctx, d, "port-forward", p.id, "18080:8080")
		defer cmd.wait()
		var page string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if resp, err := http.Get("http://127.0.0.1:18080/"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				page = string(b)
				break
			}
		}
		if !strings.Contains(page, webPage) {
			t.Fatalf("page through crictl port-forward = %q", page)
		}
	})
}

func TestStreamingClients(t *testing.T) {
	p := startStreamPod(t, "stream-client")
	d := p.d
	ctx := framework.Context(t)
	fdsBefore := daemonFDs(t, d)
	for _, e := range executors {
		t.Run(e.name+" exec", func(t *testing.T) {
			r, err := d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: p.web, Stdin: true, Stdout: true, Stderr: true,
				Cmd: []string{"sh", "-c", "read l; echo got $l; echo oops >&2; exit 5"}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.GetUrl(), "http://127.0.0.1:") {
				t.Fatalf("URL %q is not absolute on loopback", r.GetUrl())
			}
			out, errOut, err := stream(t, ctx, e, r.GetUrl(), remotecommand.StreamOptions{Stdin: strings.NewReader("hi\n")})
			var exit utilexec.ExitError
			if out != "got hi\n" || errOut != "oops\n" || !errors.As(err, &exit) || exit.ExitStatus() != 5 {
				t.Fatalf("exec = %q, %q, %v; want got hi, oops, exit 5", out, errOut, err)
			}
		})
		t.Run(e.name+" exec tty and resize", func(t *testing.T) {
			r, err := d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: p.web, Stdin: true, Stdout: true, Tty: true,
				Cmd: []string{"sh", "-c", "sleep 1; stty size"}})
			if err != nil {
				t.Fatal(err)
			}
			stdin, keepOpen := io.Pipe()
			defer keepOpen.Close()
			out, _, err := stream(t, ctx, e, r.GetUrl(), remotecommand.StreamOptions{Stdin: stdin, Tty: true, TerminalSizeQueue: &fixedSize{}})
			if err != nil || strings.TrimSpace(out) != "30 100" {
				t.Fatalf("stty size = %q, %v; want 30 100", out, err)
			}
		})
		t.Run(e.name+" attach, then leave", func(t *testing.T) {
			r, err := d.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: p.echo, Stdin: true, Stdout: true, Stderr: true})
			if err != nil {
				t.Fatal(err)
			}
			sctx, leave := context.WithCancel(ctx)
			stdin, w := io.Pipe()
			out := &waitWriter{want: "echo: from " + e.name, seen: make(chan struct{})}
			go func() {
				_, _ = io.WriteString(w, "from "+e.name+"\n")
				select {
				case <-out.seen:
				case <-time.After(20 * time.Second):
				}
				leave() // the client goes away without closing anything
			}()
			ex, err := e.new(r.GetUrl())
			if err != nil {
				t.Fatal(err)
			}
			_ = ex.StreamWithContext(sctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: out, Stderr: io.Discard})
			w.Close()
			if !out.found() {
				t.Fatalf("attach output %q, want %q", out.String(), out.want)
			}
		})
		t.Run(e.name+" attach with a terminal", func(t *testing.T) {
			r, err := d.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: p.tty, Stdin: true, Stdout: true, Tty: true})
			if err != nil {
				t.Fatal(err)
			}
			sctx, leave := context.WithCancel(ctx)
			stdin, w := io.Pipe()
			out := &waitWriter{want: "tty-attach-" + e.name, seen: make(chan struct{})}
			go func() {
				_, _ = io.WriteString(w, "echo tty-attach-"+e.name+"\n")
				select {
				case <-out.seen:
				case <-time.After(20 * time.Second):
				}
				leave()
			}()
			ex, err := e.new(r.GetUrl())
			if err != nil {
				t.Fatal(err)
			}
			_ = ex.StreamWithContext(sctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: out, Tty: true, TerminalSizeQueue: &fixedSize{}})
			w.Close()
			if !out.found() {
				t.Fatalf("attach output %q, want %q", out.String(), out.want)
			}
		})
	}
	t.Run("SPDY port-forward IPv4 and IPv6", func(t *testing.T) {
		r, err := d.Runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: p.id})
		if err != nil {
			t.Fatal(err)
		}
		ports := spdyPortForward(t, r.GetUrl(), "0:8080", "0:8081", "0:8099")
		for _, port := range ports[:2] {
			if page := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port.Local)); !strings.Contains(page, webPage) {
				t.Fatalf("page through port %d = %q", port.Remote, page)
			}
		}
		c := http.Client{Timeout: 10 * time.Second}
		if resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[2].Local)); err == nil {
			resp.Body.Close()
			t.Fatalf("a closed port answered %s", resp.Status)
		}
	})
	t.Run("WebSocket port-forward", func(t *testing.T) {
		r, err := d.Runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: p.id, Port: []int32{8080}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := wsPortForward(t, r.GetUrl(), "GET / HTTP/1.0\r\n\r\n")
		if err != nil || !strings.Contains(got, webPage) {
			t.Fatalf("page through WebSocket port-forward = %q, %v", got, err)
		}
	})
	t.Run("nothing left behind", func(t *testing.T) {
		// Sessions end asynchronously after the clients return.
		var fds int
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if fds = daemonFDs(t, d); fds <= fdsBefore+2 {
				break
			}
		}
		if fds > fdsBefore+2 {
			t.Fatalf("dockercri holds %d files, %d before the sessions", fds, fdsBefore)
		}
		// The pod shares one PID namespace: this lists every container's.
		if ps := p.processes(t); strings.Contains(ps, "stty size") || strings.Contains(ps, "echo got") {
			t.Fatalf("exec'd processes left behind:\n%s", ps)
		}
		for _, id := range []string{p.echo, p.tty} {
			st, err := d.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
			if err != nil || st.GetStatus().GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
				t.Fatalf("attached container %s after the client left: %v, %v", id, st.GetStatus().GetState(), err)
			}
		}
	})
}

func TestStreamingBadInput(t *testing.T) {
	p := startStreamPod(t, "stream-bad")
	d := p.d
	ctx := framework.Context(t)
	tests := []struct {
		name string
		give func() error
		want codes.Code
	}{
		{"exec sync absent container", func() error { _, err := p.execSync(t, "nosuch", 0, "true"); return err }, codes.NotFound},
		{"exec sync stopped container", func() error { _, err := p.execSync(t, p.done, 0, "true"); return err }, codes.FailedPrecondition},
		{"exec sync empty command", func() error { _, err := p.execSync(t, p.web, 0); return err }, codes.InvalidArgument},
		{"exec absent container", func() error {
			_, err := d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: "nosuch", Cmd: []string{"sh"}, Stdout: true})
			return err
		}, codes.NotFound},
		{"exec stopped container", func() error {
			_, err := d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: p.done, Cmd: []string{"sh"}, Stdout: true})
			return err
		}, codes.FailedPrecondition},
		{"exec empty command", func() error {
			_, err := d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: p.web, Stdout: true})
			return err
		}, codes.InvalidArgument},
		{"attach stopped container", func() error {
			_, err := d.Runtime.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: p.done, Stdout: true})
			return err
		}, codes.FailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := status.Code(tt.give()); got != tt.want {
				t.Fatalf("code %s, want %s", got, tt.want)
			}
		})
	}

	t.Run("unknown and used tokens are 404 and start nothing", func(t *testing.T) {
		r, err := d.Runtime.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: p.web, Cmd: []string{"touch", "/tmp/started"}, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(r.GetUrl())
		if err != nil {
			t.Fatal(err)
		}
		// A request without an upgrade uses the token up and starts nothing.
		if resp, err := http.Post(r.GetUrl(), "", nil); err == nil {
			resp.Body.Close()
		}
		for _, path := range []string{"/exec/AAAAAAAA", "/attach/AAAAAAAA", "/portforward/AAAAAAAA", u.Path} {
			resp, err := http.Post(u.Scheme+"://"+u.Host+path, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("%s: HTTP %d, want 404", path, resp.StatusCode)
			}
		}
		if resp, err := p.execSync(t, p.web, 10, "ls", "/tmp"); err != nil || strings.Contains(string(resp.GetStdout()), "started") {
			t.Fatalf("the exec ran: %v, %v", resp, err)
		}
	})
}

// An exec probe's life: 1,000 ExecSyncs leave no process behind, a big
// output is cut to fit the kubelet's 16 MiB message with its exit code, and
// a background child holding the output open does not hang the call.
func TestExecSyncAtScale(t *testing.T) {
	p := startStreamPod(t, "execsync")
	psBefore := p.processes(t)
	fdsBefore := daemonFDs(t, p.d)
	start := time.Now()
	for i := range 1000 {
		resp, err := p.execSync(t, p.web, 5, "echo", "probe")
		if err != nil || string(resp.GetStdout()) != "probe\n" || resp.GetExitCode() != 0 {
			t.Fatalf("ExecSync %d = %v, %v", i, resp, err)
		}
	}
	t.Logf("1000 ExecSync calls took %v", time.Since(start))
	if ps := p.processes(t); ps != psBefore {
		t.Fatalf("processes after the loop:\n%s\nbefore:\n%s", ps, psBefore)
	}
	if fds := daemonFDs(t, p.d); fds > fdsBefore+2 {
		t.Fatalf("dockercri holds %d files, %d before the loop", fds, fdsBefore)
	}

	t.Run("50 MiB output", func(t *testing.T) {
		start := time.Now()
		resp, err := p.execSync(t, p.web, 60, "sh", "-c", "head -c 52428800 /dev/zero; echo err >&2; exit 4")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("50 MiB ExecSync took %v", time.Since(start))
		const want = 16<<20 - 32 - len("err\n")
		if len(resp.GetStdout()) != want || string(resp.GetStderr()) != "err\n" || resp.GetExitCode() != 4 {
			t.Fatalf("stdout %d bytes (want %d), stderr %q, exit %d", len(resp.GetStdout()), want, resp.GetStderr(), resp.GetExitCode())
		}
	})
	t.Run("background child holds the output", func(t *testing.T) {
		start := time.Now()
		resp, err := p.execSync(t, p.web, 30, "sh", "-c", "sleep 39 & echo started")
		if err != nil || string(resp.GetStdout()) != "started\n" {
			t.Fatalf("ExecSync = %v, %v", resp, err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("ExecSync took %v", took)
		}
		_, _ = p.execSync(t, p.web, 10, "pkill", "-f", "sleep 39")
	})
}

// waitWriter is a client's output that signals when want has arrived.
type waitWriter struct {
	strings.Builder
	want string
	seen chan struct{}
	done bool
}

func (w *waitWriter) Write(b []byte) (int, error) {
	n, err := w.Builder.Write(b)
	if !w.done && strings.Contains(w.String(), w.want) {
		w.done = true
		close(w.seen)
	}
	return n, err
}

func (w *waitWriter) found() bool { return w.done }

// spdyPortForward forwards local ports to the pod through client-go's
// SPDY port forwarder and returns them once ready; it stops with the test.
func spdyPortForward(t *testing.T, u string, ports ...string) []portforward.ForwardedPort {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	tr, upgrader, err := spdy.RoundTripperFor(&restclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: tr}, "POST", parsed)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, ports, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	t.Cleanup(func() { close(stop); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("port-forward: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("port-forward not ready")
	}
	got, err := fw.GetPorts()
	if err != nil {
		t.Fatal(err)
	}
	return got
}
