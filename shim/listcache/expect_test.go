package listcache

import (
	"errors"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
)

func TestExpectations(t *testing.T) {
	listed := func(s container.ContainerState) *container.Summary { return &container.Summary{ID: cid(1), State: s} }
	tests := []struct {
		action dockerevents.Action
		give   *container.Summary // nil: not listed
		want   bool
	}{
		{action: dockerevents.ActionCreate, give: listed(container.StateCreated), want: true},
		{action: dockerevents.ActionCreate, give: nil, want: false},
		{action: dockerevents.ActionStart, give: listed(container.StateRunning), want: true},
		{action: dockerevents.ActionStart, give: listed(container.StateCreated), want: false},
		{action: dockerevents.ActionStart, give: nil, want: false},
		{action: dockerevents.ActionPause, give: listed(container.StatePaused), want: true},
		{action: dockerevents.ActionPause, give: listed(container.StateRunning), want: false},
		{action: dockerevents.ActionUnPause, give: listed(container.StateRunning), want: true},
		{action: dockerevents.ActionUnPause, give: listed(container.StatePaused), want: false},
		{action: dockerevents.ActionDie, give: listed(container.StateExited), want: true},
		{action: dockerevents.ActionDie, give: listed(container.StateRestarting), want: true},
		{action: dockerevents.ActionDie, give: nil, want: true},
		{action: dockerevents.ActionDie, give: listed(container.StateRunning), want: false},
		{action: dockerevents.ActionDestroy, give: nil, want: true},
		{action: dockerevents.ActionDestroy, give: listed(container.StateExited), want: false},
	}
	for _, tt := range tests {
		state := "absent"
		if tt.give != nil {
			state = string(tt.give.State)
		}
		t.Run(string(tt.action)+" "+state, func(t *testing.T) {
			if got := expectations[tt.action](tt.give); got != tt.want {
				t.Errorf("after %s, a list showing the container %s agrees = %v, want %v", tt.action, state, got, tt.want)
			}
		})
	}
}

// Docker before 23.0 logs a die before its lists show the container
// stopped: a list taken meanwhile is its callers' answer, but not kept.
func TestListBehindEventsIsNotKept(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, sub := startCache(t, f, Options{})
	mustList(t, c, ours())

	sendEvent(t, c, sub, dockerevents.ActionDie, cid(4)) // the list still shows it running
	mustList(t, c, ours())
	mustList(t, c, ours())
	if n := len(f.listCalls()); n != 3 {
		t.Errorf("Docker lists while Docker's list is behind = %d, want 3: a list behind an event is not kept", n)
	}

	cs := testContainers()
	cs[3].State = container.StateExited
	f.setContainers(cs...)
	mustList(t, c, ours())
	got := mustList(t, c, ours())
	if n := len(f.listCalls()); n != 4 {
		t.Errorf("Docker lists once Docker's list caught up = %d, want 4: that list is kept", n)
	}
	for _, s := range got {
		if s.ID == cid(4) && s.State != container.StateExited {
			t.Errorf("after its die event, %s is listed %s", s.ID, s.State)
		}
	}
}

// An expectation no list meets (a later change hid it) lapses after MaxAge.
func TestExpectationLapses(t *testing.T) {
	clock := newFakeClock()
	f := newFakeDocker(testContainers()...)
	c, sub := startCache(t, f, Options{MaxAge: 10 * time.Second, Now: clock.Now})

	sendEvent(t, c, sub, dockerevents.ActionDestroy, cid(4)) // still listed
	mustList(t, c, ours())
	clock.Add(10 * time.Second)
	mustList(t, c, ours())
	mustList(t, c, ours())
	if n := len(f.listCalls()); n != 2 {
		t.Errorf("Docker lists = %d, want 2: the expectation lapsed after MaxAge", n)
	}
}

// What the events of a broken stream said lapses with it: changes the
// stream missed may have overtaken it.
func TestBreakDropsExpectations(t *testing.T) {
	f := newFakeDocker(testContainers()...)
	c, sub := startCache(t, f, Options{BackoffMin: time.Millisecond})

	sendEvent(t, c, sub, dockerevents.ActionDestroy, cid(4)) // still listed
	g := c.generation()
	sub.fail(errors.New("docker is restarting"))
	f.nextSub(t)
	waitFor(t, "the event stream to open again", func() bool { return c.isOpen() && c.generation() >= g+2 })
	mustList(t, c, ours())
	mustList(t, c, ours())
	if n := len(f.listCalls()); n != 1 {
		t.Errorf("Docker lists = %d, want 1: the list after the break is kept", n)
	}
}
