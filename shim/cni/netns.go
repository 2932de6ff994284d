package cni

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Addresses reads a pod's addresses from its network namespace: the global
// addresses of the pod's interface, the first IPv4 one first, then the
// first IPv6 one. It is how dockershim found the IP of a pod when it had no
// plugin result to go by, and it is all dockercri has for a pod that
// dockershim or cri-dockerd attached (Docker's own IP fields are empty
// under CNI). p.NetNS must be set.
func (n *Network) Addresses(ctx context.Context, p Pod) ([]string, error) {
	if p.NetNS == "" {
		return nil, fmt.Errorf("pod %s has no network namespace to read addresses from", p.ID)
	}
	return interfaceAddresses(ctx, p.NetNS, n.ifName)
}

// interfaceAddresses enters the namespace at nsPath on a thread of its own
// and lists ifName's addresses there. The thread is never handed back to
// the scheduler: the goroutine ends locked, so Go retires the thread rather
// than let another goroutine run in the pod's namespace.
func interfaceAddresses(ctx context.Context, nsPath, ifName string) ([]string, error) {
	type result struct {
		ips []string
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ips, err := addressesIn(nsPath, ifName)
		done <- result{ips, err}
	}()
	select {
	case r := <-done:
		return r.ips, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// addressesIn runs on a locked thread that it moves into nsPath's network
// namespace for good.
func addressesIn(nsPath, ifName string) ([]string, error) {
	f, err := os.Open(nsPath)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter network namespace %s: %w", nsPath, err)
	}
	// The net package's interface calls open their netlink sockets on
	// this thread, so they see the pod's namespace.
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return nil, fmt.Errorf("interface %s in %s: %w", ifName, nsPath, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s in %s: %w", ifName, nsPath, err)
	}
	return primaryAddresses(addrs)
}

// primaryAddresses picks the first global IPv4 and the first global IPv6
// address, as dockershim's `ip -o -4|-6 addr show scope global` did.
func primaryAddresses(addrs []net.Addr) ([]string, error) {
	var v4, v6 string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || !ipn.IP.IsGlobalUnicast() {
			continue
		}
		switch {
		case ipn.IP.To4() != nil && v4 == "":
			v4 = ipn.IP.String()
		case ipn.IP.To4() == nil && v6 == "":
			v6 = ipn.IP.String()
		}
	}
	var out []string
	for _, ip := range []string{v4, v6} {
		if ip != "" {
			out = append(out, ip)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no global address")
	}
	return out, nil
}
