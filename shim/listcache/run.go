package listcache

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"k8s.io/klog/v2"
)

// sinceMargin is how far before the last event received (or the start of
// the subscription) a new subscription asks Docker to replay from: it
// covers the gap between Docker answering a subscription and subscribing
// it (doc.go), and clocks of a second's resolution.
const sinceMargin = time.Second

// ignoredActions change nothing a container list shows (doc.go). An exec's
// action carries its command after a colon ("exec_start: sh -c ...").
var ignoredActions = map[dockerevents.Action]bool{
	dockerevents.ActionExecCreate: true,
	dockerevents.ActionExecStart:  true,
	dockerevents.ActionExecDie:    true,
	dockerevents.ActionExecDetach: true,
	dockerevents.ActionAttach:     true,
	dockerevents.ActionDetach:     true,
	dockerevents.ActionResize:     true,
	dockerevents.ActionTop:        true,
}

// Run follows Docker's events of the containers of ours until ctx ends,
// subscribing again with backoff when the stream breaks (a Docker restart).
// The cache serves from memory only while a subscription is open; before
// Run, after it returns and between subscriptions every List goes to
// Docker. Run must not be called again before it returned.
func (c *Cache) Run(ctx context.Context) {
	backoff := c.backoffMin
	// mark is when the events not received yet began: Docker replays from
	// a little before it, so that the gap before a subscription takes
	// effect is covered.
	mark := c.now()
	for ctx.Err() == nil {
		opened, err := c.subscribe(ctx, &mark)
		if ctx.Err() != nil {
			return
		}
		// A subscription that stayed open a while worked: a new break is
		// news, not Docker still being down.
		if !opened.IsZero() && c.now().Sub(opened) >= c.backoffMax {
			backoff = c.backoffMin
		}
		if backoff == c.backoffMin {
			klog.InfoS("Docker's event stream is not open; the container list cache asks Docker until it is", "err", err, "after", backoff)
		} else {
			klog.V(2).InfoS("Subscribing to Docker's events for the container list cache failed; retrying", "err", err, "after", backoff)
		}
		if !c.wait(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, c.backoffMax)
	}
}

// subscribe follows one subscription until it breaks or ctx ends, moving
// *mark to each event received. opened is when the subscription opened
// (zero if Docker refused it).
func (c *Cache) subscribe(ctx context.Context, mark *time.Time) (opened time.Time, err error) {
	sctx, cancel := context.WithCancel(ctx)
	// Ending the subscription's context is what ends the client's reader
	// goroutine (it then sends sctx's error on the buffered Err channel).
	defer cancel()
	start := c.now()
	stream := c.docker.Events(sctx, client.EventsListOptions{
		Since:   dockerSince(mark.Add(-sinceMargin)),
		Filters: make(client.Filters).Add("type", string(dockerevents.ContainerEventType)).Add("label", c.label),
	})
	// Events returns once Docker answered: a refusal is already here.
	select {
	case err, ok := <-stream.Err:
		return time.Time{}, streamErr(err, ok)
	default:
	}
	*mark = start
	c.setOpen(true)
	defer c.setOpen(false)
	for {
		select {
		case <-ctx.Done():
			return start, ctx.Err()
		case m := <-stream.Messages:
			*mark = c.now()
			c.observe(m)
		case err, ok := <-stream.Err:
			return start, streamErr(err, ok)
		}
	}
}

// observe makes the lists fetched so far stale, unless m changes nothing a
// list shows.
func (c *Cache) observe(m dockerevents.Message) {
	head, _, _ := strings.Cut(string(m.Action), ":")
	if ignoredActions[dockerevents.Action(head)] {
		klog.V(6).InfoS("Docker event ignored by the container list cache", "action", m.Action, "container", m.Actor.ID)
		return
	}
	klog.V(5).InfoS("Docker event invalidates the container list cache", "action", m.Action, "container", m.Actor.ID)
	c.eventReceived(m.Actor.ID, expectations[m.Action])
}

// streamErr is why a stream ended; a closed Err channel, or a nil error,
// is its end.
func streamErr(err error, ok bool) error {
	if !ok || err == nil {
		err = io.EOF
	}
	return fmt.Errorf("docker events: %w", err)
}

// dockerSince formats t as the events API's since parameter (seconds and
// nanoseconds since the epoch), which the client passes on as it is.
func dockerSince(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
