package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// dialTimeout bounds the connect to the pod's port.
const dialTimeout = 10 * time.Second

// PortForward copies between stream and the TCP port of the pod whose
// network namespace is at netns, over loopback, IPv4 first then IPv6. It
// returns when the pod side closes, the client side fails, or ctx ends; the
// connection is closed either way. The caller closes stream, which ends the
// copy from the client if it is still waiting.
func PortForward(ctx context.Context, netns string, port int32, stream io.ReadWriteCloser) error {
	if port <= 0 || port > 65535 {
		return fmt.Errorf("port %d out of range", port)
	}
	conn, err := dialInNetNS(netns, port)
	if err != nil {
		return err
	}
	defer conn.Close()

	toPod := make(chan error, 1)
	fromPod := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stream)
		toPod <- err
	}()
	go func() {
		_, err := io.Copy(stream, conn)
		fromPod <- err
	}()
	select {
	case err := <-toPod:
		if err != nil {
			return fmt.Errorf("port %d: from client: %w", port, err)
		}
		// The client finished sending: tell the pod, and pass on its answer
		// until it closes.
		_ = conn.(*net.TCPConn).CloseWrite()
		select {
		case err := <-fromPod:
			return portErr(port, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	case err := <-fromPod:
		return portErr(port, err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func portErr(port int32, err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("port %d: to client: %w", port, err)
}

// dialInNetNS connects to 127.0.0.1:port, else [::1]:port, inside netns. The
// socket is created on an OS thread that switched namespaces, and that thread
// is never given back to the Go scheduler (the goroutine exits locked, so the
// runtime ends the thread): nothing else ever runs in the pod's namespace.
// The socket stays in the namespace it was created in.
func dialInNetNS(netns string, port int32) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		conn, err := enterAndDial(netns, port)
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}

func enterAndDial(netns string, port int32) (net.Conn, error) {
	f, err := os.Open(netns)
	if err != nil {
		return nil, fmt.Errorf("pod network namespace: %w", err)
	}
	err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("enter pod network namespace %s: %w", netns, err)
	}
	d := net.Dialer{Timeout: dialTimeout}
	conn, err4 := d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err4 == nil {
		return conn, nil
	}
	conn, err6 := d.Dial("tcp6", fmt.Sprintf("[::1]:%d", port))
	if err6 == nil {
		return conn, nil
	}
	return nil, fmt.Errorf("connect to port %d in the pod: %w", port, errors.Join(err4, err6))
}
