package shim

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/shim/events"
)

func subscribeEvents(t *testing.T, c *testClients) (runtimeapi.RuntimeService_GetContainerEventsClient, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(testContext(t))
	t.Cleanup(cancel)
	stream, err := c.runtime.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	return stream, cancel
}

// nextEventOf receives events until one for the container id arrives.
func nextEventOf(t *testing.T, stream runtimeapi.RuntimeService_GetContainerEventsClient, id string) *runtimeapi.ContainerEventResponse {
	t.Helper()
	for {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("waiting for an event of %s: %v", id, err)
		}
		if ev.GetContainerId() == id {
			return ev
		}
	}
}

func hasStatusOf(ev *runtimeapi.ContainerEventResponse, id string) *runtimeapi.ContainerStatus {
	for _, st := range ev.GetContainersStatuses() {
		if st.GetId() == id {
			return st
		}
	}
	return nil
}

func TestGetContainerEventsLifecycle(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)
	other := createContainer(t, c, podID, sb, "sidecar")
	stream, _ := subscribeEvents(t, c)

	// Each step waits for its event: a response carries the statuses as
	// they are when it is built, so a step taken before the previous event
	// was built would show in it.
	ctx := testContext(t)
	var id string
	steps := []func(){
		func() { id = createContainer(t, c, podID, sb, "app") },
		func() {
			if _, err := c.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if _, err := c.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id}); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if _, err := c.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
				t.Fatal(err)
			}
		},
	}
	tests := []struct {
		want      runtimeapi.ContainerEventType
		wantState runtimeapi.ContainerState // of the event's container, when it still exists
	}{
		{want: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, wantState: runtimeapi.ContainerState_CONTAINER_CREATED},
		{want: runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, wantState: runtimeapi.ContainerState_CONTAINER_RUNNING},
		{want: runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, wantState: runtimeapi.ContainerState_CONTAINER_EXITED},
		{want: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT},
	}
	var last int64
	for i, tt := range tests {
		steps[i]()
		ev := nextEventOf(t, stream, id)
		if ev.GetContainerEventType() != tt.want {
			t.Fatalf("event = %v, want %v (in this order)", ev.GetContainerEventType(), tt.want)
		}
		if ev.GetCreatedAt() < last || ev.GetCreatedAt() == 0 {
			t.Fatalf("%v: CreatedAt %d, previous %d", tt.want, ev.GetCreatedAt(), last)
		}
		last = ev.GetCreatedAt()
		pod := ev.GetPodSandboxStatus()
		if pod.GetId() != podID || pod.GetMetadata().GetUid() != "uid-web" || pod.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
			t.Fatalf("%v: pod status = %v", tt.want, pod)
		}
		// The kubelet replaces its view of the pod with the event's: every
		// container of the pod must be there, the deleted one must not.
		if hasStatusOf(ev, other) == nil {
			t.Fatalf("%v: statuses lack the pod's other container: %v", tt.want, ev.GetContainersStatuses())
		}
		st := hasStatusOf(ev, id)
		if (st == nil) != (tt.want == runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT) {
			t.Fatalf("%v: status of the container = %v", tt.want, st)
		}
		if st != nil && st.GetState() != tt.wantState {
			t.Fatalf("%v: state = %v, want %v", tt.want, st.GetState(), tt.wantState)
		}
	}
}

// useEventHub gives the Service a hub with shorter tunables; call it before
// any client subscribes.
func useEventHub(c *testClients, d Docker, opts events.Options) {
	c.svc.events = events.NewHub(d, c.svc.containerEvent, opts)
}

// stalledStream is a GetContainerEvents stream whose sends wait for release:
// a client that reads nothing.
type stalledStream struct {
	grpc.ServerStream
	release <-chan struct{}
}

func (s *stalledStream) SendMsg(m any) error {
	select {
	case <-s.release:
	case <-s.Context().Done():
	}
	return s.ServerStream.SendMsg(m)
}

// stalledEventsClient serves svc on a second gRPC server, behind the same
// boundary wrapper, whose streams send nothing until release is closed.
func stalledEventsClient(t *testing.T, svc *Service) (*testClients, chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	stall := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &stalledStream{ServerStream: ss, release: release})
	}
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(svc.StreamInterceptor, stall))
	runtimeapi.RegisterRuntimeServiceServer(srv, svc)
	conn := serve(t, srv)
	return &testClients{svc: svc, runtime: runtimeapi.NewRuntimeServiceClient(conn)}, release
}

