package shim

import (
	"context"
	"sync"
)

// keyedLock serializes work per key (the pulls of one image through its
// mirror) and lets unrelated keys run at once. Waiting ends with the
// caller's context. Keys no one holds or waits for are forgotten.
type keyedLock struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	held chan struct{} // a token in it means held
	refs int           // holders and waiters
}

// lock takes the key's lock, or fails with ctx's error; unlock releases it.
func (l *keyedLock) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*keyedEntry{}
	}
	e := l.locks[key]
	if e == nil {
		e = &keyedEntry{held: make(chan struct{}, 1)}
		l.locks[key] = e
	}
	e.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if e.refs--; e.refs == 0 {
			delete(l.locks, key)
		}
	}
	select {
	case e.held <- struct{}{}:
		return func() { <-e.held; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
