package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// raceBinary is dockercri built with the race detector: $DOCKERCRI_RACE_BIN
// (make e2e builds bin/dockercri-race), else built here, so that `go test`
// alone runs the race test.
func raceBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("DOCKERCRI_RACE_BIN"); b != "" {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("DOCKERCRI_RACE_BIN: %v (make build-race builds it)", err)
		}
		return b
	}
	bin := filepath.Join(t.TempDir(), "dockercri-race")
	start := time.Now()
	cmd := exec.Command("go", "build", "-race", "-o", bin, "./cmd/dockercri")
	cmd.Dir = framework.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -race ./cmd/dockercri (set DOCKERCRI_RACE_BIN to use a built one): %v\n%s", err, out)
	}
	t.Logf("built %s with -race in %v", bin, time.Since(start).Round(time.Second))
	return bin
}

const racePods = 100

// TestRacePodLifecycle runs, inspects, stops and removes 100 pods at once on
// a dockercri built with -race, while a kubelet-like relist runs and each
// worker also stops its neighbour's pod (stop is idempotent): every call
// succeeds, nothing is left in Docker or among the checkpoints, and the race
// detector reports nothing.
func TestRacePodLifecycle(t *testing.T) {
	d := framework.StartDockercriBinary(t, raceBinary(t))
	tag := fmt.Sprintf("race%06x", time.Now().UnixNano()&0xffffff)
	t.Cleanup(func() { raceForceRemove(t, tag) })

	ids := make([]string, racePods) // by worker, once run
	var mu sync.Mutex
	errs := make(chan error, 8*racePods)
	stopRelist := raceRelist(d, errs)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range racePods {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			neighbour := func() string {
				mu.Lock()
				defer mu.Unlock()
				return ids[(i+1)%racePods]
			}
			id, err := raceLifecycle(ctx, d, tag, i, neighbour)
			mu.Lock()
			ids[i] = id
			mu.Unlock()
			if err != nil {
				errs <- fmt.Errorf("pod %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	stopRelist()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d pods run, inspected, stopped and removed concurrently in %v", racePods, took.Round(time.Millisecond))
	raceCheckNothingLeft(t, d, tag)

	d.Stop() // a race makes the binary exit 66, which Stop reports
	if log := d.LogContents(); strings.Contains(log, "WARNING: DATA RACE") {
		t.Fatalf("the race detector reported a data race:\n%s", raceReports(log))
	}
}

// raceLifecycle is one worker's pod: run, status, stop the neighbour's pod
// (whatever state it is in), stop, remove, and stop and remove again.
func raceLifecycle(ctx context.Context, d *framework.Daemon, tag string, i int, neighbour func() string) (string, error) {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: fmt.Sprintf("p%d", i), Namespace: tag, Uid: fmt.Sprintf("%s-%d", tag, i)},
		Labels:   map[string]string{"race": tag},
	}
	run, err := d.Runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return "", fmt.Errorf("run: %w", err)
	}
	id := run.GetPodSandboxId()
	if st, err := d.Runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id}); err != nil {
		return id, fmt.Errorf("status: %w", err)
	} else if st.GetStatus().GetMetadata().GetUid() != cfg.Metadata.Uid {
		return id, fmt.Errorf("status of %s is another pod's: %v", id, st.GetStatus().GetMetadata())
	}
	if other := neighbour(); other != "" {
		if _, err := d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: other}); err != nil {
			return id, fmt.Errorf("stop the neighbour's pod %s: %w", other, err)
		}
	}
	for _, step := range []string{"stop", "remove", "stop again", "remove again"} {
		if strings.HasPrefix(step, "stop") {
			_, err = d.Runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
		} else {
			_, err = d.Runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
		}
		if err != nil {
			return id, fmt.Errorf("%s: %w", step, err)
		}
	}
	return id, nil
}

// raceRelist lists pods and containers in a loop, as the kubelet's PLEG
// does every second, until the returned function is called.
func raceRelist(d *framework.Daemon, errs chan<- error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if _, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("relist pods: %w", err)
				return
			}
			if _, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("relist containers: %w", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}

func raceCheckNothingLeft(t *testing.T, d *framework.Daemon, tag string) {
	t.Helper()
	list, err := d.Runtime.ListPodSandbox(framework.Context(t), &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"race": tag}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetItems()); n > 0 {
		t.Errorf("ListPodSandbox still shows %d pods of the test", n)
	}
	if left := framework.Docker(t, "ps", "-aq", "--filter", "name=_"+tag+"_"); strings.TrimSpace(left) != "" {
		t.Errorf("left in Docker: %s", strings.Join(strings.Fields(left), " "))
	}
	if left, err := os.ReadDir(filepath.Join(d.RootDir, "sandbox")); err != nil || len(left) > 0 {
		t.Errorf("checkpoints left in %s: %d (%v)", d.RootDir, len(left), err)
	}
}

func raceForceRemove(t *testing.T, tag string) {
	if ids := strings.Fields(framework.Docker(t, "ps", "-aq", "--filter", "name=_"+tag+"_")); len(ids) > 0 {
		framework.Docker(t, append([]string{"rm", "-f", "-v"}, ids...)...)
	}
}

// raceReports cuts the race detector's reports out of the daemon's log.
func raceReports(log string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(line, "WARNING: DATA RACE"):
			in = true
		case strings.HasPrefix(line, "=================="):
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
