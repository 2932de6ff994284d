package streaming

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// recordingRuntime notes every session it is asked to start.
type recordingRuntime struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingRuntime) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recordingRuntime) Exec(_ context.Context, id string, _ []string, _ io.Reader, _, _ io.WriteCloser, _ bool, _ <-chan TerminalSize) error {
	r.note("exec " + id)
	return nil
}

func (r *recordingRuntime) Attach(_ context.Context, id string, _ io.Reader, _, _ io.WriteCloser, _ bool, _ <-chan TerminalSize) error {
	r.note("attach " + id)
	return nil
}

func (r *recordingRuntime) PodNetNS(_ context.Context, id string) (string, error) {
	r.note("netns " + id)
	return "/proc/self/ns/net", nil
}

func newServer(t *testing.T, cfg Config) (*Server, *recordingRuntime) {
	t.Helper()
	rt := &recordingRuntime{}
	s, err := New(cfg, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rt
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name    string
		give    *net.TCPAddr
		giveTLS bool
		want    string
	}{
		{"loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, false, "http://127.0.0.1:1234/"},
		{"any IPv4 is reached over loopback", &net.TCPAddr{IP: net.IPv4zero, Port: 1234}, false, "http://127.0.0.1:1234/"},
		{"any IPv6 is reached over loopback", &net.TCPAddr{IP: net.IPv6unspecified, Port: 1234}, false, "http://[::1]:1234/"},
		{"a node address stays", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 1234}, true, "https://10.0.0.5:1234/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := baseURL(tt.give, tt.giveTLS).String(); got != tt.want {
				t.Fatalf("baseURL = %s, want %s", got, tt.want)
			}
		})
	}
}

// The default binds loopback on a free port, and the URLs handed out are
// absolute and carry the port actually bound (cri-dockerd's relative URLs
// broke kubectl exec on Kubernetes 1.36).
func TestURLsAreAbsoluteOnTheBoundPort(t *testing.T) {
	s, _ := newServer(t, Config{})
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || strings.HasSuffix(s.URL(), ":0/") {
		t.Fatalf("URL = %s, want loopback with the bound port", s.URL())
	}
	tests := []struct {
		name string
		give func() (string, error)
		want string
	}{
		{"exec", func() (string, error) {
			r, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh"}, Stdout: true})
			return r.GetUrl(), err
		}, s.URL() + "exec/"},
		{"attach", func() (string, error) {
			r, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c", Stdout: true})
			return r.GetUrl(), err
		}, s.URL() + "attach/"},
		{"port-forward", func() (string, error) {
			r, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "p", Port: []int32{80}})
			return r.GetUrl(), err
		}, s.URL() + "portforward/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.give()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tt.want) || len(got) == len(tt.want) {
				t.Fatalf("URL = %s, want %s<token>", got, tt.want)
			}
		})
	}
}

// Unknown and already used tokens are 404 and start nothing.
func TestBadTokensAre404(t *testing.T) {
	s, rt := newServer(t, Config{})
	h := httptest.NewServer(s)
	defer h.Close()
	used, err := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh"}, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	usedPath := strings.TrimPrefix(used.GetUrl(), strings.TrimSuffix(s.URL(), "/"))
	// A plain request (no upgrade) consumes the token and fails the handshake.
	if resp, err := http.Post(h.URL+usedPath, "", nil); err == nil {
		resp.Body.Close()
	}
	tests := []struct {
		name, give string
	}{
		{"unknown exec token", "/exec/AAAAAAAA"},
		{"unknown attach token", "/attach/AAAAAAAA"},
		{"unknown port-forward token", "/portforward/AAAAAAAA"},
		{"used token", usedPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(h.URL+tt.give, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404", resp.StatusCode)
			}
		})
	}
	if len(rt.calls) != 0 {
		t.Fatalf("runtime asked for %v", rt.calls)
	}
}

func TestNewRefusesAnAddressInUse(t *testing.T) {
	s, _ := newServer(t, Config{})
	addr := strings.TrimSuffix(strings.TrimPrefix(s.URL(), "http://"), "/")
	if _, err := New(Config{Addr: addr}, &recordingRuntime{}); err == nil {
		t.Fatalf("second server on %s started", addr)
	}
}
