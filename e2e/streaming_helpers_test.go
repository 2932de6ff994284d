package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	"dockercri/e2e/framework"
)

// streamPod is a running pod for the streaming tests: a web server
// (busybox httpd on 8080 over IPv4 and 8081 over IPv6 loopback), a
// container echoing the lines of its stdin, and one with a terminal.
type streamPod struct {
	d                    *framework.Daemon
	id                   string
	web, echo, tty, done string
}

const webPage = "hello from httpd"

// executor is how a test reaches an exec or attach URL.
type executor struct {
	name string
	new  func(u string) (remotecommand.Executor, error)
}

// executors are the two transports kubectl and the kubelet use. The
// WebSocket one asks for v4.channel.k8s.io, the newest version the
// streaming library serves (v5 adds only a stdin close signal).
var executors = []executor{
	{"SPDY", func(u string) (remotecommand.Executor, error) {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		return remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", parsed)
	}},
	{"WebSocket", func(u string) (remotecommand.Executor, error) {
		return remotecommand.NewWebSocketExecutorForProtocols(&restclient.Config{}, "GET", u, "v4.channel.k8s.io")
	}},
}

// fixedSize is a terminal that has one size.
type fixedSize struct{ sent bool }

func (f *fixedSize) Next() *remotecommand.TerminalSize {
	if f.sent {
		return nil
	}
	f.sent = true
	return &remotecommand.TerminalSize{Width: 100, Height: 30}
}

// stream runs an exec or attach session and returns its output.
func stream(t *testing.T, ctx context.Context, e executor, u string, opts remotecommand.StreamOptions) (stdout, stderr string, err error) {
	t.Helper()
	ex, err := e.new(u)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	opts.Stdout = &out
	if !opts.Tty {
		opts.Stderr = &errOut
	}
	err = ex.StreamWithContext(ctx, opts)
	return out.String(), errOut.String(), err
}

// crictlStdin runs crictl with stdin, optionally under a pseudo-terminal
// (`script`), for the verbs that stream.
func crictlStdin(t *testing.T, d *framework.Daemon, stdin string, pty bool, args ...string) (string, error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "crictl.yaml") // never /etc/crictl.yaml
	if err := os.WriteFile(cfg, []byte("runtime-endpoint: "+d.Endpoint+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"--config", cfg, "--runtime-endpoint", d.Endpoint, "--image-endpoint", d.Endpoint, "--timeout", "60s"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if pty {
		line := framework.CrictlPath()
		for _, a := range full {
			line += " '" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		cmd = exec.CommandContext(ctx, "script", "-qec", line, "/dev/null")
	} else {
		cmd = exec.CommandContext(ctx, framework.CrictlPath(), full...)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), err
}

// wsPortForward speaks the WebSocket port-forward protocol (v4.channel.k8s.io):
// channel 0 carries data, 1 errors, and each starts with the port number.
// It sends request and returns what comes back until the pod closes.
func wsPortForward(t *testing.T, u, request string) (string, error) {
	t.Helper()
	wsURL := "ws" + strings.TrimPrefix(u, "http")
	dialer := websocket.Dialer{Subprotocols: []string{"v4.channel.k8s.io"}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := dialer.Dial(wsURL, nil)
	if err != nil {
		if resp != nil {
			return "", fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return "", err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := conn.WriteMessage(websocket.BinaryMessage, append([]byte{0}, request...)); err != nil {
		return "", err
	}
	var data, errs bytes.Buffer
	seen := map[byte]bool{}
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if errs.Len() > 0 {
				return data.String(), fmt.Errorf("port-forward error: %s", errs.String())
			}
			return data.String(), nil
		}
		if len(msg) == 0 {
			continue
		}
		ch, payload := msg[0], msg[1:]
		if !seen[ch] { // the port number heading each channel
			seen[ch] = true
			payload = payload[min(2, len(payload)):]
		}
		switch ch {
		case 0:
			data.Write(payload)
			if strings.Contains(data.String(), webPage) {
				return data.String(), nil
			}
		case 1:
			errs.Write(payload)
		}
	}
}

// httpGet fetches a page, failing the test on error.
func httpGet(t *testing.T, u string) string {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// daemonFDs counts the open files of the dockercri serving d, found by
// its socket path on its command line.
func daemonFDs(t *testing.T, d *framework.Daemon) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(d.SocketPath)) || !bytes.Contains(b, []byte("--container-runtime-endpoint")) {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(filepath.Dir(p), "fd"))
		if err != nil {
			t.Fatal(err)
		}
		return len(fds)
	}
	t.Fatalf("no dockercri process for %s", d.SocketPath)
	return 0
}

// background is a crictl left running (port-forward).
type background struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
}

// crictlBackground starts crictl until ctx ends or wait is called.
func crictlBackground(t *testing.T, ctx context.Context, d *framework.Daemon, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, framework.CrictlPath(), append([]string{"--runtime-endpoint", d.Endpoint}, args...)...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return &background{cmd: cmd, cancel: cancel}
}

func (b *background) wait() {
	b.cancel()
	_ = b.cmd.Wait()
}
