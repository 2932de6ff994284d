package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestBinaryStopsCleanly builds the real binary the way the image does and
// checks it keeps running through SIGCHLD, then exits 0 on SIGTERM and SIGINT.
func TestBinaryStopsCleanly(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pause")
	build := exec.Command("go", "build", "-buildvcs=false", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Let it install its handlers, then poke it with SIGCHLD: it must not exit.
			time.Sleep(200 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGCHLD); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				t.Fatalf("pause exited on SIGCHLD: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("pause on %v: %v, want exit 0", sig, err)
				}
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("pause did not exit on %v", sig)
			}
		})
	}
}

// TestReapCollectsUnwaitedChild starts a child nobody waits for and checks
// reap() collects it, so it does not linger as a zombie.
func TestReapCollectsUnwaitedChild(t *testing.T) {
	if n := reap(); n != 0 {
		t.Fatalf("reap() with no children = %d, want 0", n)
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	total := 0
	deadline := time.Now().Add(5 * time.Second)
	for total == 0 && time.Now().Before(deadline) {
		total += reap()
		time.Sleep(10 * time.Millisecond)
	}
	if total != 1 {
		t.Fatalf("reap() collected %d children, want 1", total)
	}
	// The child is gone for good: waiting on it now finds nothing.
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err != syscall.ECHILD {
		t.Fatalf("Wait4(%d) after reap: %v, want ECHILD", pid, err)
	}
}
