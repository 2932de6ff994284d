// Command pause is dockercri's pod infra ("pause") program.
//
// It runs as PID 1 of a pod's sandbox container and only exists so that the
// pod's namespaces have an owner while app containers come and go. Because it
// is PID 1 of the (possibly shared) PID namespace, it must reap orphaned
// zombies, and because the kernel gives PID 1 no default signal handlers, it
// must handle SIGTERM/SIGINT itself or `docker stop` would wait for SIGKILL.
//
// Build it static so it runs in a FROM scratch image:
//
//	CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' ./cmd/pause
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Buffered so signals arriving while we reap are not lost.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	// A child may have exited before Notify was installed.
	reap()
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0) // SIGTERM or SIGINT: a clean stop.
	}
}

// reap collects every exited child without blocking and returns how many it
// reaped. SIGCHLD signals coalesce, so one signal may stand for many children:
// loop until the kernel reports none left.
func reap() int {
	n := 0
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil { // 0: children still running; ECHILD: none at all
			return n
		}
		n++
	}
}
