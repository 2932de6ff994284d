package events

import (
	"context"
	"errors"
	"maps"
	"runtime"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

func TestDockerEventTypes(t *testing.T) {
	tests := []struct {
		give   dockerevents.Action
		want   runtimeapi.ContainerEventType
		wantOK bool
	}{
		{give: dockerevents.ActionCreate, want: runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT, wantOK: true},
		{give: dockerevents.ActionStart, want: runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, wantOK: true},
		{give: dockerevents.ActionDie, want: runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT, wantOK: true},
		{give: dockerevents.ActionDestroy, want: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, wantOK: true},
		// Docker's other actions say nothing the kubelet needs: "stop" and
		// "kill" come with "die", exec and health are not lifecycle.
		{give: dockerevents.ActionStop},
		{give: dockerevents.ActionKill},
		{give: dockerevents.ActionOOM},
		{give: dockerevents.ActionPause},
		{give: dockerevents.ActionRestart},
		{give: dockerevents.ActionExecCreate},
		{give: "health_status: healthy"},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			got, ok := dockerEventTypes[tt.give]
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("dockerEventTypes[%q] = %v, %v, want %v, %v", tt.give, got, ok, tt.want, tt.wantOK)
			}
			if f := dockerEventFilters(); exactMatch(f, "event", string(tt.give)) != tt.wantOK {
				t.Fatalf("Docker filter lets %q through: %v, want %v", tt.give, !tt.wantOK, tt.wantOK)
			}
		})
	}
}

func TestNewHubOptions(t *testing.T) {
	h := NewHub(&fakeDocker{}, echoEvent, Options{})
	if h.bufSize != 1024 || h.backoffMin != 100*time.Millisecond || h.backoffMax != 5*time.Second {
		t.Fatalf("defaults: buffer %d, backoff %v..%v", h.bufSize, h.backoffMin, h.backoffMax)
	}
	h = NewHub(&fakeDocker{}, echoEvent, Options{BufferSize: 2, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond})
	if h.bufSize != 2 || h.backoffMin != time.Millisecond || h.backoffMax != 2*time.Millisecond {
		t.Fatalf("options: buffer %d, backoff %v..%v", h.bufSize, h.backoffMin, h.backoffMax)
	}
}

// echoEvent stands in for shim's handler: the response names the event's
// container and carries its time.
func echoEvent(_ context.Context, m dockerevents.Message, typ runtimeapi.ContainerEventType) *runtimeapi.ContainerEventResponse {
	created := m.TimeNano
	if created == 0 {
		created = m.Time * 1e9
	}
	return &runtimeapi.ContainerEventResponse{ContainerId: m.Actor.ID, ContainerEventType: typ, CreatedAt: created}
}

// ourLabels are the labels of an app container of the scheme.
func ourLabels() map[string]string {
	return map[string]string{translate.LabelContainerType: translate.ContainerTypeContainer, translate.LabelSandboxID: "pod"}
}

// message is a Docker event of a container of the scheme.
func message(id string, action dockerevents.Action, timeNano int64) dockerevents.Message {
	return dockerevents.Message{Type: dockerevents.ContainerEventType, Action: action, TimeNano: timeNano,
		Actor: dockerevents.Actor{ID: id, Attributes: ourLabels()}}
}

func newTestHub(t *testing.T, d Docker, handle Handler, opts Options) *Hub {
	t.Helper()
	h := NewHub(d, handle, opts)
	t.Cleanup(h.Close)
	return h
}

// subscribe adds a client and waits until the pump's Docker subscription
// is open, as GetContainerEvents does before it sends its headers.
func subscribe(t *testing.T, h *Hub) *Subscription {
	t.Helper()
	sub, ready, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Unsubscribe(sub) })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the pump's Docker subscription never answered")
	}
	return sub
}

