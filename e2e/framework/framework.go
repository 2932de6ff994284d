// Package framework is the small harness of dockercri's end-to-end tests: it
// reads the environment that e2e/env/up.sh started (a private dockerd and two
// local registries), runs the real dockercri binary on a socket of its own per
// test, and drives it through gRPC clients, crictl and the docker CLI.
package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// EnvFile is where e2e/env/up.sh writes the environment's KEY=value lines.
const EnvFile = "/run/dockercri-e2e/env"

const (
	startTimeout   = 20 * time.Second // until dockercri's socket accepts gRPC
	stopTimeout    = 10 * time.Second // from SIGTERM to exit
	callTimeout    = 2 * time.Minute  // Context(t), crictl, docker CLI
	maxMessageSize = 16 << 20         // as kubelet: 16 MiB each way
)

// Env is the e2e environment, as written to EnvFile by e2e/env/up.sh.
type Env struct {
	DockerHost   string // unix:///run/dockercri-e2e/docker.sock: the private dockerd
	DockerCLI    string // the docker CLI to run (Debian's)
	DockerConfig string // DOCKER_CONFIG of the CLI, never ~/.docker
	Registry     string // 127.0.0.1:5000, open
	AuthRegistry string // 127.0.0.1:5001, htpasswd
	AuthUser     string
	AuthPass     string
	PauseImage   string // 127.0.0.1:5000/pause:3.10
	CNIBinDir    string
	DataRoot     string // the private dockerd's --data-root
	CgroupParent string
	Bridge       string
	// Engine and Store name the instance up (e2e/env/lib.sh): "debian" or
	// "current"; "overlay2" or "containerd" (Docker 29's snapshotter store).
	Engine, Store string
	// ContainerdRoot is the root of the instance's containerd.
	ContainerdRoot string
}

// ContainerdStore says the images live in containerd's snapshotter, not in
// a Docker graph driver.
func (e *Env) ContainerdStore() bool { return e.Store == "containerd" }

// ReadEnv parses an env file written by e2e/env/up.sh.
func ReadEnv(path string) (*Env, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			kv[k] = v
		}
	}
	e := &Env{
		DockerHost: kv["DOCKER_HOST"], DockerCLI: kv["DOCKER_CLI"], DockerConfig: kv["DOCKER_CONFIG"],
		Registry: kv["REGISTRY"], AuthRegistry: kv["AUTH_REGISTRY"], AuthUser: kv["AUTH_USER"], AuthPass: kv["AUTH_PASS"],
		PauseImage: kv["PAUSE_IMAGE"], CNIBinDir: kv["CNI_BIN_DIR"], DataRoot: kv["DATA_ROOT"],
		CgroupParent: kv["CGROUP_PARENT"], Bridge: kv["BRIDGE"],
		Engine: kv["DOCKER_ENGINE"], Store: kv["DOCKER_STORE"], ContainerdRoot: kv["CONTAINERD_ROOT"],
	}
	if e.Engine == "" { // an env file of before the second engine
		e.Engine, e.Store = "debian", "overlay2"
	}
	for k, v := range map[string]string{"DOCKER_HOST": e.DockerHost, "REGISTRY": e.Registry,
		"AUTH_REGISTRY": e.AuthRegistry, "PAUSE_IMAGE": e.PauseImage, "DATA_ROOT": e.DataRoot} {
		if v == "" {
			return nil, fmt.Errorf("%s: no %s", path, k)
		}
	}
	if e.DockerCLI == "" {
		e.DockerCLI = "docker"
	}
	return e, nil
}

// LoadEnv reads EnvFile, failing the test clearly when the environment is not up.
func LoadEnv(t testing.TB) *Env {
	t.Helper()
	e, err := ReadEnv(EnvFile)
	if err != nil {
		t.Fatalf("e2e environment: %v: run e2e/env/up.sh first (as root)", err)
	}
	return e
}

// RepoRoot is the checkout holding e2e/env/up.sh, found upwards from the
// working directory (go test runs in the package's directory).
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "e2e", "env", "up.sh")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			panic("framework: no e2e/env/up.sh above " + dir)
		}
	}
}

// Binary is the dockercri under test: $DOCKERCRI_BIN, else <repo>/bin/dockercri.
func Binary() string {
	if b := os.Getenv("DOCKERCRI_BIN"); b != "" {
		return b
	}
	return filepath.Join(RepoRoot(), "bin", "dockercri")
}

