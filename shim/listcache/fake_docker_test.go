package listcache

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// testTimeout bounds every wait of a test on the code under test.
const testTimeout = 5 * time.Second

// fakeDocker is a stateful Docker: containers it lists with the daemon's
// filter semantics (written apart from filter.go, so that the two can be
// compared), a gate to hold list calls in flight, and event subscriptions
// the test feeds.
type fakeDocker struct {
	mu sync.Mutex
	// containers is what Docker has, newest first as Docker lists them.
	containers []container.Summary
	// lists records the options of each ContainerList call.
	lists []client.ContainerListOptions
	// listErr, when set, fails ContainerList.
	listErr error
	// gate, when set, holds each ContainerList after it took its snapshot
	// until gate is closed (or the call's context ends).
	gate chan struct{}
	// listStarted receives the options of each ContainerList once its
	// snapshot is taken.
	listStarted chan client.ContainerListOptions

	// events records the options of each Events call.
	events []client.EventsListOptions
	// refuse is how many of the next Events calls Docker refuses.
	refuse    int
	refuseErr error
	// subs receives each subscription Docker accepted.
	subs chan *fakeSub
}

var _ Docker = (*fakeDocker)(nil)

func newFakeDocker(containers ...container.Summary) *fakeDocker {
	return &fakeDocker{containers: containers, listStarted: make(chan client.ContainerListOptions, 1024),
		subs: make(chan *fakeSub, 64)}
}

// fakeSub is one subscription: like the client's, its Messages channel is
// unbuffered and never closed, and its Err channel holds one error.
type fakeSub struct {
	opts client.EventsListOptions
	msgs chan dockerevents.Message
	errs chan error
}

func (f *fakeDocker) ContainerList(ctx context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	f.lists = append(f.lists, o)
	items, err := dockerList(f.containers, o), f.listErr
	gate := f.gate
	f.mu.Unlock()
	f.listStarted <- o
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return client.ContainerListResult{}, ctx.Err()
		}
	}
	if err != nil {
		return client.ContainerListResult{}, err
	}
	return client.ContainerListResult{Items: items}, nil
}

// Events answers like the client: once Docker answered, with a refusal
// already on Err.
func (f *fakeDocker) Events(_ context.Context, o client.EventsListOptions) client.EventsResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, o)
	sub := &fakeSub{opts: o, msgs: make(chan dockerevents.Message), errs: make(chan error, 1)}
	if f.refuse > 0 {
		f.refuse--
		sub.errs <- f.refuseErr
		close(sub.errs)
	} else {
		f.subs <- sub
	}
	return client.EventsResult{Messages: sub.msgs, Err: sub.errs}
}

// dockerList lists as moby's daemon/list.go does, for the terms the tests
// use: a status term implies All; "running" without All is the Running
// flag; id values are unique prefixes among all containers; label values
// are ANDed, the others ORed.
func dockerList(all []container.Summary, o client.ContainerListOptions) []container.Summary {
	out := []container.Summary{}
	showAll := o.All || len(o.Filters["status"]) > 0
	for _, c := range all {
		switch {
		case !showAll && c.State != container.StateRunning && c.State != container.StatePaused && c.State != container.StateRestarting:
		case len(o.Filters["id"]) > 0 && !matchIDPrefix(all, o.Filters["id"], c.ID):
		case !matchLabels(o.Filters["label"], c.Labels):
		case len(o.Filters["status"]) > 0 && !o.Filters["status"][string(c.State)]:
		default:
			out = append(out, c)
		}
	}
	return out
}

func matchIDPrefix(all []container.Summary, prefixes map[string]bool, id string) bool {
	for p := range prefixes {
		n := 0
		for _, c := range all {
			if strings.HasPrefix(c.ID, p) {
				n++
			}
		}
		if n == 1 && strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

func matchLabels(values map[string]bool, labels map[string]string) bool {
	for v := range values {
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

func (f *fakeDocker) setContainers(cs ...container.Summary) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers = cs
}

func (f *fakeDocker) listCalls() []client.ContainerListOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]client.ContainerListOptions(nil), f.lists...)
}

func (f *fakeDocker) eventCalls() []client.EventsListOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]client.EventsListOptions(nil), f.events...)
}

// holdLists makes the next list calls wait until the returned func is
// called.
func (f *fakeDocker) holdLists() (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.gate = nil
		f.mu.Unlock()
		close(gate)
	}
}

// nextSub returns the next subscription Docker accepted.
func (f *fakeDocker) nextSub(t *testing.T) *fakeSub {
	t.Helper()
	select {
	case sub := <-f.subs:
		return sub
	case <-time.After(testTimeout):
		t.Fatal("no subscription to Docker's events")
		return nil
	}
}

// nextList waits for a ContainerList call to have taken its snapshot.
func (f *fakeDocker) nextList(t *testing.T) client.ContainerListOptions {
	t.Helper()
	select {
	case o := <-f.listStarted:
		return o
	case <-time.After(testTimeout):
		t.Fatal("no ContainerList call")
		return client.ContainerListOptions{}
	}
}

// send hands m to the cache's reader; it returns once the reader took it.
func (s *fakeSub) send(t *testing.T, m dockerevents.Message) {
	t.Helper()
	select {
	case s.msgs <- m:
	case <-time.After(testTimeout):
		t.Fatal("nobody reads the event stream")
	}
}

// fail breaks the stream, as a stopping Docker does.
func (s *fakeSub) fail(err error) { s.errs <- err }

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 123_456_789)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