// nextEventOf receives events until one for the container id arrives.
func nextEventOf(t *testing.T, sub *Subscription, id string) *runtimeapi.ContainerEventResponse {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-sub.Events():
			if ev.GetContainerId() == id {
				return ev
			}
		case <-sub.Done():
			t.Fatalf("waiting for an event of %s: %v", id, sub.Err())
		case <-timeout:
			t.Fatalf("waiting for an event of %s: timed out", id)
		}
	}
}

func TestHubKeepsDockerOrder(t *testing.T) {
	f := &fakeDocker{}
	// More events than builders run at once, and builds that finish in
	// reverse order within each batch: the stream must keep Docker's.
	const n = 5 * builders
	slowFirst := func(ctx context.Context, m dockerevents.Message, typ runtimeapi.ContainerEventType) *runtimeapi.ContainerEventResponse {
		time.Sleep(time.Duration(builders-m.TimeNano%builders) * time.Millisecond)
		return echoEvent(ctx, m, typ)
	}
	h := newTestHub(t, f, slowFirst, Options{})
	sub := subscribe(t, h)
	for i := 1; i <= n; i++ {
		action := []dockerevents.Action{dockerevents.ActionStart, dockerevents.ActionDie}[i%2]
		f.emit(message("app", action, int64(i)))
	}
	for i := 1; i <= n; i++ {
		ev := nextEventOf(t, sub, "app")
		if ev.GetCreatedAt() != int64(i) {
			t.Fatalf("event %d has CreatedAt %d: out of order", i, ev.GetCreatedAt())
		}
	}
}

func TestHubSkipsEventsTheHandlerDrops(t *testing.T) {
	f := &fakeDocker{}
	dropSkip := func(ctx context.Context, m dockerevents.Message, typ runtimeapi.ContainerEventType) *runtimeapi.ContainerEventResponse {
		if m.Actor.ID == "skip" {
			return nil
		}
		return echoEvent(ctx, m, typ)
	}
	h := newTestHub(t, f, dropSkip, Options{})
	sub := subscribe(t, h)
	f.emit(message("skip", dockerevents.ActionCreate, 1))
	f.emit(message("keep", dockerevents.ActionCreate, 2))
	if ev := <-sub.Events(); ev.GetContainerId() != "keep" {
		t.Fatalf("first event = %v, want keep's", ev)
	}
}

func TestHubDropsSlowClientOnly(t *testing.T) {
	f := &fakeDocker{}
	h := newTestHub(t, f, echoEvent, Options{})

	// The slow client never reads.
	h.mu.Lock()
	h.bufSize = 2
	h.mu.Unlock()
	slow, _, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.bufSize = subscriberBuffer
	h.mu.Unlock()
	fast := subscribe(t, h)

	ids := []string{"a", "b", "c"} // three created events, one more than the slow buffer
	for i, id := range ids {
		f.emit(message(id, dockerevents.ActionCreate, int64(i+1)))
	}
	for _, id := range ids {
		if ev := nextEventOf(t, fast, id); ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT {
			t.Fatalf("fast client got %v", ev)
		}
	}
	<-slow.gone
	// shim's boundary maps the class to ResourceExhausted (shim's
	// TestGetContainerEventsDroppedClientStreamEnds).
	if !cerrdefs.IsResourceExhausted(slow.err) {
		t.Fatalf("slow client dropped with %v, want ResourceExhausted", slow.err)
	}
	if len(slow.ch) != 2 {
		t.Fatalf("slow client kept %d events, want its 2 buffered", len(slow.ch))
	}
	// The fast client is still served.
	f.emit(message("d", dockerevents.ActionCreate, 4))
	nextEventOf(t, fast, "d")
}

func TestHubDroppedClientEnds(t *testing.T) {
	h := newTestHub(t, &fakeDocker{}, echoEvent, Options{})
	sub := subscribe(t, h)
	if sub.Err() != nil {
		t.Fatalf("Err before the client is dropped = %v", sub.Err())
	}
	h.mu.Lock()
	for s := range h.cur.subs {
		h.dropLocked(h.cur, s, errFellBehind(cap(s.ch)))
	}
	h.mu.Unlock()
	<-sub.Done()
	if err := sub.Err(); !cerrdefs.IsResourceExhausted(err) {
		t.Fatalf("dropped client's error = %v, want ResourceExhausted", err)
	}
}