// Context is a context for one or a few calls, with a generous timeout. It
// stays usable inside t.Cleanup functions, unlike t.Context().
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// Daemon is one dockercri process serving its own socket for one test.
type Daemon struct {
	Endpoint   string // unix:///<tempdir>/dockercri.sock
	SocketPath string
	RootDir    string // --root-directory
	LogPath    string // stdout and stderr of every run, appended
	Runtime    runtimeapi.RuntimeServiceClient
	Image      runtimeapi.ImageServiceClient

	t    testing.TB
	bin  string   // the dockercri binary
	args []string // the full command line after the binary

	mu      sync.Mutex
	cmd     *exec.Cmd
	conn    *grpc.ClientConn
	done    chan struct{} // closed when cmd has exited
	waitErr error
	killed  bool // exit status is not ours to judge
}

// StartDockercri runs the dockercri binary against the private dockerd with
// a socket, root directory and log file in a temporary directory, plus args.
// It returns once the socket accepts a gRPC connection; at the end of the
// test the daemon gets SIGTERM and must exit 0 within 10 s.
func StartDockercri(t testing.TB, args ...string) *Daemon {
	t.Helper()
	return StartDockercriBinary(t, Binary(), args...)
}

// StartDockercriBinary is StartDockercri with another dockercri binary (one
// built with -race, say).
func StartDockercriBinary(t testing.TB, bin string, args ...string) *Daemon {
	t.Helper()
	env := LoadEnv(t)
	dir := t.TempDir()
	if len(dir) > 80 { // a unix socket path has at most 107 bytes
		short, err := os.MkdirTemp("", "dcri")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		dir = short
	}
	d := &Daemon{
		SocketPath: filepath.Join(dir, "dockercri.sock"),
		RootDir:    filepath.Join(dir, "root"),
		LogPath:    filepath.Join(dir, "dockercri.log"),
		t:          t,
		bin:        bin,
	}
	d.Endpoint = "unix://" + d.SocketPath
	d.args = append([]string{
		"--container-runtime-endpoint", d.Endpoint,
		"--docker-endpoint", env.DockerHost,
		"--root-directory", d.RootDir,
		"--pod-infra-container-image", env.PauseImage,
		// Docker's bridge unless a test asks for CNI (a later flag wins).
		"--network-plugin", "none",
		"-v", "4",
	}, args...)
	t.Cleanup(func() {
		d.Stop()
		if t.Failed() {
			t.Logf("dockercri log (%s):\n%s", d.LogPath, d.LogContents())
		}
	})
	d.start()
	return d
}

func (d *Daemon) start() {
	d.t.Helper()
	logFile, err := os.OpenFile(d.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(d.bin, d.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = withoutEnv(os.Environ(), "NOTIFY_SOCKET")
	// If the test binary dies, so does the daemon.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("start %s: %v (build it with `make build`, or set DOCKERCRI_BIN)", cmd.Path, err)
	}
	done := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.done, d.waitErr, d.killed = cmd, done, nil, false
	d.mu.Unlock()
	go func() {
		err := cmd.Wait()
		d.mu.Lock()
		d.waitErr = err
		d.mu.Unlock()
		close(done)
	}()
	if err := d.connect(done); err != nil {
		d.t.Fatalf("dockercri did not come up: %v\n%s", err, d.LogContents())
	}
}

// connect waits until the socket accepts connections, then until a gRPC
// client on it is Ready (so a test's first call does not race the server).
func (d *Daemon) connect(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("dockercri exited: %v", d.exitErr())
		default:
		}
		if c, err := net.DialTimeout("unix", d.SocketPath, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no socket %s after %v", d.SocketPath, startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, err := grpc.NewClient(d.Endpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	conn.Connect()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctx, s) {
			conn.Close()
			return fmt.Errorf("gRPC connection to %s: %v after %v", d.Endpoint, s, startTimeout)
		}
		if s = conn.GetState(); s == connectivity.TransientFailure || s == connectivity.Idle {
			conn.Connect()
		}
	}
	d.mu.Lock()
	d.conn = conn
	d.Runtime = runtimeapi.NewRuntimeServiceClient(conn)
	d.Image = runtimeapi.NewImageServiceClient(conn)
	d.mu.Unlock()
	return nil
}

// Exited reports whether the dockercri process has exited.
func (d *Daemon) Exited() bool {
	d.mu.Lock()
	done := d.done
	d.mu.Unlock()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

func (d *Daemon) exitErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.waitErr
}

