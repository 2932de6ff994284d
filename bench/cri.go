package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/bench/report"
)

// callTimeout bounds one CRI call: a pod's sandbox may wait for its image and
// for every other pod of the batch in the runtime's queues.
const callTimeout = 4 * time.Minute

// removeTimeout bounds removing one run's pods.
const removeTimeout = 5 * time.Minute

// CRI is a client of one CRI endpoint (runtime and image service).
type CRI struct {
	Endpoint string
	conn     *grpc.ClientConn
	rt       runtimeapi.RuntimeServiceClient
	img      runtimeapi.ImageServiceClient
}

// DialCRI connects to endpoint ("unix:///run/x.sock" or a bare path) and
// asks its version, so that a wrong socket fails here and not mid-batch.
func DialCRI(ctx context.Context, endpoint string) (*CRI, error) {
	target := endpoint
	if strings.HasPrefix(target, "/") {
		target = "unix://" + target
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, fmt.Errorf("CRI endpoint %s: %w", endpoint, err)
	}
	c := &CRI{Endpoint: endpoint, conn: conn, rt: runtimeapi.NewRuntimeServiceClient(conn), img: runtimeapi.NewImageServiceClient(conn)}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.rt.Version(vctx, &runtimeapi.VersionRequest{}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("CRI endpoint %s: version: %w", endpoint, err)
	}
	return c, nil
}

// Close closes the connection.
func (c *CRI) Close() error { return c.conn.Close() }

// Pull pulls image unless the runtime has it, outside any timed window.
func (c *CRI) Pull(ctx context.Context, image string) error {
	st, err := c.img.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: image}})
	if err == nil && st.GetImage() != nil {
		return nil
	}
	if _, err := c.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: image}}); err != nil {
		return fmt.Errorf("pull %s through %s: %w", image, c.Endpoint, err)
	}
	return nil
}

// Batch starts w.Pods pods (sandbox, then its container created and started),
// at most concurrency at a time (0: all at once), and removes them. A pod's
// latency runs from the batch's start to its StartContainer's return.
func (c *CRI) Batch(ctx context.Context, w Workload, runtime string, repeat, concurrency int, tick func()) report.Run {
	id := runID(report.KindBatch, runtime, repeat)
	run := report.Run{Kind: report.KindBatch, Runtime: runtime, Endpoint: c.Endpoint, Repeat: repeat, Concurrency: concurrency}
	timeBatch(&run, id, w.Pods, tick,
		func(i int) error { return c.startPod(ctx, w, id, i) },
		func() error { return c.Remove(ctx, id) })
	return run
}

func (c *CRI) startPod(ctx context.Context, w Workload, run string, i int) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	sbx := w.sandboxConfig(run, i)
	pod, err := c.rt.RunPodSandbox(cctx, &runtimeapi.RunPodSandboxRequest{Config: sbx})
	if err != nil {
		return fmt.Errorf("pod %s: RunPodSandbox: %w", podName(run, i), err)
	}
	ctr, err := c.rt.CreateContainer(cctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: pod.GetPodSandboxId(), Config: w.containerConfig(), SandboxConfig: sbx,
	})
	if err != nil {
		return fmt.Errorf("pod %s: CreateContainer: %w", podName(run, i), err)
	}
	if _, err := c.rt.StartContainer(cctx, &runtimeapi.StartContainerRequest{ContainerId: ctr.GetContainerId()}); err != nil {
		return fmt.Errorf("pod %s: StartContainer: %w", podName(run, i), err)
	}
	return nil
}

// Remove stops and removes the pods of one run ("" : every cribench pod, the
// leftovers of an interrupted invocation).
func (c *CRI) Remove(ctx context.Context, run string) error {
	labels := map[string]string{"app": "cribench"}
	if run != "" {
		labels["cribench.run"] = run
	}
	// The whole removal is bounded: a runtime that stops answering (dockerd
	// 20.10 before .27 can deadlock when many containers leave Docker's
	// networks at once, moby#46661) fails the run instead of hanging it.
	ctx, cancelAll := context.WithTimeout(ctx, removeTimeout)
	defer cancelAll()
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	pods, err := c.rt.ListPodSandbox(lctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{LabelSelector: labels}})
	if err != nil {
		return fmt.Errorf("list cribench pods on %s: %w", c.Endpoint, err)
	}
	items := pods.GetItems()
	errs := parallel(len(items), 8, func(i int) error {
		id := items[i].GetId()
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		if _, err := c.rt.StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			return fmt.Errorf("stop pod %s: %w", id, err)
		}
		if _, err := c.rt.RemovePodSandbox(cctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			return fmt.Errorf("remove pod %s: %w", id, err)
		}
		return nil
	})
	return errors.Join(errs...)
}

// ContainerStarts returns, for the running containers of the pods in
// Namespace, when each started (by pod name), as the runtime reports it.
func (c *CRI) ContainerStarts(ctx context.Context) (map[string]time.Time, error) {
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := c.rt.ListContainers(lctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		LabelSelector: map[string]string{"io.kubernetes.pod.namespace": Namespace},
	}})
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", c.Endpoint, err)
	}
	starts := make(map[string]time.Time, len(resp.GetContainers()))
	for _, ctr := range resp.GetContainers() {
		st, err := c.rt.ContainerStatus(lctx, &runtimeapi.ContainerStatusRequest{ContainerId: ctr.GetId()})
		if err != nil {
			continue // removed since the list
		}
		pod := ctr.GetLabels()["io.kubernetes.pod.name"]
		if at := st.GetStatus().GetStartedAt(); at > 0 && pod != "" {
			starts[pod] = time.Unix(0, at)
		}
	}
	return starts, nil
}

// timeBatch starts pods 0..n-1 of run id with start, at most
// run.Concurrency at a time, each pod's latency from the batch's start to
// start's return, then removes them; run gets the figures and errors.
func timeBatch(run *report.Run, id string, n int, tick func(), start func(i int) error, remove func() error) {
	var mu sync.Mutex
	run.Start = time.Now()
	errs := parallel(n, run.Concurrency, func(i int) error {
		err := start(i)
		if err == nil {
			lat := time.Since(run.Start)
			mu.Lock()
			run.Pods = append(run.Pods, report.PodSample{Name: podName(id, i), Latency: lat})
			mu.Unlock()
		}
		tick()
		return err
	})
	finish(run)
	cleanupStart := time.Now()
	if err := remove(); err != nil {
		errs = append(errs, err)
	}
	run.Cleanup = time.Since(cleanupStart)
	run.Error = summarizeErrors(errs)
}

// parallel runs f(0..n-1), at most limit at a time (0: all), and returns
// the errors.
func parallel(n, limit int, f func(i int) error) []error {
	if limit <= 0 || limit > n {
		limit = n
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, max(limit, 1))
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// summarizeErrors is the first error and how many there were.
func summarizeErrors(errs []error) string {
	switch len(errs) {
	case 0:
		return ""
	case 1:
		return errs[0].Error()
	}
	return fmt.Sprintf("%v (and %d more errors)", errs[0], len(errs)-1)
}
