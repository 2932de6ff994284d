package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	creackpty "github.com/creack/pty"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// The API server of e2e_node.test's services mode (etcd and kube-apiserver
// in one process, the suite's own way of running them): it always binds this
// address, so only one such server can run on the machine at a time.
const apiServerAddr = "127.0.0.1:6443"

// e2eBin is e2e/bin/<name>, built by e2e/env/node-e2e.sh.
func e2eBin(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(framework.RepoRoot(), "e2e", "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v: run e2e/env/node-e2e.sh first", name, err)
	}
	return p
}

// requireAPIPortFree fails the test at once when something listens on
// 6443: another e2e_node.test (e2e/env/node-conformance.sh) is running, and
// its kubelet would take this test's pods for orphans of its own.
func requireAPIPortFree(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", apiServerAddr)
	if err != nil {
		t.Fatalf("%s is taken (%v): another API server runs (e2e/env/node-conformance.sh's e2e_node.test?); this test needs the port and the Docker instance to itself", apiServerAddr, err)
	}
	l.Close()
}

// randomToken is a bearer token of the API server: e2e_node.test puts its
// user in system:masters.
func randomToken(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeKubeconfig writes a kubeconfig for the API server and token.
func writeKubeconfig(t *testing.T, path, token string) {
	t.Helper()
	conf := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: "https://%s", insecure-skip-tls-verify: true}
users:
- name: e2e
  user: {token: %q}
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e}
current-context: e2e
`, apiServerAddr, token)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
}

// insecureClient talks to the self-signed API server and kubelet.
var insecureClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Proxy: nil},
}

// apiServer is e2e_node.test --run-services-mode: etcd, kube-apiserver and
// the namespace controller in one process, killed at the end of the test.
type apiServer struct {
	t       *testing.T
	token   string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

// startAPIServer runs the services with the API server's feature gates
// (--service-feature-gates: --feature-gates sets only the suite's own) and
// returns once /healthz answers this server's token and the services say
// they have started.
func startAPIServer(t *testing.T, token string, gates map[string]bool) *apiServer {
	t.Helper()
	requireAPIPortFree(t)
	dir := t.TempDir()
	args := []string{"--run-services-mode", "--bearer-token=" + token}
	var fg []string
	for k, v := range gates {
		fg = append(fg, fmt.Sprintf("%s=%t", k, v))
	}
	sort.Strings(fg)
	if len(fg) > 0 {
		args = append(args, "--service-feature-gates="+strings.Join(fg, ","))
	}
	a := &apiServer{t: t, token: token, logPath: filepath.Join(dir, "services.log"), done: make(chan struct{})}
	logf, err := os.Create(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(e2eBin(t, "e2e_node.test"), args...)
	a.cmd.Dir = dir // known_tokens.csv goes to the working directory
	// etcd's data goes to a t.TempDir() of the services' own (TMPDIR):
	// inside this test's, so it goes even though the process is killed.
	a.cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); logf.Close(); close(a.done) }()
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			t.Logf("API server log (last 40 lines):\n%s", tailFile(a.logPath, 40))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-a.done:
			t.Fatalf("the API server (e2e_node.test --run-services-mode) exited: %v\n%s", a.cmd.ProcessState, tailFile(a.logPath, 40))
		default:
		}
		if a.healthy() {
			if b, _ := os.ReadFile(a.logPath); bytes.Contains(b, []byte("E2E services started.")) {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API server did not become healthy within 90 s\n%s", tailFile(a.logPath, 40))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// healthy: /healthz answers 200 to this server's token (a server of someone
// else's that took the port would answer 401).
func (a *apiServer) healthy() bool {
	req, _ := http.NewRequest(http.MethodGet, "https://"+apiServerAddr+"/healthz", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := insecureClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop kills the services: all their state is in the test's directory, and
// their graceful stop (SIGTERM) takes seconds, or never comes when the
// signal arrives before they have started.
func (a *apiServer) stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	a.cmd.Process.Kill()
	<-a.done
	a.cmd = nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// kubectl runs e2e/bin/kubectl against the API server, in one namespace,
// with one streaming protocol.
type kubectl struct {
	bin, kubeconfig, cacheDir, namespace string
	// websocket: kubectl's default; false sets KUBECTL_REMOTE_COMMAND_WEBSOCKETS
	// and KUBECTL_PORT_FORWARD_WEBSOCKETS to false, which makes it use SPDY.
	websocket bool
}

// command is kubectl with the global flags and the protocol's environment.
func (k kubectl) command(ctx context.Context, args ...string) *exec.Cmd {
	all := append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cacheDir, "-n", k.namespace}, args...)
	cmd := exec.CommandContext(ctx, k.bin, all...)
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "KUBECONFIG" && !strings.HasPrefix(name, "KUBECTL_") {
			env = append(env, kv)
		}
	}
	ws := strconv.FormatBool(k.websocket)
	cmd.Env = append(env, "KUBECTL_REMOTE_COMMAND_WEBSOCKETS="+ws, "KUBECTL_PORT_FORWARD_WEBSOCKETS="+ws)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

type kubectlResult struct {
	stdout, stderr string // stderr without kubectl's own log lines
	code           int    // the exit code; -1 when it did not exit by itself
}

// klogLine is a line of kubectl's own logging (-v): I1206 03:51:44.293123  123 file.go:12] ...
var klogLine = regexp.MustCompile(`^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ \S+:\d+\] `)

// checkStderr fails the test when kubectl, asked for WebSocket, fell back
// to SPDY (it logs the fallback at -v=4), and returns stderr without
// kubectl's log lines.
func (k kubectl) checkStderr(t *testing.T, stderr string) string {
	t.Helper()
	var kept []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		if k.websocket && klogLine.MatchString(line) && strings.Contains(strings.ToLower(line), "fallback") {
			t.Errorf("kubectl fell back from WebSocket to SPDY: %s", strings.TrimSpace(line))
		}
		if !klogLine.MatchString(line) {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}

// kubectlTimeout bounds every kubectl: the slowest, a pod's start or a
// 50 MiB exec, take seconds.
const kubectlTimeout = time.Minute

// run runs kubectl to the end (at most kubectlTimeout) with stdin.
func (k kubectl) run(t *testing.T, stdin io.Reader, args ...string) kubectlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := k.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	err := cmd.Run()
	r := kubectlResult{stdout: out.String(), code: -1}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	if err != nil && r.code <= 0 {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	r.stderr = k.checkStderr(t, errb.String())
	return r
}

// ok runs kubectl and fails the test unless it exits 0; it returns stdout.
func (k kubectl) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := k.run(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("kubectl %s: exit code %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// stream is a kubectl of a streaming call: -v=4, so that checkStderr sees a
// fallback.
func (k kubectl) stream(t *testing.T, stdin io.Reader, args ...string) kubectlResult {
	t.Helper()
	return k.run(t, stdin, append([]string{"-v=4"}, args...)...)
}

// lineReader collects a process's output lines for waitLine.
type lineReader struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and replaced on every line
	done  bool
}

func newLineReader(r io.Reader) *lineReader {
	l := &lineReader{more: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			close(l.more)
			l.more = make(chan struct{})
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.done = true
		close(l.more)
		l.mu.Unlock()
	}()
	return l
}

// waitLine waits for a line matching re and returns its submatches.
func (l *lineReader) waitLine(re *regexp.Regexp, within time.Duration) ([]string, error) {
	deadline := time.After(within)
	seen := 0
	for {
		l.mu.Lock()
		for ; seen < len(l.lines); seen++ {
			if m := re.FindStringSubmatch(l.lines[seen]); m != nil {
				l.mu.Unlock()
				return m, nil
			}
		}
		more, done, all := l.more, l.done, strings.Join(l.lines, "\n")
		l.mu.Unlock()
		if done {
			return nil, fmt.Errorf("output ended without a line matching %q:\n%s", re, all)
		}
		select {
		case <-more:
		case <-deadline:
			return nil, fmt.Errorf("no line matching %q within %v:\n%s", re, within, all)
		}
	}
}

// kubectlProc is a kubectl left running (attach, port-forward, logs -f).
type kubectlProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *lineReader
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (k kubectl) start(t *testing.T, args ...string) *kubectlProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	b := &kubectlProc{cancel: cancel, stderr: &syncBuffer{}, done: make(chan struct{})}
	b.cmd = k.command(ctx, args...)
	var err error
	if b.stdin, err = b.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.cmd.Stderr = b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.out = newLineReader(stdout)
	go func() { b.cmd.Wait(); close(b.done) }()
	t.Cleanup(func() { b.stop() })
	return b
}

// stop interrupts kubectl (as ^C would) and waits for it.
func (b *kubectlProc) stop() {
	select {
	case <-b.done:
	default:
		b.cmd.Process.Signal(os.Interrupt)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			b.cancel()
			<-b.done
		}
	}
	b.cancel()
}

// pty is a pseudo-terminal: kubectl -t wants a terminal on its stdin.
type pty struct {
	master, slave *os.File
	out           syncBuffer
	closed        chan struct{} // the master's reader is done
}

// openPTY opens a pseudo-terminal of rows×cols and starts copying what is
// written to it into out.
func openPTY(t *testing.T, rows, cols uint16) *pty {
	t.Helper()
	m, s, err := creackpty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := creackpty.Setsize(s, &creackpty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatalf("pty size: %v", err)
	}
	p := &pty{master: m, slave: s, closed: make(chan struct{})}
	go func() { io.Copy(&p.out, m); close(p.closed) }()
	t.Cleanup(func() { s.Close(); m.Close() })
	return p
}

// waitOutput waits until the terminal has shown want.
func (p *pty) waitOutput(want string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Contains(p.out.String(), want) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// metrics fetches a Prometheus text endpoint and sums each metric's samples
// whose labels contain every one of the given label pairs.
type metrics string

func fetchMetrics(t *testing.T, url, token string) metrics {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := insecureClient.Do(req)
	if err != nil {
		t.Fatalf("metrics %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics %s: %s %v\n%.500s", url, resp.Status, err, b)
	}
	return metrics(b)
}

func (m metrics) sum(name string, labels ...string) float64 {
	var total float64
	for _, line := range strings.Split(string(m), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(series, l) {
				match = false
			}
		}
		if v, err := strconv.ParseFloat(strings.Fields(value)[0], 64); err == nil && match {
			total += v
		}
	}
	return total
}

// removeCRIPods stops and removes, through dockercri (so that CNI releases
// their addresses), every pod sandbox of the namespace.
func removeCRIPods(t *testing.T, d *framework.Daemon, namespace string) {
	t.Helper()
	ctx := framework.Context(t)
	resp, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		LabelSelector: map[string]string{"io.kubernetes.pod.namespace": namespace},
	}})
	if err != nil {
		t.Errorf("list the pods of %s: %v", namespace, err)
		return
	}
	for _, p := range resp.GetItems() {
		if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			t.Errorf("stop pod %s: %v", p.GetId(), err)
		}
		if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			t.Errorf("remove pod %s: %v", p.GetId(), err)
		}
	}
}
