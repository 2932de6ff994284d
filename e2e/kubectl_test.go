package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// kubectl against a pod on dockercri, through a real API server (e2e_node.test's
// services mode) and a real kubelet: exec (pipes, exit codes, a TTY, 50 MiB),
// attach, logs (following across the kubelet's log rotation), port-forward to
// IPv4-only and IPv6-only listeners from both local address families, cp
// both ways, and debug with an ephemeral container in the target's process
// namespace. Every streaming command runs over WebSocket (kubectl's default)
// and over SPDY, with the API server's ExtendWebSocketsToKubelet gate on
// (1.36's default: the kubelet translates WebSocket to the runtime's SPDY)
// and off (the API server translates); the servers' metrics prove which
// path each combination took.

const (
	kubectlNamespace = "e2e-kubectl"
	// kubectlNode is the node name, given to the kubelet as
	// --hostname-override: an IP address there becomes the node's
	// InternalIP, so the API server reaches the kubelet on loopback (the
	// kubelet refuses a loopback --node-ip).
	kubectlNode   = "127.0.0.1"
	kubectlBridge = "dcrit6"
	k8sBusybox    = "registry.k8s.io/e2e-test-images/busybox:1.37.0-1"
	k8sPause      = "registry.k8s.io/pause:3.10.2"
	bigExecSize   = 50 << 20 // the exec that writes 50 MiB to stdout
)

// The pod: main serves a file on 127.0.0.1:8081 and another on [::1]:8082
// (busybox httpd, one address each), holds a 50 MiB file, and ends in a
// `sleep 86399` that a debug container targeting it must see; chatty prints
// numbered lines without end (about 15 KB/s with the CRI prefix: the kubelet
// rotates its 8 KiB log at every check); echo answers each line of its stdin.
const kubectlPodTemplate = `apiVersion: v1
kind: Pod
metadata:
  name: kc
  namespace: ` + kubectlNamespace + `
spec:
  nodeName: "` + kubectlNode + `"
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ` + k8sBusybox + `
    command: ["sh", "-c", %q]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
  - name: chatty
    image: ` + k8sBusybox + `
    command: ["sh", "-c", %q]
  - name: echo
    image: ` + k8sBusybox + `
    stdin: true
    command: ["sh", "-c", %q]
`

var (
	kubectlMainScript = strings.Join([]string{
		"echo main-started",
		"mkdir -p /www4 /www6",
		"echo v4-only > /www4/index.html",
		"echo v6-only > /www6/index.html",
		"head -c 2097152 /dev/urandom > /www4/big",
		"cp /www4/big /www6/big",
		fmt.Sprintf("head -c %d /dev/urandom > /tmp/big50", bigExecSize),
		"httpd -p 127.0.0.1:8081 -h /www4",
		"httpd -p [::1]:8082 -h /www6",
		"touch /tmp/ready",
		"exec sleep 86399",
	}, " && ")
	kubectlChattyScript = `i=0; while :; do j=0; while [ $j -lt 10 ]; do echo "chatty-line $i abcdefghijklmnopqrstuvwxyz0123456789"; i=$((i+1)); j=$((j+1)); done; sleep 0.05; done`
	kubectlEchoScript   = `echo attach-ready; while read -r l; do echo "echo:$l"; done; echo stdin-closed`
)

// kubectlEnv is what the subtests share.
type kubectlEnv struct {
	d          *framework.Daemon
	k          *kubelet
	token      string
	kubeconfig string
	kc         kubectl // WebSocket; copies switch to SPDY
	uid        string  // the pod's, this round
	bigSum     string  // sha256 of /www4/big and /www6/big
	big50Sum   string  // sha256 of /tmp/big50
}

