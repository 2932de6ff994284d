package cni

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	types100 "github.com/containernetworking/cni/pkg/types/100"
)

const validConf = `{"cniVersion": "1.0.0", "name": "pods", "plugins": [{"type": "bridge"}, {"type": "portmap", "capabilities": {"portMappings": true}}]}`

func TestStatusFollowsConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	n, err := New(Config{ConfDir: filepath.Join(dir, "net.d")})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Status(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("no directory: %v", err)
	}
	os.Mkdir(filepath.Join(dir, "net.d"), 0o755)
	if err := n.Status(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("empty directory: %v", err)
	}
	bad := filepath.Join(dir, "net.d", "05-bad.conflist")
	os.WriteFile(bad, []byte(`{"cniVersion": "1.0.0", "name": "x", "plugins": [`), 0o644)
	if err := n.Status(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("only a broken file: %v", err)
	}
	// A valid file after a broken one (by name) is used.
	os.WriteFile(filepath.Join(dir, "net.d", "10-pods.conflist"), []byte(validConf), 0o644)
	if err := n.Status(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	list, err := n.config()
	if err != nil || list.Name != "pods" || len(list.Plugins) != 2 {
		t.Fatalf("config = %+v, %v", list, err)
	}
	os.Remove(bad)
	os.Remove(filepath.Join(dir, "net.d", "10-pods.conflist"))
	if err := n.Status(); !errors.Is(err, ErrNotReady) {
		t.Fatalf("config removed: %v", err)
	}
}

func TestSingleConfFileIsAList(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "10-one.conf"), []byte(`{"cniVersion": "0.4.0", "name": "one", "type": "bridge"}`), 0o644)
	n, _ := New(Config{ConfDir: dir})
	list, err := n.config()
	if err != nil || list.Name != "one" || len(list.Plugins) != 1 {
		t.Fatalf("config = %+v, %v", list, err)
	}
}

func TestRuntimeConf(t *testing.T) {
	n, _ := New(Config{})
	rt := n.runtimeConf(Pod{
		ID: "abc", Name: "web", Namespace: "ns", UID: "u1", NetNS: "/proc/7/ns/net",
		Ports:     []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		Bandwidth: &Bandwidth{IngressRate: 1000},
		PodCIDRs:  []string{"10.0.0.0/24", "fd00::/64"},
	})
	if rt.ContainerID != "abc" || rt.NetNS != "/proc/7/ns/net" || rt.IfName != "eth0" {
		t.Fatalf("runtime conf = %+v", rt)
	}
	for _, want := range [][2]string{{"K8S_POD_NAMESPACE", "ns"}, {"K8S_POD_NAME", "web"}, {"K8S_POD_INFRA_CONTAINER_ID", "abc"}, {"K8S_POD_UID", "u1"}, {"IgnoreUnknown", "1"}} {
		if !slices.Contains(rt.Args, want) {
			t.Errorf("args %v lack %v", rt.Args, want)
		}
	}
	if ports := rt.CapabilityArgs["portMappings"].([]PortMapping); len(ports) != 1 || ports[0].HostPort != 8080 {
		t.Errorf("portMappings = %v", rt.CapabilityArgs["portMappings"])
	}
	if ranges := rt.CapabilityArgs["ipRanges"].([][]map[string]string); len(ranges) != 2 || ranges[1][0]["subnet"] != "fd00::/64" {
		t.Errorf("ipRanges = %v", rt.CapabilityArgs["ipRanges"])
	}
	if _, ok := rt.CapabilityArgs["bandwidth"]; !ok {
		t.Error("bandwidth missing")
	}
	// No ports is an empty list, which portmap accepts, not null.
	if ports := n.runtimeConf(Pod{ID: "x"}).CapabilityArgs["portMappings"].([]PortMapping); ports == nil {
		t.Error("portMappings is nil")
	}
}

func TestPodIPs(t *testing.T) {
	idx := func(i int) *int { return &i }
	ipnet := func(s string) net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return *n
	}
	res := &types100.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*types100.Interface{{Name: "cni0"}, {Name: "veth1"}, {Name: "eth0", Sandbox: "/proc/7/ns/net"}},
		IPs: []*types100.IPConfig{
			{Interface: idx(2), Address: ipnet("fd00::5/64")},
			{Interface: idx(0), Address: ipnet("10.0.0.1/24")}, // the bridge's gateway address: the host's
			{Interface: idx(2), Address: ipnet("10.0.0.5/24")},
			{Interface: idx(2), Address: ipnet("fe80::1/64")},
		},
	}
	got, err := podIPs(res)
	if err != nil || !slices.Equal(got, []string{"10.0.0.5", "fd00::5"}) {
		t.Fatalf("podIPs = %v, %v", got, err)
	}
	if _, err := podIPs(&types100.Result{CNIVersion: "1.0.0"}); err == nil {
		t.Fatal("a result without addresses was accepted")
	}
}
