package listcache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

const (
	typeLabel    = "io.kubernetes.docker.type"
	sandboxLabel = "io.kubernetes.sandbox.id"
)

// cid is a whole Docker id.
func cid(n int) string { return fmt.Sprintf("%02x%062x", n, n) }

func summary(n int, state container.ContainerState, labels ...string) container.Summary {
	s := container.Summary{ID: cid(n), Names: []string{fmt.Sprintf("/c%d", n)}, State: state, Labels: map[string]string{}}
	for i := 0; i+1 < len(labels); i += 2 {
		s.Labels[labels[i]] = labels[i+1]
	}
	return s
}

// testContainers are two pods of ours, with their containers, and a
// stranger's container, newest first.
func testContainers() []container.Summary {
	return []container.Summary{
		summary(7, container.StateRunning, "com.example", "x"),
		summary(6, container.StatePaused, typeLabel, "container", sandboxLabel, cid(2)),
		summary(5, container.StateExited, typeLabel, "container", sandboxLabel, cid(2), "odd", "a=b"),
		summary(4, container.StateRunning, typeLabel, "container", sandboxLabel, cid(1)),
		summary(3, container.StateCreated, typeLabel, "container", sandboxLabel, cid(1)),
		summary(2, container.StateExited, typeLabel, "podsandbox"),
		summary(1, container.StateRunning, typeLabel, "podsandbox"),
	}
}

// ours is the list the cache keeps, and the kubelet's relist.
func ours() client.ContainerListOptions {
	return client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", typeLabel)}
}

// startCache runs a cache of the containers labelled typeLabel until the
// test ends and returns it with its open subscription.
func startCache(t *testing.T, f *fakeDocker, o Options) (*Cache, *fakeSub) {
	t.Helper()
	o.Label = typeLabel
	c := New(f, o)
	runCache(t, c)
	sub := f.nextSub(t)
	waitFor(t, "the event stream to open", c.isOpen)
	return c, sub
}

// runCache runs c until the test ends, or until stop is called; stop
// returns once Run did.
func runCache(t *testing.T, c *Cache) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(testTimeout):
			t.Error("Run did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

func mustList(t *testing.T, c *Cache, o client.ContainerListOptions) []container.Summary {
	t.Helper()
	res, err := c.List(context.Background(), o)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return res.Items
}

// listAsync lists in a goroutine of its own.
func listAsync(c *Cache, o client.ContainerListOptions) <-chan []container.Summary {
	out := make(chan []container.Summary, 1)
	go func() {
		res, err := c.List(context.Background(), o)
		if err != nil {
			res.Items = []container.Summary{{ID: "error: " + err.Error()}}
		}
		out <- res.Items
	}()
	return out
}

func idsOf(items []container.Summary) []string {
	out := []string{}
	for _, s := range items {
		out = append(out, s.ID)
	}
	return out
}

// sendEvent hands an event to the cache and waits until it counted.
func sendEvent(t *testing.T, c *Cache, sub *fakeSub, action dockerevents.Action, id string) {
	t.Helper()
	g := c.generation()
	sub.send(t, dockerevents.Message{Type: dockerevents.ContainerEventType, Action: action,
		Actor: dockerevents.Actor{ID: id, Attributes: map[string]string{typeLabel: "container"}}})
	waitFor(t, "the event to count", func() bool { return c.generation() > g })
}

func TestNew(t *testing.T) {
	c := New(newFakeDocker(), Options{Label: typeLabel})
	if c.maxAge != defaultMaxAge || c.backoffMin != backoffMin || c.backoffMax != backoffMax || c.now == nil {
		t.Errorf("New defaults: maxAge %v, backoff %v..%v, now set %v; want %v, %v..%v, true",
			c.maxAge, c.backoffMin, c.backoffMax, c.now != nil, defaultMaxAge, backoffMin, backoffMax)
	}
	defer func() {
		if recover() == nil {
			t.Error("New without a Label did not panic")
		}
	}()
	New(newFakeDocker(), Options{})
}

func TestListServesFromMemoryWhileOpen(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})

	for i := range 3 {
		got := idsOf(mustList(t, c, ours()))
		if want := idsOf(dockerList(f.containers, ours())); !reflect.DeepEqual(got, want) {
			t.Fatalf("List %d = %v, want %v", i, got, want)
		}
	}
	if got := f.listCalls(); len(got) != 1 || !reflect.DeepEqual(got[0], ours()) {
		t.Errorf("Docker lists = %+v, want one of every container of ours", got)
	}
}

