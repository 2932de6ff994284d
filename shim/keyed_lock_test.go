package shim

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestKeyedLockSerializesOneKey(t *testing.T) {
	var l keyedLock
	ctx := context.Background()
	unlock, err := l.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another key is not held up.
	unlockB, err := l.lock(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	got := make(chan func())
	go func() {
		u, err := l.lock(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("a second holder of the same key got in")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	(<-got)()
	if len(l.locks) != 0 {
		t.Fatalf("%d keys left behind", len(l.locks))
	}
}

func TestKeyedLockWaitEndsWithContext(t *testing.T) {
	var l keyedLock
	unlock, err := l.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.lock(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	unlock()
	if len(l.locks) != 0 {
		t.Fatalf("%d keys left behind", len(l.locks))
	}
}