// TestKubectl: kubectl against a pod on dockercri through a real API server
// and kubelet, over WebSocket and SPDY, with ExtendWebSocketsToKubelet on and
// off (see the top of this file). It needs 127.0.0.1:6443, and the Docker
// instance without another kubelet: it fails at once when the port is taken.
func TestKubectl(t *testing.T) {
	began := time.Now()
	requireAPIPortFree(t)
	env := framework.LoadEnv(t)
	e := &kubectlEnv{token: randomToken(t)}
	e2eBin(t, "e2e_node.test")

	n := newCNINet(t, kubectlBridge)
	args := append(slices.Clone(n.args), "--cni-default-network", "10.212.0.0/24,fd00:dc73::/64", "--cni-default-bridge", kubectlBridge,
		"--registry-mirror", "registry.k8s.io=http://"+env.Registry+"/k8s", "--pod-infra-container-image", k8sPause)
	e.d = framework.StartDockercri(t, args...)
	for _, img := range []string{k8sPause, k8sBusybox} { // before the kubelet asks
		if _, err := e.d.Image.PullImage(framework.Context(t), &runtimeapi.PullImageRequest{Image: spec(img)}); err != nil {
			t.Fatalf("pull %s: %v", img, err)
		}
	}

	dir := t.TempDir()
	e.kubeconfig = filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, e.kubeconfig, e.token)
	e.kc = kubectl{bin: e2eBin(t, "kubectl"), kubeconfig: e.kubeconfig, cacheDir: filepath.Join(dir, "cache"),
		namespace: kubectlNamespace, websocket: true}
	e.k = newKubeletWith(t, e.d, kubeletOptions{kubeconfig: e.kubeconfig, node: kubectlNode,
		namespaces: []string{kubectlNamespace}, logMaxSize: "8Ki"})
	t.Cleanup(func() { // before the kubelet's cleanup: CNI releases the addresses
		e.k.stop()
		removeCRIPods(t, e.d, kubectlNamespace)
	})

	for i, gate := range []bool{true, false} {
		t.Run(fmt.Sprintf("ExtendWebSocketsToKubelet=%t", gate), func(t *testing.T) {
			e.round(t, gate, i == 0)
		})
	}
	t.Logf("TestKubectl took %v", time.Since(began).Round(time.Second))
}

