package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	ginkgotypes "github.com/onsi/ginkgo/v2/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// The CRI validation suite of sigs.k8s.io/cri-tools (critest, built by
// e2e/env/tools.sh into e2e/bin/critest) against dockercri with CNI
// networking. Its images are built offline by e2e/env/critest-images.sh and
// pulled under the names critest asks for through dockercri's registry
// mirrors; the specs this machine cannot run are in e2e/critest-skip.txt.
// Reports (JUnit, Ginkgo JSON, the full output) go to e2e/reports/<instance>/.

const (
	critestBridge = "dcritc"
	critestSubnet = "10.209.200.0/24"
	// critest's pods are all in namespaces with this prefix (its
	// framework.DefaultNamespacePrefix), which tells them from other tests' pods.
	critestNamespacePrefix = "cri-test-namespace"
)

// The names critest pulls, and where the mirror keeps them.
var critestMirrors = map[string]string{"registry.k8s.io": "k8s", "gcr.io": "gcr"}

// critestImagePrefixes are the images a run pulls (and the cleanup removes).
var critestImagePrefixes = []string{
	"registry.k8s.io/e2e-test-images/", "gcr.io/k8s-staging-cri-tools/", "registry.k8s.io/pause:",
}

// TestCritest runs the whole validation suite; it fails if one spec fails.
func TestCritest(t *testing.T) {
	if os.Getenv("DOCKERCRI_CRITEST") == "" {
		t.Skip("set DOCKERCRI_CRITEST=1 (make critest, make e2e) to run the CRI validation suite: it needs the images of e2e/env/critest-images.sh")
	}
	d := startForCritest(t)
	reports := reportsDir(t)
	args := []string{
		"-ginkgo.junit-report=" + filepath.Join(reports, "critest-junit.xml"),
		"-ginkgo.json-report=" + filepath.Join(reports, "critest.json"),
		"-ginkgo.no-color",
		"-ginkgo.v",
		"-ginkgo.timeout=50m",
	}
	for _, s := range readSkipList(t) {
		args = append(args, "-ginkgo.skip="+s.pattern)
	}
	err := runCritest(t, d, filepath.Join(reports, "critest.log"), args...)
	summary, failed := summarizeGinkgo(t, filepath.Join(reports, "critest.json"))
	t.Logf("critest: %s (reports in %s)", summary, reports)
	for _, f := range failed {
		t.Errorf("critest spec failed: %s", f)
	}
	if err != nil && len(failed) == 0 {
		t.Errorf("critest: %v (see %s)", err, filepath.Join(reports, "critest.log"))
	}
}

// TestCritestBenchmark runs `critest -benchmark` with e2e/critest-benchmark.yaml
// and keeps its JSON data in e2e/reports/critest-benchmark/.
func TestCritestBenchmark(t *testing.T) {
	if os.Getenv("DOCKERCRI_CRITEST_BENCHMARK") == "" {
		t.Skip("set DOCKERCRI_CRITEST_BENCHMARK=1 (make critest-benchmark) to run critest's benchmarks: they measure rather than check, and start hundreds of pods on the shared dockerd")
	}
	d := startForCritest(t)
	reports := reportsDir(t)
	out := filepath.Join(reports, "critest-benchmark")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	err := runCritest(t, d, filepath.Join(reports, "critest-benchmark.log"),
		"-benchmark",
		"-benchmarking-params-file="+filepath.Join(framework.RepoRoot(), "e2e", "critest-benchmark.yaml"),
		"-benchmarking-output-dir="+out,
		"-ginkgo.json-report="+filepath.Join(reports, "critest-benchmark.json"),
		"-ginkgo.no-color",
	)
	summary, failed := summarizeGinkgo(t, filepath.Join(reports, "critest-benchmark.json"))
	t.Logf("critest -benchmark: %s; data in %s", summary, out)
	for _, f := range failed {
		t.Errorf("benchmark failed: %s", f)
	}
	if err != nil && len(failed) == 0 {
		t.Errorf("critest -benchmark: %v", err)
	}
}

