package translate

import (
	"reflect"
	"slices"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestContainerCapabilities(t *testing.T) {
	host := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}
	tests := []struct {
		name              string
		add, drop         []string
		host              []string
		wantAdd, wantDrop []string
		wantErr           error
	}{
		{name: "none"},
		{name: "kubelet spelling", add: []string{"NET_ADMIN"}, drop: []string{"KILL"}, wantAdd: []string{"CAP_NET_ADMIN"}, wantDrop: []string{"CAP_KILL"}},
		{name: "prefix and case", add: []string{"cap_net_admin", "CAP_SYS_TIME"}, wantAdd: []string{"CAP_NET_ADMIN", "CAP_SYS_TIME"}},
		{name: "duplicates", add: []string{"NET_ADMIN", "CAP_NET_ADMIN"}, wantAdd: []string{"CAP_NET_ADMIN"}},
		{name: "drop ALL add one", add: []string{"NET_BIND_SERVICE"}, drop: []string{"ALL"}, wantAdd: []string{"CAP_NET_BIND_SERVICE"}, wantDrop: []string{"ALL"}},
		{name: "drop beats add", add: []string{"NET_ADMIN", "KILL"}, drop: []string{"KILL"}, wantAdd: []string{"CAP_NET_ADMIN"}, wantDrop: []string{"CAP_KILL"}},
		{name: "drop ALL beats add ALL", add: []string{"ALL"}, drop: []string{"all"}, wantDrop: []string{"ALL"}},
		{name: "add ALL, Docker's privileged set works", add: []string{"all"}, drop: []string{"KILL"}, wantAdd: []string{"ALL"}, wantDrop: []string{"CAP_KILL"}},
		{name: "add ALL from the host's set", add: []string{"ALL"}, drop: []string{"KILL"}, host: host,
			wantAdd: []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}, wantDrop: []string{"CAP_KILL"}},
		{name: "outside the host's set", add: []string{"SYS_RESOURCE"}, host: host, wantErr: ErrUnsupported},
		{name: "not a name", add: []string{"NET ADMIN"}, wantErr: ErrInvalidConfig},
		{name: "empty name", drop: []string{""}, wantErr: ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &runtimeapi.LinuxContainerSecurityContext{Capabilities: &runtimeapi.Capability{AddCapabilities: tt.add, DropCapabilities: tt.drop}}
			got, err := cfgTestSecurity(sc, false, ContainerOptions{HostCapabilities: tt.host})
			if tt.wantErr != nil {
				cfgTestWantErr(t, err, tt.wantErr, "capabilities")
				return
			}
			if err != nil || !reflect.DeepEqual(got.HostConfig.CapAdd, tt.wantAdd) || !reflect.DeepEqual(got.HostConfig.CapDrop, tt.wantDrop) {
				t.Fatalf("CapAdd, CapDrop = %v; want %q, %q", got, tt.wantAdd, tt.wantDrop)
			}
		})
	}
	_, err := cfgTestSecurity(&runtimeapi.LinuxContainerSecurityContext{Capabilities: &runtimeapi.Capability{AddAmbientCapabilities: []string{"NET_BIND_SERVICE"}}}, false, ContainerOptions{})
	cfgTestWantErr(t, err, ErrUnsupported, "add_ambient_capabilities")
}

func TestParseCapMask(t *testing.T) {
	tests := []struct {
		give    string
		want    uint64
		wantErr bool
	}{
		{give: "000001ffffffffff", want: 0x1ffffffffff},
		{give: "000001fffeffffff\n", want: 0x1fffeffffff},
		{give: "0x3f", want: 0x3f},
		{give: "0000000000000000", want: 0},
		{give: "", wantErr: true},
		{give: "xyz", wantErr: true},
		{give: "1ffffffffffffffff", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := ParseCapMask(tt.give)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseCapMask(%q) = %#x, %v; want %#x, error %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCapabilitiesFromMask(t *testing.T) {
	// A host whose root lacks CAP_SYS_RESOURCE (bit 24), kernel 5.9+.
	got := CapabilitiesFromMask(0x1fffeffffff, 40)
	if len(got) != 40 || slices.Contains(got, "CAP_SYS_RESOURCE") {
		t.Fatalf("CapabilitiesFromMask = %d names %v; want 40 without CAP_SYS_RESOURCE", len(got), got)
	}
	for _, want := range []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_TIME", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"} {
		if !slices.Contains(got, want) {
			t.Fatalf("CapabilitiesFromMask lacks %s: %v", want, got)
		}
	}
	tests := []struct {
		mask    uint64
		lastCap int
		want    []string
	}{
		{mask: 0, lastCap: 40, want: []string{}},
		{mask: 0b101, lastCap: 40, want: []string{"CAP_CHOWN", "CAP_DAC_READ_SEARCH"}},
		{mask: 0x1ffffffffff, lastCap: 37, want: capsNames[:38]},    // an older kernel: bits above cap_last_cap are not capabilities
		{mask: 1<<63 | 1, lastCap: 63, want: []string{"CAP_CHOWN"}}, // a capability newer than this package is left out
	}
	for _, tt := range tests {
		if got := CapabilitiesFromMask(tt.mask, tt.lastCap); !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("CapabilitiesFromMask(%#x, %d) = %v, want %v", tt.mask, tt.lastCap, got, tt.want)
		}
	}
}
