package shim

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
)

// socketMode is the CRI socket's mode, as containerd, CRI-O and
// cri-dockerd's socket unit use: the kubelet runs as root, a group may be
// granted access, nobody else.
const socketMode = 0o660

// Listen opens the CRI endpoint: "unix:///path" (or a bare path), or "fd://"
// for a socket passed by systemd socket activation.
func Listen(endpoint string) (net.Listener, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	switch u.Scheme {
	case "fd":
		ls, err := activation.Listeners()
		if err != nil {
			return nil, fmt.Errorf("socket activation: %w", err)
		}
		for _, l := range ls {
			if l != nil {
				return l, nil
			}
		}
		return nil, fmt.Errorf("endpoint %q: systemd passed no listening socket", endpoint)
	case "unix":
		return listenUnix(u.Host + u.Path)
	case "":
		return listenUnix(u.Path)
	}
	return nil, fmt.Errorf("endpoint %q: unsupported scheme %q (want unix:// or fd://)", endpoint, u.Scheme)
}

// listenUnix binds a fresh socket under a hidden name, sets its mode and
// renames it into place. The final path therefore never exists with another
// mode (no umask window), and a stale socket left by a crash is replaced
// atomically. A socket that still accepts connections belongs to a live
// process and is refused.
func listenUnix(path string) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("empty unix socket path")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; refusing to replace it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another process is already listening on %s", path)
		}
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	_ = os.Remove(tmp)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, socketMode); err != nil {
		return fail(fmt.Errorf("chmod socket: %w", err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("move socket into place: %w", err))
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fail(fmt.Errorf("stat socket: %w", err))
	}
	return &unixListener{UnixListener: l, path: path, ino: st.Ino}, nil
}

// unixListener removes its socket file on Close, but only if the path still
// names its own socket and not one a successor put there.
type unixListener struct {
	*net.UnixListener
	path string
	ino  uint64
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	var st syscall.Stat_t
	if syscall.Stat(l.path, &st) == nil && st.Ino == l.ino {
		os.Remove(l.path)
	}
	return err
}

// Addr is the socket's final path, not the temporary name it was bound under.
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }
