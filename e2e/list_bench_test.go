package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

const pods = 110

// start110Pods fills the node: 110 running pods, each a pause container and
// one app container. It takes a minute or two.
func start110Pods(b *testing.B) (*framework.Daemon, []string) {
	d := framework.StartDockercri(b)
	image := busybox(b, d)
	names := make([]string, pods)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%03d", i)
	}
	removePodsAfter(b, names...)
	start := time.Now()
	var ids []string
	for _, n := range names {
		pod := podConfig(b, n)
		id := runPod(b, d, pod)
		ids = append(ids, createAndStart(b, d, id, pod, &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(image), Command: []string{"sleep", "3600"},
		}))
	}
	b.Logf("created %d pods (%d containers) in %v", pods, 2*pods, time.Since(start).Round(time.Millisecond))
	return d, ids
}

// BenchmarkList110Pods is the kubelet's relist on a full node, listed with
// ListPodSandbox and ListContainers through the real dockerd, against the
// same list calls straight to Docker; then ListContainerStats against
// Docker's one-shot stats API for every container. `make bench-e2e`.
func BenchmarkList110Pods(b *testing.B) {
	d, ids := start110Pods(b)
	ctx := framework.Context(b)
	b.Run("dockercri", func(b *testing.B) {
		for b.Loop() {
			pl, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
			if err != nil {
				b.Fatal(err)
			}
			cl, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
			if err != nil {
				b.Fatal(err)
			}
			if n := countPrefix(pl.GetItems(), "bench-"); n != pods || len(cl.GetContainers()) < pods {
				b.Fatalf("listed %d bench pods and %d containers, want %d", n, len(cl.GetContainers()), pods)
			}
		}
	})
	// The floor: the same two list calls straight to Docker's API.
	hc := dockerHTTP(b)
	b.Run("docker-api", func(b *testing.B) {
		for b.Loop() {
			for _, typ := range []string{"podsandbox", "container"} {
				filter := url.QueryEscape(`{"label":["io.kubernetes.docker.type=` + typ + `"]}`)
				resp, err := hc.Get("http://docker/v1.41/containers/json?all=1&filters=" + filter)
				if err != nil {
					b.Fatal(err)
				}
				var list []json.RawMessage
				err = json.NewDecoder(resp.Body).Decode(&list)
				resp.Body.Close()
				if err != nil || len(list) < pods {
					b.Fatalf("docker listed %d %s containers: %v", len(list), typ, err)
				}
			}
		}
	})
	b.Run("list-container-stats", func(b *testing.B) {
		for b.Loop() {
			resp, err := d.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{})
			if err != nil || len(resp.GetStats()) < pods {
				b.Fatalf("stats of %d containers: %v", len(resp.GetStats()), err)
			}
		}
	})
	// What a shim built on Docker's stats API pays for the same answer, asking
	// for every container at once (one at a time, Docker 20.10 takes about a
	// second each, one-shot or not).
	b.Run("docker-stats-api", func(b *testing.B) {
		for b.Loop() {
			dockerStats(b, hc, ids)
		}
	})

}

func countPrefix(items []*runtimeapi.PodSandbox, prefix string) int {
	n := 0
	for _, p := range items {
		if strings.HasPrefix(p.GetMetadata().GetName(), prefix) {
			n++
		}
	}
	return n
}

// dockerHTTP talks to the private dockerd's API directly.
func dockerHTTP(b testing.TB) *http.Client {
	sock := strings.TrimPrefix(framework.LoadEnv(b).DockerHost, "unix://")
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}

// cpuTime is a process's user plus system time so far.
func cpuTime(b testing.TB, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// BenchmarkKubeletLoop110Pods runs, for 30 s per iteration, what a kubelet
// asks of a full node: ListPodSandbox and ListContainers every second and
// ListContainerStats every 10 s, and reports the CPU that cost dockercri
// and dockerd, as a percentage of one core; then the same loop with Docker's
// stats API in place of ListContainerStats. Run with -benchtime 1x.
func BenchmarkKubeletLoop110Pods(b *testing.B) {
	d, ids := start110Pods(b)
	ctx := framework.Context(b)
	hc := dockerHTTP(b)
	dockerd := dockerdPid(b)
	const window = 30 * time.Second
	loop := func(b *testing.B, stats func()) {
		for b.Loop() {
			shim0, dockerd0 := cpuTime(b, d.Pid()), cpuTime(b, dockerd)
			start := time.Now()
			for i := 0; time.Since(start) < window; i++ {
				if _, err := d.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil {
					b.Fatal(err)
				}
				if _, err := d.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); err != nil {
					b.Fatal(err)
				}
				if i%10 == 0 {
					stats()
				}
				time.Sleep(time.Until(start.Add(time.Duration(i+1) * time.Second)))
			}
			elapsed := time.Since(start)
			b.ReportMetric(100*float64(cpuTime(b, d.Pid())-shim0)/float64(elapsed), "dockercri-%cpu")
			b.ReportMetric(100*float64(cpuTime(b, dockerd)-dockerd0)/float64(elapsed), "dockerd-%cpu")
		}
	}
	b.Run("cri-stats", func(b *testing.B) {
		loop(b, func() {
			if _, err := d.Runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("docker-stats-api", func(b *testing.B) {
		loop(b, func() { dockerStats(b, hc, ids) })
	})
}

func dockerdPid(b testing.TB) int {
	raw, err := os.ReadFile("/run/dockercri-e2e/dockerd.pid")
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

// dockerStats asks Docker's stats API for every container, concurrently.
func dockerStats(b *testing.B, hc *http.Client, ids []string) {
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get("http://docker/v1.41/containers/" + id + "/stats?stream=false&one-shot=true")
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
