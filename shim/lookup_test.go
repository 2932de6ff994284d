package shim

import (
	"testing"

	"github.com/moby/moby/api/types/container"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dockercri/translate"
)

// What counts as "a container of ours, of this kind", for every lookup.
func TestInspectOurs(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("look")
	sbID := runSandbox(t, c, sb)
	ctrID := createContainer(t, c, sbID, sb, "app")
	typ := translate.LabelContainerType
	f.containers = append(f.containers,
		&fakeContainer{id: "stranger0000", name: "web", state: "running", config: &container.Config{Labels: map[string]string{}}},
		// An image's LABEL can set the type; the name is not dockershim's.
		&fakeContainer{id: "forged000000", name: "forged", state: "running",
			config: &container.Config{Labels: map[string]string{typ: translate.ContainerTypeContainer}}},
	)
	tests := []struct {
		kind, id  string
		wantFound bool
	}{
		{kind: translate.ContainerTypeSandbox, id: sbID, wantFound: true},
		{kind: translate.ContainerTypeSandbox, id: sbID[:12], wantFound: true},
		{kind: translate.ContainerTypeContainer, id: ctrID, wantFound: true},
		{kind: translate.ContainerTypeContainer, id: sbID},
		{kind: translate.ContainerTypeSandbox, id: ctrID},
		{kind: translate.ContainerTypeContainer, id: "stranger0000"},
		{kind: translate.ContainerTypeContainer, id: "forged000000"},
		{kind: translate.ContainerTypeContainer, id: "absent000000"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.id, func(t *testing.T) {
			_, found, err := inspectOurs(testContext(t), f, tt.kind, tt.id)
			if err != nil || found != tt.wantFound {
				t.Fatalf("inspectOurs = %v, %v; want found %v", found, err, tt.wantFound)
			}
			_, err = runningOurs(testContext(t), f, tt.kind, tt.id)
			switch {
			case !tt.wantFound && status.Code(toStatus(err)) != codes.NotFound:
				t.Fatalf("runningOurs of what is not ours = %v, want NotFound", err)
			case tt.wantFound && tt.kind == translate.ContainerTypeSandbox && err != nil:
				t.Fatalf("runningOurs of the running sandbox = %v", err)
			case tt.wantFound && tt.kind == translate.ContainerTypeContainer && status.Code(toStatus(err)) != codes.FailedPrecondition:
				t.Fatalf("runningOurs of a created container = %v, want FailedPrecondition", err)
			}
		})
	}
}

func TestListOurs(t *testing.T) {
	f := fakeWithImages()
	c := newTestClients(t, f)
	sb := sandboxConfig("list")
	sbID := runSandbox(t, c, sb)
	createContainer(t, c, sbID, sb, "app")
	f.containers = append(f.containers, &fakeContainer{id: "stranger0000", name: "web", state: "running", config: &container.Config{}})
	tests := []struct {
		kind string
		all  bool
		want int
	}{
		{kind: "", all: true, want: 2},
		{kind: translate.ContainerTypeSandbox, all: true, want: 1},
		{kind: translate.ContainerTypeContainer, all: true, want: 1},
		{kind: translate.ContainerTypeContainer, all: false, want: 0}, // created, not running
		{kind: translate.ContainerTypeSandbox, all: false, want: 1},
	}
	for _, tt := range tests {
		list, err := listOurs(testContext(t), f, tt.kind, tt.all)
		if err != nil || len(list) != tt.want {
			t.Errorf("listOurs(%q, all=%v) = %d containers, %v; want %d", tt.kind, tt.all, len(list), err, tt.want)
		}
	}
}
