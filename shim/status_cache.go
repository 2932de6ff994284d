package shim

import (
	"context"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"

	"dockercri/shim/listcache"
)

// statusInspectMaxAge bounds how long an inspection is reused.
const statusInspectMaxAge = time.Minute

// statusInspects keeps the inspections ContainerStatus made, for as long as
// the list cache says nothing that could change them was received since
// (listcache.Token): the kubelet asks every container's status every 10 s
// for its log stats, and each asked Docker to inspect the container. A
// container changes only with an event (start, die, ...) or through
// dockercri, which invalidates; what an inspection shows that changes
// without one (its health) ContainerStatus does not report. MaxAge bounds
// an entry's life all the same.
type statusInspects struct {
	lists  *listcache.Cache // nil: no cache, every status inspects
	maxAge time.Duration

	mu      sync.Mutex
	entries map[string]statusInspect
}

type statusInspect struct {
	in    container.InspectResponse
	token listcache.Token
	at    time.Time
}

// inspect returns the container's inspection, from memory when current.
// Callers must not modify it (its pointers are shared).
func (c *statusInspects) inspect(ctx context.Context, s *Service, id string) (container.InspectResponse, bool, error) {
	if c.lists == nil {
		return s.inspectContainer(ctx, id)
	}
	if in, ok := c.get(id); ok {
		return in, true, nil
	}
	token := c.lists.Begin()
	in, found, err := s.inspectContainer(ctx, id)
	if err != nil || !found {
		return in, found, err
	}
	// Keyed by the id asked (the kubelet asks by full id); a state behind
	// the container's last event is Docker's answer now, not kept.
	if in.State != nil && c.lists.Agrees(in.ID, in.State.Status) {
		c.put(id, statusInspect{in: in, token: token, at: time.Now()})
	}
	return in, true, nil
}

func (c *statusInspects) get(id string) (container.InspectResponse, bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || time.Since(e.at) >= c.maxAge || !c.lists.Current(e.token) {
		return container.InspectResponse{}, false
	}
	return e.in, true
}

// put keeps e, dropping the entries no longer current once the map has
// grown past the containers of a node.
func (c *statusInspects) put(id string, e statusInspect) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]statusInspect{}
	}
	if len(c.entries) >= 512 {
		for k, old := range c.entries {
			if !c.lists.Current(old.token) || time.Since(old.at) >= c.maxAge {
				delete(c.entries, k)
			}
		}
	}
	c.entries[id] = e
}