func TestListAsksDockerUntilSubscribed(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c := New(f, Options{Label: typeLabel})

	mustList(t, c, ours())
	mustList(t, c, ours())
	if got := len(f.listCalls()); got != 2 {
		t.Errorf("Docker lists without a subscription = %d, want 2", got)
	}
}

func TestListAnswersLikeDocker(t *testing.T) {
	labels := func(values ...string) client.Filters { return make(client.Filters).Add("label", values...) }
	tests := []struct {
		name       string
		give       client.ContainerListOptions
		wantMemory bool // answered from memory; else passed to Docker as it is
	}{
		{name: "all ours", give: ours(), wantMemory: true},
		{name: "one kind", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel + "=podsandbox")}, wantMemory: true},
		{name: "labels are ANDed", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel, sandboxLabel+"="+cid(1))}, wantMemory: true},
		{name: "label key exists", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel, "odd")}, wantMemory: true},
		{name: "label value with =", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel, "odd=a=b")}, wantMemory: true},
		{name: "label value differs", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel + "=nope")}, wantMemory: true},
		{name: "status implies all", give: client.ContainerListOptions{Filters: labels(typeLabel).Add("status", "running")}, wantMemory: true},
		{name: "statuses are ORed", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("status", "exited", "paused")}, wantMemory: true},
		{name: "whole ids are ORed", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("id", cid(1), cid(4))}, wantMemory: true},
		{name: "whole id of a stranger", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("id", cid(7))}, wantMemory: true},
		{name: "all terms", give: client.ContainerListOptions{Filters: labels(typeLabel+"=container", sandboxLabel+"="+cid(2)).
			Add("status", "paused").Add("id", cid(6), cid(5))}, wantMemory: true},

		{name: "no label term", give: client.ContainerListOptions{All: true}},
		{name: "not our label", give: client.ContainerListOptions{All: true, Filters: labels("com.example")}},
		{name: "running by default", give: client.ContainerListOptions{Filters: labels(typeLabel)}},
		{name: "id prefix", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("id", cid(4)[:12])}},
		{name: "upper case id", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("id", fmt.Sprintf("%064X", 0xabc))}},
		{name: "unknown status", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("status", "up")}},
		{name: "term without values", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("status")}},
		{name: "name term", give: client.ContainerListOptions{All: true, Filters: labels(typeLabel).Add("name", "c1")}},
		{name: "size", give: client.ContainerListOptions{All: true, Size: true, Filters: labels(typeLabel)}},
		{name: "limit", give: client.ContainerListOptions{All: true, Limit: 1, Filters: labels(typeLabel)}},
		{name: "deprecated since", give: client.ContainerListOptions{All: true, Since: cid(1), Filters: labels(typeLabel)}},
	}
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})
	mustList(t, c, ours())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.listCalls())
			got := idsOf(mustList(t, c, tt.give))
			if want := idsOf(dockerList(f.containers, tt.give)); !reflect.DeepEqual(got, want) {
				t.Errorf("List = %v, want Docker's %v", got, want)
			}
			calls := f.listCalls()[before:]
			if tt.wantMemory {
				if len(calls) != 0 {
					t.Errorf("List asked Docker %+v, want an answer from memory", calls)
				}
				return
			}
			if len(calls) != 1 || !reflect.DeepEqual(calls[0], tt.give) {
				t.Errorf("Docker lists = %+v, want one with %+v", calls, tt.give)
			}
		})
	}
}

func TestListResultIsACopy(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})

	got := mustList(t, c, ours())
	want := idsOf(got)
	got[0] = container.Summary{ID: "scribbled"}
	_ = append(got[:1], container.Summary{ID: "appended"})

	if again := idsOf(mustList(t, c, ours())); !reflect.DeepEqual(again, want) {
		t.Errorf("List after the caller changed its result = %v, want %v", again, want)
	}
}