// Stop sends SIGTERM and waits: the test fails if dockercri does not exit
// within 10 s or exits non-zero (or had already exited on its own). Stopping
// a stopped daemon is a no-op.
func (d *Daemon) Stop() {
	d.t.Helper()
	d.mu.Lock()
	cmd, done, killed, conn := d.cmd, d.done, d.killed, d.conn
	d.cmd, d.conn = nil, nil
	d.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	if cmd == nil {
		return
	}
	if killed {
		<-done
		return
	}
	select {
	case <-done:
		d.t.Errorf("dockercri had exited before Stop: %v", d.exitErr())
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		if err := d.exitErr(); err != nil {
			d.t.Errorf("dockercri on SIGTERM: %v, want exit code 0", err)
		}
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-done
		d.t.Errorf("dockercri did not exit within %v of SIGTERM", stopTimeout)
	}
}

// Kill sends SIGKILL and waits for the process, leaving its socket behind.
func (d *Daemon) Kill() {
	d.t.Helper()
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.killed = true
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart stops dockercri (if it still runs) and starts it again with the
// same arguments, socket and root directory; Runtime and Image are replaced.
func (d *Daemon) Restart() {
	d.t.Helper()
	d.Stop()
	d.start()
}

// Pid is the running dockercri's process ID (0 when it is not running).
func (d *Daemon) Pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil || d.cmd.Process == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// LogContents returns everything dockercri has logged so far.
func (d *Daemon) LogContents() string {
	b, err := os.ReadFile(d.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// CrictlPath is e2e/bin/crictl, built by e2e/env/tools.sh ($CRICTL_BIN overrides).
func CrictlPath() string {
	if b := os.Getenv("CRICTL_BIN"); b != "" {
		return b
	}
	return filepath.Join(RepoRoot(), "e2e", "bin", "crictl")
}

// Crictl runs crictl against d and returns its stdout; a failure's error
// carries the exit status and stderr.
func Crictl(t testing.TB, d *Daemon, args ...string) (string, error) {
	t.Helper()
	bin := CrictlPath()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("crictl: %v: run e2e/env/tools.sh first", err)
	}
	// A config file of our own, so /etc/crictl.yaml never applies.
	cfg := filepath.Join(filepath.Dir(d.SocketPath), "crictl.yaml")
	if _, err := os.Stat(cfg); err != nil {
		yaml := fmt.Sprintf("runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 60\n", d.Endpoint, d.Endpoint)
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	full := append([]string{
		"--config", cfg,
		"--runtime-endpoint", d.Endpoint, "--image-endpoint", d.Endpoint,
		"--timeout", "60s",
	}, args...)
	return run(t, nil, bin, full...)
}

// Docker runs the docker CLI against the private dockerd and returns its
// stdout; the test fails if the command does.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	env := LoadEnv(t)
	out, err := run(t, []string{"DOCKER_HOST=" + env.DockerHost, "DOCKER_CONFIG=" + env.DockerConfig}, env.DockerCLI, args...)
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// DockerMayFail runs the docker CLI like Docker, returning its error
// instead of failing the test.
func DockerMayFail(t testing.TB, args ...string) (string, error) {
	t.Helper()
	env := LoadEnv(t)
	return run(t, []string{"DOCKER_HOST=" + env.DockerHost, "DOCKER_CONFIG=" + env.DockerConfig}, env.DockerCLI, args...)
}

// DockerdStop stops the private dockerd (e2e/env/dockerd.sh stop).
func DockerdStop(t testing.TB) { t.Helper(); dockerdScript(t, "stop") }

// DockerdStart starts it again and waits until it answers (e2e/env/dockerd.sh start).
func DockerdStart(t testing.TB) { t.Helper(); dockerdScript(t, "start") }

func dockerdScript(t testing.TB, verb string) {
	t.Helper()
	env := LoadEnv(t)
	instance := []string{"DOCKER_ENGINE=" + env.Engine, "DOCKER_STORE=" + env.Store}
	if _, err := run(t, instance, "bash", filepath.Join(RepoRoot(), "e2e", "env", "dockerd.sh"), verb); err != nil {
		t.Fatalf("dockerd.sh %s: %v", verb, err)
	}
}

// run executes a command with extra environment and the call timeout,
// returning stdout, and stderr inside the error.
func run(t testing.TB, extraEnv []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(withoutEnv(os.Environ(), "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT"), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // a child holding the pipes cannot hang us
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %v: %w", callTimeout, err)
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w\nstderr: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func withoutEnv(env []string, keys ...string) []string {
	out := env[:0:0]
next:
	for _, kv := range env {
		for _, k := range keys {
			if strings.HasPrefix(kv, k+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
