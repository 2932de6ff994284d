package e2e

// TestMigrate runs dockercri-migrate against the private dockerd and
// Debian's containerd with its CRI plugin (e2e/env/critest-containerd.sh):
// check must report a container that mounts the Docker socket, a locally
// built image and daemon.json settings; images must copy that image so that
// containerd's CRI runs it without pulling.
//
// It creates Kubernetes-labelled containers in the shared dockerd, which a
// kubelet of another test would take for its own: run it alone, under
// flock /tmp/dockercri-e2e.lock (see the Makefile's e2e target).

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dockercri/e2e/framework"

	"github.com/distribution/reference"
)

const (
	migrateBaseImage = "127.0.0.1:5000/busybox:1.36" // in the e2e registry (up.sh)
	migrateLockFile  = "/tmp/dockercri-e2e.lock"
	// criContainerdRun is where critest-containerd.sh keeps its socket
	// (CC_RUN), per CC_ENGINE.
	criContainerdRun = "/run/dockercri-e2e/containerd-cri"
)

// migrateFinding is one finding of `dockercri-migrate check --json`.
type migrateFinding struct {
	Severity, Object, What, CarryOver string
}

func TestMigrate(t *testing.T) {
	env := framework.LoadEnv(t)
	t.Setenv("DOCKER_BUILDKIT", "0") // Debian's CLI without buildx
	bin := migrateBinary(t)
	cc := startCRIContainerd(t)
	prefix := fmt.Sprintf("migrate-e2e-%d", os.Getpid())

	baseID := pullBase(t)
	// A second repository for the base image: Docker 29's containerd store
	// lists such an image with the repo digest of one name only (its
	// inspection has both), which the copy must not take for all of them.
	alias := prefix + "/busybox-alias:1.36"
	framework.Docker(t, "tag", migrateBaseImage, alias)
	t.Cleanup(func() { dockerCleanup(t, "rmi", alias) })
	localID := buildLocalImage(t, prefix)
	sockCtr := runPodContainer(t, prefix, "sock", migrateBaseImage,
		"-v", strings.TrimPrefix(env.DockerHost, "unix://")+":/var/run/docker.sock", "-e", "DOCKER_HOST=unix:///var/run/docker.sock")
	runPodContainer(t, prefix, "local", prefix+"/local:v1")

	dir := t.TempDir()
	daemonJSON := filepath.Join(dir, "daemon.json")
	writeFile(t, daemonJSON, `{"registry-mirrors": ["https://mirror.migrate-e2e.invalid"],
 "runtimes": {"migrate-e2e-gpu": {"path": "/usr/bin/true"}}}`)
	staticPods := filepath.Join(dir, "manifests")
	writeFile(t, filepath.Join(staticPods, "static.yaml"),
		"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: s\n    image: "+prefix+"/local:v2\n")
	common := []string{"--docker-endpoint", env.DockerHost, "--containerd-address", cc.sock,
		"--daemon-config", daemonJSON, "--static-pod-path", staticPods, "--timeout", "5m"}

	findings := migrateCheck(t, bin, common)
	wantFinding(t, findings, "blocker", "container sock ("+sockCtr[:12]+")", "mounts ", "docker.sock from the host at /var/run/docker.sock")
	wantFinding(t, findings, "blocker", "container sock ("+sockCtr[:12]+")", "sets DOCKER_HOST", "")
	wantFinding(t, findings, "blocker", "image "+prefix+"/local:v1 ("+shortID(localID)+")", "in no registry", "static pod image "+prefix+"/local:v2")
	mirror := wantFinding(t, findings, "warning", "daemon registry-mirrors", "mirror.migrate-e2e.invalid", "")
	if !strings.Contains(mirror.CarryOver, `[host."https://mirror.migrate-e2e.invalid"]`) {
		t.Errorf("registry-mirrors: no hosts.toml to write:\n%s", mirror.CarryOver)
	}
	wantFinding(t, findings, "warning", "daemon runtimes.migrate-e2e-gpu", "/usr/bin/true", "")
	wantFinding(t, findings, "info", "daemon cgroup driver", "cgroupfs", "")

	// Every repo digest Docker's inspection names before the copy is kept.
	// Which ones there are depends on the store (the classic store keeps
	// the digests of pulls and pushes only, the containerd store one per
	// name) and on the names earlier e2e tests gave busybox.
	wantDigests := repoDigests(t, migrateBaseImage)
	copyImages(t, bin, common, cc)

	images := cc.images(t)
	localCRI, baseCRI := criImageID(t, prefix+"/local:v1"), criImageID(t, migrateBaseImage)
	t.Logf("Docker image IDs %s, %s; CRI image IDs (config digests) %s, %s", localID, baseID, localCRI, baseCRI)
	wantTags := []string{"docker.io/" + prefix + "/local:v1", "docker.io/" + prefix + "/local:v2"}
	if got := images[localCRI].RepoTags; !containsAll(got, wantTags) {
		t.Errorf("containerd's CRI lists %s with tags %q, want %q", localCRI, got, wantTags)
	}
	if base, ok := images[baseCRI]; !ok || !containsAll(base.RepoDigests, wantDigests) {
		t.Errorf("containerd's CRI lists %s as %+v, want its repo digests %q kept", baseCRI, base, wantDigests)
	}
	if now := repoDigests(t, migrateBaseImage); !slices.Equal(now, wantDigests) {
		t.Logf("Docker's repo digests of %s changed during the test: %q before the copy, %q now", migrateBaseImage, wantDigests, now)
	}
	cc.runImage(t, prefix, "docker.io/"+prefix+"/local:v1", prefix)
}

