package events

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"dockercri/translate"
)

const (
	// builders is how many events are turned into responses at once: each
	// needs a few inspects, and one slow inspect must not hold up the
	// events behind it for longer than its deadline.
	builders = 8
	// queueLen is how many events may be read ahead of the one being sent.
	queueLen = 256
	// buildTimeout bounds the Docker calls behind one event.
	buildTimeout = 10 * time.Second
)

// pump is one subscription to Docker's events and the goroutines that
// serve it: a reader, builders (at most builders, one per event) and a
// sender that hands the built responses out in Docker's order.
type pump struct {
	cancel context.CancelFunc
	ready  chan struct{} // closed when the first Docker subscription answered
	done   chan struct{} // closed when every goroutine of the pump has returned
	subs   map[*Subscription]struct{}
}

// pendingEvent is an event being built; resp is set before done is closed
// (nil when the event is not reported).
type pendingEvent struct {
	done chan struct{}
	resp *runtimeapi.ContainerEventResponse
}

// dockerEventTypes maps the Docker actions that are reported.
var dockerEventTypes = map[dockerevents.Action]runtimeapi.ContainerEventType{
	dockerevents.ActionCreate:  runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT,
	dockerevents.ActionStart:   runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT,
	dockerevents.ActionDie:     runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT,
	dockerevents.ActionDestroy: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT,
}

// dockerEventFilters asks Docker for the reported actions of the containers
// of our scheme: app containers, and pause containers, whose events carry
// the sandbox's id as containerd's do (the kubelet forgets a pod when the
// sandbox's CONTAINER_DELETED_EVENT arrives).
func dockerEventFilters() client.Filters {
	f := make(client.Filters).Add("type", string(dockerevents.ContainerEventType)).
		Add("label", translate.LabelContainerType)
	for a := range dockerEventTypes {
		f.Add("event", string(a))
	}
	return f
}

func (h *Hub) startPump() *pump {
	// The pump outlives the call that started it (it is shared by every
	// subscriber): its own context, cancelled when the last subscriber
	// leaves.
	ctx, cancel := context.WithCancel(context.Background())
	p := &pump{cancel: cancel, ready: make(chan struct{}), done: make(chan struct{}), subs: map[*Subscription]struct{}{}}
	queue := make(chan *pendingEvent, queueLen)
	var building sync.WaitGroup
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); h.read(ctx, p, queue, &building) }()
	go func() { defer wg.Done(); h.send(ctx, p, queue) }()
	go func() {
		wg.Wait()
		building.Wait()
		close(p.done)
	}()
	klog.InfoS("Subscribing to Docker's container events")
	return p
}

// read follows Docker's event stream until ctx ends, subscribing again with
// backoff when the stream breaks, and resyncing after each resubscription.
func (h *Hub) read(ctx context.Context, p *pump, queue chan<- *pendingEvent, building *sync.WaitGroup) {
	defer close(queue)
	sem := make(chan struct{}, builders)
	enqueue := func(m dockerevents.Message) {
		typ, ok := dockerEventTypes[m.Action]
		if !ok {
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		pe := &pendingEvent{done: make(chan struct{})}
		building.Add(1)
		go func() {
			defer building.Done()
			defer func() { <-sem }()
			defer close(pe.done)
			bctx, cancel := context.WithTimeout(ctx, buildTimeout)
			defer cancel()
			pe.resp = h.handle(bctx, m, typ)
		}()
		select {
		case queue <- pe:
		case <-ctx.Done():
		}
	}

	backoff := h.backoffMin
	first := true
	// since is when the last working subscription ended (or the pump
	// began): Docker replays what it logged from then on, so events of the
	// time between two subscriptions arrive, in order, as long as Docker
	// kept them (a restarted Docker keeps those since its start).
	since := time.Now()
	for ctx.Err() == nil {
		subCtx, cancel := context.WithCancel(ctx)
		stream := h.docker.Events(subCtx, client.EventsListOptions{Filters: dockerEventFilters(), Since: dockerSince(since)})
		msgs, errs := stream.Messages, stream.Err
		if first {
			close(p.ready)
		}
		// Events returns once Docker answered: a refusal is already here.
		var err error
		select {
		case e, ok := <-errs:
			if !ok || e == nil {
				e = io.EOF
			}
			err = fmt.Errorf("docker events: %w", e)
		default:
			if !first {
				h.resync(ctx, enqueue)
			}
			err = h.follow(ctx, msgs, errs, enqueue, &backoff)
			since = time.Now()
		}
		first = false
		cancel()
		if ctx.Err() != nil {
			return
		}
		// The first failure is news; retries while Docker stays down are not.
		if backoff == h.backoffMin {
			klog.InfoS("Docker's event stream broke; subscribing again", "err", err, "after", backoff)
		} else {
			klog.V(2).InfoS("Subscribing to Docker's events failed; retrying", "err", err, "after", backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, h.backoffMax)
	}
}

// follow reads one Docker subscription until it breaks. An event resets the
// backoff: the subscription worked.
func (h *Hub) follow(ctx context.Context, msgs <-chan dockerevents.Message, errs <-chan error,
	enqueue func(dockerevents.Message), backoff *time.Duration) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-msgs:
			*backoff = h.backoffMin
			klog.V(5).InfoS("Docker event", "action", m.Action, "container", m.Actor.ID, "timeNano", m.TimeNano)
			enqueue(m)
		case err, ok := <-errs:
			if !ok || err == nil {
				err = io.EOF
			}
			return fmt.Errorf("docker events: %w", err)
		}
	}
}

// resync reports every container of the scheme in its current state after
// Docker's stream was broken: what happened meanwhile is not replayed by a
// restarted Docker, and the kubelet must learn, say, that containers died.
func (h *Hub) resync(ctx context.Context, enqueue func(dockerevents.Message)) {
	lctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	// Every container of the scheme, running or not: app and pause
	// containers alike.
	list, err := h.docker.ContainerList(lctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", translate.LabelContainerType)})
	if err != nil {
		klog.InfoS("Resyncing container events after Docker's stream broke failed", "err", err)
		return
	}
	now := time.Now().UnixNano()
	for _, c := range list.Items {
		action := dockerevents.ActionDie
		switch c.State {
		case container.StateRunning, container.StatePaused, container.StateRestarting:
			action = dockerevents.ActionStart
		case container.StateCreated:
			action = dockerevents.ActionCreate
		}
		attrs := map[string]string{}
		for k, v := range c.Labels {
			attrs[k] = v
		}
		if len(c.Names) > 0 {
			attrs["name"] = c.Names[0]
		}
		enqueue(dockerevents.Message{Type: dockerevents.ContainerEventType, Action: action, TimeNano: now,
			Actor: dockerevents.Actor{ID: c.ID, Attributes: attrs}})
	}
	klog.V(2).InfoS("Resynced container events", "containers", len(list.Items))
}

// send hands built events to the clients in the order Docker sent them.
func (h *Hub) send(ctx context.Context, p *pump, queue <-chan *pendingEvent) {
	for pe := range queue {
		select {
		case <-pe.done:
		case <-ctx.Done():
			return
		}
		if pe.resp != nil {
			h.fanout(p, pe.resp)
		}
	}
}

// dockerSince formats t as the events API's since parameter.
func dockerSince(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
