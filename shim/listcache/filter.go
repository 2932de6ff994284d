package listcache

import (
	"reflect"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// The lists the cache answers from memory, and Docker's semantics it
// reproduces for them (moby daemon/list.go, daemon/internal/filters):
//
//   - label: every value must hold (values are ANDed, unlike other terms);
//     "key" asks that the label exists, "key=value" that it has that value
//     (split at the first "="). One value must be about Options.Label, so
//     that the request lies within what the cache holds.
//   - status: any value may hold (ORed), compared with Summary.State. A
//     status term makes Docker list stopped containers too, as All does.
//     Docker refuses an unknown state: such a request goes to Docker for
//     its error.
//   - id: any value may hold (ORed). Docker matches an id filter as the
//     unique prefix of an id among all its containers, ours or not; the
//     cache knows only ours, so it answers whole ids (64 lowercase hex
//     digits, which only their own container matches) and leaves prefixes
//     to Docker.
//
// Everything else goes to Docker: other terms (name, ancestor, health, ...),
// a term without values, All false without a status term (Docker's "running"
// is its Running flag, which paused and restarting containers have too), and
// any option beyond All and Filters (Size, Limit, the deprecated ones, and
// whatever a later client adds).

// query is a list request the cache can answer: the terms it is filtered by.
type query struct {
	labels []labelTerm
	ids    map[string]bool                   // nil: no id term
	states map[container.ContainerState]bool // nil: no status term
}

// labelTerm is one value of a label filter.
type labelTerm struct {
	key, value string
	hasValue   bool
}

// parseQuery returns the query for o, or false when the cache cannot answer
// o from the containers labelled label.
func parseQuery(o client.ContainerListOptions, label string) (query, bool) {
	rest := o
	rest.All, rest.Filters = false, nil
	if !reflect.ValueOf(rest).IsZero() {
		return query{}, false
	}
	var q query
	for term, values := range o.Filters {
		if len(values) == 0 {
			return query{}, false
		}
		var ok bool
		switch term {
		case "label":
			q.labels, ok = parseLabels(values, label)
		case "id":
			q.ids, ok = parseIDs(values)
		case "status":
			q.states, ok = parseStates(values)
		}
		if !ok {
			return query{}, false
		}
	}
	// Without a label term about ours, the request asks for strangers too.
	if q.labels == nil || (!o.All && q.states == nil) {
		return query{}, false
	}
	return q, true
}

// parseLabels reads a label term; it must narrow the request to the
// containers labelled label.
func parseLabels(values map[string]bool, label string) ([]labelTerm, bool) {
	terms := make([]labelTerm, 0, len(values))
	ours := false
	// Docker reads the values (the keys of the map) whatever their bool.
	for v := range values {
		key, value, hasValue := strings.Cut(v, "=")
		terms = append(terms, labelTerm{key: key, value: value, hasValue: hasValue})
		ours = ours || key == label
	}
	return terms, ours
}

func parseIDs(values map[string]bool) (map[string]bool, bool) {
	ids := make(map[string]bool, len(values))
	for v := range values {
		if !isFullID(v) {
			return nil, false
		}
		ids[v] = true
	}
	return ids, true
}

func parseStates(values map[string]bool) (map[container.ContainerState]bool, bool) {
	states := make(map[container.ContainerState]bool, len(values))
	for v := range values {
		s := container.ContainerState(v)
		if container.ValidateContainerState(s) != nil {
			return nil, false
		}
		states[s] = true
	}
	return states, true
}

// isFullID reports whether s is a whole Docker id.
func isFullID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// match reports whether Docker would list s for q.
func (q query) match(s *container.Summary) bool {
	for _, l := range q.labels {
		v, ok := s.Labels[l.key]
		if !ok || (l.hasValue && v != l.value) {
			return false
		}
	}
	if q.ids != nil && !q.ids[s.ID] {
		return false
	}
	if q.states != nil && !q.states[s.State] {
		return false
	}
	return true
}

// filter returns the items q matches in a new slice, in Docker's order
// (newest first, as in all). The Summaries are copies, but their maps,
// slices and pointers (Labels, Names, Ports, NetworkSettings, ...) are
// shared with the cache: callers must not modify them.
func (q query) filter(all []container.Summary) []container.Summary {
	out := make([]container.Summary, 0, len(all))
	for i := range all {
		if q.match(&all[i]) {
			out = append(out, all[i])
		}
	}
	return out
}
