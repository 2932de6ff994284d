package listcache

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"
)

const (
	// defaultMaxAge bounds how long a change no container event reports
	// (doc.go) goes unseen.
	defaultMaxAge = 10 * time.Second
	// fetchTimeout bounds the cache's own Docker list: it outlives the
	// caller that started it (others wait on it too), so it cannot have
	// that caller's deadline.
	fetchTimeout = 30 * time.Second
	// backoffMin and backoffMax space out resubscriptions while Docker is
	// down.
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
)

// Docker is what the cache needs of Docker: the list it serves and the
// events that make it stale. *client.Client and shim's Docker satisfy it.
type Docker interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	// Events streams Docker's events; an error on the result's Err
	// channel ends the stream, as when Docker restarts.
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// Options configure a Cache; a zero field takes its default.
type Options struct {
	// Label is the label every container of ours has, such as
	// "io.kubernetes.docker.type": the cache holds exactly the containers
	// having it, and follows only their events. Required.
	Label string
	// MaxAge is how old a list may be before it is fetched again even
	// without events (10s).
	MaxAge time.Duration
	// BackoffMin and BackoffMax space out resubscriptions to Docker's
	// events after the stream broke (100ms doubling up to 5s).
	BackoffMin time.Duration
	BackoffMax time.Duration
	// Now is the clock, for tests (time.Now).
	Now func() time.Time
}

// Cache answers ContainerList calls from a list kept current by Docker's
// events (see the package doc). Its methods are safe for concurrent use.
type Cache struct {
	docker     Docker
	label      string
	maxAge     time.Duration
	backoffMin time.Duration
	backoffMax time.Duration
	now        func() time.Time
	// wait sleeps d unless ctx ends first (false); tests replace it.
	wait func(ctx context.Context, d time.Duration) bool

	mu sync.Mutex
	// gen counts what can make a list stale: events, Invalidate, the
	// stream breaking or opening.
	gen uint64
	// open is true while an event subscription is open: only then is
	// anything served from memory.
	open bool
	// last is the newest list fetched without error; it is served while
	// last.gen == gen, open and it is younger than maxAge.
	last *snapshot
	// inflight is the newest of the cache's Docker lists under way.
	inflight *fetch
	// expect is, by container id, what the events received since last
	// say a list must show (expect.go).
	expect map[string]expectation
	// seen is, by container id, what the latest event received says of it,
	// kept for MaxAge whatever lists are stored (Agrees).
	seen map[string]expectation
}

// snapshot is a list of every container of ours. items is never modified
// once stored.
type snapshot struct {
	gen     uint64    // the generation when its Docker call started
	started time.Time // when its Docker call started
	items   []container.Summary
}

// fetch is one Docker list of every container of ours; its callers wait on
// done, after which items and err are set.
type fetch struct {
	snapshot
	done chan struct{}
	err  error
}

// New returns a cache of the containers labelled o.Label, serving nothing
// from memory until Run has subscribed to Docker's events. It panics when
// o.Label is empty: the cache would hold every container.
func New(d Docker, o Options) *Cache {
	if o.Label == "" {
		panic("listcache: Options.Label is required")
	}
	c := &Cache{docker: d, label: o.Label, maxAge: o.MaxAge, backoffMin: o.BackoffMin, backoffMax: o.BackoffMax,
		now: o.Now, wait: sleep}
	if c.maxAge <= 0 {
		c.maxAge = defaultMaxAge
	}
	if c.backoffMin <= 0 {
		c.backoffMin = backoffMin
	}
	if c.backoffMax <= 0 {
		c.backoffMax = backoffMax
	}
	c.backoffMax = max(c.backoffMax, c.backoffMin)
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// List answers a ContainerList: from memory when options lie within the
// cache (filter.go) and the cache is current, otherwise from Docker, with
// options unchanged. Concurrent callers that find no current list share one
// Docker call when they ask under the same generation.
//
// The result is a new slice, which the caller may change; the Summaries'
// maps, slices and pointers (Labels, Names, Ports, ...) are shared with the
// cache and must not be modified.
func (c *Cache) List(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error) {
	q, ok := parseQuery(options, c.label)
	if !ok {
		return c.docker.ContainerList(ctx, options)
	}
	f, ok := c.current()
	if !ok {
		return c.docker.ContainerList(ctx, options)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return client.ContainerListResult{}, ctx.Err()
	}
	if f.err != nil {
		return client.ContainerListResult{}, f.err
	}
	return client.ContainerListResult{Items: q.filter(f.items)}, nil
}

// current returns the list to answer from: the stored one if it is current,
// else the Docker call under way for this generation, else a new one. It
// returns false while no event subscription is open.
func (c *Cache) current() (*fetch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return nil, false
	}
	now := c.now()
	if s := c.last; s != nil && s.gen == c.gen && now.Sub(s.started) < c.maxAge {
		return &fetch{snapshot: *s, done: closedChan}, true
	}
	// A call started under an older generation may miss what was received
	// since: joining it would serve a list older than the last event.
	if f := c.inflight; f != nil && f.gen == c.gen {
		return f, true
	}
	f := &fetch{snapshot: snapshot{gen: c.gen, started: now}, done: make(chan struct{})}
	c.inflight = f
	go c.fetch(f)
	return f, true
}