// startForCritest prepares the host and starts dockercri the way critest
// needs it: CNI on a bridge of its own, the registry mirrors, and the pause
// image under its real name (pulled through the mirror as well).
func startForCritest(t *testing.T) *framework.Daemon {
	t.Helper()
	env := framework.LoadEnv(t)
	if _, err := os.Stat(critestBinary()); err != nil {
		t.Fatalf("critest: %v: run e2e/env/tools.sh first", err)
	}
	checkCritestImages(t, env)
	critestHostSettings(t)
	if _, err := exec.LookPath("ipcmk"); err != nil {
		t.Fatal("the HostIpc specs run ipcmk on the host (util-linux): not found")
	}
	for port := 12000; port <= 12003; port++ { // critest's host ports
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			t.Fatalf("critest needs host port %d free: %v", port, err)
		}
		l.Close()
	}
	shmBefore := sysvShmIDs(t)
	t.Cleanup(func() { removeNewShm(t, shmBefore) })

	n := newCNINet(t, critestBridge, critestSubnet)
	args := append([]string{}, n.args...)
	for reg, path := range critestMirrors {
		args = append(args, "--registry-mirror", fmt.Sprintf("%s=http://%s/%s", reg, env.Registry, path))
	}
	args = append(args, "--pod-infra-container-image", "registry.k8s.io/pause:3.10")
	d := framework.StartDockercri(t, args...)
	cleanupCritest(t, d) // what an interrupted run left
	t.Cleanup(func() { cleanupCritest(t, d) })
	return d
}

func critestBinary() string {
	if b := os.Getenv("CRITEST_BIN"); b != "" {
		return b
	}
	return filepath.Join(framework.RepoRoot(), "e2e", "bin", "critest")
}

// reportsDir is e2e/reports/<instance>: debian, current-containerd or
// current-overlay2 (e2e/env/lib.sh), one set of reports per engine and store.
func reportsDir(t *testing.T) string {
	t.Helper()
	env := framework.LoadEnv(t)
	instance := env.Engine
	if env.Engine != "debian" {
		instance += "-" + env.Store
	}
	dir := filepath.Join(framework.RepoRoot(), "e2e", "reports", instance)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runCritest runs critest against d, its output into logPath (and, with
// go test -v, onto the test's stdout as it comes).
func runCritest(t *testing.T, d *framework.Daemon, logPath string, extra ...string) error {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	args := append([]string{
		"-runtime-endpoint", d.Endpoint, "-image-endpoint", d.Endpoint,
		"-runtime-service-timeout", "5m", "-image-service-timeout", "5m",
	}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, critestBinary(), args...)
	// critest reads crictl.yaml from /etc or its working directory at start:
	// an empty directory of its own, and the flags above, decide everything.
	cmd.Dir = t.TempDir()
	var out io.Writer = logFile
	if testing.Verbose() {
		out = io.MultiWriter(logFile, os.Stdout)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second
	t.Logf("running %s %s", critestBinary(), strings.Join(args, " "))
	return cmd.Run()
}

type skipEntry struct{ pattern, reason string }

// readSkipList reads e2e/critest-skip.txt: "<regexp> || <reason>" lines.
func readSkipList(t *testing.T) []skipEntry {
	t.Helper()
	path := filepath.Join(framework.RepoRoot(), "e2e", "critest-skip.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var list []skipEntry
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		pattern, reason, ok := strings.Cut(text, "||")
		pattern, reason = strings.TrimSpace(pattern), strings.TrimSpace(reason)
		if !ok || pattern == "" || reason == "" {
			t.Fatalf("%s:%d: want `<regexp> || <reason>`, got %q", path, line, text)
		}
		list = append(list, skipEntry{pattern, reason})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return list
}

// summarizeGinkgo reads a Ginkgo JSON report: counts of the specs by state,
// and each failed spec with its message.
func summarizeGinkgo(t *testing.T, path string) (string, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("no Ginkgo report: %v", err)
		return "no report", nil
	}
	var reports []ginkgotypes.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Errorf("%s: %v", path, err)
		return "unreadable report", nil
	}
	counts := map[string]int{}
	var failed []string
	total := 0
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != ginkgotypes.NodeTypeIt {
				if s.State.Is(ginkgotypes.SpecStateFailureStates) {
					failed = append(failed, fmt.Sprintf("%s: %s", s.LeafNodeType, firstLines(s.Failure.Message, 6)))
				}
				continue
			}
			total++
			counts[s.State.String()]++
			if s.State.Is(ginkgotypes.SpecStateFailureStates) {
				failed = append(failed, fmt.Sprintf("%s [%s]: %s (%s)", s.FullText(), s.State,
					firstLines(s.Failure.Message, 6), s.Failure.Location))
			}
		}
	}
	states := make([]string, 0, len(counts))
	for st := range counts {
		states = append(states, st)
	}
	sort.Strings(states)
	var parts []string
	for _, st := range states {
		parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
	}
	return fmt.Sprintf("%d specs: %s", total, strings.Join(parts, ", ")), failed
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, " / ")
}