func TestEventMakesListStale(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, sub := startCache(t, f, Options{})
	mustList(t, c, ours())

	cs := testContainers()
	cs[3].State = container.StateExited
	f.setContainers(cs...)
	sendEvent(t, c, sub, dockerevents.ActionDie, cs[3].ID)

	got := mustList(t, c, ours())
	mustList(t, c, ours())
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2 (one before the event, one after)", n)
	}
	for _, s := range got {
		if s.ID == cs[3].ID && s.State != container.StateExited {
			t.Errorf("after its die event, %s is listed %s", s.ID, s.State)
		}
	}
}

func TestInvalidate(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})
	mustList(t, c, ours())

	f.setContainers(testContainers()[:6]...) // the first sandbox was removed
	c.Invalidate()
	got := mustList(t, c, ours())
	if want := idsOf(dockerList(testContainers()[:6], ours())); !reflect.DeepEqual(idsOf(got), want) {
		t.Errorf("List after Invalidate = %v, want %v", idsOf(got), want)
	}
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2", n)
	}
}

func TestMaxAge(t *testing.T) {
	clock := newFakeClock()
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{MaxAge: 10 * time.Second, Now: clock.Now})
	mustList(t, c, ours())

	tests := []struct {
		give      time.Duration // how much older the list is
		wantCalls int
	}{
		{give: 10*time.Second - time.Nanosecond, wantCalls: 1},
		{give: time.Nanosecond, wantCalls: 2}, // now 10s old: fetched again
		{give: 0, wantCalls: 2},
	}
	for _, tt := range tests {
		clock.Add(tt.give)
		mustList(t, c, ours())
		if got := len(f.listCalls()); got != tt.wantCalls {
			t.Errorf("after %v more: Docker lists = %d, want %d", tt.give, got, tt.wantCalls)
		}
	}
}

func TestObserve(t *testing.T) {
	tests := []struct {
		give      dockerevents.Action
		wantStale bool
	}{
		{give: dockerevents.ActionCreate, wantStale: true},
		{give: dockerevents.ActionStart, wantStale: true},
		{give: dockerevents.ActionDie, wantStale: true},
		{give: dockerevents.ActionDestroy, wantStale: true},
		{give: dockerevents.ActionPause, wantStale: true},
		{give: dockerevents.ActionUpdate, wantStale: true},
		{give: dockerevents.ActionRename, wantStale: true},
		{give: dockerevents.ActionHealthStatusUnhealthy, wantStale: true},
		{give: "some-future-action", wantStale: true},
		{give: dockerevents.ActionExecCreate + ": sh -c true", wantStale: false},
		{give: dockerevents.ActionExecStart + ": sh -c true", wantStale: false},
		{give: dockerevents.ActionExecDie, wantStale: false},
		{give: dockerevents.ActionExecDetach, wantStale: false},
		{give: dockerevents.ActionAttach, wantStale: false},
		{give: dockerevents.ActionDetach, wantStale: false},
		{give: dockerevents.ActionResize, wantStale: false},
		{give: dockerevents.ActionTop, wantStale: false},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			c := New(newFakeDocker(), Options{Label: typeLabel})
			c.observe(dockerevents.Message{Type: dockerevents.ContainerEventType, Action: tt.give})
			if got := c.generation() != 0; got != tt.wantStale {
				t.Errorf("after %q, stale = %v, want %v", tt.give, got, tt.wantStale)
			}
		})
	}
}

// An event received while a list is in flight makes that list unusable for
// later callers; its own caller still gets it.
func TestEventDuringListInFlight(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, sub := startCache(t, f, Options{})

	release := f.holdLists()
	first := listAsync(c, ours())
	f.nextList(t)

	cs := testContainers()
	cs[6].State = container.StateExited // the first sandbox died after the list's snapshot
	f.setContainers(cs...)
	sendEvent(t, c, sub, dockerevents.ActionDie, cs[6].ID)
	release()

	if got, want := idsOf(<-first), idsOf(dockerList(testContainers(), ours())); !reflect.DeepEqual(got, want) {
		t.Errorf("the list in flight = %v, want %v", got, want)
	}
	got := mustList(t, c, client.ContainerListOptions{Filters: make(client.Filters).Add("label", typeLabel).Add("status", "running")})
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2: the list in flight during the event is stale", n)
	}
	for _, s := range got {
		if s.ID == cs[6].ID {
			t.Errorf("after its die event, %s is listed running", s.ID)
		}
	}
}