// closedChan is the done of a list that is already there.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// fetch lists every container of ours into f and stores it if nothing made
// it stale meanwhile.
func (c *Cache) fetch(f *fetch) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	res, err := c.docker.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", c.label)})

	c.mu.Lock()
	f.items, f.err = res.Items, err
	// A later generation can never come back: a list of an older one is of
	// no use to anyone but its waiters.
	if err == nil && f.gen == c.gen {
		if c.agreesLocked(f.items, c.now()) {
			c.last, c.expect = &f.snapshot, nil
		} else {
			klog.V(4).InfoS("Docker's container list is behind its events; not keeping it")
		}
	}
	if c.inflight == f {
		c.inflight = nil
	}
	c.mu.Unlock()
	close(f.done)
}

// Invalidate makes the lists fetched so far stale: the next List asks
// Docker. The shim calls it after each of its own mutations (create,
// start, stop, remove, update), failed ones included, so that its next list
// shows them without waiting for their events.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
}

// eventReceived makes the lists fetched so far stale and records what the
// event says of its container, if anything (expect.go).
func (c *Cache) eventReceived(id string, holds func(*container.Summary) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if holds == nil || id == "" {
		return
	}
	if c.expect == nil {
		c.expect = map[string]expectation{}
	}
	c.expect[id] = expectation{received: c.now(), holds: holds}
	if c.seen == nil {
		c.seen = map[string]expectation{}
	}
	c.seen[id] = c.expect[id]
}

// setOpen records that the event stream opened (true) or broke (false).
// Either makes the lists fetched so far stale: those of a broken stream
// may miss what it lost, those of a closed one were not followed. What the
// events said lapses too: changes the stream missed may have overtaken it,
// and a new stream replays the events it still needs.
func (c *Cache) setOpen(open bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.open = open
	c.expect = nil
	c.seen = nil
}

// Token is the cache's state when a read of Docker began (an inspect, say):
// what the read returned may be reused while Current(token) holds, i.e.
// while nothing that could change it was received since, as for lists.
type Token struct {
	gen  uint64
	open bool
}

// Begin returns the token of a read of Docker starting now.
func (c *Cache) Begin() Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Token{gen: c.gen, open: c.open}
}

// Current reports whether a read begun at t is as new as the last event
// received: the stream was open then and is still, and nothing was
// received or invalidated since.
func (c *Cache) Current(t Token) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.open && c.open && c.gen == t.gen
}

// Agrees reports whether a container seen in state (Docker's State:
// "running", "exited", ...; "" when it is gone) agrees with what the latest
// event received of it says, for a read to be kept: the read may be behind
// an event Docker logged before saving the state (expect.go).
func (c *Cache) Agrees(id string, state container.ContainerState) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.seen[id]
	if !ok {
		return true
	}
	if c.now().Sub(e.received) >= c.maxAge {
		delete(c.seen, id)
		return true
	}
	if state == "" {
		return e.holds(nil)
	}
	return e.holds(&container.Summary{ID: id, State: state})
}

// generation returns the current generation, for tests.
func (c *Cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// isOpen reports whether the event stream is open, for tests.
func (c *Cache) isOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