// round starts the API server with the gate, the kubelet against it, and the
// pod, then runs the checks with each protocol; it ends with the pod deleted
// and the kubelet and API server stopped. The logs checks, which no gate or
// protocol changes, run in the first round only.
func (e *kubectlEnv) round(t *testing.T, gate, logs bool) {
	// The gate shows in no metric of this API server (feature gate metrics
	// are not registered in-process): checkProtocol sees its effect.
	startAPIServer(t, e.token, map[string]bool{"ExtendWebSocketsToKubelet": gate})
	e.k.t = t
	e.k.start()
	t.Cleanup(e.k.stop)
	kc := e.kc

	// The node, registered with the kubelet's port (where the API server
	// connects for exec, logs and the rest).
	port := strconv.Itoa(e.k.port)
	waitFor(t, time.Minute, "the node registered with the kubelet's port "+port, func() bool {
		r := kc.run(t, nil, "get", "node", kubectlNode, "-o", "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}")
		return r.code == 0 && r.stdout == port
	})
	t.Logf("node features: %s", kc.run(t, nil, "get", "node", kubectlNode, "-o", "jsonpath={.status.declaredFeatures}").stdout)

	kc.ok(t, "create", "namespace", kubectlNamespace)
	pod := fmt.Sprintf(kubectlPodTemplate, kubectlMainScript, kubectlChattyScript, kubectlEchoScript)
	if r := kc.run(t, strings.NewReader(pod), "create", "-f", "-"); r.code != 0 {
		t.Fatalf("create the pod: %s%s", r.stdout, r.stderr)
	}
	if r := kc.run(t, nil, "wait", "--for=condition=Ready", "pod/kc", "--timeout=50s"); r.code != 0 {
		t.Fatalf("the pod is not ready: %s%s\n%s", r.stdout, r.stderr, kc.run(t, nil, "describe", "pod", "kc").stdout)
	}
	e.uid = kc.ok(t, "get", "pod", "kc", "-o", "jsonpath={.metadata.uid}")
	e.bigSum = strings.Fields(kc.ok(t, "exec", "kc", "-c", "main", "--", "sha256sum", "/www4/big"))[0]
	e.big50Sum = strings.Fields(kc.ok(t, "exec", "kc", "-c", "main", "--", "sha256sum", "/tmp/big50"))[0]

	if logs {
		t.Run("logs", e.testLogs)
		t.Run("logs-follow-across-rotation", e.testLogsFollow)
	}
	for _, ws := range []bool{true, false} {
		name := map[bool]string{true: "websocket", false: "spdy"}[ws]
		t.Run(name, func(t *testing.T) {
			pc := kc
			pc.websocket = ws
			api0, kub0 := e.apiMetrics(t), e.kubeletMetrics(t)
			e.streamingChecks(t, pc, name)
			t.Run("protocol-seen-by-servers", func(t *testing.T) {
				e.checkProtocol(t, gate, ws, api0, kub0)
			})
		})
	}

	// No container restarted: an attach or exec that ended never closed the
	// echo container's stdin nor killed anything.
	restarts := kc.ok(t, "get", "pod", "kc", "-o", `jsonpath={range .status.containerStatuses[*]}{.name}={.restartCount} {end}`)
	if strings.TrimSpace(restarts) != "chatty=0 echo=0 main=0" {
		t.Errorf("restart counts: %s, want none", restarts)
	}
	if r := kc.run(t, nil, "delete", "pod", "kc", "--wait", "--timeout=50s"); r.code != 0 {
		t.Errorf("delete the pod: %s%s", r.stdout, r.stderr)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (e *kubectlEnv) apiMetrics(t *testing.T) metrics {
	return fetchMetrics(t, "https://"+apiServerAddr+"/metrics", e.token)
}

// kubeletMetrics: the kubelet lets anyone on loopback in (anonymous, AlwaysAllow).
func (e *kubectlEnv) kubeletMetrics(t *testing.T) metrics {
	return fetchMetrics(t, fmt.Sprintf("https://127.0.0.1:%d/metrics", e.k.port), "")
}

// checkProtocol compares the servers' counters of WebSocket sessions with
// what the gate and kubectl's protocol should give: WebSocket with the gate
// on is proxied to the kubelet, which translates it (to SPDY, the runtime's
// protocol); with the gate off the API server translates it; SPDY is never
// translated.
func (e *kubectlEnv) checkProtocol(t *testing.T, gate, ws bool, api0, kub0 metrics) {
	api1, kub1 := e.apiMetrics(t), e.kubeletMetrics(t)
	delta := func(m0, m1 metrics, name string, labels ...string) float64 {
		return m1.sum(name, labels...) - m0.sum(name, labels...)
	}
	got := map[string]float64{
		"API server translated exec/attach": delta(api0, api1, "apiserver_stream_translator_requests_total"),
		"API server tunneled port-forward":  delta(api0, api1, "apiserver_stream_tunnel_requests_total"),
	}
	for _, sub := range []string{"exec", "attach", "portforward"} {
		got["kubelet translated "+sub] = delta(kub0, kub1, "kubelet_websocket_streaming_requests_total", `subresource="`+sub+`"`)
	}
	for what, n := range got {
		atKubelet := strings.HasPrefix(what, "kubelet")
		want := ws && gate == atKubelet // the sessions that took this path
		if (n > 0) != want {
			t.Errorf("%s: %v sessions, want %s", what, n, map[bool]string{true: "some", false: "none"}[want])
		}
	}
	t.Logf("WebSocket sessions translated: %v", got)
}

// streamingChecks are the checks of exec, attach, port-forward, cp and
// debug with one protocol.
func (e *kubectlEnv) streamingChecks(t *testing.T, kc kubectl, proto string) {
	t.Run("exec", func(t *testing.T) {
		tests := []struct {
			name             string
			stdin            string
			args             []string
			wantOut, wantErr string
			wantCode         int
		}{
			{name: "stdout-and-stderr", args: []string{"sh", "-c", "echo to-stdout; echo to-stderr >&2"},
				wantOut: "to-stdout\n", wantErr: "to-stderr\n"},
			{name: "exit-code-3", args: []string{"sh", "-c", "echo before-exit; exit 3"},
				wantOut: "before-exit\n", wantErr: "command terminated with exit code 3\n", wantCode: 3},
			{name: "stdin-to-eof", stdin: "line-1\nline-2\n", args: []string{"sh", "-c", "cat; echo eof-seen"},
				wantOut: "line-1\nline-2\neof-seen\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := []string{"exec", "kc", "-c", "main"}
				var stdin io.Reader
				if tt.stdin != "" {
					args, stdin = append(args, "-i"), strings.NewReader(tt.stdin)
				}
				r := kc.stream(t, stdin, append(append(args, "--"), tt.args...)...)
				if r.code != tt.wantCode || r.stdout != tt.wantOut || r.stderr != tt.wantErr {
					t.Errorf("exit code %d, stdout %q, stderr %q; want %d, %q, %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantOut, tt.wantErr)
				}
			})
		}
		t.Run("stdin-3MiB", func(t *testing.T) {
			data := randomBytes(t, 3<<20)
			r := kc.stream(t, bytes.NewReader(data), "exec", "-i", "kc", "-c", "main", "--", "sha256sum")
			if f := strings.Fields(r.stdout); r.code != 0 || len(f) == 0 || f[0] != sha256Hex(data) {
				t.Errorf("exit code %d, sha256sum of stdin in the pod %q, want %s (stderr %q)", r.code, r.stdout, sha256Hex(data), r.stderr)
			}
		})
		t.Run("stdout-50MiB", func(t *testing.T) {
			r := kc.stream(t, nil, "exec", "kc", "-c", "main", "--", "cat", "/tmp/big50")
			if r.code != 0 || len(r.stdout) != bigExecSize || sha256Hex([]byte(r.stdout)) != e.big50Sum {
				t.Errorf("exit code %d, %d bytes of sha256 %s; want 0, %d bytes of sha256 %s (stderr %q)",
					r.code, len(r.stdout), sha256Hex([]byte(r.stdout)), bigExecSize, e.big50Sum, r.stderr)
			}
		})
		t.Run("tty", func(t *testing.T) { e.testExecTTY(t, kc) })
	})
	t.Run("attach", func(t *testing.T) {
		b := kc.start(t, "-v=4", "attach", "-i", "kc", "-c", "echo")
		msg := "ping-" + proto
		if _, err := fmt.Fprintln(b.stdin, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := b.out.waitLine(regexp.MustCompile("^echo:"+msg+"$"), 30*time.Second); err != nil {
			t.Errorf("attach: %v\nstderr: %s", err, b.stderr.String())
		}
		b.stop()
		kc.checkStderr(t, b.stderr.String())
	})
	for _, local := range []string{"127.0.0.1", "::1"} {
		for _, listener := range []struct {
			name string
			port int
			body string
		}{{"127.0.0.1:8081", 8081, "v4-only"}, {"[::1]:8082", 8082, "v6-only"}} {
			t.Run(fmt.Sprintf("port-forward/local=%s/pod=%s", local, listener.name), func(t *testing.T) {
				e.testPortForward(t, kc, local, listener.port, listener.body)
			})
		}
	}
	t.Run("cp", func(t *testing.T) {
		dir := t.TempDir()
		data := randomBytes(t, 4<<20)
		src, back, remote := filepath.Join(dir, "src"), filepath.Join(dir, "back"), "/tmp/cp-"+proto
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := kc.stream(t, nil, "cp", "-c", "main", src, "kc:"+remote); r.code != 0 {
			t.Fatalf("cp into the pod: exit code %d: %s%s", r.code, r.stdout, r.stderr)
		}
		if sum := kc.ok(t, "exec", "kc", "-c", "main", "--", "sha256sum", remote); !strings.HasPrefix(sum, sha256Hex(data)+" ") {
			t.Errorf("the file in the pod: %q, want sha256 %s", sum, sha256Hex(data))
		}
		if r := kc.stream(t, nil, "cp", "-c", "main", "kc:"+remote, back); r.code != 0 {
			t.Fatalf("cp out of the pod: exit code %d: %s%s", r.code, r.stdout, r.stderr)
		}
		got, err := os.ReadFile(back)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("the file back from the pod: %d bytes (%v), want the %d bytes sent", len(got), err, len(data))
		}
	})
	t.Run("debug-ephemeral-target", func(t *testing.T) {
		r := kc.stream(t, strings.NewReader("go\n"), "debug", "-i", "kc", "-c", "dbg-"+proto, "--image="+k8sBusybox,
			"--target=main", "--", "sh", "-c", "read x; echo got-$x; ps")
		if r.code != 0 || !strings.Contains(r.stdout, "got-go") || !strings.Contains(r.stdout, "sleep 86399") {
			t.Errorf("exit code %d, stdout %q, stderr %q: want got-go and main's `sleep 86399` among the processes", r.code, r.stdout, r.stderr)
		}
	})
}

// testExecTTY runs kubectl exec -it on a pseudo-terminal of 37×91: the
// command sees a /dev/pts terminal of that size and reads a line typed on it.
func (e *kubectlEnv) testExecTTY(t *testing.T, kc kubectl) {
	p := openPTY(t, 37, 91)
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := kc.command(ctx, "-v=4", "exec", "-it", "kc", "-c", "main", "--", "sh", "-c", "tty; read x; stty size; echo got-$x; exit 5")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.slave.Close()
	if !p.waitOutput("/dev/pts/", 30*time.Second) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no tty in the output: %q", p.out.String())
	}
	if _, err := p.master.Write([]byte("abc\r")); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	<-p.closed
	out := p.out.String()
	kc.checkStderr(t, out)
	if code := cmd.ProcessState.ExitCode(); code != 5 || !regexp.MustCompile(`/dev/pts/\d+`).MatchString(out) ||
		!strings.Contains(out, "37 91") || !strings.Contains(out, "got-abc") {
		t.Errorf("exit code %d, terminal %q; want 5, a /dev/pts tty of 37 rows and 91 columns, got-abc", code, out)
	}
}

// testPortForward runs kubectl port-forward on a local address to a pod
// port, fetches a small and a 2 MiB file through it, and stops it.
func (e *kubectlEnv) testPortForward(t *testing.T, kc kubectl, local string, port int, body string) {
	b := kc.start(t, "-v=4", "port-forward", "--address", local, "pod/kc", fmt.Sprintf(":%d", port))
	m, err := b.out.waitLine(regexp.MustCompile(`^Forwarding from (\S+) -> (\d+)$`), 30*time.Second)
	if err != nil {
		t.Fatalf("port-forward: %v\nstderr: %s", err, b.stderr.String())
	}
	host, _, err := net.SplitHostPort(m[1])
	if err != nil || host != local || m[2] != strconv.Itoa(port) {
		t.Fatalf("port-forward listens on %s -> %s, want %s -> %d", m[1], m[2], local, port)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) []byte {
		resp, err := client.Get("http://" + m[1] + path)
		if err != nil {
			t.Fatalf("GET %s through port-forward: %v\nstderr: %s", path, err, b.stderr.String())
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s through port-forward: %s, %v", path, resp.Status, err)
		}
		return data
	}
	if got := string(get("/index.html")); got != body+"\n" {
		t.Errorf("GET /index.html: %q, want %q", got, body+"\n")
	}
	if got := sha256Hex(get("/big")); got != e.bigSum {
		t.Errorf("GET /big: sha256 %s, want %s", got, e.bigSum)
	}
	b.stop()
	stderr := b.stderr.String()
	if strings.Contains(stderr, "error occurred forwarding") || strings.Contains(stderr, "error copying") {
		t.Errorf("port-forward reported errors:\n%s", stderr)
	}
	kc.checkStderr(t, stderr)
}

var chattyLine = regexp.MustCompile(`^chatty-line (\d+) abcdefghijklmnopqrstuvwxyz0123456789$`)

func (e *kubectlEnv) testLogs(t *testing.T) {
	if out := e.kc.ok(t, "logs", "kc", "-c", "main"); out != "main-started\n" {
		t.Errorf("logs of main: %q, want %q", out, "main-started\n")
	}
	out := e.kc.ok(t, "logs", "kc", "-c", "chatty", "--tail=5")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("logs --tail=5: %d lines: %q", len(lines), out)
	}
	checkSequence(t, lines)
}