// repoDigests is Docker's inspected RepoDigests of an image, normalized
// as containerd's CRI lists them ("docker.io/..." in full).
func repoDigests(t *testing.T, ref string) []string {
	t.Helper()
	var digests []string
	out := framework.Docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", ref)
	if err := json.Unmarshal([]byte(out), &digests); err != nil || len(digests) == 0 {
		t.Fatalf("repo digests of %s: %q, %v", ref, out, err)
	}
	for i, d := range digests {
		named, err := reference.ParseNormalizedNamed(d)
		if err != nil {
			t.Fatalf("repo digest %q of %s: %v", d, ref, err)
		}
		digests[i] = named.String()
	}
	return digests
}

// migrateBinary is $DOCKERCRI_MIGRATE_BIN, else the command built afresh.
func migrateBinary(t *testing.T) string {
	if b := os.Getenv("DOCKERCRI_MIGRATE_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "dockercri-migrate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/dockercri-migrate")
	cmd.Dir = framework.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build dockercri-migrate: %v\n%s", err, out)
	}
	return bin
}

// dockerCleanup runs a docker command of a cleanup, reporting a failure.
func dockerCleanup(t *testing.T, args ...string) {
	if _, err := framework.DockerMayFail(t, args...); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pullBase pulls the base image, removing it afterwards unless it was there.
func pullBase(t *testing.T) string {
	if _, err := framework.DockerMayFail(t, "image", "inspect", migrateBaseImage); err != nil {
		framework.Docker(t, "pull", "-q", migrateBaseImage)
		t.Cleanup(func() { dockerCleanup(t, "rmi", migrateBaseImage) })
	}
	return strings.TrimSpace(framework.Docker(t, "image", "inspect", "--format", "{{.Id}}", migrateBaseImage))
}

// buildLocalImage builds an image only this dockerd has, under two tags.
func buildLocalImage(t *testing.T, prefix string) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"),
		"FROM "+migrateBaseImage+"\nRUN echo "+prefix+" > /migrate-e2e.txt\n")
	framework.Docker(t, "build", "-q", "-t", prefix+"/local:v1", "-t", prefix+"/local:v2", dir)
	t.Cleanup(func() { dockerCleanup(t, "rmi", prefix+"/local:v1", prefix+"/local:v2") })
	return strings.TrimSpace(framework.Docker(t, "image", "inspect", "--format", "{{.Id}}", prefix+"/local:v1"))
}

// criImageID is the ID containerd's CRI lists an image by: its config
// digest. Docker's image ID is that digest in its classic store but the
// manifest's (or index's) in its containerd store, so it is read from the
// Config entry of `docker save`'s manifest.json, which both stores write
// ("<hex>.json" in Docker 20.10, "blobs/sha256/<hex>" since 25).
func criImageID(t *testing.T, ref string) string {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "image.tar")
	framework.Docker(t, "save", "-o", archive, ref)
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("docker save %s: no manifest.json: %v", ref, err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var manifest []struct{ Config string }
		if err := json.NewDecoder(tr).Decode(&manifest); err != nil || len(manifest) != 1 {
			t.Fatalf("docker save %s: manifest.json: %v (%d entries)", ref, err, len(manifest))
		}
		return "sha256:" + strings.TrimSuffix(filepath.Base(manifest[0].Config), ".json")
	}
}

