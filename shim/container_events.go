package shim

import (
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container events: one subscription to Docker's event stream (the pump)
// serves every GetContainerEvents client. It starts with the first client
// and stops with the last, so a dockercri nobody subscribes to never asks
// Docker for events. Each client has a bounded buffer: a client that falls
// behind is dropped with ResourceExhausted (the kubelet then relists and
// subscribes again) rather than slowing Docker's stream or the other
// clients. When Docker's stream breaks (a Docker restart), the pump
// subscribes again with backoff and keeps its clients: the kubelet gives
// up on evented PLEG for good after a few broken streams, so a Docker
// restart must not cost it one. Instead the pump asks Docker to replay what
// it logged since the old stream broke, and resyncs, sending each
// container's current state, which stands in for what a restarted Docker
// no longer remembers (containers that died with it). The pump lives in
// container_events_pump.go, the responses are built in
// container_events_status.go.

const (
	// eventSubscriberBuffer is how many events a client may be behind: the
	// kubelet reads into a channel of 1000 and never blocks on it.
	eventSubscriberBuffer = 1024
	// eventSubscribeWait bounds how long a new client waits for the pump's
	// first Docker subscription before its stream is declared open.
	eventSubscribeWait = 5 * time.Second
	// eventBackoffMin and eventBackoffMax space out resubscriptions while
	// Docker is down.
	eventBackoffMin = 100 * time.Millisecond
	eventBackoffMax = 5 * time.Second
)

// eventHub fans the pump's events out to the clients.
type eventHub struct {
	s          *Service
	bufSize    int
	backoffMin time.Duration
	backoffMax time.Duration

	mu     sync.Mutex
	closed bool
	cur    *eventPump // nil while nobody subscribes
}

// eventSub is one GetContainerEvents client.
type eventSub struct {
	ch   chan *runtimeapi.ContainerEventResponse
	gone chan struct{} // closed when the hub drops the client
	err  error         // why it was dropped; written before gone is closed
}

func newEventHub(s *Service) *eventHub {
	return &eventHub{s: s, bufSize: eventSubscriberBuffer, backoffMin: eventBackoffMin, backoffMax: eventBackoffMax}
}

// GetContainerEvents streams container created, started, stopped and
// deleted events, each with the pod's status and its containers' statuses,
// until the client leaves, falls too far behind or dockercri stops.
func (s *Service) GetContainerEvents(_ *runtimeapi.GetEventsRequest, stream runtimeapi.RuntimeService_GetContainerEventsServer) error {
	ctx := stream.Context()
	sub, ready, err := s.events.subscribe()
	if err != nil {
		return err
	}
	defer s.events.unsubscribe(sub)
	klog.InfoS("Container events client subscribed")
	defer klog.InfoS("Container events client left")

	// Headers go out once Docker's stream is open (or has failed and is
	// being retried), so a client that waits for them sees every event of
	// what it does next.
	wait := time.NewTimer(eventSubscribeWait)
	select {
	case <-ready:
	case <-wait.C:
	case <-ctx.Done():
	}
	wait.Stop()
	if err := stream.SendHeader(nil); err != nil {
		return fmt.Errorf("container events: send header: %w", err)
	}
	for {
		select {
		case ev := <-sub.ch:
			if err := stream.Send(ev); err != nil {
				return fmt.Errorf("container events: send: %w", err)
			}
		case <-sub.gone:
			return sub.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// subscribe adds a client, starting the pump if it is the first. ready is
// closed once the pump's first Docker subscription has been answered.
func (h *eventHub) subscribe() (*eventSub, <-chan struct{}, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, fmt.Errorf("container events: dockercri is stopping: %w", cerrdefs.ErrUnavailable)
	}
	sub := &eventSub{ch: make(chan *runtimeapi.ContainerEventResponse, h.bufSize), gone: make(chan struct{})}
	if h.cur == nil {
		h.cur = h.startPump()
	}
	h.cur.subs[sub] = struct{}{}
	return sub, h.cur.ready, nil
}

// unsubscribe removes a client that left; the last one stops the pump.
func (h *eventHub) unsubscribe(sub *eventSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.cur; p != nil {
		if _, ok := p.subs[sub]; ok {
			h.removeLocked(p, sub)
		}
	}
}

// dropLocked ends a client's stream with err. h.mu is held.
func (h *eventHub) dropLocked(p *eventPump, sub *eventSub, err error) {
	sub.err = err
	close(sub.gone)
	h.removeLocked(p, sub)
}

func (h *eventHub) removeLocked(p *eventPump, sub *eventSub) {
	delete(p.subs, sub)
	if len(p.subs) == 0 {
		p.cancel()
		if h.cur == p {
			h.cur = nil
		}
	}
}

// fanout hands ev to every client of p without ever waiting for one.
func (h *eventHub) fanout(p *eventPump, ev *runtimeapi.ContainerEventResponse) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range p.subs {
		select {
		case sub.ch <- ev:
		default:
			klog.InfoS("Dropping a container events client that fell behind", "buffered", cap(sub.ch))
			h.dropLocked(p, sub, errFellBehind(cap(sub.ch)))
		}
	}
}

// errFellBehind is why a client whose buffer of n events was full is dropped.
func errFellBehind(n int) error {
	return fmt.Errorf("container events: client fell %d events behind and missed events; relist and subscribe again: %w",
		n, cerrdefs.ErrResourceExhausted)
}

// close ends every client's stream with Unavailable and stops the pump,
// waiting for it: after close no event goroutine is left.
func (h *eventHub) close() {
	h.mu.Lock()
	h.closed = true
	p := h.cur
	if p != nil {
		for sub := range p.subs {
			h.dropLocked(p, sub, fmt.Errorf("container events: dockercri is stopping: %w", cerrdefs.ErrUnavailable))
		}
	}
	h.mu.Unlock()
	if p != nil {
		<-p.done
	}
}

// EndEventStreams ends every GetContainerEvents stream (Unavailable) and
// refuses new ones. Call it before a graceful gRPC stop, which would
// otherwise wait for streams that never end on their own.
func (s *Service) EndEventStreams() { s.events.close() }
