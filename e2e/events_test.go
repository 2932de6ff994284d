package e2e

import (
	"context"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/e2e/framework"
)

// eventStream is a GetContainerEvents subscription read in the background,
// so a test can wait for an event with a deadline.
type eventStream struct {
	t      *testing.T
	events chan *runtimeapi.ContainerEventResponse
	errs   chan error
}

// subscribeEvents subscribes and waits for the stream's headers, which
// dockercri sends once its own Docker subscription is open.
func subscribeEvents(t *testing.T, d *framework.Daemon) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := d.Runtime.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	s := &eventStream{t: t, events: make(chan *runtimeapi.ContainerEventResponse, 1024), errs: make(chan error, 1)}
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				s.errs <- err
				return
			}
			s.events <- ev
		}
	}()
	return s
}

// next waits for the next event of the container id, skipping others.
func (s *eventStream) next(id string, within time.Duration) *runtimeapi.ContainerEventResponse {
	s.t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		select {
		case ev := <-s.events:
			if ev.GetContainerId() == id {
				return ev
			}
		case err := <-s.errs:
			s.t.Fatalf("event stream ended waiting for an event of %s: %v", id, err)
		case <-timer.C:
			s.t.Fatalf("no event of %s within %v", id, within)
		}
	}
}

// TestContainerEvents drives a container through its life and checks that
// each step's event arrives, in order, within a second of the step.
func TestContainerEvents(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "events")
	pod := podConfig(t, "events")
	podID := runPod(t, d, pod)
	stream := subscribeEvents(t, d)
	ctx := framework.Context(t)

	var id string
	steps := []struct {
		name string
		do   func()
		want runtimeapi.ContainerEventType
	}{
		{name: "create", want: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, do: func() {
			resp, err := d.Runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: podID, SandboxConfig: pod,
				Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(image), Command: []string{"sleep", "3600"}}})
			if err != nil {
				t.Fatal(err)
			}
			id = resp.GetContainerId()
		}},
		{name: "start", want: runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, do: func() {
			if _, err := d.Runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "stop", want: runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, do: func() {
			if _, err := d.Runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 0}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "remove", want: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, do: func() {
			if _, err := d.Runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, step := range steps {
		start := time.Now()
		step.do()
		done := time.Now()
		ev := stream.next(id, time.Second)
		t.Logf("%s: event %v %v after the call returned (%v after it began)", step.name, ev.GetContainerEventType(),
			time.Since(done).Round(time.Microsecond), time.Since(start).Round(time.Microsecond))
		if ev.GetContainerEventType() != step.want {
			t.Fatalf("%s: event %v, want %v", step.name, ev.GetContainerEventType(), step.want)
		}
		if ev.GetPodSandboxStatus().GetId() != podID || ev.GetPodSandboxStatus().GetMetadata().GetUid() != pod.GetMetadata().GetUid() {
			t.Fatalf("%s: pod status %v", step.name, ev.GetPodSandboxStatus())
		}
		if created := time.Unix(0, ev.GetCreatedAt()); created.Before(start.Add(-time.Second)) || created.After(time.Now()) {
			t.Fatalf("%s: CreatedAt %v, step began %v", step.name, created, start)
		}
	}
}

// restartDockerd stops and starts the private dockerd, starting it again at
// the test's end should the start fail midway.
func restartDockerd(t *testing.T) {
	t.Helper()
	framework.DockerdStop(t)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			framework.DockerdStart(t)
		}
	})
	framework.DockerdStart(t)
	restarted = true
}

// TestContainerEventsAcrossDockerRestart stops and starts the private
// dockerd under a subscribed client: the same stream goes on and carries
// the events of a container made afterwards. dockercri resubscribes to
// Docker itself instead of ending the stream, because the kubelet counts
// every broken stream and gives evented PLEG up for good after a few
// (eventedPlegMaxStreamRetries, 5): a Docker restart must not cost it one.
func TestContainerEventsAcrossDockerRestart(t *testing.T) {
	d := framework.StartDockercri(t)
	image := busybox(t, d)
	removePodsAfter(t, "events-restart")
	stream := subscribeEvents(t, d)

	restartDockerd(t)

	pod := podConfig(t, "events-restart")
	podID := runPod(t, d, pod)
	start := time.Now()
	id := createAndStart(t, d, podID, pod, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: spec(image), Command: []string{"sleep", "3600"}})
	// dockercri retries Docker with backoff (at most 5 s apart), then
	// replays what Docker logged since the old stream broke.
	if ev := stream.next(id, 10*time.Second); ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT &&
		ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT {
		t.Fatalf("first event of the new container: %v", ev)
	}
	for {
		ev := stream.next(id, 10*time.Second)
		if ev.GetContainerEventType() == runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT {
			t.Logf("started event %v after the container was created", time.Since(start).Round(time.Millisecond))
			break
		}
	}
}

// TestContainerEventsDoNotHoldUpStop: a subscribed client (the kubelet
// always is) must not make a graceful stop wait out its 10 s grace.
func TestContainerEventsDoNotHoldUpStop(t *testing.T) {
	d := framework.StartDockercri(t)
	subscribeEvents(t, d)
	begin := time.Now()
	d.Stop()
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("stopping dockercri with a subscribed client took %v", took)
	}
}
