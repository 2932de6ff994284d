package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// The chaos test sends thousands of random CRI calls, valid, malformed and
// hostile, in a random order (DOCKERCRI_CHAOS_SEED replays one), to a
// dockercri on the real private dockerd, and then checks what a kubelet
// relies on: the server never died; no call answered Unknown; every Internal
// is a failure of Docker or below it (see chaosGenuineInternal); after the
// test has stopped and removed every pod it created through CRI, nothing of
// them is left in Docker or in dockercri's root directory; and dockercri's
// open file descriptors and goroutines are back near where they started.
const (
	chaosCalls   = 2500            // calls at most
	chaosBudget  = 6 * time.Minute // and at most this long
	chaosMaxPods = 3               // live pods at a time: the machine is small
	chaosFDSlack = 6               // see chaosSettle
	chaosGSlack  = 12
)

// chaosGenuineInternal is the rule for codes.Internal: it must be a failure
// of Docker or of what runs under it (containerd, runc), reported in their
// words. Docker's client prefixes every error the daemon answers with "Error
// response from daemon"; runc's and containerd's failures name OCI, runc or
// containerd. An Internal whose message names none of them is dockercri
// failing on its own and deserves a better code or a fix.
func chaosGenuineInternal(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"daemon", "docker", "runc", "oci runtime", "containerd"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

type chaosPod struct {
	id  string
	cfg *runtimeapi.PodSandboxConfig
}

type chaosCtr struct {
	id, pod string
}

type chaosSample struct{ fds, goroutines int }

type chaos struct {
	t       *testing.T
	d       *framework.Daemon
	env     *framework.Env
	rng     *rand.Rand
	metrics string // host:port of dockercri's /metrics
	tag     string // namespace and label of every pod of this test
	image   string // busybox
	logRoot string
	seq     int

	pods    []chaosPod // live: created and not removed
	ctrs    []chaosCtr
	started []string        // containers started once
	gone    []string        // removed ids, for idempotence
	created map[string]bool // every pod and container id ever created

	calls      map[string]map[codes.Code]int
	internals  map[string]int // message → count
	unknowns   []string
	violations []string // calls that had to succeed and did not
}

func TestChaos(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DOCKERCRI_CHAOS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("DOCKERCRI_CHAOS_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (DOCKERCRI_CHAOS_SEED=%d replays this order of calls)", seed, seed)
	metrics := freeAddr(t)
	d := framework.StartDockercri(t, "--metrics-bind-addr", metrics)
	c := &chaos{
		t: t, d: d, env: framework.LoadEnv(t), rng: rand.New(rand.NewPCG(seed, 0x5eed)), metrics: metrics,
		tag: fmt.Sprintf("chaos%06x", seed&0xffffff), image: busybox(t, d), logRoot: t.TempDir(),
		created: map[string]bool{}, calls: map[string]map[codes.Code]int{}, internals: map[string]int{},
	}
	t.Cleanup(c.forceRemoveLeftovers)
	c.warmUp()
	before := c.sample()
	start := time.Now()
	n := c.run(chaosCalls, chaosBudget)
	took := time.Since(start)
	c.cleanup()
	after := c.settle(before)
	c.report(n, took, before, after)
	c.check(before, after)
}

// warmUp runs one whole pod lifecycle before the baseline is taken, so the
// baseline holds what dockercri keeps once it has served (its connection to
// Docker, the streaming server, caches).
func (c *chaos) warmUp() {
	c.t.Helper()
	pod := c.validPod()
	id := runPod(c.t, c.d, pod)
	c.created[id] = true
	ctr := createAndStart(c.t, c.d, id, pod, c.validContainer())
	c.created[ctr] = true
	ctx := framework.Context(c.t)
	if _, err := c.d.Runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: ctr, Cmd: []string{"true"}, Timeout: 5}); err != nil {
		c.t.Fatal(err)
	}
	stopAndRemovePod(c.t, c.d, id)
	_, err := c.d.Image.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec(c.env.Registry + "/chaos-absent:warm-up")})
	if status.Code(err) != codes.NotFound {
		c.t.Fatalf("pull of an absent image: %v, want NotFound", err)
	}
}

// run makes up to n calls within budget and returns how many it made.
func (c *chaos) run(n int, budget time.Duration) int {
	ops := c.ops()
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	deadline := time.Now().Add(budget)
	i := 0
	for ; i < n && time.Now().Before(deadline); i++ {
		if c.d.Exited() {
			c.t.Fatalf("dockercri exited after %d calls", i)
		}
		r := c.rng.IntN(total)
		for _, o := range ops {
			if r -= o.weight; r < 0 {
				o.do()
				break
			}
		}
	}
	if c.d.Exited() {
		c.t.Fatalf("dockercri exited after %d calls", i)
	}
	return i
}

type chaosOp struct {
	weight int
	do     func()
}

