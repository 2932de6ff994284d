// Package listcache answers dockercri's container lists from memory, kept
// current by Docker's event stream, the way containerd's CRI serves its
// relists from an in-memory store. The kubelet relists every second
// (ListPodSandbox, ListContainers); each used to be one Docker
// ContainerList, which keeps dockerd busy on a node with many pods.
//
// # What is cached
//
// The Cache holds one list: every container carrying Options.Label
// (ContainerList All with label=<Options.Label>), exactly as Docker
// returned it, and answers the lists that fall within it by filtering that
// list in-process with Docker's semantics (filter.go). Anything else, and
// anything while the cache is not current, goes to Docker unchanged.
//
// # Why a generation, and why it gives "never older than the last event"
//
// A Docker list is a snapshot taken at some instant during the call.
// Docker saves a container's new state where lists read it
// (containersReplica) before it logs the event that reports it (moby
// daemon/create.go, start.go, monitor.go, delete.go). So a list call that
// starts after an event was received shows that event's change, and a
// change the list misses has an event that is received after the call
// started.
//
// The cache counts what can make a list stale in a generation: each event
// received, each Invalidate, the stream breaking, the stream (re)opening.
// A list is tagged with the generation current when its Docker call
// started, and served from memory only while the generation is still that
// one: nothing was received since the call started, so everything Docker
// reported before the caller asked is in it. An event that arrives while a
// call is in flight makes its result unusable for later callers (the
// callers already waiting on it get it: they asked before the event).
//
// Where Docker logs the event first (die before Docker 23.0, pause and
// unpause still), a list taken just after the event can be behind it. The
// events say what such a list must show (the container stopped, paused,
// gone, ...), and a list that disagrees is not kept (expect.go): its
// callers get Docker's own answer, as without the cache, and the next List
// asks Docker again.
//
// Without a stream, changes go unnoticed, so the cache serves nothing from
// memory until a subscription is open, and a list only counts if it started
// after the subscription opened. Docker answers an events request (and the
// client's Events returns) before it has subscribed the request to its
// event log (moby daemon/server/router/system getEvents flushes the headers
// first); the subscription asks for the events since a second before it
// was made (Since), so whatever is logged in that gap is replayed rather
// than lost.
//
// The shim calls Invalidate after each of its own mutations, so that its
// next list shows them without waiting for their events (read your writes:
// a checkpoint written after a sandbox's create must not be listed as a pod
// whose sandbox is gone).
//
// # What events do not cover
//
// A few things a list shows change without a container event: the image
// name Docker re-resolves at each list (a retag is an image event), the
// networks of a container (network connect and disconnect are network
// events), the "Up 5 minutes" Status text. Options.MaxAge bounds how long
// such a change can go unseen: an older list is fetched again even without
// events. Actions that change nothing a list shows (exec_*, attach, detach,
// resize, top) do not count: the kubelet's exec probes make them the most
// frequent events on a node, and counting them would leave the cache
// almost never current.
package listcache