// runPodContainer starts a container labelled as dockershim labels a pod's.
func runPodContainer(t *testing.T, prefix, name, image string, args ...string) string {
	full := []string{"run", "-d", "--name", prefix + "-" + name,
		"--label", "io.kubernetes.pod.name=" + prefix + "-pod", "--label", "io.kubernetes.pod.namespace=" + prefix,
		"--label", "io.kubernetes.pod.uid=" + prefix + "-uid", "--label", "io.kubernetes.docker.type=container",
		"--label", "io.kubernetes.container.name=" + name}
	full = append(append(full, args...), image, "sleep", "3600")
	id := strings.TrimSpace(framework.Docker(t, full...))
	t.Cleanup(func() { dockerCleanup(t, "rm", "-f", id) })
	return id
}

// migrateCheck runs check --json, which must exit 1 (there are blockers),
// and logs the table form too.
func migrateCheck(t *testing.T, bin string, common []string) []migrateFinding {
	table, code := runMigrate(t, bin, append([]string{"check"}, common...)...)
	t.Logf("dockercri-migrate check (exit %d):\n%s", code, table)
	out, code := runMigrate(t, bin, append([]string{"check", "--json"}, common...)...)
	if code != 1 {
		t.Fatalf("check --json exited %d, want 1 (blockers):\n%s", code, out)
	}
	var report struct {
		Findings []migrateFinding
		Blockers int
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if report.Blockers == 0 {
		t.Errorf("check --json counts no blocker:\n%s", out)
	}
	return report.Findings
}

// wantFinding fails unless a finding has the severity, an object ending in
// object and a What holding both fragments; it returns that finding.
func wantFinding(t *testing.T, findings []migrateFinding, severity, object, what1, what2 string) migrateFinding {
	t.Helper()
	for _, f := range findings {
		if f.Severity == severity && strings.HasSuffix(f.Object, object) &&
			strings.Contains(f.What, what1) && strings.Contains(f.What, what2) {
			return f
		}
	}
	t.Errorf("no %s finding on %q saying %q and %q in %+v", severity, object, what1, what2, findings)
	return migrateFinding{}
}

// copyImages runs images (after a dry run) and logs its time and bytes.
func copyImages(t *testing.T, bin string, common []string, cc *criContainerd) {
	before := cc.names(t)
	t.Cleanup(func() { cc.removeNewNames(t, before) })
	plan, code := runMigrate(t, bin, append([]string{"images", "--dry-run"}, common...)...)
	t.Logf("dockercri-migrate images --dry-run (exit %d):\n%s", code, plan)
	start := time.Now()
	out, code := runMigrate(t, bin, append([]string{"images"}, common...)...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("images exited %d:\n%s", code, out)
	}
	m := regexp.MustCompile(`copied (\d+) image\(s\), (\d+) bytes`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("images copied nothing:\n%s", out)
	}
	bytes, _ := strconv.ParseInt(m[2], 10, 64)
	t.Logf("dockercri-migrate images: %s images, %d bytes (%.1f MiB) in %s (%.1f MiB/s)\n%s",
		m[1], bytes, float64(bytes)/(1<<20), took.Round(time.Millisecond), float64(bytes)/(1<<20)/took.Seconds(), out)
}

// runMigrate runs the command and returns its stdout (stderr appended) and
// exit code; it fails the test only when the command cannot run at all.
func runMigrate(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out), 0
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// closeLockOnExec keeps the e2e lock's descriptor, inherited from flock(1),
// out of the daemons this test starts: containerd holding it would lock
// every later e2e run out until it stopped.
func closeLockOnExec(t *testing.T) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || target != migrateLockFile {
			continue
		}
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			syscall.CloseOnExec(fd)
		}
	}
}

// criContainerd is Debian's containerd with its CRI plugin, as
// e2e/env/critest-containerd.sh runs it.
type criContainerd struct {
	sock string
}

