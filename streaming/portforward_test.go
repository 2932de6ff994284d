package streaming

import (
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// echoServer accepts one connection on network/addr and echoes it.
func echoServer(t *testing.T, network, addr string) int32 {
	t.Helper()
	lis, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	return int32(lis.Addr().(*net.TCPAddr).Port)
}

// These run in the test's own network namespace: entering it is the same
// setns as entering a pod's (and needs root, as dockercri does).
func TestPortForward(t *testing.T) {
	tests := []struct {
		name    string
		give    func(t *testing.T) int32
		wantErr string
	}{
		{"IPv4", func(t *testing.T) int32 { return echoServer(t, "tcp4", "127.0.0.1:0") }, ""},
		{"IPv6 only", func(t *testing.T) int32 { return echoServer(t, "tcp6", "[::1]:0") }, ""},
		{"closed port", closedPort, "connect to port"},
		{"port out of range", func(*testing.T) int32 { return 70000 }, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := tt.give(t)
			before := runtime.NumGoroutine()
			client, stream := net.Pipe()
			done := make(chan error, 1)
			go func() { done <- PortForward(context.Background(), "/proc/self/ns/net", port, stream) }()
			if tt.wantErr == "" {
				if _, err := client.Write([]byte("ping")); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 4)
				if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "ping" {
					t.Fatalf("echo = %q, %v", buf, err)
				}
				client.Close() // the client leaves; the library then closes the stream
			}
			err := <-done
			stream.Close()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("PortForward error = %v, want %q", err, tt.wantErr)
			}
			waitGoroutines(t, before)
		})
	}
}

// closedPort is a port nothing listens on any more.
func closedPort(t *testing.T) int32 {
	lis, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis.Close()
	return int32(lis.Addr().(*net.TCPAddr).Port)
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