func TestConcurrentListsShareOneCall(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})

	release := f.holdLists()
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			res, err := c.List(context.Background(), ours())
			if err == nil && len(res.Items) != 6 {
				err = fmt.Errorf("listed %d containers, want 6", len(res.Items))
			}
			errs <- err
		})
	}
	// Whether a caller comes before the list returns (and waits for it)
	// or after (and finds it stored), Docker is asked once.
	f.nextList(t)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(f.listCalls()); n != 1 {
		t.Errorf("Docker lists = %d, want 1 for %d concurrent callers", n, callers)
	}
}

// A caller arriving after the generation moved must not share a call that
// started before: it could miss what moved it.
func TestListAfterBumpDoesNotJoinOlderCall(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})

	release := f.holdLists()
	first := listAsync(c, ours())
	f.nextList(t)

	f.setContainers(testContainers()[:6]...) // the first sandbox was removed
	c.Invalidate()
	second := listAsync(c, ours())
	f.nextList(t)
	release()

	if got := len(<-first); got != 6 {
		t.Errorf("first list has %d containers, want 6", got)
	}
	if got := len(<-second); got != 5 {
		t.Errorf("second list has %d containers, want 5: it joined the call from before Invalidate", got)
	}
	mustList(t, c, ours())
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2", n)
	}
}

func TestListErrorIsNotKept(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})
	errDown := errors.New("docker is down")
	f.mu.Lock()
	f.listErr = errDown
	f.mu.Unlock()

	if _, err := c.List(context.Background(), ours()); !errors.Is(err, errDown) {
		t.Errorf("List while Docker fails = %v, want %v", err, errDown)
	}
	f.mu.Lock()
	f.listErr = nil
	f.mu.Unlock()
	if got := mustList(t, c, ours()); len(got) != 6 {
		t.Errorf("List after Docker is back has %d containers, want 6", len(got))
	}
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2", n)
	}
}

// A caller whose context ends stops waiting; the call it started goes on
// for the others.
func TestListCallerGivesUp(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, _ := startCache(t, f, Options{})

	release := f.holdLists()
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := c.List(ctx, ours())
		gaveUp <- err
	}()
	f.nextList(t)
	other := listAsync(c, ours())
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("List of a cancelled caller = %v, want %v", err, context.Canceled)
	}
	release()
	if got := len(<-other); got != 6 {
		t.Errorf("the other caller listed %d containers, want 6", got)
	}
	if n := len(f.listCalls()); n != 1 {
		t.Errorf("Docker lists = %d, want 1", n)
	}
}

// TestTokens: a read begun under one generation stays current until an
// event, an Invalidate or a break; Agrees holds a read to the latest event
// of its container, whatever lists were stored since.
func TestTokens(t *testing.T) {
	now := time.Unix(1000, 0)
	c := New(nil, Options{Label: "x", MaxAge: 10 * time.Second, Now: func() time.Time { return now }})
	if tok := c.Begin(); c.Current(tok) {
		t.Fatal("a token is current before the stream opened")
	}
	c.setOpen(true)
	tok := c.Begin()
	if !c.Current(tok) {
		t.Fatal("a fresh token is not current")
	}
	c.Invalidate()
	if c.Current(tok) {
		t.Fatal("a token stayed current across Invalidate")
	}
	tok = c.Begin()
	c.eventReceived("abc", expectations[dockerevents.ActionDie])
	if c.Current(tok) {
		t.Fatal("a token stayed current across an event")
	}
	tests := []struct {
		give  container.ContainerState
		after time.Duration
		want  bool
	}{
		{give: container.StateRunning, want: false}, // behind the die
		{give: container.StateExited, want: true},
		{give: "", want: true},                                              // gone since
		{give: container.StateRunning, after: 10 * time.Second, want: true}, // the die lapsed
	}
	for _, tt := range tests {
		now = time.Unix(1000, 0).Add(tt.after)
		if got := c.Agrees("abc", tt.give); got != tt.want {
			t.Errorf("Agrees(abc, %q) after %s = %t, want %t", tt.give, tt.after, got, tt.want)
		}
	}
	if !c.Agrees("other", container.StateRunning) {
		t.Error("a container with no event disagreed")
	}
	c.setOpen(false)
	if c.Current(c.Begin()) {
		t.Error("a token is current while the stream is broken")
	}
}
