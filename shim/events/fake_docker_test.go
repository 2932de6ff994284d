package events

import (
	"context"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
	dockerevents "github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// fakeDocker is the hub's narrow Docker: event subscriptions that get what
// a test emits (through their filters, as Docker does), a stream break as
// a Docker restart does, a daemon that is down, and a container list for
// the resync.
type fakeDocker struct {
	mu   sync.Mutex
	subs []*fakeEventSub
	// down, when set, fails every call at once.
	down error
	// containers is what ContainerList answers (the resync's list).
	containers []container.Summary
	// lists records the options of each ContainerList call.
	lists []client.ContainerListOptions
	// since records the Since of each Events call.
	since []string
	// subscribed, when set, receives a value on each Events call.
	subscribed chan struct{}
}

var _ Docker = (*fakeDocker)(nil)

type fakeEventSub struct {
	ctx  context.Context
	opts client.EventsListOptions
	msgs chan dockerevents.Message
	errs chan error
}

// fakeEventBuffer is generous: the fake never blocks a test on a slow
// reader, and no test emits this many events.
const fakeEventBuffer = 4096

// Events subscribes like Docker's client: the error channel gets one error
// and the stream is over. While the fake is down the error comes at once.
func (f *fakeDocker) Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult {
	sub := &fakeEventSub{ctx: ctx, opts: opts, msgs: make(chan dockerevents.Message, fakeEventBuffer), errs: make(chan error, 1)}
	f.mu.Lock()
	f.since = append(f.since, opts.Since)
	if f.down != nil {
		sub.errs <- f.down
	} else {
		f.subs = append(f.subs, sub)
	}
	notify := f.subscribed
	f.mu.Unlock()
	if notify != nil {
		notify <- struct{}{}
	}
	return client.EventsResult{Messages: sub.msgs, Err: sub.errs}
}

// ContainerList answers the containers whose labels match the filter.
func (f *fakeDocker) ContainerList(_ context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, opts)
	if f.down != nil {
		return client.ContainerListResult{}, f.down
	}
	var out []container.Summary
	for _, c := range f.containers {
		if matchKVList(opts.Filters, "label", c.Labels) {
			out = append(out, c)
		}
	}
	return client.ContainerListResult{Items: out}, nil
}

// emit sends m to the live subscriptions whose filters match, as Docker does.
func (f *fakeDocker) emit(m dockerevents.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	live := f.subs[:0]
	for _, sub := range f.subs {
		if sub.ctx.Err() != nil {
			continue
		}
		live = append(live, sub)
		a := sub.opts.Filters
		if !exactMatch(a, "type", string(m.Type)) || !exactMatch(a, "event", string(m.Action)) || !matchKVList(a, "label", m.Actor.Attributes) {
			continue
		}
		select {
		case sub.msgs <- m:
		default:
			panic("fake docker: event subscriber more than fakeEventBuffer events behind")
		}
	}
	f.subs = live
}

// breakEvents ends every event stream with err, as a stopping Docker does.
func (f *fakeDocker) breakEvents(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sub := range f.subs {
		sub.errs <- err
	}
	f.subs = nil
}

func (f *fakeDocker) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = err
}

// exactMatch and matchKVList read a filter as Docker's daemon does: a term
// that is not set matches everything; "label" values are "key" or
// "key=value", all of which must hold.
func exactMatch(f client.Filters, term, source string) bool {
	values := f[term]
	return len(values) == 0 || values[source]
}

func matchKVList(f client.Filters, term string, sources map[string]string) bool {
	values := f[term]
	if len(values) == 0 {
		return true
	}
	if len(sources) == 0 {
		return false
	}
	for value := range values {
		k, v, hasValue := strings.Cut(value, "=")
		if got, ok := sources[k]; !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}
