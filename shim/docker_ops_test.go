package shim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"dockercri/translate"
)

// A request that ends while Docker creates its container leaves no
// container behind: Docker finishes the create, and dockercri removes it.
func TestCreateNamedWhenTheRequestEndsMidCreate(t *testing.T) {
	f := fakeWithImages()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.hooks = map[string]func(){"ContainerCreate": cancel} // the client gives up as Docker works
	created := &translate.Created{Config: &container.Config{Image: busyboxID}, HostConfig: &container.HostConfig{}}
	id, err := createNamed(ctx, f, "k8s_POD_late_default_uid_0", created)
	if !errors.Is(err, context.Canceled) || id != "" {
		t.Fatalf("createNamed = %q, %v; want the request's cancellation", id, err)
	}
	if len(f.containers) != 0 {
		t.Fatalf("%d container(s) left behind", len(f.containers))
	}
	calls := f.callLog()
	if !strings.HasPrefix(calls[len(calls)-1], "ContainerRemove ") {
		t.Fatalf("calls = %v, want the new container removed", calls)
	}
}

func TestCreateNamedFollowsALiveRequest(t *testing.T) {
	f := fakeWithImages()
	created := &translate.Created{Config: &container.Config{Image: busyboxID}, HostConfig: &container.HostConfig{}}
	id, err := createNamed(testContext(t), f, "k8s_POD_ok_default_uid_0", created)
	if err != nil || f.findContainer(id) == nil {
		t.Fatalf("createNamed = %q, %v; want a container", id, err)
	}
}
