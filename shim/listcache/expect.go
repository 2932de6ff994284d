package listcache

import (
	"time"

	"github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
)

// Docker does not always show a change in its lists before it logs the
// event: Docker before 23.0 logs a container's die before its lists show it
// stopped, with the container's cleanup (network, mounts) in between (moby
// e192ce4009 changed the order), and pause and unpause are still logged
// before the state is saved where lists read it. A list taken in that
// window is behind an event already received: its callers get it (it is
// Docker's own answer, what they would get without the cache), but it is
// not kept, and the next List asks Docker again.
//
// So each event of these actions leaves what the container must look like
// in a list taken after it; a list is kept only if it agrees with them all.
// A stored list satisfies them (Docker's lists do not go back in time), so
// storing one drops them. One that a list never satisfies, as when a later
// change hides it and its event is not here yet, lapses after MaxAge: at
// worst the cache asks Docker for every list meanwhile.

// expectation is what one container must look like in a list.
type expectation struct {
	received time.Time
	// holds reports whether s (nil when the container is not listed) agrees.
	holds func(s *container.Summary) bool
}

// expectations are what the latest event of each action says of the
// container in a list taken after it.
var expectations = map[dockerevents.Action]func(s *container.Summary) bool{
	dockerevents.ActionCreate:  func(s *container.Summary) bool { return s != nil },
	dockerevents.ActionStart:   func(s *container.Summary) bool { return s != nil && s.State == container.StateRunning },
	dockerevents.ActionUnPause: func(s *container.Summary) bool { return s != nil && s.State == container.StateRunning },
	dockerevents.ActionPause:   func(s *container.Summary) bool { return s != nil && s.State == container.StatePaused },
	dockerevents.ActionDie:     func(s *container.Summary) bool { return s == nil || s.State != container.StateRunning },
	dockerevents.ActionDestroy: func(s *container.Summary) bool { return s == nil },
}

// agreesLocked reports whether items agree with the expectations of the
// events received, dropping those older than maxAge. c.mu is held.
func (c *Cache) agreesLocked(items []container.Summary, now time.Time) bool {
	if len(c.expect) == 0 {
		return true
	}
	byID := make(map[string]*container.Summary, len(items))
	for i := range items {
		byID[items[i].ID] = &items[i]
	}
	for id, e := range c.expect {
		if now.Sub(e.received) >= c.maxAge {
			delete(c.expect, id)
			continue
		}
		if !e.holds(byID[id]) {
			return false
		}
	}
	return true
}
