package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"dockercri/bench/report"
	"dockercri/translate"
)

// Floor starts the batch's containers straight through the Docker API: for
// each pod a pause container and an app container joining its namespaces,
// built from the same CRI configs by the same translation dockercri uses
// (translate), with none of a shim's work around them (no checkpoint, no
// CNI, no image or sandbox lookups). No Docker shim can start the batch
// faster than this on the same Docker, at the same concurrency.
type Floor struct {
	Endpoint string
	Pause    string // the pause image, already in Docker
	docker   *client.Client
	api      string
}

// DialDocker connects to a Docker endpoint and negotiates its API version.
func DialDocker(ctx context.Context, endpoint, pause string) (*Floor, error) {
	c, err := client.New(client.WithHost(endpoint))
	if err != nil {
		return nil, fmt.Errorf("docker endpoint %s: %w", endpoint, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("docker endpoint %s: ping: %w", endpoint, err)
	}
	return &Floor{Endpoint: endpoint, Pause: pause, docker: c, api: ping.APIVersion}, nil
}

// Close closes the client.
func (f *Floor) Close() error { return f.docker.Close() }

// Ready checks that Docker has both images: the floor pulls nothing (the
// shim's batch before it pulled them, through its mirrors).
func (f *Floor) Ready(ctx context.Context, w Workload) error {
	var errs []error
	for _, ref := range []string{f.Pause, w.Image} {
		if _, err := f.docker.ImageInspect(ctx, ref); err != nil {
			errs = append(errs, fmt.Errorf("docker-floor needs %s in Docker (run a CRI batch on it first): %w", ref, err))
		}
	}
	return errors.Join(errs...)
}

// Batch starts the pods' containers, at most concurrency pods at a time (0:
// all), then removes them. A pod's latency runs from the batch's start to
// its app container's start.
func (f *Floor) Batch(ctx context.Context, w Workload, repeat, concurrency int, tick func()) report.Run {
	id := runID(report.KindDockerFloor, "docker", repeat)
	run := report.Run{Kind: report.KindDockerFloor, Runtime: "docker", Endpoint: f.Endpoint, Repeat: repeat, Concurrency: concurrency}
	timeBatch(&run, id, w.Pods, tick,
		func(i int) error { return f.startPod(ctx, w, id, i) },
		func() error { return f.Remove(ctx, id) })
	return run
}

func (f *Floor) startPod(ctx context.Context, w Workload, run string, i int) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	labels := map[string]string{"app": "cribench", "cribench.run": run}
	sbx := w.sandboxConfig(run, i)
	sbx.LogDirectory = "" // Docker keeps the logs (json-file): nothing of a shim's
	pause, err := translate.SandboxCreateConfig(sbx, "", translate.SandboxOptions{
		Image: f.Pause, Labels: labels, NetworkMode: "none", APIVersion: f.api,
	})
	if err != nil {
		return fmt.Errorf("pod %s: %w", podName(run, i), err)
	}
	pauseID, err := f.create(cctx, pause, "k8s_POD_"+podName(run, i))
	if err != nil {
		return fmt.Errorf("pod %s: pause: %w", podName(run, i), err)
	}
	app, err := translate.ContainerCreateConfig(w.containerConfig(), sbx, translate.ContainerOptions{
		SandboxID: pauseID, Labels: labels, APIVersion: f.api,
	})
	if err != nil {
		return fmt.Errorf("pod %s: %w", podName(run, i), err)
	}
	if _, err := f.create(cctx, app, "k8s_app_"+podName(run, i)); err != nil {
		return fmt.Errorf("pod %s: app: %w", podName(run, i), err)
	}
	return nil
}

// create creates and starts one container.
func (f *Floor) create(ctx context.Context, c *translate.Created, name string) (string, error) {
	resp, err := f.docker.ContainerCreate(ctx, client.ContainerCreateOptions{Config: c.Config, HostConfig: c.HostConfig, Name: name})
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	if _, err := f.docker.ContainerStart(ctx, resp.ID, client.ContainerStartOptions{}); err != nil {
		return resp.ID, fmt.Errorf("start: %w", err)
	}
	return resp.ID, nil
}

// Remove removes the containers of one run ("": every cribench container),
// app containers before the pause containers whose namespaces they hold.
func (f *Floor) Remove(ctx context.Context, run string) error {
	filter := "app=cribench"
	if run != "" {
		filter = "cribench.run=" + run
	}
	ctx, cancelAll := context.WithTimeout(ctx, removeTimeout)
	defer cancelAll()
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	list, err := f.docker.ContainerList(lctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", filter)})
	if err != nil {
		return fmt.Errorf("list cribench containers on %s: %w", f.Endpoint, err)
	}
	items := list.Items
	errs := parallel(len(items), 8, func(i int) error {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := f.docker.ContainerRemove(rctx, items[i].ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			return fmt.Errorf("remove %s: %w", items[i].ID, err)
		}
		return nil
	})
	return errors.Join(errs...)
}
