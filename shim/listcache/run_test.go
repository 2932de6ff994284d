package listcache

import (
	"context"
	"errors"
	"io"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// heldWaits makes c's backoff waits wait for the test: each is reported on
// the returned channel, and ends when proceed is closed.
func heldWaits(c *Cache, proceed <-chan struct{}) <-chan time.Duration {
	waits := make(chan time.Duration, 64)
	c.wait = func(ctx context.Context, d time.Duration) bool {
		waits <- d
		select {
		case <-proceed:
			return true
		case <-ctx.Done():
			return false
		}
	}
	return waits
}

func TestStreamBreakStopsServing(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c := New(f, Options{Label: typeLabel})
	proceed := make(chan struct{})
	waits := heldWaits(c, proceed)
	runCache(t, c)
	sub := f.nextSub(t)
	waitFor(t, "the event stream to open", c.isOpen)
	mustList(t, c, ours())

	sub.fail(errors.New("docker is restarting"))
	waitFor(t, "the cache to see the break", func() bool { return !c.isOpen() })
	// While Docker's events are not followed, every list is Docker's own.
	running := client.ContainerListOptions{Filters: make(client.Filters).Add("label", typeLabel).Add("status", "running")}
	mustList(t, c, running)
	mustList(t, c, running)
	if got := f.listCalls(); len(got) != 3 || !reflect.DeepEqual(got[1:], []client.ContainerListOptions{running, running}) {
		t.Errorf("Docker lists = %+v, want the cache's then twice %+v", got, running)
	}
	if d := <-waits; d != backoffMin {
		t.Errorf("first resubscription after %v, want %v", d, backoffMin)
	}

	close(proceed)
	f.nextSub(t)
	waitFor(t, "the event stream to open again", c.isOpen)
	mustList(t, c, ours())
	mustList(t, c, ours())
	if got := f.listCalls(); len(got) != 4 || !reflect.DeepEqual(got[3], ours()) {
		t.Errorf("Docker lists = %+v, want one more of the cache's after resubscribing", got)
	}
}

// A list that started before the stream broke may miss what the broken
// stream lost: it is not served once the stream is back.
func TestListAcrossBreakIsNotServed(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, sub := startCache(t, f, Options{BackoffMin: time.Millisecond})

	release := f.holdLists()
	first := listAsync(c, ours())
	f.nextList(t)
	g := c.generation()
	sub.fail(io.ErrUnexpectedEOF)
	f.nextSub(t)
	waitFor(t, "the event stream to open again", func() bool { return c.isOpen() && c.generation() >= g+2 })
	release()

	if got := len(<-first); got != 6 {
		t.Errorf("the list in flight has %d containers, want 6", got)
	}
	mustList(t, c, ours())
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2: the list from before the break is stale", n)
	}
}

func TestResubscribeBackoffAndSince(t *testing.T) {
	clock := newFakeClock()
	start := clock.Now()
	f := newFakeDocker(testContainers()...)
	f.refuse, f.refuseErr = 8, errors.New("connection refused")
	c := New(f, Options{Label: typeLabel, Now: clock.Now})
	var mu sync.Mutex
	var waits []time.Duration
	c.wait = func(_ context.Context, d time.Duration) bool {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		clock.Add(d)
		return true
	}
	lastWait := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return waits[len(waits)-1]
	}
	runCache(t, c)
	sub := f.nextSub(t)
	waitFor(t, "the event stream to open", c.isOpen)

	wantWaits := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}
	mu.Lock()
	if !reflect.DeepEqual(waits, wantWaits) {
		t.Errorf("waits while Docker refuses = %v, want %v", waits, wantWaits)
	}
	mu.Unlock()
	wantFilters := make(client.Filters).Add("type", "container").Add("label", typeLabel)
	calls := f.eventCalls()
	for i, o := range calls {
		// Nothing was received yet: replay from before Run began.
		want := client.EventsListOptions{Since: dockerSince(start.Add(-time.Second)), Filters: wantFilters}
		if !reflect.DeepEqual(o, want) {
			t.Errorf("Events call %d = %+v, want %+v", i, o, want)
		}
	}

	// Replay from the last event received; a subscription open that long
	// worked, so the backoff starts over.
	clock.Add(2 * time.Second)
	received := clock.Now()
	sendEvent(t, c, sub, dockerevents.ActionStart, cid(1))
	clock.Add(6 * time.Second)
	sub.fail(io.EOF)
	sub = f.nextSub(t)
	if got, want := sub.opts.Since, dockerSince(received.Add(-time.Second)); got != want {
		t.Errorf("Since after an event = %s, want %s", got, want)
	}
	if d := lastWait(); d != backoffMin {
		t.Errorf("wait after a long-lived stream broke = %v, want %v", d, backoffMin)
	}

	// Without events, replay from the start of the subscription; a stream
	// that broke at once doubles the backoff.
	opened := clock.Now()
	waitFor(t, "the event stream to open again", c.isOpen)
	sub.fail(io.EOF)
	sub = f.nextSub(t)
	if got, want := sub.opts.Since, dockerSince(opened.Add(-time.Second)); got != want {
		t.Errorf("Since after a stream without events = %s, want %s", got, want)
	}
	if d := lastWait(); d != 2*backoffMin {
		t.Errorf("wait after a stream broke at once = %v, want %v", d, 2*backoffMin)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFakeDocker(testContainers()...)
	c := New(f, Options{Label: typeLabel})
	stop := runCache(t, c)
	f.nextSub(t)
	waitFor(t, "the event stream to open", c.isOpen)
	mustList(t, c, ours())

	stop()
	if c.isOpen() {
		t.Error("the cache still serves from memory after Run returned")
	}
	mustList(t, c, ours())
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2: after Run returned, lists go to Docker", n)
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestRunStopsWhileWaiting(t *testing.T) {
	f := newFakeDocker()
	f.refuse, f.refuseErr = 1, errors.New("connection refused")
	c := New(f, Options{Label: typeLabel, BackoffMin: time.Hour})
	stop := runCache(t, c)
	waitFor(t, "the refused subscription", func() bool { return len(f.eventCalls()) == 1 })
	stop()
}

func TestDockerSince(t *testing.T) {
	tests := []struct {
		give time.Time
		want string
	}{
		{give: time.Unix(1_700_000_000, 0), want: "1700000000.000000000"},
		{give: time.Unix(1_700_000_000, 5), want: "1700000000.000000005"},
		{give: time.Unix(1_700_000_000, 999_999_999), want: "1700000000.999999999"},
	}
	for _, tt := range tests {
		if got := dockerSince(tt.give); got != tt.want {
			t.Errorf("dockerSince(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
