package shim

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestListenCreatesSocket0660(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "cri.sock")
	l, err := Listen("unix://" + path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode = %v, want a socket with 0660", fi.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the socket (no temp file left)", len(entries))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket still there after Close: %v", err)
	}
}

func TestListenReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cri.sock")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close() // the file stays, nobody listens: a crashed daemon's leftover
	l, err := Listen(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("new socket does not accept: %v", err)
	}
	c.Close()
}

func TestListenRefusesLiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cri.sock")
	first, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = Listen(path)
	if err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Fatalf("second Listen = %v, want a refusal naming the live listener", err)
	}
}

func TestListenRefusesRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cri.sock")
	if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Fatal("regular file was changed")
	}
}

func TestListenCloseLeavesSuccessorsSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cri.sock")
	first, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	// A successor replaced the socket (e.g. after the first hung).
	os.Remove(path)
	second, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	first.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("closing the old listener removed the successor's socket: %v", err)
	}
}

func TestListenBadEndpoints(t *testing.T) {
	for _, give := range []string{"tcp://127.0.0.1:1", "unix://", "http://x"} {
		if l, err := Listen(give); err == nil {
			l.Close()
			t.Errorf("Listen(%q) succeeded, want an error", give)
		}
	}
}

func TestListenAddrIsFinalPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cri.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Addr().String(); got != path {
		t.Fatalf("Addr = %q, want %q", got, path)
	}
}

// TestListenSystemdActivation runs the test binary as a child that receives a
// listening socket the way systemd passes one (fd 3, LISTEN_FDS=1) and serves
// it through Listen("fd://").
func TestListenSystemdActivation(t *testing.T) {
	if os.Getenv("DOCKERCRI_TEST_ACTIVATED") == "1" {
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
		os.Setenv("LISTEN_FDS", "1")
		l, err := Listen("fd://")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		c, err := l.Accept()
		if err != nil {
			os.Exit(4)
		}
		c.Write([]byte("activated"))
		c.Close()
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "activated.sock")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	f, err := ul.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenSystemdActivation$")
	cmd.Env = append(os.Environ(), "DOCKERCRI_TEST_ACTIVATED=1")
	cmd.ExtraFiles = []*os.File{f}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	c.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v %s", err, stderr.String())
	}
	if string(got) != "activated" {
		t.Fatalf("read %q from the activated socket", got)
	}
}