// startCRIContainerd starts it unless it runs, and stops it afterwards
// if this test started it. MIGRATE_CC_ENGINE=current takes the containerd
// 2.x that engine.sh builds instead of Debian's 1.6.
func startCRIContainerd(t *testing.T) *criContainerd {
	engine := os.Getenv("MIGRATE_CC_ENGINE")
	run := criContainerdRun
	switch engine {
	case "", "debian":
		engine = "debian"
	case "current":
		run += "-current"
	default:
		t.Fatalf("MIGRATE_CC_ENGINE=%s: want debian or current", engine)
	}
	cc := &criContainerd{sock: filepath.Join(run, "containerd.sock")}
	if out, err := cc.ctr(t, "version"); err == nil {
		t.Logf("containerd with CRI already up:\n%s", out)
		return cc
	}
	closeLockOnExec(t)
	script := func(verb string) *exec.Cmd {
		cmd := exec.Command("bash", filepath.Join(framework.RepoRoot(), "e2e", "env", "critest-containerd.sh"), verb)
		cmd.Env = append(os.Environ(), "CC_ENGINE="+engine)
		return cmd
	}
	if out, err := script("start").CombinedOutput(); err != nil {
		t.Fatalf("critest-containerd.sh start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := script("stop").CombinedOutput(); err != nil {
			t.Errorf("critest-containerd.sh stop: %v\n%s", err, out)
		}
	})
	if out, err := cc.ctr(t, "version"); err == nil {
		t.Logf("started containerd with CRI (CC_ENGINE=%s):\n%s", engine, out)
	}
	return cc
}

func (cc *criContainerd) ctr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"--address", cc.sock, "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, "ctr", full...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ctr %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (cc *criContainerd) crictl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	endpoint := "unix://" + cc.sock
	full := append([]string{"--config", "/dev/null", "--runtime-endpoint", endpoint, "--image-endpoint", endpoint,
		"--timeout", "60s"}, args...)
	cmd := exec.CommandContext(ctx, framework.CrictlPath(), full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("crictl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// names lists the image records of the k8s.io namespace.
func (cc *criContainerd) names(t *testing.T) []string {
	t.Helper()
	out, err := cc.ctr(t, "images", "ls", "-q")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(out)
}

// removeNewNames deletes the records made since before: what images copied.
func (cc *criContainerd) removeNewNames(t *testing.T, before []string) {
	var added []string
	for _, n := range cc.names(t) {
		if !slices.Contains(before, n) {
			added = append(added, n)
		}
	}
	if len(added) == 0 {
		return
	}
	if _, err := cc.ctr(t, append([]string{"images", "rm"}, added...)...); err != nil {
		t.Errorf("remove copied images: %v", err)
	}
}

type criImage struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
}

// images is `crictl images` by image ID.
func (cc *criContainerd) images(t *testing.T) map[string]criImage {
	var list struct{ Images []criImage }
	if err := json.Unmarshal([]byte(cc.crictl(t, "images", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]criImage{}
	for _, img := range list.Images {
		out[img.ID] = img
	}
	return out
}

// runImage runs a pod with a container of image, without pulling it, and
// checks the file the image was built with reads want.
func (cc *criContainerd) runImage(t *testing.T, prefix, image, want string) {
	dir := t.TempDir()
	pod := filepath.Join(dir, "pod.json")
	writeFile(t, pod, fmt.Sprintf(`{"metadata": {"name": %q, "namespace": %q, "uid": %q, "attempt": 0},
 "log_directory": %q, "linux": {}}`, prefix+"-pod", prefix, prefix+"-uid", dir))
	ctr := filepath.Join(dir, "ctr.json")
	writeFile(t, ctr, fmt.Sprintf(`{"metadata": {"name": "local"}, "image": {"image": %q},
 "command": ["sleep", "3600"], "log_path": "local.log", "linux": {}}`, image))
	podID := strings.TrimSpace(cc.crictl(t, "runp", pod))
	t.Cleanup(func() {
		cc.crictl(t, "stopp", podID)
		cc.crictl(t, "rmp", podID)
	})
	id := strings.TrimSpace(cc.crictl(t, "create", "--no-pull", podID, ctr, pod))
	cc.crictl(t, "start", id)
	if got := strings.TrimSpace(cc.crictl(t, "exec", "-s", id, "cat", "/migrate-e2e.txt")); got != want {
		t.Errorf("the copied image's file reads %q in containerd, want %q", got, want)
	}
}
