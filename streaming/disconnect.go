package streaming

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// connTracker cancels a session's context when its client goes away. Once a
// session is upgraded (SPDY or WebSocket) net/http no longer watches the
// connection, so the request context stays alive: an attach to a silent
// container, or an exec of `sleep`, would outlive its client. Both protocols
// read the connection continuously, so a failed read is the disconnect.
// It also remembers upgraded connections, which http.Server.Close leaves
// open, so that Close ends every session.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newConnTracker() *connTracker { return &connTracker{conns: map[net.Conn]struct{}{}} }

func (t *connTracker) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		next.ServeHTTP(&hijackWatcher{ResponseWriter: w, tracker: t, cancel: cancel}, r.WithContext(ctx))
	})
}

func (t *connTracker) add(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conns[c] = struct{}{}
}

func (t *connTracker) remove(c net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := t.conns
	t.conns = map[net.Conn]struct{}{}
	t.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// hijackWatcher hands the upgrade a connection that reports its end. It
// deliberately has no Unwrap, so the library's upgraders hijack through it.
type hijackWatcher struct {
	http.ResponseWriter
	tracker *connTracker
	cancel  context.CancelFunc
}

func (h *hijackWatcher) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("streaming: connection cannot be upgraded")
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	wc := &watchedConn{Conn: c, buffered: rw.Reader, cancel: h.cancel, tracker: h.tracker}
	h.tracker.add(wc)
	return wc, bufio.NewReadWriter(bufio.NewReader(wc), bufio.NewWriter(wc)), nil
}

// watchedConn cancels the session on the first failed read or on Close.
type watchedConn struct {
	net.Conn
	buffered *bufio.Reader // bytes net/http had read ahead of the upgrade
	cancel   context.CancelFunc
	tracker  *connTracker
}

func (c *watchedConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if c.buffered != nil && c.buffered.Buffered() > 0 {
		n, err = c.buffered.Read(p)
	} else {
		n, err = c.Conn.Read(p)
	}
	if err != nil {
		c.cancel()
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.cancel()
	c.tracker.remove(c)
	return c.Conn.Close()
}