func TestHubSurvivesDockerRestart(t *testing.T) {
	f := &fakeDocker{subscribed: make(chan struct{}, 16), containers: []container.Summary{
		{ID: "old", Names: []string{"/old"}, State: container.StateCreated, Labels: ourLabels()},
		{ID: "dead", Names: []string{"/dead"}, State: container.StateExited, Labels: ourLabels()},
		{ID: "other", Names: []string{"/other"}, State: container.StateRunning}, // not of the scheme
	}}
	h := newTestHub(t, f, echoEvent, Options{BackoffMin: time.Millisecond, BackoffMax: time.Millisecond})
	sub := subscribe(t, h)
	<-f.subscribed
	// An event through proves the pump follows the stream: a break that
	// came before would (rightly) leave the replay point where it was.
	f.emit(message("before", dockerevents.ActionCreate, time.Now().UnixNano()))
	nextEventOf(t, sub, "before")

	// Docker goes away: its stream breaks, and resubscribing fails twice.
	f.setDown(errors.New("Cannot connect to the Docker daemon"))
	f.breakEvents(errors.New("unexpected EOF"))
	<-f.subscribed
	<-f.subscribed
	f.setDown(nil)
	<-f.subscribed // back

	// The same stream goes on: first the resync's state of the containers
	// of the scheme, then the events of what happens next.
	if ev := nextEventOf(t, sub, "old"); ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT {
		t.Fatalf("resync reported the created container as %v", ev.GetContainerEventType())
	}
	if ev := nextEventOf(t, sub, "dead"); ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT {
		t.Fatalf("resync reported the exited container as %v", ev.GetContainerEventType())
	}
	f.emit(message("new", dockerevents.ActionCreate, time.Now().UnixNano()))
	if ev := nextEventOf(t, sub, "new"); ev.GetContainerEventType() != runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT {
		t.Fatalf("event after the restart: %v", ev)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	// The resync lists every container of the scheme, running or not.
	if len(f.lists) == 0 || !f.lists[0].All || !maps.Equal(f.lists[0].Filters["label"], map[string]bool{translate.LabelContainerType: true}) {
		t.Fatalf("resync listed with %+v", f.lists)
	}
	// Each resubscription asks Docker to replay since the old stream broke.
	first, last := f.since[0], f.since[len(f.since)-1]
	if first == "" || last <= first {
		t.Fatalf("resubscribed since %q after a first subscription since %q", last, first)
	}
}

func TestHubLeavesNoGoroutine(t *testing.T) {
	f := &fakeDocker{}
	h := newTestHub(t, f, echoEvent, Options{})
	before := runtime.NumGoroutine()

	sub, ready, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	f.emit(message("app", dockerevents.ActionCreate, 1))
	nextEventOf(t, sub, "app")
	h.mu.Lock()
	p := h.cur
	h.mu.Unlock()
	h.Unsubscribe(sub) // the client goes away

	<-p.done // the pump stops with its last client
	// The goroutine that closed done returns right after: a bounded while.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after the client left, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != nil {
		t.Fatal("the pump still runs without clients")
	}
}

func TestHubEndsOnClose(t *testing.T) {
	h := NewHub(&fakeDocker{}, echoEvent, Options{})
	sub := subscribe(t, h)
	h.mu.Lock()
	p := h.cur
	h.mu.Unlock()
	h.Close()
	<-sub.Done()
	if err := sub.Err(); !cerrdefs.IsUnavailable(err) {
		t.Fatalf("client's error on Close = %v, want Unavailable", err)
	}
	select {
	case <-p.done:
	default:
		t.Fatal("Close returned before the pump stopped")
	}
	if _, _, err := h.Subscribe(); !cerrdefs.IsUnavailable(err) {
		t.Fatalf("Subscribe after Close = %v, want Unavailable", err)
	}
}
