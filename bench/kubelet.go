package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Kubelet runs a real kubelet in standalone mode (no API server): it takes
// the batch's pods as static pods from a manifest directory, as the node
// performance benchmark's pods came to it, and serves its metrics on a
// read-only port.
type Kubelet struct {
	Bin string // the kubelet binary
	// Dir holds the kubelet's config, root directory, manifests and log; a
	// directory of its own per runtime.
	Dir      string
	Endpoint string // the CRI endpoint
	// FeatureGates ("A=true,B=false") and Flags go to the kubelet as given.
	FeatureGates string
	Flags        []string
	Node         string

	cmd    *exec.Cmd
	roPort int
	exited chan error
}

func (k *Kubelet) manifests() string { return filepath.Join(k.Dir, "manifests") }
func (k *Kubelet) root() string      { return filepath.Join(k.Dir, "root") }

// Start writes the kubelet's config and starts it, and returns once it
// answers on its read-only port.
func (k *Kubelet) Start(ctx context.Context) error {
	if err := os.RemoveAll(k.manifests()); err != nil {
		return err
	}
	for _, d := range []string{k.manifests(), k.root(), filepath.Join(k.Dir, "pods")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	var err error
	if k.roPort, err = freePort(); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	config := filepath.Join(k.Dir, "config.yaml")
	if err := os.WriteFile(config, []byte(k.config(port)), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(k.Dir, "kubelet.log"))
	if err != nil {
		return err
	}
	args := []string{"--config", config, "--root-dir", k.root(), "--cert-dir", filepath.Join(k.Dir, "pki"),
		"--hostname-override", k.Node, "--v", "1"}
	k.cmd = exec.Command(k.Bin, append(args, k.Flags...)...)
	k.cmd.Stdout, k.cmd.Stderr = logf, logf
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start kubelet %s: %w", k.Bin, err)
	}
	k.exited = make(chan error, 1)
	go func() { k.exited <- k.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-k.exited:
			k.exited <- err
			return fmt.Errorf("kubelet exited (%v): see %s", err, logf.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if k.get("/healthz") == nil {
			return nil
		}
	}
	return fmt.Errorf("kubelet did not answer on 127.0.0.1:%d within 90 s: see %s", k.roPort, logf.Name())
}

// config is a kubelet of a node without systemd whose pods are all static:
// the e2e's settings, with the periodic work (relists, status, stats) at
// the kubelet's defaults, since that is what the steady state measures.
func (k *Kubelet) config(port int) string {
	gates := ""
	if k.FeatureGates != "" {
		var lines []string
		for _, g := range strings.Split(k.FeatureGates, ",") {
			name, val, _ := strings.Cut(g, "=")
			lines = append(lines, fmt.Sprintf("  %s: %s", strings.TrimSpace(name), strings.TrimSpace(val)))
		}
		gates = "featureGates:\n" + strings.Join(lines, "\n") + "\n"
	}
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: %[1]s
imageServiceEndpoint: %[1]s
staticPodPath: %[2]s
podLogsDir: %[3]s
address: 127.0.0.1
port: %[4]d
readOnlyPort: %[5]d
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
maxPods: 250
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%"}
%[6]s`, k.Endpoint, k.manifests(), filepath.Join(k.Dir, "pods"), port, k.roPort, gates)
}

// Pid is the kubelet's process id.
func (k *Kubelet) Pid() int { return k.cmd.Process.Pid }

// AddPods writes the batch's static pod manifests, each staged and renamed
// into place so the kubelet never reads half a file, and returns when the
// first went in.
func (k *Kubelet) AddPods(w Workload, run string) (time.Time, error) {
	stage := filepath.Join(k.Dir, "staging")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return time.Time{}, err
	}
	for i := 0; i < w.Pods; i++ {
		if err := os.WriteFile(filepath.Join(stage, podName(run, i)+".yaml"), []byte(w.manifest(run, i)), 0o644); err != nil {
			return time.Time{}, err
		}
	}
	start := time.Now()
	for i := 0; i < w.Pods; i++ {
		name := podName(run, i) + ".yaml"
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(k.manifests(), name)); err != nil {
			return start, err
		}
	}
	return start, nil
}

// RemovePods takes every manifest away: the kubelet stops the pods.
func (k *Kubelet) RemovePods() error {
	entries, err := os.ReadDir(k.manifests())
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.Remove(filepath.Join(k.manifests(), e.Name())))
	}
	return errors.Join(errs...)
}

// Stop stops the kubelet (TERM, then KILL) and unmounts what it left under
// its root directory.
func (k *Kubelet) Stop() error {
	if k.cmd == nil || k.cmd.Process == nil {
		return nil
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.exited
	}
	k.cmd = nil
	return unmountUnder(k.root())
}

// unmountUnder lazily unmounts every mount point under dir, deepest first.
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// get GETs path on the read-only port.
func (k *Kubelet) get(path string) error {
	resp, err := k.fetch(path)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func (k *Kubelet) fetch(path string) (*http.Response, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", k.roPort, path))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("kubelet %s: %s", path, resp.Status)
	}
	return resp, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// manifest is pod i as a static pod: the CRI batch's pod, for the kubelet.
func (w Workload) manifest(run string, i int) string {
	var cmd []string
	for _, a := range w.command() {
		cmd = append(cmd, fmt.Sprintf("%q", a))
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {app: cribench, cribench.run: %q}
spec:
  hostNetwork: %t
  terminationGracePeriodSeconds: 1
  enableServiceLinks: false
  containers:
  - name: app
    image: %q
    imagePullPolicy: IfNotPresent
    command: [%s]
`, podName(run, i), Namespace, run, w.HostNetwork, w.Image, strings.Join(cmd, ", "))
}