// checkCritestImages: every image critest pulls is in the local registry
// (e2e/env/critest-images.sh pushes them there).
func checkCritestImages(t *testing.T, env *framework.Env) {
	t.Helper()
	for _, ref := range []string{
		"k8s/e2e-test-images/busybox:1.29-2", "k8s/e2e-test-images/nginx:1.14-2",
		"k8s/e2e-test-images/httpd:2.4.39-4", "k8s/e2e-test-images/nonewprivs:1.3", "k8s/pause:3.10",
		"gcr/k8s-staging-cri-tools/hostnet-nginx-" + runtime.GOARCH + ":latest",
		"gcr/k8s-staging-cri-tools/test-image-predefined-group:latest",
		"gcr/k8s-staging-cri-tools/test-image-tags:3",
	} {
		repo, tag, _ := strings.Cut(ref, ":")
		req, _ := http.NewRequest(http.MethodHead, fmt.Sprintf("http://%s/v2/%s/manifests/%s", env.Registry, repo, tag), nil)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s/%s: HTTP %d: run e2e/env/critest-images.sh first (make critest)", env.Registry, ref, resp.StatusCode)
		}
	}
}

// critestHostSettings applies the sysctls critest's networking specs need
// (port mappings on 127.0.0.1 through the portmap plugin, pods reaching
// the host), only where they are not set already. They are left set.
func critestHostSettings(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/sys/net/bridge"); err != nil {
		if out, err := exec.Command("modprobe", "br_netfilter").CombinedOutput(); err != nil {
			t.Fatalf("net.bridge.* needs br_netfilter: modprobe: %v: %s", err, out)
		}
	}
	for _, key := range []string{"net.ipv4.ip_forward", "net.ipv4.conf.all.route_localnet", "net.bridge.bridge-nf-call-iptables"} {
		path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		cur, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if strings.TrimSpace(string(cur)) == "1" {
			continue
		}
		if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
			t.Fatalf("sysctl %s=1: %v", key, err)
		}
		t.Logf("host setting for critest: sysctl %s=1 (was %s)", key, strings.TrimSpace(string(cur)))
	}
}

// cleanupCritest removes critest's pods (its namespaces) and the images it
// pulled, through dockercri, so that every run starts from nothing and
// leaves nothing in the shared dockerd.
func cleanupCritest(t *testing.T, d *framework.Daemon) {
	t.Helper()
	ctx := framework.Context(t)
	pods, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, p := range pods.GetItems() {
		if !strings.HasPrefix(p.GetMetadata().GetNamespace(), critestNamespacePrefix) {
			continue
		}
		if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			t.Errorf("cleanup: stop pod %s: %v", p.GetId(), err)
		}
		if _, err := d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.GetId()}); err != nil {
			t.Errorf("cleanup: remove pod %s: %v", p.GetId(), err)
		}
	}
	imgs, err := d.Image.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, img := range imgs.GetImages() {
		for _, tag := range append(img.GetRepoTags(), img.GetRepoDigests()...) {
			if hasAnyPrefix(tag, critestImagePrefixes) {
				if _, err := d.Image.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: img.GetId()}}); err != nil {
					t.Logf("cleanup: remove image %v: %v", img.GetRepoTags(), err)
				}
				break
			}
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// sysvShmIDs lists the host's System V shared memory segments: the HostIpc
// specs create 1 MiB ones with ipcmk and never remove them.
func sysvShmIDs(t *testing.T) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	data, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return ids
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			ids[f[1]] = true
		}
	}
	return ids
}

// removeNewShm removes the unattached 1 MiB segments that appeared since.
func removeNewShm(t *testing.T, before map[string]bool) {
	data, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return
	}
	// key shmid perms size cpid lpid nattch ...
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 7 || before[f[1]] || f[3] != strconv.Itoa(1<<20) || f[6] != "0" {
			continue
		}
		if out, err := exec.Command("ipcrm", "-m", f[1]).CombinedOutput(); err != nil {
			t.Logf("ipcrm -m %s: %v: %s", f[1], err, out)
		}
	}
}
