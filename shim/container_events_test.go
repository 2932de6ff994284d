package shim

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"google.golang.org/grpc/codes"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestDockerEventTypes(t *testing.T) {
	tests := []struct {
		give   events.Action
		want   runtimeapi.ContainerEventType
		wantOK bool
	}{
		{give: events.ActionCreate, want: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, wantOK: true},
		{give: events.ActionStart, want: runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, wantOK: true},
		{give: events.ActionDie, want: runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, wantOK: true},
		{give: events.ActionDestroy, want: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, wantOK: true},
		// Docker's other actions say nothing the kubelet needs: "stop" and
		// "kill" come with "die", exec and health are not lifecycle.
		{give: events.ActionStop},
		{give: events.ActionKill},
		{give: events.ActionOOM},
		{give: events.ActionPause},
		{give: events.ActionRestart},
		{give: events.ActionExecCreate},
		{give: "health_status: healthy"},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			got, ok := dockerEventTypes[tt.give]
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("dockerEventTypes[%q] = %v, %v, want %v, %v", tt.give, got, ok, tt.want, tt.wantOK)
			}
			if f := dockerEventFilters(); f.ExactMatch("event", string(tt.give)) != tt.wantOK {
				t.Fatalf("Docker filter lets %q through: %v, want %v", tt.give, !tt.wantOK, tt.wantOK)
			}
		})
	}
}

// subscribeEvents opens a GetContainerEvents stream and waits for its
// headers, which dockercri sends once its Docker subscription is open.
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
	f := fakeWithPause()
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

func TestGetContainerEventsKeepDockerOrder(t *testing.T) {
	f := fakeWithPause()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)
	id := createContainer(t, c, podID, sb, "app")
	stream, _ := subscribeEvents(t, c)

	// More events than builders run at once, so builds overlap and finish
	// in any order; the stream must keep Docker's.
	const n = 5 * eventBuilders
	labels := f.containerByName("k8s_app_web_default_uid-web_0").config.Labels
	for i := 1; i <= n; i++ {
		action := []events.Action{events.ActionStart, events.ActionDie}[i%2]
		f.emitEvent(events.Message{Type: events.ContainerEventType, Action: action, TimeNano: int64(i),
			Actor: events.Actor{ID: id, Attributes: labels}})
	}
	for i := 1; i <= n; i++ {
		ev := nextEventOf(t, stream, id)
		if ev.GetCreatedAt() != int64(i) {
			t.Fatalf("event %d has CreatedAt %d: out of order", i, ev.GetCreatedAt())
		}
	}
}

func TestGetContainerEventsDropsSlowClientOnly(t *testing.T) {
	f := fakeWithPause()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)

	// The slow client subscribes to the hub itself and never reads.
	h := c.svc.events
	h.mu.Lock()
	h.bufSize = 2
	h.mu.Unlock()
	slow, _, err := h.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.bufSize = eventSubscriberBuffer
	h.mu.Unlock()
	fast, _ := subscribeEvents(t, c)

	var ids []string
	for _, name := range []string{"a", "b", "c"} { // three created events, one more than the slow buffer
		ids = append(ids, createContainer(t, c, podID, sb, name))
	}
	for _, id := range ids {
		if ev := nextEventOf(t, fast, id); ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT {
			t.Fatalf("fast client got %v", ev)
		}
	}
	<-slow.gone
	wantCode(t, toStatus(slow.err), codes.ResourceExhausted)
	if len(slow.ch) != 2 {
		t.Fatalf("slow client kept %d events, want its 2 buffered", len(slow.ch))
	}
	// The fast client is still served.
	id := createContainer(t, c, podID, sb, "d")
	nextEventOf(t, fast, id)
}

func TestGetContainerEventsDroppedClientStreamEnds(t *testing.T) {
	c := newTestClients(t, fakeWithPause())
	stream, _ := subscribeEvents(t, c)
	h := c.svc.events
	h.mu.Lock()
	for sub := range h.cur.subs {
		h.dropLocked(h.cur, sub, errFellBehind(cap(sub.ch)))
	}
	h.mu.Unlock()
	_, err := stream.Recv()
	wantCode(t, err, codes.ResourceExhausted)
}

func TestGetContainerEventsSurviveDockerRestart(t *testing.T) {
	f := fakeWithPause()
	f.events.subscribed = make(chan struct{}, 16)
	c := newTestClients(t, f)
	c.svc.events.backoffMin = time.Millisecond
	c.svc.events.backoffMax = time.Millisecond
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
	f := fakeWithPause()
	c := newTestClients(t, f)
	sb := sandboxConfig("web")
	podID := runSandbox(t, c, sb)
	before := runtime.NumGoroutine()

	stream, cancel := subscribeEvents(t, c)
	id := createContainer(t, c, podID, sb, "app")
	nextEventOf(t, stream, id)
	c.svc.events.mu.Lock()
	p := c.svc.events.cur
	c.svc.events.mu.Unlock()
	cancel() // the client goes away

	<-p.done // the pump stops with its last client
	// gRPC ends the stream's own goroutines asynchronously, with nothing to
	// wait on: give them a bounded while.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after the client left, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	c.svc.events.mu.Lock()
	defer c.svc.events.mu.Unlock()
	if c.svc.events.cur != nil {
		t.Fatal("the pump still runs without clients")
	}
}

func TestGetContainerEventsEndOnClose(t *testing.T) {
	c := newTestClients(t, fakeWithPause())
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
	f := fakeWithPause()
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
