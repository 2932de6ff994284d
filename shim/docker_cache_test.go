package shim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// dockerLists counts the Docker ContainerList calls in the fake's log.
func dockerLists(f *fakeDocker) int {
	n := 0
	for _, c := range f.callLog() {
		if strings.HasPrefix(c, "ContainerList") {
			n++
		}
	}
	return n
}

// relist is the kubelet's relist: every pod, then every container.
func relist(t *testing.T, c *testClients) []*runtimeapi.Container {
	t.Helper()
	ctx := testContext(t)
	if _, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetContainers()
}

// eventually polls cond every 10 ms for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within 5 s: %s", what)
}

// withListCacheOn serves a Service with the list cache on, once its event
// subscription is open.
func withListCacheOn(t *testing.T) (*fakeDocker, *testClients) {
	t.Helper()
	f := fakeWithImages()
	f.events.subscribed = make(chan struct{}, 8)
	c := newTestClients(t, f, func(cfg *Config) { cfg.ListCacheMaxAge = time.Minute })
	t.Cleanup(c.svc.Close)
	<-f.events.subscribed
	return f, c
}

func TestListCache(t *testing.T) {
	f, c := withListCacheOn(t)
	sb := sandboxConfig("web")
	id := runSandbox(t, c, sb)
	ctr := createContainer(t, c, id, sb, "a")

	// Read your writes: what dockercri just created is listed at once.
	if got := relist(t, c); len(got) != 1 || got[0].GetId() != ctr || got[0].GetState() != runtimeapi.ContainerState_CONTAINER_CREATED {
		t.Fatalf("relist after create = %v", got)
	}

	// Once the create's events are in, relists are answered from memory.
	eventually(t, "a relist without a Docker list", func() bool {
		f.resetCalls()
		relist(t, c)
		return dockerLists(f) == 0
	})
	f.resetCalls()
	for i := 0; i < 10; i++ {
		relist(t, c)
	}
	if n := dockerLists(f); n != 0 {
		t.Fatalf("10 relists with nothing changing made %d Docker lists, want 0", n)
	}

	// A change dockercri did not make reaches the list through its event.
	if _, err := f.ContainerStart(testContext(t), ctr, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the container started by someone else listed running", func() bool {
		got := relist(t, c)
		return len(got) == 1 && got[0].GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
	})

	// Without the event stream nothing is served from memory.
	f.breakEvents(errors.New("docker restarted"))
	eventually(t, "relists asking Docker after the stream broke", func() bool {
		f.resetCalls()
		relist(t, c)
		return dockerLists(f) == 2
	})
	// ...until it is back.
	eventually(t, "relists from memory once the stream is back", func() bool {
		f.resetCalls()
		relist(t, c)
		return dockerLists(f) == 0
	})
}

func TestListCacheOffByDefault(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	t.Cleanup(c.svc.Close)
	f.resetCalls()
	relist(t, c)
	relist(t, c)
	if n := dockerLists(f); n != 4 {
		t.Fatalf("two relists without the cache made %d Docker lists, want 4", n)
	}
}

func TestImageNamesCache(t *testing.T) {
	t0 := time.Unix(1000, 0)
	img := &runtimeapi.Image{Id: "sha256:aa", RepoTags: []string{"busybox:1"}}
	tests := []struct {
		name string
		give time.Time // when get is called
		want bool
	}{
		{name: "just put", give: t0, want: true},
		{name: "within the window", give: t0.Add(imageNamesFresh - time.Millisecond), want: true},
		{name: "after it", give: t0.Add(imageNamesFresh), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c imageNamesCache
			c.put("sha256:aa", img, t0)
			got, ok := c.get("sha256:aa", tt.give)
			if ok != tt.want || (ok && got != img) {
				t.Fatalf("get = %v, %t; want %t", got, ok, tt.want)
			}
			if _, ok := c.get("sha256:bb", t0); ok {
				t.Fatal("an image never put was found")
			}
		})
	}
	// Stale entries go once the map has grown.
	var c imageNamesCache
	for i := 0; i < 64; i++ {
		c.put(string(rune('a'+i%26))+strings.Repeat("x", i), img, t0)
	}
	c.put("fresh", img, t0.Add(imageNamesFresh))
	if len(c.entries) != 1 {
		t.Fatalf("%d entries after pruning, want 1", len(c.entries))
	}
}

// TestStatusInspectCache: with the list cache, a container's status is
// inspected again only once something was received or done since.
func TestStatusInspectCache(t *testing.T) {
	f, c := withListCacheOn(t)
	sb := sandboxConfig("web")
	ctr := createContainer(t, c, runSandbox(t, c, sb), sb, "a")
	status := func() runtimeapi.ContainerState {
		t.Helper()
		resp, err := c.runtime.ContainerStatus(testContext(t), &runtimeapi.ContainerStatusRequest{ContainerId: ctr})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus().GetState()
	}
	inspects := func() int { return len(filterCalls(f.callLog(), "ContainerInspect")) }
	eventually(t, "a status without an inspect", func() bool {
		status()
		f.resetCalls()
		status()
		return inspects() == 0
	})

	// Started by someone else: the event makes the next status inspect.
	if _, err := f.ContainerStart(testContext(t), ctr, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the status after the start event shows it running", func() bool {
		return status() == runtimeapi.ContainerState_CONTAINER_RUNNING
	})
	// Stopped through dockercri: shown at once, without waiting for events.
	if _, err := c.runtime.StopContainer(testContext(t), &runtimeapi.StopContainerRequest{ContainerId: ctr}); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != runtimeapi.ContainerState_CONTAINER_EXITED {
		t.Fatalf("status after StopContainer = %v, want exited", got)
	}
}
