// Package events owns the container event hub behind GetContainerEvents:
// one subscription to Docker's event stream (the pump, pump.go) serves
// every client of the hub (hub.go), modelled on containerd's CRI event
// monitor, with the response to each event built by an injected Handler.
// It owns the clients' bounded buffers, dropping a client that falls behind
// (ResourceExhausted), resubscribing to Docker with backoff, replaying what
// Docker logged since its stream broke and resyncing every container of the
// scheme afterwards.
//
// It talks to Docker only through its own narrow Docker interface and
// builds no CRI status itself: the Handler does (package shim, which
// imports this one). It may import the Docker API types and the client's
// option and result types (its Docker is injected: it dials nothing),
// cri-api, dockercri/translate (the labels of the scheme), errdefs and klog;
// it must never import package shim. Its errors carry a containerd errdefs
// class (Unavailable, ResourceExhausted), which shim's boundary maps to the
// gRPC code.
package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container events: one subscription to Docker's event stream (the pump)
// serves every client. It starts with the first client and stops with the
// last, so a dockercri nobody subscribes to never asks Docker for events.
// Each client has a bounded buffer: a client that falls behind is dropped
// with ResourceExhausted (the kubelet then relists and subscribes again)
// rather than slowing Docker's stream or the other clients. When Docker's
// stream breaks (a Docker restart), the pump subscribes again with backoff
// and keeps its clients: the kubelet gives up on evented PLEG for good
// after a few broken streams, so a Docker restart must not cost it one.
// Instead the pump asks Docker to replay what it logged since the old
// stream broke, and resyncs, sending each container's current state, which
// stands in for what a restarted Docker no longer remembers (containers
// that died with it).

const (
	// subscriberBuffer is how many events a client may be behind: the
	// kubelet reads into a channel of 1000 and never blocks on it.
	subscriberBuffer = 1024
	// SubscribeWait bounds how long a new client waits for the pump's
	// first Docker subscription (Subscribe's ready) before its stream is
	// declared open.
	SubscribeWait = 5 * time.Second
	// backoffMin and backoffMax space out resubscriptions while Docker is
	// down.
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// Docker is the slice of the Docker Engine API the hub uses, a subset of
// shim's Docker (and of *client.Client).
type Docker interface {
	// Events streams Docker's events; an error on the result's Err channel
	// ends the stream, as when Docker restarts.
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
	// ContainerList lists the containers of the scheme for a resync.
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
}

// Handler builds the response for one Docker event of a reported action
// (typ), or returns nil when the event is not reported. ctx bounds the
// Docker calls behind the one event. Handlers run concurrently (a few
// events at once); the hub sends their responses in Docker's order.
type Handler func(ctx context.Context, m dockerevents.Message, typ runtimeapi.ContainerEventType) *runtimeapi.ContainerEventResponse

// Options tune a Hub; a zero field takes the default.
type Options struct {
	// BufferSize is how many events a client may be behind before it is
	// dropped (1024).
	BufferSize int
	// BackoffMin and BackoffMax space out resubscriptions while Docker is
	// down (100ms doubling up to 5s).
	BackoffMin time.Duration
	BackoffMax time.Duration
}

// Hub fans the pump's events out to the clients.
type Hub struct {
	docker     Docker
	handle     Handler
	bufSize    int
	backoffMin time.Duration
	backoffMax time.Duration

	mu     sync.Mutex
	closed bool
	cur    *pump // nil while nobody subscribes
}

// Subscription is one client of the hub.
type Subscription struct {
	ch   chan *runtimeapi.ContainerEventResponse
	gone chan struct{} // closed when the hub drops the client
	err  error         // why it was dropped; written before gone is closed
}

// Events delivers the client's events in Docker's order.
func (sub *Subscription) Events() <-chan *runtimeapi.ContainerEventResponse { return sub.ch }

// Done is closed when the hub drops the client; Err then says why.
func (sub *Subscription) Done() <-chan struct{} { return sub.gone }

// Err is why the hub dropped the client (ResourceExhausted when it fell
// behind, Unavailable when the hub closed); nil until Done is closed.
func (sub *Subscription) Err() error {
	select {
	case <-sub.gone:
		return sub.err
	default:
		return nil
	}
}

// NewHub builds a hub that subscribes to docker's events while it has
// clients and turns each event into a response with handle. It starts
// nothing: the first Subscribe does.
func NewHub(docker Docker, handle Handler, opts Options) *Hub {
	h := &Hub{docker: docker, handle: handle, bufSize: opts.BufferSize, backoffMin: opts.BackoffMin, backoffMax: opts.BackoffMax}
	if h.bufSize <= 0 {
		h.bufSize = subscriberBuffer
	}
	if h.backoffMin <= 0 {
		h.backoffMin = backoffMin
	}
	if h.backoffMax <= 0 {
		h.backoffMax = backoffMax
	}
	return h
}

// Subscribe adds a client, starting the pump if it is the first. ready is
// closed once the pump's first Docker subscription has been answered. After
// Close it fails with Unavailable.
func (h *Hub) Subscribe() (*Subscription, <-chan struct{}, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, fmt.Errorf("container events: dockercri is stopping: %w", cerrdefs.ErrUnavailable)
	}
	sub := &Subscription{ch: make(chan *runtimeapi.ContainerEventResponse, h.bufSize), gone: make(chan struct{})}
	if h.cur == nil {
		h.cur = h.startPump()
	}
	h.cur.subs[sub] = struct{}{}
	return sub, h.cur.ready, nil
}

// Unsubscribe removes a client that left; the last one stops the pump.
func (h *Hub) Unsubscribe(sub *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.cur; p != nil {
		if _, ok := p.subs[sub]; ok {
			h.removeLocked(p, sub)
		}
	}
}

// dropLocked ends a client's stream with err. h.mu is held.
func (h *Hub) dropLocked(p *pump, sub *Subscription, err error) {
	sub.err = err
	close(sub.gone)
	h.removeLocked(p, sub)
}

func (h *Hub) removeLocked(p *pump, sub *Subscription) {
	delete(p.subs, sub)
	if len(p.subs) == 0 {
		p.cancel()
		if h.cur == p {
			h.cur = nil
		}
	}
}

// fanout hands ev to every client of p without ever waiting for one.
func (h *Hub) fanout(p *pump, ev *runtimeapi.ContainerEventResponse) {
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

// Close ends every client's stream with Unavailable, refuses new ones and
// stops the pump, waiting for it: after Close no event goroutine is left.
func (h *Hub) Close() {
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