func TestGetContainerEventsDroppedClientStreamEnds(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	useEventHub(c, f, events.Options{BufferSize: 2})
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)
	stalled, release := stalledEventsClient(t, c.svc)
	stream, _ := subscribeEvents(t, stalled)

	// A witness subscribed to the hub itself, read after each event: once it
	// has an event, the hub has handed every earlier one to every client.
	// The stalled client holds one event in its send and two in its buffer:
	// by the fifth event it has been dropped.
	w, _, err := c.svc.events.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer c.svc.events.Unsubscribe(w)
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		id := createContainer(t, c, podID, sb, name)
		for got := ""; got != id; {
			select {
			case ev := <-w.Events():
				got = ev.GetContainerId()
			case <-w.Done():
				t.Fatalf("the witness was dropped: %v", w.Err())
			}
		}
	}
	close(release)
	var recvErr error
	for recvErr == nil {
		_, recvErr = stream.Recv()
	}
	wantCode(t, recvErr, codes.ResourceExhausted)
}

func TestGetContainerEventsSurviveDockerRestart(t *testing.T) {
	f := fakeWithImages()
	f.events.subscribed = make(chan struct{}, 16)
	c := newTestClients(t, f)
	useEventHub(c, f, events.Options{BackoffMin: time.Millisecond, BackoffMax: time.Millisecond})
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)
	old := createContainer(t, c, podID, sb, "old")
	stream, _ := subscribeEvents(t, c)
	<-f.events.subscribed

	// Docker goes away: its stream breaks, and resubscribing fails twice.
	f.mu.Lock()
	f.down = errors.New("Cannot connect to the Docker daemon")
	f.mu.Unlock()
	f.breakEvents(errors.New("unexpected EOF"))
	<-f.events.subscribed
	<-f.events.subscribed
	f.mu.Lock()
	f.down = nil
	f.mu.Unlock()
	<-f.events.subscribed // back

	// The same stream goes on: first the resync's state of the old
	// container, then the events of what happens next.
	if ev := nextEventOf(t, stream, old); ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT {
		t.Fatalf("resync reported the created container as %v", ev.GetContainerEventType())
	}
	id := createContainer(t, c, podID, sb, "new")
	if ev := nextEventOf(t, stream, id); ev.GetPodSandboxStatus().GetId() != podID {
		t.Fatalf("event after the restart: %v", ev)
	}
}

func TestGetContainerEventsLeaveNoGoroutine(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)
	before := runtime.NumGoroutine()

	stream, cancel := subscribeEvents(t, c)
	id := createContainer(t, c, podID, sb, "app")
	nextEventOf(t, stream, id)
	cancel() // the client goes away

	// The pump stops with its last client (shim/events waits for it in
	// TestHubLeavesNoGoroutine); gRPC ends the stream's own goroutines
	// asynchronously, with nothing to wait on: give them a bounded while.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after the client left, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	// Nor is Docker's event stream still asked for.
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sub := range f.events.subs {
		if sub.ctx.Err() == nil {
			t.Fatal("the pump still runs without clients")
		}
	}
}

func TestGetContainerEventsEndOnClose(t *testing.T) {
	c := newTestClients(t, fakeWithImages())
	stream, _ := subscribeEvents(t, c)
	c.svc.EndEventStreams()
	_, err := stream.Recv()
	wantCode(t, err, codes.Unavailable)
	again, err := c.runtime.GetContainerEvents(testContext(t), &runtimeapi.GetEventsRequest{})
	if err == nil {
		_, err = again.Recv()
	}
	wantCode(t, err, codes.Unavailable)
}

func TestGetContainerEventsOfRemovedPod(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)
	id := createContainer(t, c, podID, sb, "app")
	stream, _ := subscribeEvents(t, c)
	ctx := testContext(t)
	if _, err := c.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	// The container's destroy event is built while, or after, its pod goes:
	// it still names the pod, which the kubelet needs to act on it. The
	// sandbox's own events carry its id, as containerd's do: the kubelet
	// drops the pod from its cache on the sandbox's deletion.
	byID := map[string][]runtimeapi.ContainerEventType{}
	for len(byID[podID]) == 0 || byID[podID][len(byID[podID])-1] != runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		deleted := ev.GetContainerEventType() == runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT
		if ev.GetPodSandboxStatus().GetMetadata().GetUid() != "uid-web" || (deleted && ev.GetContainerId() == podID && len(ev.GetContainersStatuses()) != 0) {
			t.Fatalf("event = %v", ev)
		}
		byID[ev.GetContainerId()] = append(byID[ev.GetContainerId()], ev.GetContainerEventType())
	}
	want := map[string][]runtimeapi.ContainerEventType{
		podID: {runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT},
		id:    {runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT},
	}
	if !reflect.DeepEqual(byID, want) {
		t.Fatalf("events = %v, want %v", byID, want)
	}
}