// checkSequence: every line is a chatty line, numbered one more than the one
// before.
func checkSequence(t *testing.T, lines []string) (first, last int) {
	t.Helper()
	prev := -1
	for i, l := range lines {
		m := chattyLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %d: %q is not a chatty line", i, l)
		}
		n, _ := strconv.Atoi(m[1])
		if i == 0 {
			first = n
		} else if n != prev+1 {
			t.Fatalf("line %d: number %d after %d: a gap or a repeat", i, n, prev)
		}
		prev = n
	}
	return first, prev
}

// testLogsFollow follows chatty's log until the kubelet has rotated it
// (renamed 0.log to 0.log.<timestamp> and had dockercri reopen 0.log) at
// least once after the follow began, and 3 s beyond: the numbered lines must
// arrive without a gap or a repeat, from before the end of the rotated file
// to after it.
func (e *kubectlEnv) testLogsFollow(t *testing.T) {
	logDir := filepath.Join(e.k.podLogs, fmt.Sprintf("%s_kc_%s", kubectlNamespace, e.uid), "chatty")
	rotatedName := regexp.MustCompile(`^0\.log\.\d{8}-\d{6}$`)
	rotated := func() []string {
		var out []string
		entries, _ := os.ReadDir(logDir)
		for _, ent := range entries {
			if rotatedName.MatchString(ent.Name()) {
				out = append(out, ent.Name())
			}
		}
		return out
	}
	before := rotated()
	b := e.kc.start(t, "logs", "-f", "kc", "-c", "chatty")
	var first string // the first rotation after the follow began
	deadline := time.Now().Add(40 * time.Second)
	var beyond time.Time
	for time.Now().Before(deadline) {
		if first == "" {
			for _, f := range rotated() { // by name: oldest first
				if !slices.Contains(before, f) {
					first, beyond = f, time.Now().Add(3*time.Second)
					break
				}
			}
		} else if time.Now().After(beyond) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.stop()
	if first == "" {
		entries, _ := os.ReadDir(logDir)
		t.Fatalf("the kubelet did not rotate chatty's log within 40 s of the follow; %s holds %v", logDir, entries)
	}
	b.out.mu.Lock()
	lines := slices.Clone(b.out.lines)
	b.out.mu.Unlock()
	if len(lines) > 0 {
		lines = lines[:len(lines)-1] // may be cut short by the interrupt
	}
	if len(lines) < 100 {
		t.Fatalf("logs -f gave %d lines: %q\nstderr: %s", len(lines), lines, b.stderr.String())
	}
	lo, hi := checkSequence(t, lines)
	end, err := lastChattyNumber(filepath.Join(logDir, first)) // compressed meanwhile, perhaps
	if err != nil {
		t.Fatalf("the rotated log %s: %v", first, err)
	}
	if lo > end || hi <= end {
		t.Fatalf("logs -f gave lines %d to %d; the rotated file %s ends with line %d: the follow did not cross the rotation", lo, hi, first, end)
	}
	t.Logf("logs -f: lines %d to %d without a gap, across the rotation to %s (which ends with line %d)", lo, hi, first, end)
}

// lastChattyNumber is the number of the last chatty line of a CRI log file,
// or of its gzip-compressed version (the kubelet compresses all rotated
// files but the newest).
func lastChattyNumber(path string) (int, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		f, err = os.Open(path + ".gz")
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(f.Name(), ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			return 0, err
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	last := -1
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.SplitN(line, " ", 4); len(f) == 4 {
			if m := chattyLine.FindStringSubmatch(f[3]); m != nil {
				last, _ = strconv.Atoi(m[1])
			}
		}
	}
	if last < 0 {
		return 0, fmt.Errorf("no chatty line in it")
	}
	return last, nil
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