func (c *chaos) ops() []chaosOp {
	return []chaosOp{
		{8, c.runPodSandbox}, {4, c.stopPodSandbox}, {4, c.removePodSandbox}, {6, c.podSandboxStatus},
		{5, c.listPodSandbox}, {8, c.createContainer}, {5, c.startContainer}, {4, c.stopContainer},
		{4, c.removeContainer}, {6, c.containerStatus}, {5, c.listContainers}, {4, c.execSync},
		{3, c.streamingURL}, {3, c.updateContainerResources}, {2, c.reopenContainerLog}, {4, c.stats},
		{4, c.pullImage}, {3, c.removeImage}, {3, c.imageStatus}, {2, c.listImages}, {3, c.runtimeInfo},
		{1, c.updateRuntimeConfig},
	}
}

// ctx is a call's context: now and then a deadline of a few milliseconds,
// so the call is cancelled half-way through whatever dockercri was doing.
func (c *chaos) ctx() (context.Context, context.CancelFunc) {
	if c.rng.IntN(20) == 0 {
		return context.WithTimeout(context.Background(), time.Duration(1+c.rng.IntN(30))*time.Millisecond)
	}
	return context.WithTimeout(context.Background(), 90*time.Second)
}

func (c *chaos) record(method string, err error) {
	code := status.Code(err)
	if c.calls[method] == nil {
		c.calls[method] = map[codes.Code]int{}
	}
	c.calls[method][code]++
	msg := chaosShort(status.Convert(err).Message())
	switch code {
	case codes.Unknown:
		c.unknowns = append(c.unknowns, method+": "+msg)
	case codes.Internal:
		c.internals[method+": "+msg]++
	}
}

// chaosShort keeps messages readable: ids and huge inputs are cut.
func chaosShort(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// metricsText is dockercri's /metrics, fetched on a connection of its own
// that is closed after it, so that no idle keep-alive connection of ours is
// counted among dockercri's file descriptors and goroutines.
func (c *chaos) metricsText() string {
	c.t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + c.metrics + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

// sample counts dockercri's open file descriptors (from /proc) and its
// goroutines (go_goroutines of /metrics).
func (c *chaos) sample() chaosSample {
	c.t.Helper()
	g := -1
	for _, line := range strings.Split(c.metricsText(), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				c.t.Fatalf("go_goroutines %q: %v", v, err)
			}
			g = int(f)
		}
	}
	if g < 0 {
		c.t.Fatal("/metrics has no go_goroutines")
	}
	return chaosSample{fds: daemonFDs(c.t, c.d), goroutines: g}
}

// settle waits up to 30 s for the counts to come back near before: exec
// sessions, log copiers and Docker's idle connections end a little after
// the calls that made them. The slack is for what a served daemon may
// legitimately hold more of (idle pooled connections to Docker, each an fd
// and two goroutines; gRPC's transport goroutines).
func (c *chaos) settle(before chaosSample) chaosSample {
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := c.sample()
		if (s.fds <= before.fds+chaosFDSlack && s.goroutines <= before.goroutines+chaosGSlack) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(time.Second)
	}
}

// report prints what was called and answered, and the resource counts.
func (c *chaos) report(n int, took time.Duration, before, after chaosSample) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "method\tcalls\tcodes\n")
	methods := slices.Sorted(func(yield func(string) bool) {
		for m := range c.calls {
			if !yield(m) {
				return
			}
		}
	})
	for _, m := range methods {
		sum, parts := 0, []string{}
		for code := codes.OK; code <= codes.Unauthenticated; code++ {
			if k := c.calls[m][code]; k > 0 {
				sum += k
				parts = append(parts, fmt.Sprintf("%s %d", code, k))
			}
		}
		fmt.Fprintf(w, "%s\t%d\t%s\n", m, sum, strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "\t\t\nopen fds\t%d → %d\t\ngoroutines\t%d → %d\t\n", before.fds, after.fds, before.goroutines, after.goroutines)
	w.Flush()
	c.t.Logf("%d calls in %v (%d pods and containers created)\n%s", n, took.Round(time.Second), len(c.created), b.String())
	for msg, k := range c.internals {
		c.t.Logf("Internal ×%d: %s", k, msg)
	}
}

// check asserts the outcome; cleanup has already run.
func (c *chaos) check(before, after chaosSample) {
	c.t.Helper()
	for _, u := range c.unknowns {
		c.t.Errorf("answered Unknown: %s", u)
	}
	for _, v := range c.violations {
		c.t.Errorf("should have succeeded: %s", v)
	}
	for msg := range c.internals {
		if !chaosGenuineInternal(msg) {
			c.t.Errorf("Internal that is not a Docker or runc failure: %s", msg)
		}
	}
	if left := c.leftInDocker(); len(left) > 0 {
		c.t.Errorf("left in Docker after every pod was stopped and removed:\n%s", strings.Join(left, "\n"))
	}
	if left, err := os.ReadDir(filepath.Join(c.d.RootDir, "sandbox")); err != nil || len(left) > 0 {
		c.t.Errorf("checkpoints left in %s: %v (%v)", c.d.RootDir, left, err)
	}
	if after.fds > before.fds+chaosFDSlack {
		c.t.Errorf("open fds %d → %d: leaked", before.fds, after.fds)
	}
	if after.goroutines > before.goroutines+chaosGSlack {
		c.t.Errorf("goroutines %d → %d: leaked", before.goroutines, after.goroutines)
	}
}
